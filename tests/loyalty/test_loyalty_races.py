"""Real concurrency on one balance: threads with their own connections, released together by a
barrier. On PostgreSQL these are truly concurrent transactions; on SQLite they take turns."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from plaudit.errors import ServiceError
from plaudit.loyalty import catalog, entries, fulfilment, ledger
from plaudit.loyalty.models import LedgerEntry, Redemption, Reward, RewardCode
from plaudit.pipeline.ingest import ingest
from plaudit.products.models import Product
from plaudit.store.db import Database
from plaudit.users.models import User
from tests.support.service import ADMIN, Clock, create_product
from tests.support.tenant import Tenant

# Each thread needs its own connection: what one commits, the others must see.
pytestmark = pytest.mark.committed

THREADS = 8


def _race(db: Database, work: Callable[[Any], object]) -> list[object]:
    """Run ``work(session)`` in THREADS threads at once; each result or raised error."""
    barrier = threading.Barrier(THREADS)
    results: list[object] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait(timeout=10)
        try:
            with db.session() as session:
                outcome: object = work(session)
        except ServiceError as exc:
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == THREADS
    return results


def _setup(client: TestClient, clock: Clock, *, balance: int) -> Tenant:
    acme = Tenant(client, create_product(client, id="acme"), clock)
    acme.send("ann", "hello")
    acme.admin("POST", "/users/ann/points", 201, json={"amount": balance, "reason": "Start"})
    return acme


def _now(clock: Clock) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock.now, dt.UTC)


def _user(session: Any) -> tuple[Product, User]:
    product = session.get(Product, "acme")
    user = session.scalar(select(User).where(User.external_id == "ann"))
    return product, user


def test_racing_redemptions_never_overspend(client: TestClient, db: Database, clock: Clock) -> None:
    """Balance 250, eight redemptions of 100 at once: exactly two succeed, the rest are
    insufficient_points, and the balance is 50 by the account and by the ledger."""
    acme = _setup(client, clock, balance=250)
    reward = acme.admin("POST", "/rewards", 201, json={"name": "Voucher", "cost": 100})

    def redeem(session: Any) -> object:
        product, user = _user(session)
        return catalog.redeem(session, product, user, reward["id"], now=_now(clock))

    results = _race(db, redeem)
    failures = [r for r in results if isinstance(r, ServiceError)]
    assert len(results) - len(failures) == 2
    assert {f.code for f in failures} == {"insufficient_points"}
    with db.session() as session:
        _, user = _user(session)
        assert entries.account(session, user).balance == 50
        assert ledger.ledger_sum(session, user) == 50
        assert session.scalar(select(func.count()).select_from(Redemption)) == 2


def test_racing_redemptions_never_oversell_stock(
    client: TestClient, db: Database, clock: Clock
) -> None:
    """Stock 3, plenty of points, eight at once: three succeed, stock ends at 0, and the
    five refused spent nothing."""
    acme = _setup(client, clock, balance=10_000)
    reward = acme.admin("POST", "/rewards", 201, json={"name": "Ticket", "cost": 10, "stock": 3})

    def redeem(session: Any) -> object:
        product, user = _user(session)
        return catalog.redeem(session, product, user, reward["id"], now=_now(clock))

    results = _race(db, redeem)
    failures = [r for r in results if isinstance(r, ServiceError)]
    assert {f.code for f in failures} == {"reward_out_of_stock"}
    assert len(failures) == THREADS - 3
    with db.session() as session:
        assert session.get(Reward, reward["id"]).stock == 0  # type: ignore[union-attr]
        _, user = _user(session)
        assert entries.account(session, user).balance == 10_000 - 30


def test_racing_events_respect_a_once_rule(client: TestClient, db: Database, clock: Clock) -> None:
    """Eight copies of a once-only event (different ids) at once earn exactly once."""
    acme = _setup(client, clock, balance=1)
    acme.rule(event_type="onboarded", points=500, once=True)
    counter = iter(range(THREADS))

    def send(session: Any) -> object:
        product, user = _user(session)
        return ingest(
            session,
            product,
            user,
            type="onboarded",
            client_event_id=f"e{next(counter)}",
            now=_now(clock),
        )

    _race(db, send)
    with db.session() as session:
        earned = session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "earn")
        )
        assert earned == 1
        _, user = _user(session)
        assert entries.account(session, user).balance == 501


def test_racing_redemptions_of_a_small_code_pool_hand_each_code_out_once(
    client: TestClient, db: Database, clock: Clock
) -> None:
    """Three codes, eight redemptions at once: three succeed with three different codes, five
    are reward_out_of_codes and spent nothing; every code is taken by exactly one redemption."""
    acme = _setup(client, clock, balance=10_000)
    reward = acme.admin(
        "POST", "/rewards", 201, json={"name": "Card", "cost": 10, "fulfilment": "code"}
    )
    response = client.post(
        f"/v1/products/acme/rewards/{reward['id']}/codes",
        content=b"C-1\nC-2\nC-3\n",
        headers={**ADMIN, "Content-Type": "text/csv"},
    )
    assert response.json()["added"] == 3

    def redeem(session: Any) -> object:
        product, user = _user(session)
        redemption, _ = catalog.redeem(session, product, user, reward["id"], now=_now(clock))
        return redemption.code

    results = _race(db, redeem)
    failures = [r for r in results if isinstance(r, ServiceError)]
    assert {f.code for f in failures} == {"reward_out_of_codes"}
    assert sorted(r for r in results if isinstance(r, str)) == ["C-1", "C-2", "C-3"]
    with db.session() as session:
        _, user = _user(session)
        assert entries.account(session, user).balance == 10_000 - 30
        assert ledger.ledger_sum(session, user) == 10_000 - 30
        taken = session.execute(select(RewardCode.code, RewardCode.redemption_id)).all()
        redemptions = {r.id: r.code for r in session.scalars(select(Redemption))}
    assert len(redemptions) == 3
    assert {redemptions[redemption_id] for _, redemption_id in taken} == {"C-1", "C-2", "C-3"}


def test_a_fulfilment_racing_a_failure_settles_once(
    client: TestClient, db: Database, clock: Clock
) -> None:
    """Four 'fulfilled' and four 'failed' at once on one pending redemption: one outcome wins,
    its callers all succeed (idempotent), the others are redemption_settled, and the points
    are refunded once if it failed, never otherwise."""
    acme = _setup(client, clock, balance=1000)
    reward = acme.admin(
        "POST", "/rewards", 201, json={"name": "Hoodie", "cost": 300, "fulfilment": "tenant"}
    )
    with db.session() as session:
        product, user = _user(session)
        pending, _ = catalog.redeem(session, product, user, reward["id"], now=_now(clock))
        pending_id = pending.id
    turn = iter(range(THREADS))
    lock = threading.Lock()

    def settle(session: Any) -> object:
        with lock:
            outcome: fulfilment.Outcome = "fulfilled" if next(turn) % 2 else "failed"
        product = session.get(Product, "acme")
        found = fulfilment.settle(session, product, pending_id, outcome=outcome, now=_now(clock))
        return found.status

    results = _race(db, settle)
    won = {r for r in results if isinstance(r, str)}
    assert len(won) == 1
    (winner,) = won
    losers = [r for r in results if isinstance(r, ServiceError)]
    assert {f.code for f in losers} == {"redemption_settled"}
    assert len(losers) == THREADS // 2
    with db.session() as session:
        _, user = _user(session)
        refunds = session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "refund")
        )
        assert refunds == (1 if winner == "failed" else 0)
        assert entries.account(session, user).balance == (1000 if winner == "failed" else 700)
        assert ledger.ledger_sum(session, user) == entries.account(session, user).balance
