"""A batch is evaluated in memory and written set-wise: what one call per event would have done,
event by event, also where the batch itself makes the case (a repeated id, several users, a
limit or a tier reached part way through), and exact when batches race on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from plaudit.events.models import Event
from plaudit.events.schemas import ServerEventIn
from plaudit.loyalty.models import LedgerEntry
from plaudit.pipeline import ingest
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.users.models import User
from plaudit.webhooks.models import WebhookDelivery, WebhookMessage
from tests.support import factories
from tests.support.racing import race
from tests.support.service import ADMIN, Clock
from tests.support.tenant import Tenant

URL = "/v1/products/acme/events"


@pytest.fixture
def acme(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    return Tenant(client, factories.product(db, settings, id="acme"), clock)


def _batch(client: TestClient, events: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post(URL, headers=ADMIN, json={"events": events})
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _entries(db: Database) -> list[tuple[str, int, int]]:
    """Every ledger entry as (user's external id, delta, balance after), in order written."""
    with db.session() as session:
        rows = session.execute(
            select(User.external_id, LedgerEntry.delta, LedgerEntry.balance_after)
            .join(User, User.id == LedgerEntry.user_pk)
            .order_by(LedgerEntry.id)
        )
        return [(str(u), int(d), int(b)) for u, d, b in rows]


def _notices(db: Database, event_type: str) -> list[dict[str, Any]]:
    """The queued notifications of a type, in delivery order."""
    with db.session() as session:
        rows = session.scalars(
            select(WebhookMessage.payload)
            .join(WebhookDelivery, WebhookDelivery.message_id == WebhookMessage.id)
            .where(WebhookMessage.event_type == event_type)
            .order_by(WebhookDelivery.id)
        )
        return [dict(payload["data"]) for payload in rows]


def _listen(acme: Tenant, *types: str) -> None:
    acme.admin(
        "POST",
        "/webhooks",
        201,
        json={"url": "http://127.0.0.1:9/hook", "event_types": list(types)},
    )


def test_an_id_twice_in_one_batch_is_stored_and_earns_once(
    acme: Tenant, client: TestClient, db: Database
) -> None:
    """The same id twice in a batch, and again in a later one: one event, one earn; every
    copy answers the stored event's id as a duplicate."""
    acme.rule(event_type="purchase", property="amount", rate=1)
    event = {"user_id": "u1", "type": "purchase", "id": "o-1", "properties": {"amount": 5}}
    first = _batch(client, [event, {**event, "properties": {"amount": 500}}])
    [original, copy] = first["events"]
    assert (original["duplicate"], original["points_earned"]) == (False, 5)
    assert copy == {**original, "duplicate": True, "points_earned": 0, "badges_awarded": []}
    assert (first["accepted"], first["duplicates"]) == (1, 1)
    fresh = {"user_id": "u1", "type": "purchase", "id": "o-2", "properties": {"amount": 7}}
    second = _batch(client, [fresh, event])
    assert [e["duplicate"] for e in second["events"]] == [False, True]
    assert second["events"][1]["id"] == original["id"]
    assert acme.balance("u1") == 12
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 2


def test_two_users_in_one_batch_each_get_their_own_running_balance(
    acme: Tenant, client: TestClient, db: Database
) -> None:
    """Interleaved events of two users: each entry's balance after is its own user's, in the
    order sent, and each account equals its ledger."""
    acme.rule(event_type="purchase", property="amount", rate=1)
    amounts = [("a", 1), ("b", 10), ("a", 2), ("b", 20), ("a", 3)]
    _batch(
        client,
        [{"user_id": u, "type": "purchase", "properties": {"amount": n}} for u, n in amounts],
    )
    assert _entries(db) == [("a", 1, 1), ("b", 10, 10), ("a", 2, 3), ("b", 20, 30), ("a", 3, 6)]
    assert (acme.balance("a"), acme.balance("b")) == (6, 30)


def test_a_daily_limit_reached_part_way_through_a_batch_stops_the_later_events(
    acme: Tenant, client: TestClient
) -> None:
    """A rule twice a day and one event earned already today: of three more in a batch, only
    the first earns; another user's three in the same batch count on their own."""
    acme.rule(event_type="checkin", points=5, limit_per_day=2)
    acme.send("u1", "checkin")  # one earned today already, by a single event
    answer = _batch(
        client,
        [{"user_id": "u1", "type": "checkin"} for _ in range(3)]
        + [{"user_id": "u2", "type": "checkin"} for _ in range(3)],
    )
    assert [e["points_earned"] for e in answer["events"]] == [5, 0, 0, 5, 5, 0]
    assert (acme.balance("u1"), acme.balance("u2")) == (10, 10)


def test_a_tier_crossed_part_way_through_a_batch_is_reported_where_it_happens(
    acme: Tenant, client: TestClient, db: Database
) -> None:
    """10 points an event, Silver at 20 and Gold at 40: one batch of five moves the user
    into Bronze, Silver and Gold, each change queued once, in order, after the earn that made
    it; the points badge goes to the event that reached it."""
    acme.rule(event_type="level", points=10)
    acme.admin(
        "PUT",
        "/loyalty/tiers",
        json={
            "tiers": [
                {"name": "Bronze", "threshold": 0},
                {"name": "Silver", "threshold": 20},
                {"name": "Gold", "threshold": 40},
            ]
        },
    )
    acme.admin(
        "POST",
        "/badges",
        201,
        json={"name": "Thirty", "criteria": {"kind": "points_total", "points": 30}},
    )
    _listen(acme, "tier.changed", "points.earned", "badge.awarded")
    answer = _batch(client, [{"user_id": "u1", "type": "level"} for _ in range(5)])
    assert [e["badges_awarded"] for e in answer["events"]] == [[], [], ["Thirty"], [], []]
    changes = [(n["from"], n["to"], n["lifetime"]) for n in _notices(db, "tier.changed")]
    assert changes == [(None, "Bronze", 10), ("Bronze", "Silver", 20), ("Silver", "Gold", 40)]
    earned = _notices(db, "points.earned")
    assert [(n["balance"], n["lifetime"]) for n in earned] == [
        (10, 10),
        (20, 20),
        (30, 30),
        (40, 40),
        (50, 50),
    ]
    assert len({n["entry_id"] for n in earned}) == 5
    assert [n["entry_id"] for n in earned] == sorted(n["entry_id"] for n in earned)
    assert acme.me("u1")["tier"]["name"] == "Gold"
    # The order one user's notifications reach an endpoint in: each earn, then its tier change.
    with db.session() as session:
        kinds = list(
            session.scalars(
                select(WebhookMessage.event_type)
                .join(WebhookDelivery, WebhookDelivery.message_id == WebhookMessage.id)
                .where(WebhookMessage.event_type != "user.created")
                .order_by(WebhookDelivery.id)
            )
        )
    assert kinds == [
        "points.earned",
        "tier.changed",
        "points.earned",
        "tier.changed",
        "points.earned",
        "badge.awarded",
        "points.earned",
        "tier.changed",
        "points.earned",
    ]


def test_a_batch_that_fails_at_its_last_step_leaves_nothing(
    acme: Tenant, client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch whose last step (queueing its webhooks) fails, after its events, earns and
    streaks were written: nothing of it stays, not even its new users."""
    acme.rule(event_type="purchase", property="amount", rate=1)

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the outbox is gone")

    monkeypatch.setattr(ingest, "enqueue_many", refuse)
    events = [{"user_id": u, "type": "purchase", "properties": {"amount": 3}} for u in "ab"]
    assert client.post(URL, headers=ADMIN, json={"events": events}).status_code == 500
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
    assert client.get("/v1/products/acme/users/a", headers=ADMIN).status_code == 404


@pytest.mark.committed
def test_racing_batches_respect_a_daily_limit_exactly(
    acme: Tenant, client: TestClient, db: Database, clock: Clock
) -> None:
    """Four batches at once, each with three events of a rule limited to five a day for the
    same two users (in either order): exactly five earns per user, and each user's entries
    run 1 to 5 with nothing lost between them."""
    acme.rule(event_type="checkin", points=1, limit_per_day=5)
    _batch(client, [{"user_id": "u1", "type": "x"}, {"user_id": "u2", "type": "x"}])
    now = dt.datetime.fromtimestamp(clock.now, dt.UTC)
    orders = (["u1", "u2"], ["u2", "u1"], ["u1", "u2"], ["u2", "u1"])
    batches = [
        [ServerEventIn(user_id=u, type="checkin") for u in order for _ in range(3)]
        for order in orders
    ]
    failures = race(db, "acme", batches, now=now)
    assert failures == []
    assert (acme.balance("u1"), acme.balance("u2")) == (5, 5)
    by_user: dict[str, list[int]] = {}
    for user, delta, after in _entries(db):
        by_user.setdefault(user, []).append(after)
        assert delta == 1
    assert by_user == {"u1": [1, 2, 3, 4, 5], "u2": [1, 2, 3, 4, 5]}
