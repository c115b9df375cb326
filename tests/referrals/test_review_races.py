"""Real concurrency on one referral: threads with their own connections, released together by
a barrier. On PostgreSQL these are truly concurrent transactions (the second conditional
UPDATE waits for the first and then finds the row moved); on SQLite they take turns."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from plaudit.errors import ServiceError
from plaudit.products.models import Product
from plaudit.referrals import review, service
from plaudit.referrals.models import ReferralReward
from plaudit.referrals.rewards import release_due
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support.service import Clock

from .shop import Shop

# Each thread needs its own connection: what one commits, the others must see.
pytestmark = pytest.mark.committed

THREADS = 6


def _race(db: Database, works: list[Callable[[Session], object]]) -> list[object]:
    """Run each of ``works`` in its own thread at once; each result or raised error."""
    barrier = threading.Barrier(len(works))
    results: list[object] = []
    lock = threading.Lock()

    def run(work: Callable[[Session], object]) -> None:
        barrier.wait(timeout=10)
        try:
            with db.session() as session:
                outcome: object = work(session)
        except ServiceError as exc:
            outcome = exc
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(results) == len(works)
    return results


def _shop(client: TestClient, db: Database, settings: Settings, clock: Clock) -> Shop:
    shop = Shop(client, db, settings, clock, referral_reward_on="conversion")
    shop.users(("alice", {"email": "alice@example.com"}))
    shop.signup("bob", referred_email="alice@example.com")
    held = shop.call("POST", "/referrals/bob/conversion", json={"order_id": "ord-1"}).json()
    assert held["reward"]["status"] == "held"
    return shop


def _product(session: Session) -> Product:
    product = session.get(Product, "shop")
    assert product is not None
    return product


def _now(clock: Clock) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock.now, dt.UTC)


def test_reviewers_approving_at_once_grant_once(
    client: TestClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """Six reviewers approve the same referral at once: one decides, five are told it is not
    in review, and the referrer is credited once."""
    shop = _shop(client, db, settings, clock)

    def approve(session: Session) -> object:
        return review.decide(
            session, _product(session), "bob", approve=True, note=None, now=_now(clock)
        )

    results = _race(db, [approve] * THREADS)
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(results) - len(refused) == 1
    assert {r.code for r in refused} == {"referral_not_in_review"}
    assert shop.balance("alice") == 50
    assert len(shop.webhooks("reward.granted")) == 1
    assert len(shop.webhooks("referral.reviewed")) == 1


def test_an_approval_racing_a_cancellation_either_grants_or_cancels(
    client: TestClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """Approvals and refunds of the order at once: the reward ends granted (credited once) or
    cancelled (credited never), nothing in between."""
    shop = _shop(client, db, settings, clock)

    def approve(session: Session) -> object:
        return review.decide(
            session, _product(session), "bob", approve=True, note=None, now=_now(clock)
        )

    def refund(session: Session) -> object:
        return service.cancel_for_order(
            session, _product(session), "ord-1", reason="Refund", now=_now(clock)
        )

    _race(db, [approve, refund] * (THREADS // 2))
    with db.session() as session:
        reward = session.scalar(select(ReferralReward))
        assert reward is not None
        status = reward.status
    assert status in {"granted", "cancelled"}
    credited = {"granted": 50, "cancelled": 0}[status]
    assert shop.balance("alice") == credited
    assert len(shop.webhooks("reward.granted")) == credited // 50


def test_release_steps_racing_grant_once(
    client: TestClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """Several processes' release steps at once grant a due reward once."""
    shop = Shop(client, db, settings, clock, referral_reward_hold_days=1)
    shop.users(("alice", {}))
    shop.signup("bob")
    clock.advance(86_400)
    results: list[Any] = []
    barrier = threading.Barrier(THREADS)

    def step() -> None:
        barrier.wait(timeout=10)
        results.append(release_due(db, now=_now(clock)))

    threads = [threading.Thread(target=step) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [0] * (THREADS - 1) + [1]
    assert shop.balance("alice") == 50
