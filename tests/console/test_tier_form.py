"""The console's tier form: the ladder and how it is held, saved through the tiers service."""

from __future__ import annotations

from tests.support.service import ADMIN, create_product

from .conftest import ConsoleClient, field_error, text_of

BASE = "/console/products/acme/programs"


def test_the_tier_form_sets_a_rolling_window_and_shows_it_back(console: ConsoleClient) -> None:
    """Held by a rolling window of 365 days with 30 days of grace, as the API reads it; the
    page shows the choice back; lifetime again drops the window."""
    create_product(console.http, id="acme")
    form = {"tiers": "Silver: 100", "held_by": "rolling", "window_days": "365", "grace_days": "30"}
    assert console.post(BASE + "/tiers", form).status_code == 303
    api = console.http.get("/v1/products/acme/loyalty/tiers", headers=ADMIN).json()
    assert (api["held_by"], api["window_days"], api["grace_days"]) == ("rolling", 365, 30)
    page = console.get(BASE)
    assert '<option value="rolling" selected>' in page.text
    assert 'value="365"' in page.text
    form = {"tiers": "Silver: 100", "held_by": "lifetime", "window_days": "365"}
    assert console.post(BASE + "/tiers", form).status_code == 303
    api = console.http.get("/v1/products/acme/loyalty/tiers", headers=ADMIN).json()
    assert (api["held_by"], api["window_days"], api["grace_days"]) == ("lifetime", None, 0)
    assert "Silver: 100" in text_of(console.get(BASE))


def test_a_rolling_window_without_its_length_is_refused_beside_the_field(
    console: ConsoleClient,
) -> None:
    """Rolling with no window: the service's message shows beside the window field and the
    tiers stay as they were."""
    create_product(console.http, id="acme")
    refused = console.post(BASE + "/tiers", {"tiers": "Silver: 100", "held_by": "rolling"})
    assert refused.status_code == 422
    assert "need its length" in (field_error(refused, "tiers-window_days") or "")
    api = console.http.get("/v1/products/acme/loyalty/tiers", headers=ADMIN).json()
    assert (api["tiers"], api["held_by"]) == ([], "lifetime")
