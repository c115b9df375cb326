"""The Programs tab's points settings (lots' expiry, holds, the expiring notice) and a rule's
own expiry and hold, and the Redemptions tab where the tenant marks what its server fulfils:
each a form over the API's schemas and services."""

from __future__ import annotations

from typing import Any

from tests.support.service import ADMIN, Clock, create_product
from tests.support.tenant import Tenant

from .conftest import ConsoleClient, field_error, text_of

BASE = "/console/products/acme/programs"
REDEMPTIONS = "/console/products/acme/redemptions"
POINTS = ("points_lot_expiry_days", "points_hold_days", "points_expiring_notice_days")


def test_the_points_form_sets_and_clears_lot_expiry_hold_and_notice(
    console: ConsoleClient,
) -> None:
    """Saved as PATCH /v1/products/{id} would save them and shown back in the form; an empty
    field is null again (lots never expire, no hold, no notice)."""
    create_product(console.http, id="acme")
    form = {
        "points_lot_expiry_days": "365",
        "points_hold_days": "14",
        "points_expiring_notice_days": "7",
        "points_expire_after_days": "",
    }
    saved = console.post(BASE + "/points", form)
    assert saved.status_code == 303
    api = console.http.get("/v1/products/acme", headers=ADMIN).json()
    assert [api[k] for k in POINTS] == [365, 14, 7]
    assert api["points_expire_after_days"] is None
    page = console.get(saved.headers["location"])
    assert "Settings saved" in text_of(page)
    assert 'id="points_hold_days" name="points_hold_days" type="number" value="14"' in page.text
    assert console.post(BASE + "/points", {**form, "points_hold_days": ""}).status_code == 303
    api = console.http.get("/v1/products/acme", headers=ADMIN).json()
    assert [api[k] for k in POINTS] == [365, None, 7]


def test_a_refused_points_setting_shows_beside_its_field_and_nothing_is_saved(
    console: ConsoleClient,
) -> None:
    """A hold of 0 days (the API takes 1 to 365, or empty) is refused in the API's words
    beside the field, in the points form only; the stored settings stay as they were."""
    create_product(console.http, id="acme")
    refused = console.post(
        BASE + "/points", {"points_hold_days": "0", "points_lot_expiry_days": "90"}
    )
    assert refused.status_code == 422
    assert "greater than or equal to 1" in (field_error(refused, "points_hold_days") or "")
    assert field_error(refused, "referral_reward_kind") is None
    assert text_of(refused).count("The form was not saved") == 1
    assert 'value="90"' in refused.text  # the form as sent
    api = console.http.get("/v1/products/acme", headers=ADMIN).json()
    assert (api["points_hold_days"], api["points_lot_expiry_days"]) == (None, None)


def test_a_rule_is_added_with_its_own_lot_expiry_and_hold(console: ConsoleClient) -> None:
    """The rule form's expiry (0: never) and hold reach the API's rule; the rules table says
    them; a hold beyond 365 days is refused beside its field."""
    create_product(console.http, id="acme")
    rule = {"name": "Review", "event_type": "review", "points": "20", "enabled": "true"}
    added = console.post(BASE + "/rules", {**rule, "lot_expiry_days": "0", "hold_days": "3"})
    assert added.status_code == 303
    (api,) = console.http.get("/v1/products/acme/loyalty/rules", headers=ADMIN).json()
    assert (api["lot_expiry_days"], api["hold_days"]) == (0, 3)
    shown = text_of(console.get(BASE))
    assert "never expire" in shown
    assert "held 3 days" in shown
    plain = console.post(BASE + "/rules", {**rule, "name": "Plain", "event_type": "plain"})
    assert plain.status_code == 303
    rules = console.http.get("/v1/products/acme/loyalty/rules", headers=ADMIN).json()
    assert (rules[1]["lot_expiry_days"], rules[1]["hold_days"]) == (None, None)
    refused = console.post(BASE + "/rules", {**rule, "event_type": "x", "hold_days": "400"})
    assert refused.status_code == 422
    assert "less than or equal to 365" in (field_error(refused, "rule-hold_days") or "")


# --- redemptions the tenant fulfils -------------------------------------------------------


def _pending(acme: Tenant, sub: str) -> dict[str, Any]:
    acme.send(sub, "hello")
    acme.admin("POST", f"/users/{sub}/points", 201, json={"amount": 1000, "reason": "Start"})
    reward = acme.admin(
        "POST", "/rewards", 201, json={"name": "Hoodie", "cost": 300, "fulfilment": "tenant"}
    )
    answer = acme.user_call("POST", f"/v1/rewards/{reward['id']}/redeem", sub)
    assert answer.status_code == 201, answer.text
    redemption: dict[str, Any] = answer.json()["redemption"]
    return redemption


def test_waiting_redemptions_are_marked_fulfilled_or_failed_from_their_tab(
    console: ConsoleClient, clock: Clock
) -> None:
    """The tab (in the product's navigation) lists what waits; Fulfilled with a code shows
    the user that code; Failed with a reason refunds the points; each leaves the waiting list
    for its own filter."""
    acme = Tenant(console.http, create_product(console.http, id="acme"), clock)
    first, second = _pending(acme, "ann"), _pending(acme, "bob")
    page = console.get(REDEMPTIONS)
    assert page.status_code == 200
    assert 'href="/console/products/acme/redemptions" aria-current="page"' in page.text
    assert first["id"] in page.text
    assert second["id"] in page.text
    done = console.post(
        REDEMPTIONS + "/settle", {"id": first["id"], "outcome": "fulfilled", "code": "GIFT-42"}
    )
    assert done.status_code == 303
    assert "Marked fulfilled" in text_of(console.get(done.headers["location"]))
    assert acme.history("ann")["entries"][0]["reward_code"] == "GIFT-42"
    failed = console.post(
        REDEMPTIONS + "/settle",
        {"id": second["id"], "outcome": "failed", "reason": "Out of stock", "code": "ignored"},
    )
    assert failed.status_code == 303
    assert acme.balance("bob") == 1000
    waiting = text_of(console.get(REDEMPTIONS))
    assert "No redemptions here." in waiting
    settled = text_of(console.get(REDEMPTIONS + "?status=failed"))
    assert second["id"] in settled
    assert "Out of stock" in settled
    assert "GIFT-42" in text_of(console.get(REDEMPTIONS + "?status=fulfilled"))


def test_settling_a_redemption_the_other_way_is_refused_on_the_page(
    console: ConsoleClient, clock: Clock
) -> None:
    """A fulfilled redemption then marked failed: the API's redemption_settled message over
    the list, nothing refunded; an unknown redemption is the not-found page."""
    acme = Tenant(console.http, create_product(console.http, id="acme"), clock)
    redemption = _pending(acme, "ann")
    sent = {"id": redemption["id"], "outcome": "fulfilled"}
    assert console.post(REDEMPTIONS + "/settle", sent).status_code == 303
    refused = console.post(REDEMPTIONS + "/settle", {**sent, "outcome": "failed"})
    assert refused.status_code == 422
    assert "cannot become 'failed'" in text_of(refused)
    assert acme.balance("ann") == 700
    missing = console.post(REDEMPTIONS + "/settle", {"id": "red_nope", "outcome": "failed"})
    assert missing.status_code == 404


def test_another_products_api_key_cannot_see_or_settle_its_redemptions(
    console: ConsoleClient, other_browser: ConsoleClient, clock: Clock
) -> None:
    """Signed in with globex's API key, acme's Redemptions tab and its settle form are not
    found (another product does not exist for an API key); acme's redemption stays waiting."""
    acme = Tenant(console.http, create_product(console.http, id="acme"), clock)
    redemption = _pending(acme, "ann")
    globex = create_product(console.http, id="globex")
    assert other_browser.sign_in(globex["api_key"]).status_code == 303
    assert other_browser.get(REDEMPTIONS).status_code == 404
    sent = {"id": redemption["id"], "outcome": "failed"}
    assert other_browser.post(REDEMPTIONS + "/settle", sent).status_code == 404
    assert acme.admin("GET", "/redemptions")[0]["status"] == "pending_fulfilment"
