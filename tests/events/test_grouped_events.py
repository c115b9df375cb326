"""Single events by group commit: the events a product's users send while its last transaction
runs are stored together by the next, and each keeps the fate it would have had alone.

Each test holds a product's first transaction open until the events it needs are waiting
behind it, so that the group it asserts forms every time, on either store."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from plaudit.events.models import Event
from plaudit.pipeline import client_events
from plaudit.store.db import Database
from tests.support.service import Clock, bearer, create_product, verify
from tests.support.tenant import Tenant

# Requests from several threads at once, each transaction its own connection's.
pytestmark = pytest.mark.committed

SECONDS = 10
USERS = ("ann", "bob", "cat", "dan")


class Gate:
    """Wraps the pipeline's ``run`` for client events: records each transaction's events
    (product id, user ids), and holds the first one until ``behind`` events wait for it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, client: TestClient) -> None:
        self.client = client
        self.runs: list[tuple[str, list[str]]] = []
        self.behind = 0
        self.after: Callable[[list[Any]], None] = lambda events: None
        real = client_events.run

        def run(session: Session, product: Any, events: list[Any], **kwargs: Any) -> Any:
            self.runs.append((product.id, [user.external_id for user, _ in events]))
            if len(self.runs) == 1:
                until(lambda: event_groups_of(client).waiting(product.id) >= self.behind)
            outcomes = real(session, product, events, **kwargs)
            self.after(events)
            return outcomes

        monkeypatch.setattr(client_events, "run", run)


def event_groups_of(client: TestClient) -> Any:
    return client.app.state.event_groups  # type: ignore[attr-defined]


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + SECONDS
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


class Sending:
    """Events sent from threads of their own, each answer kept by its user."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.threads: list[threading.Thread] = []
        self.answers: dict[str, Response] = {}

    def send(self, sub: str, body: dict[str, Any], *, name: str | None = None) -> None:
        token = self.tenant.token(sub)

        def post() -> None:
            self.answers[name or sub] = self.tenant.client.post(
                "/v1/events", headers=bearer(token), json=body
            )

        thread = threading.Thread(target=post)
        thread.start()
        self.threads.append(thread)

    def wait(self) -> dict[str, Response]:
        for thread in self.threads:
            thread.join(timeout=SECONDS)
        return self.answers


@pytest.fixture
def acme(client: TestClient, clock: Clock) -> Tenant:
    tenant = Tenant(client, create_product(client, id="acme"), clock)
    tenant.rule(event_type="level_completed", points=10)
    for sub in USERS:  # known, so that their tokens' checks write nothing while a group waits
        assert verify(client, tenant.token(sub)).status_code == 200
    return tenant


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch, client: TestClient) -> Gate:
    return Gate(monkeypatch, client)


@pytest.fixture
def sending(acme: Tenant) -> Iterator[Sending]:
    sending = Sending(acme)
    yield sending
    sending.wait()


def stored(db: Database, product_id: str = "acme") -> int:
    with db.session() as session:
        count = select(func.count()).select_from(Event).where(Event.product_id == product_id)
        return session.scalar(count) or 0


def first_held(gate: Gate, sending: Sending, behind: int) -> None:
    """Ann's event starts the product's transaction, held until ``behind`` more wait."""
    gate.behind = behind
    sending.send("ann", {"type": "level_completed"})
    until(lambda: len(gate.runs) == 1)


def test_events_that_arrive_while_a_transaction_runs_are_stored_together_by_the_next(
    acme: Tenant, gate: Gate, sending: Sending, db: Database
) -> None:
    first_held(gate, sending, behind=3)
    for sub in ("bob", "cat", "dan"):
        sending.send(sub, {"type": "level_completed"})
    answers = sending.wait()

    assert len(gate.runs) == 2
    assert gate.runs[0] == ("acme", ["ann"])
    assert sorted(gate.runs[1][1]) == ["bob", "cat", "dan"]  # in the order they arrived
    for sub in ("ann", "bob", "cat", "dan"):
        assert answers[sub].status_code == 202, answers[sub].text
        assert answers[sub].json()["points_earned"] == 10
        assert answers[sub].json()["duplicate"] is False
        assert acme.balance(sub) == 10
    assert len({answer.json()["id"] for answer in answers.values()}) == 4
    assert stored(db) == 4


def test_the_same_event_id_twice_in_one_group_is_stored_once(
    acme: Tenant, gate: Gate, sending: Sending, db: Database
) -> None:
    first_held(gate, sending, behind=2)
    for name in ("first", "retry"):
        sending.send("bob", {"type": "level_completed", "id": "level-7"}, name=name)
    answers = sending.wait()

    assert gate.runs[1] == ("acme", ["bob", "bob"])
    outcomes = [answers[name].json() for name in ("first", "retry")]
    assert sorted(outcome["duplicate"] for outcome in outcomes) == [False, True]
    assert outcomes[0]["id"] == outcomes[1]["id"]
    assert acme.balance("bob") == 10
    assert stored(db) == 2  # ann's and bob's


def test_a_group_that_fails_is_stored_again_event_by_event_and_only_the_culprit_fails(
    acme: Tenant, gate: Gate, sending: Sending, db: Database
) -> None:
    """Its partial writes rolled back: the others' events stored once, their points once."""

    def refuse_the_poisoned(events: list[Any]) -> None:
        if any(event.properties.get("poison") for _, event in events):
            raise OperationalError("INSERT", {}, Exception("the store refused it"))

    gate.after = refuse_the_poisoned
    first_held(gate, sending, behind=3)
    sending.send("bob", {"type": "level_completed"})
    sending.send("cat", {"type": "level_completed", "properties": {"poison": True}})
    sending.send("dan", {"type": "level_completed"})
    answers = sending.wait()

    assert [len(users) for _, users in gate.runs] == [1, 3, 1, 1, 1]  # the group, then alone
    assert answers["cat"].status_code >= 500
    for sub in ("bob", "dan"):
        assert answers[sub].status_code == 202, answers[sub].text
        assert answers[sub].json()["points_earned"] == 10
        assert acme.balance(sub) == 10
    assert acme.balance("cat") == 0
    assert stored(db) == 3  # ann's, bob's, dan's: none twice


def test_a_failed_commit_fails_its_group_and_is_never_retried(
    monkeypatch: pytest.MonkeyPatch, acme: Tenant, gate: Gate, sending: Sending, db: Database
) -> None:
    """Whether a failed commit took effect is unknown: storing again could count an event
    without an id twice. Each request of the group answers an error, as a lone one would."""
    armed = threading.Event()
    commit = Session.commit

    def failing_commit(self: Session) -> None:
        if armed.is_set():
            armed.clear()
            raise OperationalError("COMMIT", {}, Exception("the connection dropped"))
        commit(self)

    monkeypatch.setattr(Session, "commit", failing_commit)
    gate.after = lambda events: armed.set() if len(events) > 1 else None
    first_held(gate, sending, behind=2)
    sending.send("bob", {"type": "level_completed"})
    sending.send("cat", {"type": "level_completed"})
    answers = sending.wait()

    assert [len(users) for _, users in gate.runs] == [1, 2]  # no retry
    assert answers["ann"].status_code == 202
    assert answers["bob"].status_code >= 500
    assert answers["cat"].status_code >= 500
    assert stored(db) == 1


def test_one_products_transaction_never_holds_another_products_events(
    client: TestClient,
    clock: Clock,
    acme: Tenant,
    sending: Sending,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bulkhead: a group is one product's; a slow one delays only its own events. (Held
    before its transaction opens: SQLite itself runs one writer at a time, whoever's.)"""
    other = Tenant(client, create_product(client, id="other"), clock)
    other_answered = threading.Event()
    real = client_events.store

    def store(state: Any, product_id: str, sent: list[Any]) -> Any:
        if product_id == "acme":  # slow until the other product's event is answered
            assert other_answered.wait(SECONDS), "the other product's event waited for acme's"
        return real(state, product_id, sent)

    monkeypatch.setattr(client_events, "store", store)
    sending.send("ann", {"type": "level_completed"})
    until(lambda: event_groups_of(client)._running.get("acme") is not None)
    answer = client.post(
        "/v1/events", headers=bearer(other.token("zoe")), json={"type": "level_completed"}
    )
    other_answered.set()
    assert answer.status_code == 202, answer.text
    assert sending.wait()["ann"].status_code == 202
    assert stored(db, "acme") == 1
    assert stored(db, "other") == 1
