"""The loyalty program: rules earn points into an append-only ledger; tiers, a catalog,
redemptions and adjustments follow from it. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from plaudit.loyalty import ledger, settling
from plaudit.loyalty.models import LedgerEntry, LoyaltyAccount
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.users.models import User
from tests.support import factories
from tests.support.service import ADMIN, Clock, bearer, create_product
from tests.support.tenant import NOTHING_HELD, Tenant


@pytest.fixture
def acme(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    return Tenant(client, factories.product(db, settings, id="acme"), clock)


def _ledger_matches_accounts(db: Database) -> None:
    """The invariant: every account's balance is its ledger's sum, and never negative."""
    with db.session() as session:
        for account in session.scalars(select(LoyaltyAccount)):
            user = session.get(User, account.user_pk)
            assert user is not None
            assert account.balance == ledger.ledger_sum(session, user) >= 0


# --- earning rules ------------------------------------------------------------------------


def test_a_fixed_rule_earns_its_points_for_each_event(acme: Tenant, db: Database) -> None:
    """An event type with a fixed-amount rule earns that amount each time, with the rule's
    name as the reason."""
    acme.rule(name="Daily check-in", event_type="check_in", points=10)
    assert acme.send("ann", "check_in")["points_earned"] == 10
    assert acme.send("ann", "check_in")["points_earned"] == 10
    assert acme.send("ann", "unrelated")["points_earned"] == 0
    assert acme.me("ann")["points"] == {"balance": 20, "lifetime": 20, **NOTHING_HELD}
    entries = acme.history("ann")["entries"]
    assert [(e["delta"], e["kind"], e["reason"]) for e in entries] == [
        (10, "earn", "Daily check-in"),
        (10, "earn", "Daily check-in"),
    ]
    _ledger_matches_accounts(db)


@pytest.mark.parametrize(
    ("amount", "earned"),
    [(42, 42), (19.99, 19), (0.5, 0), ("12", 0), (True, 0), (None, 0), (-5, 0)],
)
def test_a_rate_rule_earns_a_property_times_the_rate_rounded_down(
    acme: Tenant, amount: Any, earned: int
) -> None:
    """1 point per currency unit: numbers earn floor(value x rate); anything else earns
    nothing (and the event is still stored)."""
    acme.rule(name="Purchase", event_type="purchase", property="amount", rate=1)
    result = acme.send("ann", "purchase", properties={"amount": amount})
    assert result["points_earned"] == earned
    assert result["id"].startswith("evt_")


def test_a_fractional_rate_is_exact_in_decimal(acme: Tenant) -> None:
    """0.1 x 30 is 3 points, not 2 (binary floating point would say 2.9999...)."""
    acme.rule(event_type="purchase", property="amount", rate=0.1)
    assert acme.send("ann", "purchase", properties={"amount": 30})["points_earned"] == 3


def test_several_rules_for_one_event_type_all_apply(acme: Tenant) -> None:
    """A base amount and a per-unit amount add up."""
    acme.rule(name="Any order", event_type="purchase", points=5)
    acme.rule(name="Per euro", event_type="purchase", property="amount", rate=2)
    assert acme.send("ann", "purchase", properties={"amount": 10})["points_earned"] == 25


def test_a_daily_limit_counts_days_in_the_products_time_zone(acme: Tenant, clock: Clock) -> None:
    """limit_per_day=2 in Asia/Tokyo: the third event of a Tokyo day earns nothing; the next
    Tokyo day (which starts at 15:00 UTC) earns again."""
    acme.admin("PATCH", "", json={"time_zone": "Asia/Tokyo"})
    acme.rule(event_type="share", points=3, limit_per_day=2)
    clock.now = dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC).timestamp()  # 23:00 in Tokyo
    assert [acme.send("ann", "share")["points_earned"] for _ in range(3)] == [3, 3, 0]
    clock.advance(3600)  # 00:00 in Tokyo, still 10 March in UTC
    assert [acme.send("ann", "share")["points_earned"] for _ in range(3)] == [3, 3, 0]
    assert acme.send("bob", "share")["points_earned"] == 3  # limits are per user


def test_a_once_rule_earns_once_per_user_ever(acme: Tenant, clock: Clock) -> None:
    """Completing the profile earns once, however often it is sent."""
    acme.rule(event_type="profile_completed", points=50, once=True)
    assert acme.send("ann", "profile_completed")["points_earned"] == 50
    clock.advance(86_400 * 3)
    assert acme.send("ann", "profile_completed")["points_earned"] == 0
    assert acme.send("bob", "profile_completed")["points_earned"] == 50


def test_a_retried_event_earns_nothing_twice(acme: Tenant, db: Database) -> None:
    """The same event id is stored and counted once: a retry is safe."""
    acme.rule(event_type="purchase", property="amount", rate=1)
    first = acme.send("ann", "purchase", id="order-7", properties={"amount": 30})
    again = acme.send("ann", "purchase", id="order-7", properties={"amount": 30})
    assert first["points_earned"] == 30
    assert again == {**first, "duplicate": True, "points_earned": 0, "badges_awarded": []}
    assert acme.balance("ann") == 30
    _ledger_matches_accounts(db)


def test_a_disabled_rule_earns_nothing_and_rules_are_managed(acme: Tenant) -> None:
    """Rules are listed, changed and removed through the management API."""
    rule = acme.rule(name="Check-in", event_type="check_in", points=10)
    assert rule["description"] == "10 points"
    acme.admin("PATCH", f"/loyalty/rules/{rule['id']}", json={"enabled": False})
    assert acme.send("ann", "check_in")["points_earned"] == 0
    changed = acme.admin(
        "PATCH", f"/loyalty/rules/{rule['id']}", json={"enabled": True, "points": 15}
    )
    assert changed["points"] == 15
    assert acme.send("ann", "check_in")["points_earned"] == 15
    assert [r["id"] for r in acme.admin("GET", "/loyalty/rules")] == [rule["id"]]
    acme.admin("DELETE", f"/loyalty/rules/{rule['id']}", 204)
    assert acme.admin("GET", "/loyalty/rules") == []
    assert acme.send("ann", "check_in")["points_earned"] == 0
    assert acme.history("ann")["entries"][0]["reason"] == "Check-in"  # history outlives it


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "event_type": "a"}, "body"),
        ({"name": "x", "event_type": "a", "points": 5, "rate": 1}, "body"),
        ({"name": "x", "event_type": "a", "property": "amount"}, "body"),
        ({"name": "x", "event_type": "a", "points": 0}, "points"),
        ({"name": "x", "event_type": "a", "property": "amount", "rate": -1}, "rate"),
        ({"name": "x", "event_type": "has space", "points": 1}, "event_type"),
        ({"name": "", "event_type": "a", "points": 1}, "name"),
        ({"name": "x", "event_type": "a", "points": 1, "limit_per_day": 0}, "limit_per_day"),
        ({"name": "x", "event_type": "a", "points": 1, "bonus": 2}, "bonus"),
    ],
)
def test_invalid_rules_are_refused_naming_the_field(
    acme: Tenant, body: dict[str, Any], field: str
) -> None:
    """A rule gives points, or a property with a rate; each mistake names its field."""
    response = acme.client.post("/v1/products/acme/loyalty/rules", headers=ADMIN, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_request"
    assert response.json().get("field", "body") == field


# --- tiers --------------------------------------------------------------------------------


def test_tiers_follow_lifetime_points_with_progress_to_the_next(acme: Tenant) -> None:
    """Bronze at 0, Silver at 100, Gold at 500: progress is measured from the current tier,
    and spending points never lowers the tier."""
    acme.admin(
        "PUT",
        "/loyalty/tiers",
        json={
            "tiers": [
                {"name": "Gold", "threshold": 500},
                {"name": "Bronze", "threshold": 0},
                {"name": "Silver", "threshold": 100},
            ]
        },
    )
    acme.rule(event_type="purchase", property="amount", rate=1)
    me = acme.me("ann")
    assert me["tier"] == {"name": "Bronze", "threshold": 0}
    assert me["next_tier"] == {
        "name": "Silver",
        "threshold": 100,
        "points_needed": 100,
        "progress": 0.0,
    }
    acme.send("ann", "purchase", properties={"amount": 300})
    me = acme.me("ann")
    assert me["tier"]["name"] == "Silver"
    assert me["next_tier"] == {
        "name": "Gold",
        "threshold": 500,
        "points_needed": 200,
        "progress": 0.5,
    }
    reward = acme.admin("POST", "/rewards", 201, json={"name": "Mug", "cost": 250})
    redeemed = acme.user_call("POST", f"/v1/rewards/{reward['id']}/redeem", "ann")
    assert redeemed.status_code == 201, redeemed.text
    me = acme.me("ann")
    assert me["points"] == {"balance": 50, "lifetime": 300, **NOTHING_HELD}
    assert me["tier"]["name"] == "Silver"
    acme.send("ann", "purchase", properties={"amount": 200})
    assert acme.me("ann")["tier"]["name"] == "Gold"
    assert acme.me("ann")["next_tier"] is None
    assert [t["name"] for t in acme.me("ann")["tiers"]] == ["Bronze", "Silver", "Gold"]


def test_tiers_with_duplicate_names_or_thresholds_are_refused(acme: Tenant) -> None:
    """Two tiers cannot share a name or a threshold."""
    for tiers in (
        [{"name": "A", "threshold": 0}, {"name": "a", "threshold": 10}],
        [{"name": "A", "threshold": 10}, {"name": "B", "threshold": 10}],
    ):
        response = acme.client.put(
            "/v1/products/acme/loyalty/tiers", headers=ADMIN, json={"tiers": tiers}
        )
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "tiers"


# --- catalog and redemption ---------------------------------------------------------------


def _redeem(acme: Tenant, sub: str, reward_id: str, **body: Any) -> Any:
    return acme.user_call(
        "POST", f"/v1/rewards/{reward_id}/redeem", sub, json=body if body else None
    )


def test_a_redemption_debits_the_balance_and_is_in_the_history(acme: Tenant, db: Database) -> None:
    """Redeeming takes the cost, answers the balance after it, and shows as an entry."""
    acme.rule(event_type="purchase", property="amount", rate=1)
    acme.send("ann", "purchase", properties={"amount": 120})
    reward = acme.admin("POST", "/rewards", 201, json={"name": "Free coffee", "cost": 100})
    catalog = acme.user_call("GET", "/v1/rewards", "ann").json()
    assert catalog["balance"] == 120
    assert catalog["rewards"] == [
        {
            "id": reward["id"],
            "name": "Free coffee",
            "description": "",
            "cost": 100,
            "stock": None,
            "fulfilment": "instant",
            "available": True,
            "affordable": True,
        }
    ]
    response = _redeem(acme, "ann", reward["id"])
    assert response.status_code == 201, response.text
    assert response.json()["balance"] == 20
    assert response.json()["redemption"]["reward_name"] == "Free coffee"
    top = acme.history("ann")["entries"][0]
    assert (top["delta"], top["kind"], top["reason"], top["balance_after"]) == (
        -100,
        "redeem",
        "Redeemed: Free coffee",
        20,
    )
    assert acme.user_call("GET", "/v1/rewards", "ann").json()["rewards"][0]["affordable"] is False
    _ledger_matches_accounts(db)


def test_a_redemption_without_enough_points_fails_and_changes_nothing(
    acme: Tenant, db: Database
) -> None:
    """insufficient_points (409) says how many are missing; balance and stock stay."""
    acme.rule(event_type="check_in", points=30)
    acme.send("ann", "check_in")
    reward = acme.admin("POST", "/rewards", 201, json={"name": "Hoodie", "cost": 100, "stock": 5})
    response = _redeem(acme, "ann", reward["id"])
    assert response.status_code == 409, response.text
    assert response.json()["error"] == "insufficient_points"
    assert "70 short" in response.json()["message"]
    assert acme.balance("ann") == 30
    assert acme.admin("GET", "/rewards")[0]["stock"] == 5
    assert [e["kind"] for e in acme.history("ann")["entries"]] == ["earn"]
    _ledger_matches_accounts(db)


def test_stock_runs_out_and_a_disabled_reward_cannot_be_redeemed(acme: Tenant) -> None:
    """Stock 1: the second redemption is reward_out_of_stock; a switched-off reward is
    reward_unavailable and not listed; an unknown one is 404."""
    acme.admin("POST", "/users/ann/points", 404, json={"amount": 1, "reason": "x"})
    acme.send("ann", "hello")  # the user now exists
    acme.admin("POST", "/users/ann/points", 201, json={"amount": 1000, "reason": "Welcome"})
    limited = acme.admin("POST", "/rewards", 201, json={"name": "Poster", "cost": 10, "stock": 1})
    assert _redeem(acme, "ann", limited["id"]).status_code == 201
    second = _redeem(acme, "ann", limited["id"])
    assert (second.status_code, second.json()["error"]) == (409, "reward_out_of_stock")
    assert acme.balance("ann") == 990
    catalog = acme.user_call("GET", "/v1/rewards", "ann").json()["rewards"]
    assert catalog[0]["available"] is False
    acme.admin("PATCH", f"/rewards/{limited['id']}", json={"stock": 3})
    assert _redeem(acme, "ann", limited["id"]).status_code == 201
    acme.admin("PATCH", f"/rewards/{limited['id']}", json={"enabled": False})
    off = _redeem(acme, "ann", limited["id"])
    assert (off.status_code, off.json()["error"]) == (409, "reward_unavailable")
    assert acme.user_call("GET", "/v1/rewards", "ann").json()["rewards"] == []
    missing = _redeem(acme, "ann", "rwd_nope")
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")


def test_a_retried_redemption_with_its_id_debits_once(acme: Tenant) -> None:
    """The same client id answers the first redemption instead of spending again."""
    acme.send("ann", "hello")
    acme.admin("POST", "/users/ann/points", 201, json={"amount": 100, "reason": "Welcome"})
    reward = acme.admin("POST", "/rewards", 201, json={"name": "Sticker", "cost": 40})
    first = _redeem(acme, "ann", reward["id"], id="click-1")
    again = _redeem(acme, "ann", reward["id"], id="click-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert acme.balance("ann") == 60
    assert _redeem(acme, "ann", reward["id"], id="click-2").json()["balance"] == 20


def test_another_products_reward_does_not_exist_for_a_user(
    acme: Tenant, client: TestClient, clock: Clock
) -> None:
    """A user of one product cannot redeem (or see) another product's rewards."""
    other = Tenant(client, create_product(client, id="other"), clock)
    reward = other.admin("POST", "/rewards", 201, json={"name": "Theirs", "cost": 1})
    acme.send("ann", "hello")
    acme.admin("POST", "/users/ann/points", 201, json={"amount": 100, "reason": "Welcome"})
    response = _redeem(acme, "ann", reward["id"])
    assert response.status_code == 404
    assert acme.user_call("GET", "/v1/rewards", "ann").json()["rewards"] == []
    key = bearer(acme.product["api_key"])
    assert client.get("/v1/products/other/rewards", headers=key).status_code == 404


# --- adjustments and history --------------------------------------------------------------


def test_adjustments_carry_their_reason_and_never_overdraw(acme: Tenant, db: Database) -> None:
    """The tenant adds or takes points with a reason the user sees; taking more than the
    balance is insufficient_points and changes nothing."""
    acme.send("ann", "hello")
    key = bearer(acme.product["api_key"])
    added = acme.client.post(
        "/v1/products/acme/users/ann/points",
        headers=key,
        json={"amount": 75, "reason": "Sorry about the late parcel"},
    )
    assert added.status_code == 201, added.text
    assert added.json()["balance"] == 75
    # The answer's entry is the one the history shows, down to what is left of its lot.
    assert added.json()["entry"] == acme.history("ann")["entries"][0]
    assert added.json()["entry"]["remaining"] == 75
    taken = acme.admin("POST", "/users/ann/points", 201, json={"amount": -25, "reason": "Fix"})
    assert taken["entry"]["delta"] == -25
    too_much = acme.client.post(
        "/v1/products/acme/users/ann/points",
        headers=ADMIN,
        json={"amount": -51, "reason": "Oops"},
    )
    assert too_much.status_code == 409
    assert too_much.json()["error"] == "insufficient_points"
    assert acme.me("ann")["points"] == {"balance": 50, "lifetime": 75, **NOTHING_HELD}
    reasons = [(e["delta"], e["reason"]) for e in acme.history("ann")["entries"]]
    assert reasons == [(-25, "Fix"), (75, "Sorry about the late parcel")]
    zero = acme.client.post(
        "/v1/products/acme/users/ann/points", headers=ADMIN, json={"amount": 0, "reason": "x"}
    )
    assert zero.status_code == 422
    _ledger_matches_accounts(db)


def test_history_pages_newest_first_without_gaps(acme: Tenant) -> None:
    """25 entries in pages of 10: 10, 10, 5, each older than the last, no repeats."""
    acme.rule(event_type="tap", points=1)
    for _ in range(25):
        acme.send("ann", "tap")
    seen: list[int] = []
    page = acme.history("ann", limit=10)
    sizes = []
    while True:
        sizes.append(len(page["entries"]))
        seen += [e["id"] for e in page["entries"]]
        if page["next_before"] is None:
            break
        page = acme.history("ann", limit=10, before=page["next_before"])
    assert sizes == [10, 10, 5]
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == 25
    admin_page = acme.admin("GET", "/users/ann/history", params={"limit": 5})
    assert [e["id"] for e in admin_page["entries"]] == seen[:5]


def test_a_ledger_entry_is_never_changed_by_later_activity(acme: Tenant, db: Database) -> None:
    """Append-only: the entries written first read the same after redemptions and
    adjustments."""
    acme.rule(event_type="tap", points=10)
    acme.send("ann", "tap")
    with db.session() as session:
        before = [
            (e.id, e.delta, e.balance_after, e.reason)
            for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))
        ]
    reward = acme.admin("POST", "/rewards", 201, json={"name": "Pin", "cost": 5})
    _redeem(acme, "ann", reward["id"])
    acme.admin("POST", "/users/ann/points", 201, json={"amount": -5, "reason": "Fix"})
    with db.session() as session:
        after = [
            (e.id, e.delta, e.balance_after, e.reason)
            for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))
        ]
    assert after[: len(before)] == before
    assert [d for _, d, _, _ in after] == [10, -5, -5]


# --- expiry -------------------------------------------------------------------------------


def test_an_inactive_balance_expires_as_an_entry(acme: Tenant, db: Database, clock: Clock) -> None:
    """With a 30-day window, a balance with no earn for 30 days expires to 0 through an
    'expire' entry; a user who earned recently keeps theirs."""
    acme.admin("PATCH", "", json={"points_expire_after_days": 30})
    acme.rule(event_type="tap", points=10)
    acme.send("ann", "tap")
    clock.advance(20 * 86_400)
    acme.send("bob", "tap")
    clock.advance(11 * 86_400)
    now = dt.datetime.fromtimestamp(clock.now, dt.UTC)
    assert settling.expire_all(db, now=now) == 1
    assert settling.expire_all(db, now=now) == 0
    assert acme.me("ann")["points"] == {"balance": 0, "lifetime": 10, **NOTHING_HELD}
    assert acme.history("ann")["entries"][0]["kind"] == "expire"
    assert acme.balance("bob") == 10
    _ledger_matches_accounts(db)


# --- referral rewards in points -----------------------------------------------------------


def test_a_referral_reward_in_points_lands_in_the_ledger(acme: Tenant) -> None:
    """With the reward kind 'points', the referrer's reward is spendable points."""
    acme.admin(
        "PATCH",
        "",
        json={
            "referral_reward_kind": "points",
            "referral_reward_amount": 200,
            "referral_reward_on": "signup",
        },
    )
    code = acme.me("ann")["referrals"]["code"]
    signup = acme.admin("POST", "/referrals", 201, json={"referred_user_id": "bob", "code": code})
    assert (signup["reward"]["kind"], signup["reward"]["amount"]) == ("points", 200)
    me = acme.me("ann")
    assert me["points"] == {"balance": 200, "lifetime": 200, **NOTHING_HELD}
    assert me["referrals"]["signups"] == 1
    assert acme.history("ann")["entries"][0]["kind"] == "referral"


# --- the whole picture --------------------------------------------------------------------


def test_me_shows_every_program_for_the_tokens_user(acme: Tenant) -> None:
    """/v1/me: points, tier, ways to earn, badges, streaks and referral stats in one call."""
    acme.rule(name="Check-in", event_type="check_in", points=10, limit_per_day=1)
    acme.admin("PUT", "/loyalty/tiers", json={"tiers": [{"name": "Member", "threshold": 0}]})
    acme.admin(
        "POST",
        "/badges",
        201,
        json={
            "name": "First steps",
            "icon": "👣",
            "criteria": {"kind": "event_count", "event_type": "check_in", "count": 1},
        },
    )
    acme.send("ann", "check_in")
    me = acme.me("ann")
    assert me["user"]["id"] == "ann"
    assert me["points"]["balance"] == 10
    assert me["ways_to_earn"][0]["description"] == "10 points, once a day"
    assert me["badges"][0]["name"] == "First steps"
    assert me["badges"][0]["awarded_at"] is not None
    assert me["streaks"] == [
        {
            "event_type": "check_in",
            "current": 1,
            "best": 1,
            "last_day": me["streaks"][0]["last_day"],
        }
    ]
    assert me["referrals"]["link"].startswith("http://plaudit.test/r/")
    admin_view = acme.admin("GET", "/users/ann/loyalty")
    assert admin_view["points"] == me["points"]
    assert acme.client.get("/v1/me").status_code == 401


def test_a_read_only_token_cannot_redeem(acme: Tenant) -> None:
    """Redeeming needs the 'write' scope; reading the catalog needs 'read'."""
    token = acme.token("ann", scope=["read"])
    assert acme.client.get("/v1/rewards", headers=bearer(token)).status_code == 200
    response = acme.client.post("/v1/rewards/rwd_x/redeem", headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_permissions"


@pytest.mark.parametrize("zone", ["Europe", "Mars/Olympus", "../etc/passwd", ""])
def test_a_time_zone_that_is_not_one_is_refused_naming_the_field(acme: Tenant, zone: str) -> None:
    """Only IANA zone names: a folder of the zone database ("Europe") is not a zone either."""
    response = acme.client.patch("/v1/products/acme", headers=ADMIN, json={"time_zone": zone})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "time_zone"


def test_a_server_only_rule_ignores_events_from_a_users_browser(acme: Tenant) -> None:
    """A user's own token cannot claim a purchase: under a server_only rule only the API key's
    events earn (the same event type from the browser is stored, earning nothing)."""
    rule = acme.rule(event_type="purchase", property="amount", rate=1, server_only=True)
    assert rule["server_only"] is True
    claimed = acme.send("ann", "purchase", properties={"amount": 1_000_000})
    assert claimed["points_earned"] == 0
    sent = acme.admin(
        "POST",
        "/events",
        202,
        json={"user_id": "ann", "type": "purchase", "properties": {"amount": 40}},
    )
    assert sent["points_earned"] == 40
    assert acme.balance("ann") == 40


def test_balances_past_two_billion_are_kept_exactly_on_both_stores(acme: Tenant) -> None:
    """Points are 64-bit: three earns of a billion make three billion, not an overflow."""
    acme.rule(event_type="purchase", property="amount", rate=1, server_only=True)
    events = [
        {"user_id": "ann", "type": "purchase", "properties": {"amount": 1_000_000_000}}
        for _ in range(3)
    ]
    acme.admin("POST", "/events", 202, json={"events": events})
    me = acme.me("ann")
    assert me["points"] == {"balance": 3_000_000_000, "lifetime": 3_000_000_000, **NOTHING_HELD}
    assert acme.history("ann")["entries"][0]["balance_after"] == 3_000_000_000
