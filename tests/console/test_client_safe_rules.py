"""The console's rule form: a property rule is server-only unless marked client-safe, and a
client-safe one needs its per-event maximum, with the API's own words."""

from __future__ import annotations

from .conftest import ADMIN, ConsoleClient, create_product, text_of

BASE = "/console/products/acme/programs"
TIP = {"name": "Tip", "event_type": "tip", "property": "amount", "rate": "1", "enabled": "true"}


def test_a_client_safe_rule_needs_a_maximum_and_is_saved_with_it(console: ConsoleClient) -> None:
    """Without "most points per event" the form is refused and nothing is saved; with it the
    rule is saved client-safe; a property rule left alone reads as servers only."""
    create_product(console.http, id="acme")
    refused = console.post(BASE + "/rules", {**TIP, "client_safe": "true"})
    assert refused.status_code == 422
    assert "needs 'max_points_per_event'" in text_of(refused)
    assert console.http.get("/v1/products/acme/loyalty/rules", headers=ADMIN).json() == []
    saved = console.post(
        BASE + "/rules", {**TIP, "client_safe": "true", "max_points_per_event": "40"}
    )
    assert saved.status_code == 303
    assert console.post(BASE + "/rules", {**TIP, "name": "Spend"}).status_code == 303
    rules = console.http.get("/v1/products/acme/loyalty/rules", headers=ADMIN).json()
    assert [
        (r["name"], r["client_safe"], r["max_points_per_event"], r["server_only"]) for r in rules
    ] == [("Tip", True, 40, False), ("Spend", False, None, True)]
    page = text_of(console.get(BASE))
    assert "1 point per amount, at most 40 per event" in page
    assert "servers only" in page
