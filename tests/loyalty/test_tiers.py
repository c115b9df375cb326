"""Tiers held by lifetime points (never lost) or by a rolling window of points with a grace
period before a downgrade: every state change, on SQLite and PostgreSQL, with the app's clock."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from plaudit.loyalty import entries, requalify
from plaudit.loyalty.models import LedgerEntry, LoyaltyAccount, TierStanding
from plaudit.products.models import Product
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.users.models import User
from plaudit.webhooks.models import WebhookDelivery, WebhookMessage
from tests.support import factories
from tests.support.service import ADMIN, Clock
from tests.support.tenant import Tenant

DAY = 86_400.0
LADDER = [
    {"name": "Bronze", "threshold": 0},
    {"name": "Silver", "threshold": 100},
    {"name": "Gold", "threshold": 500},
]


@pytest.fixture
def acme(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    tenant = Tenant(client, factories.product(db, settings, id="acme"), clock)
    tenant.rule(name="Spend", event_type="purchase", property="amount", rate=1)
    tenant.admin(
        "POST",
        "/webhooks",
        201,
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["tier.changed"]},
    )
    return tenant


def _rolling(acme: Tenant, *, window_days: int = 365, grace_days: int = 30) -> dict[str, Any]:
    body = {"tiers": LADDER, "held_by": "rolling", "window_days": window_days}
    result: dict[str, Any] = acme.admin(
        "PUT", "/loyalty/tiers", json={**body, "grace_days": grace_days}
    )
    return result


def _spend(acme: Tenant, user: str, amount: int) -> None:
    assert acme.send(user, "purchase", properties={"amount": amount})["points_earned"] == amount


def _now(clock: Clock) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock.now, dt.UTC)


def _step(db: Database, clock: Clock) -> int:
    """The background step, as the app's programs loop runs it."""
    return requalify.requalify_all(db, now=_now(clock))


def _changes(db: Database) -> list[tuple[str | None, str | None, str]]:
    """The queued tier.changed notifications: (from, to, direction), oldest first."""
    with db.session() as session:
        rows = session.scalars(
            select(WebhookMessage.payload)
            .join(WebhookDelivery, WebhookDelivery.message_id == WebhookMessage.id)
            .where(WebhookMessage.event_type == "tier.changed")
            .order_by(WebhookDelivery.id)
        )
        return [(p["data"]["from"], p["data"]["to"], p["data"]["direction"]) for p in rows]


def _tier(acme: Tenant, user: str) -> str | None:
    tier = acme.me(user)["tier"]
    return tier["name"] if tier is not None else None


# --- lifetime: today's behaviour -----------------------------------------------------------


def test_lifetime_tiers_move_up_on_credit_and_are_never_lost(
    acme: Tenant, db: Database, clock: Clock
) -> None:
    """By default tiers are held by lifetime points: the earn that crosses a threshold moves
    the user up (tier.changed says "up"), and neither time nor the background step takes the
    tier away."""
    policy = acme.admin("PUT", "/loyalty/tiers", json={"tiers": LADDER})
    assert (policy["held_by"], policy["window_days"], policy["grace_days"]) == ("lifetime", None, 0)
    _spend(acme, "ann", 150)
    assert _tier(acme, "ann") == "Silver"
    assert _changes(db) == [(None, "Silver", "up")]
    clock.advance(800 * DAY)
    assert _step(db, clock) == 0
    me = acme.me("ann")
    assert me["tier"]["name"] == "Silver"
    assert me["tier_status"] == {
        "qualifying_points": 150,
        "window_days": None,
        "review_at": None,
        "downgrade_to": None,
    }
    assert _changes(db) == [(None, "Silver", "up")]


def test_tier_status_is_null_without_tiers(acme: Tenant) -> None:
    """A product with no tiers shows no tier status."""
    _spend(acme, "ann", 5)
    assert acme.me("ann")["tier_status"] is None


# --- rolling window -------------------------------------------------------------------------


def test_rolling_tiers_move_up_in_the_background_step_from_the_window(
    acme: Tenant, db: Database, clock: Clock
) -> None:
    """Under a rolling window the credit path leaves tiers alone; the next background step
    moves the user to the tier their window reaches, with tier.changed "up"."""
    _rolling(acme)
    _spend(acme, "ann", 150)
    assert acme.me("ann")["tier"] is None  # not evaluated yet
    assert acme.me("ann")["tier_status"]["qualifying_points"] == 150
    assert _step(db, clock) == 1
    me = acme.me("ann")
    assert me["tier"]["name"] == "Silver"
    assert me["next_tier"]["name"] == "Gold"
    assert me["next_tier"]["points_needed"] == 350
    assert me["tier_status"] == {
        "qualifying_points": 150,
        "window_days": 365,
        "review_at": None,
        "downgrade_to": None,
    }
    assert _changes(db) == [(None, "Silver", "up")]
    assert _step(db, clock) == 0  # evaluated once: nothing left to do


def test_falling_below_the_threshold_starts_a_grace_period(
    acme: Tenant, db: Database, clock: Clock
) -> None:
    """When earns leave the window and the rest is below the tier's threshold, the user keeps
    the tier for the grace period: review_at is set, with the tier they would move to."""
    _rolling(acme, grace_days=30)
    _spend(acme, "ann", 150)
    _step(db, clock)
    clock.advance(200 * DAY)
    _spend(acme, "ann", 40)
    clock.advance(170 * DAY)  # the 150 are 370 days old now; the 40, 170 days
    assert _step(db, clock) == 0
    me = acme.me("ann")
    assert me["tier"]["name"] == "Silver"
    assert me["tier_status"]["qualifying_points"] == 40
    review_at = dt.datetime.fromisoformat(me["tier_status"]["review_at"].replace("Z", "+00:00"))
    assert review_at == _now(clock) + dt.timedelta(days=30)
    assert me["tier_status"]["downgrade_to"] == "Bronze"
    assert _changes(db) == [(None, "Silver", "up")]
    exported = acme.admin("GET", "/users/ann/export")["points"]["tier_standing"]
    assert (exported["qualifying"], exported["downgrade_to"]) == (40, "Bronze")


def test_requalifying_within_the_grace_period_keeps_the_tier(
    acme: Tenant, db: Database, clock: Clock
) -> None:
    """Earning back above the threshold before review_at clears the pending downgrade."""
    _rolling(acme, grace_days=30)
    _spend(acme, "ann", 150)
    _step(db, clock)
    clock.advance(366 * DAY)
    _step(db, clock)
    assert acme.me("ann")["tier_status"]["review_at"] is not None
    clock.advance(10 * DAY)
    _spend(acme, "ann", 120)
    assert _step(db, clock) == 0
    clock.advance(25 * DAY)  # past the old review_at
    assert _step(db, clock) == 0
    me = acme.me("ann")
    assert me["tier"]["name"] == "Silver"
    assert me["tier_status"]["review_at"] is None
    assert me["tier_status"]["downgrade_to"] is None
    assert _changes(db) == [(None, "Silver", "up")]


def test_after_the_grace_period_the_user_moves_down(
    acme: Tenant, db: Database, clock: Clock
) -> None:
    """At review_at, a user still below the threshold moves down, with tier.changed "down"."""
    _rolling(acme, grace_days=30)
    _spend(acme, "ann", 150)
    _step(db, clock)
    clock.advance(366 * DAY)
    _spend(acme, "ann", 20)
    _step(db, clock)
    clock.advance(29 * DAY)
    assert _step(db, clock) == 0
    assert _tier(acme, "ann") == "Silver"
    clock.advance(1 * DAY)
    assert _step(db, clock) == 1
    me = acme.me("ann")
    assert me["tier"]["name"] == "Bronze"
    assert me["tier_status"]["review_at"] is None
    assert me["tier_status"]["qualifying_points"] == 20
    assert _changes(db) == [(None, "Silver", "up"), ("Silver", "Bronze", "down")]


def test_a_downgrade_goes_down_several_tiers_at_once(
    acme: Tenant, db: Database, clock: Clock
) -> None:
    """From Gold with an empty window, the user moves straight to Bronze: one move, one
    webhook, with the lifetime and window points."""
    _rolling(acme, grace_days=7)
    _spend(acme, "ann", 600)
    _step(db, clock)
    assert _tier(acme, "ann") == "Gold"
    clock.advance(366 * DAY)
    _step(db, clock)
    assert acme.me("ann")["tier_status"]["downgrade_to"] == "Bronze"
    clock.advance(7 * DAY)
    assert _step(db, clock) == 1
    assert _tier(acme, "ann") == "Bronze"
    assert _changes(db) == [(None, "Gold", "up"), ("Gold", "Bronze", "down")]
    with db.session() as session:
        payload = session.scalars(
            select(WebhookMessage.payload)
            .where(WebhookMessage.event_type == "tier.changed")
            .order_by(WebhookMessage.created_at.desc())
        ).first()
    assert payload is not None
    assert (payload["data"]["lifetime"], payload["data"]["qualifying_points"]) == (600, 0)


def test_without_a_grace_period_the_user_moves_down_at_once(
    acme: Tenant, db: Database, clock: Clock
) -> None:
    """grace_days 0: the pass that finds the window short moves the user down."""
    _rolling(acme, window_days=30, grace_days=0)
    _spend(acme, "ann", 150)
    _step(db, clock)
    clock.advance(31 * DAY)
    assert _step(db, clock) == 1
    assert _tier(acme, "ann") == "Bronze"


def test_a_reversal_counts_against_the_window(acme: Tenant, db: Database, clock: Clock) -> None:
    """A "reverse" ledger entry (a refund of an earn) is negative qualifying points: the
    window drops below the threshold and a grace period starts."""
    _rolling(acme, grace_days=30)
    _spend(acme, "ann", 150)
    _step(db, clock)
    with db.session() as session:
        user = session.scalars(select(User).where(User.external_id == "ann")).one()
        row = entries.entry_row(
            user,
            delta=-100,
            kind="reverse",
            reason="Refund of order 1",
            balance_after=50,
            now=_now(clock),
        )
        session.execute(insert(LedgerEntry).values(row))
    clock.advance(120)
    _step(db, clock)
    status = acme.me("ann")["tier_status"]
    assert status["downgrade_to"] == "Bronze"
    assert status["review_at"] is not None


def test_changing_the_tiers_re_evaluates_every_user(
    acme: Tenant, db: Database, clock: Clock
) -> None:
    """Switching a product with lifetime tiers to a rolling window sweeps every account: a
    user whose window no longer holds their tier enters a grace period."""
    acme.admin("PUT", "/loyalty/tiers", json={"tiers": LADDER})
    _spend(acme, "ann", 150)
    clock.advance(400 * DAY)
    _spend(acme, "bob", 600)
    assert (_tier(acme, "ann"), _tier(acme, "bob")) == ("Silver", "Gold")
    _rolling(acme, grace_days=30)
    _step(db, clock)
    assert acme.me("ann")["tier_status"]["downgrade_to"] == "Bronze"
    assert acme.me("bob")["tier_status"]["review_at"] is None


def test_a_pass_is_bounded_and_the_rest_waits_for_the_next(
    acme: Tenant, db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each pass evaluates at most BATCH users per source and says there is more; the next
    passes finish the work."""
    _rolling(acme)
    for n in range(5):
        _spend(acme, f"u{n}", 150)
    monkeypatch.setattr(requalify, "BATCH", 2)
    with db.session() as session:
        product = session.get(Product, "acme")
        assert product is not None
        moved, more = requalify.requalify(session, product, now=_now(clock))
    assert more
    assert moved <= 4  # the sweep's two and the earners' two, at most
    _step(db, clock)
    with db.session() as session:
        tiers = set(session.scalars(select(LoyaltyAccount.tier_name)))
        standings = session.scalars(select(TierStanding.qualifying)).all()
    assert tiers == {"Silver"}
    assert sorted(standings) == [150] * 5


# --- the policy through the API -------------------------------------------------------------


def test_the_policy_is_set_and_read_with_the_tiers(acme: Tenant) -> None:
    """PUT .../loyalty/tiers sets how the tiers are held; a PUT that omits it keeps it."""
    assert _rolling(acme, window_days=180, grace_days=14)["window_days"] == 180
    kept = acme.admin("PUT", "/loyalty/tiers", json={"tiers": LADDER[:2]})
    assert (kept["held_by"], kept["window_days"], kept["grace_days"]) == ("rolling", 180, 14)
    back = acme.admin("PUT", "/loyalty/tiers", json={"tiers": LADDER, "held_by": "lifetime"})
    assert (back["held_by"], back["window_days"], back["grace_days"]) == ("lifetime", None, 0)
    assert acme.admin("GET", "/loyalty/tiers")["held_by"] == "lifetime"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"held_by": "rolling"}, "window_days"),
        ({"held_by": "lifetime", "grace_days": 10}, "held_by"),
        ({"window_days": 365}, "held_by"),
    ],
)
def test_an_incomplete_or_contradictory_policy_is_refused(
    acme: Tenant, client: TestClient, body: dict[str, Any], field: str
) -> None:
    """A rolling window needs its length; lifetime takes no window or grace; a window alone
    does not say how the tiers are held."""
    response = client.put(
        "/v1/products/acme/loyalty/tiers", headers=ADMIN, json={"tiers": LADDER, **body}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_request"
    assert response.json()["field"] == field


# --- the documentation's examples -----------------------------------------------------------

DOCS = Path(__file__).resolve().parents[2] / "docs" / "loyalty.md"
CURL = re.compile(r"curl -X (?P<method>[A-Z]+) \$PLAUDIT(?P<path>\S+) .*?-d '(?P<body>.*?)'", re.S)


def _tiers_section() -> str:
    text = DOCS.read_text()
    start = text.index("## Tiers\n")
    return text[start : text.index("\n## ", start + 1)]


def test_the_tiers_documentation_examples_run_as_written(
    acme: Tenant, client: TestClient, db: Database, clock: Clock
) -> None:
    """Each request of docs/loyalty.md's Tiers section is accepted as written, in order; the
    /v1/me example shows the fields /v1/me answers."""
    section = _tiers_section()
    requests = list(CURL.finditer(section))
    assert len(requests) == 2
    for request in requests:
        response = client.request(
            request["method"], request["path"], headers=ADMIN, json=json.loads(request["body"])
        )
        assert response.status_code == 200, response.text
    assert acme.admin("GET", "/loyalty/tiers")["held_by"] == "rolling"
    _spend(acme, "ann", 600)
    _step(db, clock)
    shown = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
    me = acme.me("ann")
    assert me["tier"]["name"] == "Silver"
    assert set(me["tier_status"]) == set(shown["tier_status"])
