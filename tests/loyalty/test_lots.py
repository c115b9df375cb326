"""Points lots, holds and reversal: every earn is a lot with its own expiry and hold; debits
consume the oldest-expiring lots first; a refund takes back what its event earned. Every test
runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from plaudit.events.repository import Member
from plaudit.loyalty import entries, ledger, settling
from plaudit.loyalty.models import LedgerEntry, LoyaltyAccount
from plaudit.products.models import Product
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.users.models import User
from plaudit.webhooks.models import WebhookMessage
from tests.support import factories
from tests.support.service import Clock, bearer
from tests.support.tenant import Tenant

DAY = 86_400


@pytest.fixture
def acme(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    return Tenant(client, factories.product(db, settings, id="acme"), clock)


def _now(clock: Clock) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock.now, dt.UTC)


def _iso(clock: Clock, days: float = 0) -> str:
    """A moment as the API writes it."""
    return (_now(clock) + dt.timedelta(days=days)).isoformat()


def _lots_match_accounts(db: Database) -> None:
    """The invariant: an account's balance is what remains of its available lots, its pending
    what remains of its held ones, and the two together are its ledger's sum."""
    with db.session() as session:
        for account in session.scalars(select(LoyaltyAccount)):
            lots = list(
                session.scalars(
                    select(LedgerEntry).where(
                        LedgerEntry.user_pk == account.user_pk, LedgerEntry.remaining.is_not(None)
                    )
                )
            )
            assert all(0 <= lot.remaining <= max(lot.delta, lot.remaining) for lot in lots)
            assert account.balance == sum(lot.remaining for lot in lots if not lot.held) >= 0
            assert account.pending == sum(lot.remaining for lot in lots if lot.held) >= 0
            user = session.get(User, account.user_pk)
            assert user is not None
            assert account.balance + account.pending == ledger.ledger_sum(session, user)


def _lots(db: Database, sub: str = "ann") -> list[tuple[str, int, int]]:
    """The user's lots in id order: (reason, delta, remaining)."""
    with db.session() as session:
        rows = session.execute(
            select(LedgerEntry.reason, LedgerEntry.delta, LedgerEntry.remaining)
            .join(User, User.id == LedgerEntry.user_pk)
            .where(User.external_id == sub, LedgerEntry.remaining.is_not(None))
            .order_by(LedgerEntry.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def _messages(db: Database, event_type: str) -> list[dict[str, Any]]:
    with db.session() as session:
        return [
            message.payload["data"]
            for message in session.scalars(
                select(WebhookMessage)
                .where(WebhookMessage.event_type == event_type)
                .order_by(WebhookMessage.created_at, WebhookMessage.id)
            )
        ]


def _listen(acme: Tenant, *event_types: str) -> None:
    acme.admin(
        "POST",
        "/webhooks",
        201,
        json={"url": "https://hooks.example.com/plaudit", "event_types": list(event_types)},
    )


def _settle(db: Database, clock: Clock) -> int:
    return settling.settle_due(db, now=_now(clock))


def _redeem(acme: Tenant, sub: str, reward_id: str) -> Any:
    return acme.client.post(f"/v1/rewards/{reward_id}/redeem", headers=bearer(acme.token(sub)))


def _catalog(acme: Tenant, sub: str) -> tuple[int, bool]:
    """The catalog's balance, and whether its one reward is affordable."""
    shown = acme.client.get("/v1/rewards", headers=bearer(acme.token(sub))).json()
    return shown["balance"], shown["rewards"][0]["affordable"]


def _server_event(acme: Tenant, sub: str, type: str, id: str, **properties: Any) -> Any:
    response = acme.client.post(
        f"/v1/products/{acme.id}/events",
        headers=bearer(acme.product["api_key"]),
        json={"user_id": sub, "type": type, "id": id, "properties": properties},
    )
    assert response.status_code == 202, response.text
    return response.json()


def _reverse(acme: Tenant, event_id: str, expect: int = 200, **body: Any) -> Any:
    return acme.admin("POST", f"/events/{event_id}/reversal", expect, json=body)


# --- lots ---------------------------------------------------------------------------------


def test_an_earn_is_a_lot_with_the_products_expiry_and_hold(
    acme: Tenant, clock: Clock, db: Database
) -> None:
    """With lots expiring after 30 days and a 7-day hold, an earn is pending for 7 days and
    expires 30 days after it was earned: /v1/me and the history say both."""
    acme.admin("PATCH", "", json={"points_lot_expiry_days": 30, "points_hold_days": 7})
    acme.rule(name="Purchase", event_type="purchase", points=40)
    assert acme.send("ann", "purchase")["points_earned"] == 40
    points = acme.me("ann")["points"]
    assert points == {
        "balance": 0,
        "lifetime": 40,
        "pending": 40,
        "next_release": {"points": 40, "at": _iso(clock, 7)},
        "next_expiry": {"points": 40, "at": _iso(clock, 30)},
    }
    [entry] = acme.history("ann")["entries"]
    assert (entry["available_at"], entry["expires_at"]) == (_iso(clock, 7), _iso(clock, 30))
    assert entry["balance_after"] == 0
    _lots_match_accounts(db)


def test_a_rule_overrides_the_products_expiry_and_hold(acme: Tenant, db: Database) -> None:
    """A rule's own days win over the product's; 0 means never expires and not held."""
    acme.admin("PATCH", "", json={"points_lot_expiry_days": 30, "points_hold_days": 7})
    rule = acme.rule(event_type="review", points=5, lot_expiry_days=0, hold_days=0)
    assert (rule["lot_expiry_days"], rule["hold_days"]) == (0, 0)
    acme.rule(event_type="share", points=3, lot_expiry_days=90, hold_days=1)
    acme.send("ann", "review")
    acme.send("ann", "share")
    review, share = reversed(acme.history("ann")["entries"])
    assert (review["available_at"], review["expires_at"]) == (None, None)
    assert share["available_at"] is not None
    assert share["expires_at"] is not None
    points = acme.me("ann")["points"]
    assert (points["balance"], points["pending"]) == (5, 3)


def test_without_lot_settings_an_earn_is_available_and_never_expires(
    acme: Tenant, db: Database
) -> None:
    """A product that sets neither keeps today's behaviour: points are spendable at once and
    never expire; the history shows nulls."""
    acme.rule(event_type="check_in", points=10)
    acme.send("ann", "check_in")
    [entry] = acme.history("ann")["entries"]
    assert (entry["available_at"], entry["expires_at"]) == (None, None)
    assert acme.me("ann")["points"]["pending"] == 0
    assert _lots(db) == [("check_in rule", 10, 10)]


def test_redemptions_consume_the_oldest_expiring_lots_first(
    acme: Tenant, clock: Clock, db: Database
) -> None:
    """Lots expiring in 10 and 100 days and one that never expires: a redemption takes the
    10-day lot, then the 100-day one, and leaves the never-expiring lot for last; among equal
    expiries the older lot goes first."""
    acme.rule(name="Forever", event_type="a", points=50, lot_expiry_days=0)
    acme.rule(name="Long", event_type="b", points=50, lot_expiry_days=100)
    acme.rule(name="Short", event_type="c", points=50, lot_expiry_days=10)
    for type in ("a", "b", "c"):
        acme.send("ann", type)
    reward = acme.admin("POST", "/rewards", 201, json={"name": "Mug", "cost": 70})
    assert _redeem(acme, "ann", reward["id"]).status_code == 201
    assert _lots(db) == [("Forever", 50, 50), ("Long", 50, 30), ("Short", 50, 0)]
    adjust = {"amount": -40, "reason": "Correction"}
    acme.admin("POST", "/users/ann/points", 201, json=adjust)
    assert _lots(db) == [("Forever", 50, 40), ("Long", 50, 0), ("Short", 50, 0)]
    assert _redeem(acme, "ann", reward["id"]).json()["error"] == "insufficient_points"
    assert _lots(db) == [("Forever", 50, 40), ("Long", 50, 0), ("Short", 50, 0)]
    _lots_match_accounts(db)


def test_pending_points_cannot_be_spent_until_they_clear_even_before_the_sweep(
    acme: Tenant, clock: Clock, db: Database
) -> None:
    """Held points are refused for a redemption; once the hold has passed they count in
    /v1/me and can be redeemed before the background step has run (the debit releases them
    under the account's lock)."""
    acme.admin("PATCH", "", json={"points_hold_days": 3})
    acme.rule(event_type="purchase", points=100)
    acme.send("ann", "purchase")
    reward = acme.admin("POST", "/rewards", 201, json={"name": "Mug", "cost": 100})
    refused = _redeem(acme, "ann", reward["id"])
    assert refused.json()["error"] == "insufficient_points"
    assert _catalog(acme, "ann") == (0, False)
    clock.advance(3 * DAY)
    assert acme.me("ann")["points"]["balance"] == 100
    assert acme.me("ann")["points"]["pending"] == 0
    assert _catalog(acme, "ann") == (100, True)  # what the redemption will find
    assert _redeem(acme, "ann", reward["id"]).status_code == 201
    assert acme.me("ann")["points"]["balance"] == 0
    _lots_match_accounts(db)


def test_the_background_step_releases_due_lots_and_sends_points_released(
    acme: Tenant, clock: Clock, db: Database
) -> None:
    """The step moves cleared lots from pending into the balance, once, with one
    points.released per user; a lot still held stays pending."""
    _listen(acme, "points.released")
    acme.admin("PATCH", "", json={"points_hold_days": 2})
    acme.rule(event_type="purchase", points=10)
    acme.send("ann", "purchase")
    acme.send("ann", "purchase")
    clock.advance(DAY)
    acme.send("ann", "purchase")  # clears a day later
    clock.advance(DAY)
    assert _settle(db, clock) == 2
    assert _settle(db, clock) == 0
    with db.session() as session:
        account = session.scalar(select(LoyaltyAccount))
        assert account is not None
        assert (account.balance, account.pending) == (20, 10)
    [released] = _messages(db, "points.released")
    assert (released["points"], released["balance"], released["pending"]) == (20, 20, 10)
    assert len(released["entry_ids"]) == 2
    _lots_match_accounts(db)


def test_the_background_step_works_through_many_users_batch_by_batch(
    acme: Tenant, clock: Clock, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With batches of two users, five users' due lots (released and expired) are all
    settled in one run, each batch its own transaction; a second run finds nothing."""
    monkeypatch.setattr(settling, "SETTLE_BATCH", 2)
    acme.admin("PATCH", "", json={"points_hold_days": 1, "points_lot_expiry_days": 3})
    acme.rule(event_type="purchase", points=10)
    acme.rule(event_type="bonus", points=1, hold_days=0, lot_expiry_days=1)
    for user in ("a", "b", "c", "d", "e"):
        acme.send(user, "purchase")
        acme.send(user, "bonus")
    clock.advance(DAY)
    assert _settle(db, clock) == 10  # five lots released, five expired
    assert _settle(db, clock) == 0
    with db.session() as session:
        accounts = list(session.scalars(select(LoyaltyAccount)))
        assert sorted((a.balance, a.pending) for a in accounts) == [(10, 0)] * 5
    _lots_match_accounts(db)


# --- expiry -------------------------------------------------------------------------------


def test_a_lot_expires_by_itself_and_only_what_remains_of_it(
    acme: Tenant, clock: Clock, db: Database
) -> None:
    """100 points expiring in 30 days, 60 spent: after 30 days the other 40 are gone from
    /v1/me at once, and the step writes one expire entry of -40 linked to the lot."""
    acme.admin("PATCH", "", json={"points_lot_expiry_days": 30})
    acme.rule(event_type="purchase", points=100)
    acme.rule(event_type="later", points=5, lot_expiry_days=0)
    acme.send("ann", "purchase")
    acme.admin("POST", "/users/ann/points", 201, json={"amount": -60, "reason": "Spent"})
    acme.send("ann", "later")
    clock.advance(30 * DAY)
    assert acme.me("ann")["points"]["balance"] == 5  # before the step
    assert _settle(db, clock) == 1
    expire = acme.history("ann")["entries"][0]
    assert (expire["kind"], expire["delta"], expire["balance_after"]) == ("expire", -40, 5)
    with db.session() as session:
        lot_ids = session.scalars(select(LedgerEntry.lot_id).where(LedgerEntry.kind == "expire"))
        earn_id = session.scalar(select(LedgerEntry.id).where(LedgerEntry.delta == 100))
        assert list(lot_ids) == [earn_id]
    assert acme.me("ann")["points"]["balance"] == 5
    assert _settle(db, clock) == 0
    _lots_match_accounts(db)


def test_a_debit_never_spends_expired_points_before_the_sweep(
    acme: Tenant, clock: Clock, db: Database
) -> None:
    """An expired lot the step has not reached yet is expired by the redemption that would
    spend it: the redemption is refused."""
    acme.admin("PATCH", "", json={"points_lot_expiry_days": 1})
    acme.rule(event_type="purchase", points=50)
    acme.send("ann", "purchase")
    reward = acme.admin("POST", "/rewards", 201, json={"name": "Mug", "cost": 50})
    assert _catalog(acme, "ann") == (50, True)
    clock.advance(DAY)
    assert _catalog(acme, "ann") == (0, False)  # as the redemption will find it
    assert _redeem(acme, "ann", reward["id"]).json()["error"] == "insufficient_points"
    assert acme.me("ann")["points"]["balance"] == 0
    _lots_match_accounts(db)


def test_points_expiring_is_sent_once_per_lot_the_set_days_before(
    acme: Tenant, clock: Clock, db: Database
) -> None:
    """With a 7-day notice, a lot expiring in 30 days is announced from day 23, once; a
    lot already spent is not announced."""
    _listen(acme, "points.expiring")
    acme.admin("PATCH", "", json={"points_lot_expiry_days": 30, "points_expiring_notice_days": 7})
    acme.rule(event_type="purchase", points=25)
    acme.send("ann", "purchase")
    acme.send("bob", "purchase")
    acme.admin("POST", "/users/bob/points", 201, json={"amount": -25, "reason": "Spent"})
    clock.advance(22 * DAY)
    _settle(db, clock)
    assert _messages(db, "points.expiring") == []
    clock.advance(DAY)
    _settle(db, clock)
    _settle(db, clock)
    [notice] = _messages(db, "points.expiring")
    assert (notice["points"], notice["user_id"]) == (25, "ann")
    assert notice["expires_at"] == _iso(clock, 7).replace("+00:00", "Z")  # as webhooks write it


def test_inactivity_expiry_still_empties_the_balance_and_its_lots(
    acme: Tenant, clock: Clock, db: Database
) -> None:
    """points_expire_after_days keeps working beside lots: the whole available balance
    expires, and the lots it was made of are emptied with it."""
    acme.admin("PATCH", "", json={"points_expire_after_days": 10})
    acme.rule(event_type="purchase", points=30)
    acme.send("ann", "purchase")
    clock.advance(11 * DAY)
    assert settling.expire_all(db, now=_now(clock)) == 1
    assert acme.me("ann")["points"]["balance"] == 0
    assert _lots(db) == [("purchase rule", 30, 0)]
    _lots_match_accounts(db)


# --- the batch path -----------------------------------------------------------------------


def test_a_server_batch_writes_lots_from_when_each_earn_happened(
    acme: Tenant, clock: Clock, db: Database
) -> None:
    """The batch credit path sets each lot's remaining, expiry and hold; a credit's ``at``
    (the event's occurred_at) is where they count from, so a hold already over is available."""
    acme.admin("PATCH", "", json={"points_lot_expiry_days": 30, "points_hold_days": 5})
    acme.rule(event_type="purchase", points=7)
    events = [{"user_id": f"u{i % 2}", "type": "purchase", "id": f"o{i}"} for i in range(4)]
    key = bearer(acme.product["api_key"])
    sent = acme.client.post(f"/v1/products/{acme.id}/events", headers=key, json={"events": events})
    assert sent.status_code == 202
    with db.session() as session:
        product = session.get(Product, "acme")
        assert product is not None
        user = session.scalar(select(User).where(User.external_id == "u0"))
        assert user is not None
        member: Member = user
        [done] = ledger.credit_many(
            session,
            product,
            [ledger.Credit(member, 9, "earn", "Imported", at=_now(clock) - dt.timedelta(days=6))],
            now=_now(clock),
        )
        assert done.entry.available_at == _now(clock) - dt.timedelta(days=1)
        assert done.entry.expires_at == _now(clock) + dt.timedelta(days=24)
    points = acme.me("u0")["points"]
    assert (points["balance"], points["pending"]) == (9, 14)
    assert points["next_release"] == {"points": 14, "at": _iso(clock, 5)}
    _lots_match_accounts(db)


# --- reversal -----------------------------------------------------------------------------


def test_a_reversal_cancels_pending_points_first(acme: Tenant, db: Database) -> None:
    """An order still in its hold is refunded: its pending points are cancelled, the
    available balance is untouched, and the reverse entry names the lot it reverses."""
    acme.admin("PATCH", "", json={"points_hold_days": 14})
    acme.rule(event_type="purchase", property="amount", rate=1, server_only=True)
    earned = _server_event(acme, "ann", "purchase", "order-1", amount=80)
    acme.admin("POST", "/users/ann/points", 201, json={"amount": 20, "reason": "Welcome"})
    assert earned["points_earned"] == 80
    done = _reverse(acme, "order-1", reason="Refund")
    assert (done["reversed"], done["unrecovered"]) == (80, 0)
    assert (done["balance"], done["pending"], done["lifetime"]) == (20, 0, 20)
    assert done["event_id"] == earned["id"]
    assert done["user_id"] == "ann"
    [entry] = done["entries"]
    assert (entry["kind"], entry["delta"], entry["reason"]) == ("reverse", -80, "Refund")
    with db.session() as session:
        lot = session.scalar(select(LedgerEntry).where(LedgerEntry.event_id == earned["id"]))
        link = session.scalar(select(LedgerEntry.lot_id).where(LedgerEntry.kind == "reverse"))
        assert lot is not None
        assert link == lot.id
    _lots_match_accounts(db)


def test_a_held_lot_a_reversal_empties_is_no_longer_held_nor_ever_due(
    acme: Tenant, clock: Clock, db: Database
) -> None:
    """Nothing is left of it to release: past its hold and its expiry, the background step
    finds nothing to settle (a lot left marked held would be found due on every run, and
    enough of them would crowd every tenant's due lots out of the step's batches)."""
    acme.admin("PATCH", "", json={"points_hold_days": 3, "points_lot_expiry_days": 2})
    acme.rule(event_type="purchase", points=50)
    earned = _server_event(acme, "ann", "purchase", "order-1")
    _reverse(acme, "order-1")
    with db.session() as session:
        lot = session.scalar(select(LedgerEntry).where(LedgerEntry.event_id == earned["id"]))
        assert lot is not None
        assert (lot.remaining, lot.held) == (0, False)
    clock.advance(4 * DAY)
    assert _settle(db, clock) == 0
    with db.session() as session:
        due = session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.held.is_(True), LedgerEntry.available_at <= _now(clock))
        )
    assert due == 0
    _lots_match_accounts(db)


def test_a_reversal_takes_spent_points_from_the_other_lots_then_stops_at_zero(
    acme: Tenant, db: Database
) -> None:
    """100 earned by the order, 90 of it spent, 30 more from elsewhere: the reversal takes
    the order's 10 left, then 30 from the other lot, and records 60 unrecovered; the
    balance is zero, never negative."""
    acme.rule(event_type="purchase", property="amount", rate=1, server_only=True)
    _server_event(acme, "ann", "purchase", "order-1", amount=100)
    acme.admin("POST", "/users/ann/points", 201, json={"amount": -90, "reason": "Spent"})
    acme.admin("POST", "/users/ann/points", 201, json={"amount": 30, "reason": "Bonus"})
    done = _reverse(acme, "order-1")
    assert (done["reversed"], done["unrecovered"], done["balance"]) == (40, 60, 0)
    with db.session() as session:
        entry = session.scalar(select(LedgerEntry).where(LedgerEntry.kind == "reverse"))
        assert entry is not None
        assert (entry.delta, entry.unrecovered, entry.balance_after) == (-40, 60, 0)
    assert _lots(db) == [("purchase rule", 100, 0), ("Bonus", 30, 0)]
    _lots_match_accounts(db)


def test_a_reversal_of_several_lots_takes_each_lots_own_points_before_any_other(
    acme: Tenant, db: Database
) -> None:
    """An order earned two lots (10 expiring soon, 50 later); the 10 were spent. Reversing
    takes the 50-point lot's own points, then the 10 from the never-expiring bonus, never
    the same points twice: no lot goes below zero."""
    acme.rule(name="Base", event_type="purchase", points=10, lot_expiry_days=5)
    acme.rule(
        name="Per euro",
        event_type="purchase",
        property="amount",
        rate=1,
        server_only=True,
        lot_expiry_days=100,
    )
    _server_event(acme, "ann", "purchase", "order-1", amount=50)
    acme.admin("POST", "/users/ann/points", 201, json={"amount": -10, "reason": "Spent"})
    acme.admin("POST", "/users/ann/points", 201, json={"amount": 20, "reason": "Bonus"})
    done = _reverse(acme, "order-1")
    assert (done["reversed"], done["unrecovered"], done["balance"]) == (60, 0, 10)
    assert sorted(_lots(db)) == [("Base", 10, 0), ("Bonus", 20, 10), ("Per euro", 50, 0)]
    _lots_match_accounts(db)


def test_reversing_twice_takes_nothing_more_and_partial_reversals_add_up(
    acme: Tenant, db: Database
) -> None:
    """points is the total that stands reversed: 30, again 30 (nothing more), then 50 (20
    more), then all (the last 50); a full reversal sent again writes nothing."""
    acme.rule(event_type="purchase", property="amount", rate=1, server_only=True)
    _server_event(acme, "ann", "purchase", "order-1", amount=100)
    assert _reverse(acme, "order-1", points=30)["reversed"] == 30
    again = _reverse(acme, "order-1", points=30)
    assert (again["reversed"], again["entries"]) == (0, [])
    assert _reverse(acme, "order-1", points=50)["reversed"] == 20
    assert _reverse(acme, "order-1")["reversed"] == 50
    assert _reverse(acme, "order-1") == {**_reverse(acme, "order-1"), "reversed": 0}
    assert acme.balance("ann") == 0
    with db.session() as session:
        reversals = session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "reverse"))
        assert sorted(-entry.delta for entry in reversals) == [20, 30, 50]
    _lots_match_accounts(db)


def test_an_unrecovered_reversal_is_not_taken_again_later(acme: Tenant, db: Database) -> None:
    """What a reversal could not recover counts as reversed: points earned afterwards are
    not taken by reversing the same event again."""
    acme.rule(event_type="purchase", property="amount", rate=1, server_only=True)
    _server_event(acme, "ann", "purchase", "order-1", amount=50)
    acme.admin("POST", "/users/ann/points", 201, json={"amount": -50, "reason": "Spent"})
    assert _reverse(acme, "order-1")["unrecovered"] == 50
    acme.admin("POST", "/users/ann/points", 201, json={"amount": 10, "reason": "Later"})
    assert _reverse(acme, "order-1")["reversed"] == 0
    assert acme.balance("ann") == 10


def test_a_reversal_lowers_lifetime_the_tier_and_sends_points_reversed(
    acme: Tenant, db: Database
) -> None:
    """Reversed points were never earned: lifetime drops (so the tier drops, with
    tier.changed) and points.reversed says what was taken and what was not."""
    _listen(acme, "points.reversed", "tier.changed")
    acme.admin("PUT", "/loyalty/tiers", json={"tiers": [{"name": "Gold", "threshold": 100}]})
    acme.rule(event_type="purchase", property="amount", rate=1, server_only=True)
    _server_event(acme, "ann", "purchase", "order-1", amount=120)
    assert acme.me("ann")["tier"]["name"] == "Gold"
    _reverse(acme, "order-1", reason="Chargeback")
    me = acme.me("ann")
    assert (me["points"]["lifetime"], me["tier"]) == (0, None)
    [reversed_] = _messages(db, "points.reversed")
    assert {k: reversed_[k] for k in ("event_id", "points", "unrecovered", "reason")} == {
        "event_id": "order-1",
        "points": 120,
        "unrecovered": 0,
        "reason": "Chargeback",
    }
    changes = {(m["from"], m["to"], m["direction"]) for m in _messages(db, "tier.changed")}
    assert changes == {(None, "Gold", "up"), ("Gold", None, "down")}


def test_the_reversal_route_finds_events_by_either_id_and_refuses_the_unknown(
    acme: Tenant,
) -> None:
    """An event is named by Plaudit's id or the tenant's; a tenant id two users share needs
    user_id; an unknown event is not_found; a user's token cannot reverse."""
    acme.rule(event_type="purchase", property="amount", rate=1, server_only=True)
    first = _server_event(acme, "ann", "purchase", "order-1", amount=10)
    _server_event(acme, "bob", "purchase", "order-1", amount=20)
    assert _reverse(acme, first["id"])["reversed"] == 10
    ambiguous = _reverse(acme, "order-1", 422)
    assert ambiguous["error"] == "invalid_request"
    assert _reverse(acme, "order-1", user_id="bob")["reversed"] == 20
    audit = acme.admin("GET", "/audit", params={"action": "reversal.create"})["entries"]
    assert [(e["target_id"], e["changes"]["points"]["after"]) for e in audit] == [
        ("bob", 20),
        ("ann", 10),
    ]
    assert _reverse(acme, "nope", 404)["error"] == "not_found"
    refused = acme.client.post(
        "/v1/products/acme/events/order-1/reversal", headers=bearer(acme.token("ann")), json={}
    )
    assert refused.status_code in (401, 403)
    assert _reverse(acme, first["id"], 422, points=0)["error"] == "invalid_request"


def test_points_given_back_by_a_refund_are_a_lot_available_and_never_expiring(
    acme: Tenant, db: Database, clock: Clock
) -> None:
    """A failed redemption's refund entry (kind refund) is built as a lot of its points, so
    the balance it restores stays the sum of the available lots."""
    acme.send("ann", "hello")
    with db.session() as session:
        user = session.scalar(select(User).where(User.external_id == "ann"))
        assert user is not None
        row = entries.entry_row(
            user, delta=30, kind="refund", reason="Refund", balance_after=30, now=_now(clock)
        )
    assert (row["remaining"], row["expires_at"], row["available_at"], row["held"]) == (
        30,
        None,
        None,
        False,
    )
