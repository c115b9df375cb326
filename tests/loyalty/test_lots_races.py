"""Lots under real concurrency: threads with their own connections, released together by a
barrier. On PostgreSQL these are truly concurrent transactions serialised by the account row's
lock; on SQLite they take turns. Whatever the interleaving, every lot's remaining points add up
to the account's balance and pending, and nothing is spent twice."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from plaudit.errors import ServiceError
from plaudit.loyalty import catalog, ledger, reversal, settling
from plaudit.loyalty.models import LedgerEntry, LoyaltyAccount, Redemption
from plaudit.products.models import Product
from plaudit.store.db import Database
from plaudit.users.models import User
from tests.support.service import ADMIN, Clock, bearer, create_product
from tests.support.tenant import Tenant

pytestmark = pytest.mark.committed

DAY = 86_400


def _race(db: Database, works: list[Callable[[Any], object]]) -> list[object]:
    """Run each ``work(session)`` in its own thread at once; each result or raised error, in
    the order of ``works``."""
    barrier = threading.Barrier(len(works))
    results: list[object] = [None] * len(works)

    def run(index: int) -> None:
        barrier.wait(timeout=10)
        try:
            with db.session() as session:
                results[index] = works[index](session)
        except ServiceError as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return results


def _now(clock: Clock) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock.now, dt.UTC)


def _ann(session: Any) -> tuple[Product, User]:
    product = session.get(Product, "acme")
    user = session.scalar(select(User).where(User.external_id == "ann"))
    return product, user


def _consistent(db: Database) -> tuple[int, int]:
    """The account's (balance, pending), checked against its lots and its ledger."""
    with db.session() as session:
        _, user = _ann(session)
        account = session.get(LoyaltyAccount, user.id)
        assert account is not None
        lots = list(
            session.execute(
                select(LedgerEntry.remaining, LedgerEntry.held).where(
                    LedgerEntry.user_pk == user.id, LedgerEntry.remaining.is_not(None)
                )
            )
        )
        assert all(remaining >= 0 for remaining, _ in lots)
        assert account.balance == sum(r for r, held in lots if not held)
        assert account.pending == sum(r for r, held in lots if held)
        assert account.balance + account.pending == ledger.ledger_sum(session, user)
        return account.balance, account.pending


def _tenant(client: TestClient, clock: Clock, **settings: Any) -> Tenant:
    acme = Tenant(client, create_product(client, id="acme"), clock)
    if settings:
        acme.admin("PATCH", "", json=settings)
    return acme


def _server_event(acme: Tenant, type: str, id: str, **properties: Any) -> dict[str, Any]:
    response = acme.client.post(
        "/v1/products/acme/events",
        headers=ADMIN,
        json={"user_id": "ann", "type": type, "id": id, "properties": properties},
    )
    assert response.status_code == 202, response.text
    result: dict[str, Any] = response.json()
    return result


def test_racing_redemptions_consume_each_lot_once(
    client: TestClient, db: Database, clock: Clock
) -> None:
    """Ten lots of 30 with different expiries, eight redemptions of 70 at once: exactly four
    succeed (280 of 300), the lots that remain are the latest-expiring 20 points, and lots,
    account and ledger agree."""
    acme = _tenant(client, clock)
    for days in range(10, 0, -1):  # lot ids run against their expiry order
        acme.rule(name=f"in {days} days", event_type=f"e{days}", points=30, lot_expiry_days=days)
        acme.send("ann", f"e{days}")
    reward = acme.admin("POST", "/rewards", 201, json={"name": "Mug", "cost": 70})

    def redeem(session: Any) -> object:
        product, user = _ann(session)
        return catalog.redeem(session, product, user, reward["id"], now=_now(clock))

    results = _race(db, [redeem] * 8)
    failures = [r for r in results if isinstance(r, ServiceError)]
    assert len(results) - len(failures) == 4
    assert {f.code for f in failures} == {"insufficient_points"}
    assert _consistent(db) == (20, 0)
    with db.session() as session:
        left = session.execute(
            select(LedgerEntry.reason, LedgerEntry.remaining).where(LedgerEntry.remaining > 0)
        ).all()
        assert [tuple(row) for row in left] == [("in 10 days", 20)]
        assert session.scalar(select(func.count()).select_from(Redemption)) == 4


def test_a_hold_clearing_while_redeeming_is_counted_once(
    client: TestClient, db: Database, clock: Clock
) -> None:
    """Held points clear while redemptions and the background step run at once: each
    released lot lands in the balance once, two of the four 50-point redemptions of the
    100 released succeed, and pending ends at zero."""
    acme = _tenant(client, clock, points_hold_days=1)
    acme.rule(event_type="purchase", points=25)
    for _ in range(4):
        acme.send("ann", "purchase")
    reward = acme.admin("POST", "/rewards", 201, json={"name": "Mug", "cost": 50})
    assert acme.me("ann")["points"]["pending"] == 100
    clock.advance(DAY)

    def redeem(session: Any) -> object:
        product, user = _ann(session)
        return catalog.redeem(session, product, user, reward["id"], now=_now(clock))

    def sweep(session: Any) -> object:
        return settling.settle_due(db, now=_now(clock))

    results = _race(db, [redeem, sweep, redeem, sweep, redeem, redeem])
    failures = [r for r in results if isinstance(r, ServiceError)]
    assert {f.code for f in failures} == {"insufficient_points"}
    assert len(failures) == 2
    assert _consistent(db) == (0, 0)


def test_a_reversal_during_redemptions_never_takes_the_balance_below_zero(
    client: TestClient, db: Database, clock: Clock
) -> None:
    """An order's 100 points, 60 more from elsewhere; redemptions of 50 race a refund of the
    order: whatever the order of turns, the reversal and the redemptions together never
    spend more than 160, the unrecovered amount makes up the rest, and the balance is never
    negative. The same reversal racing itself takes the order's points once."""
    acme = _tenant(client, clock)
    acme.rule(event_type="purchase", property="amount", rate=1, server_only=True)
    _server_event(acme, "purchase", "order-1", amount=100)
    acme.admin("POST", "/users/ann/points", 201, json={"amount": 60, "reason": "Bonus"})
    reward = acme.admin("POST", "/rewards", 201, json={"name": "Mug", "cost": 50})

    def redeem(session: Any) -> object:
        product, user = _ann(session)
        return catalog.redeem(session, product, user, reward["id"], now=_now(clock))

    def reverse(session: Any) -> object:
        product, _ = _ann(session)
        return reversal.reverse_event(
            session, product, event_id="order-1", reason="Refund", now=_now(clock)
        )

    results = _race(db, [redeem, reverse, redeem, reverse, redeem])
    reversals = [r for r in results if isinstance(r, reversal.Reversal)]
    redeemed = [r for r in results if isinstance(r, tuple)]
    assert len(reversals) == 2
    assert sum(r.reversed + r.unrecovered for r in reversals) == 100
    spent = 50 * len(redeemed) + sum(r.reversed for r in reversals)
    balance, pending = _consistent(db)
    assert (balance + spent, pending) == (160, 0)
    assert balance >= 0
    response = client.get("/v1/me", headers=bearer(acme.token("ann")))
    assert response.json()["points"]["lifetime"] == 60
