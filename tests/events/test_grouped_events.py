"""Single events by group commit: the events a product's users send while its last transaction
runs are stored together by the next, and each keeps the fate it would have had alone.

Each test holds a product's first transaction open until the events it needs are waiting
behind it, so that the group it asserts forms every time, on either store."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from prometheus_client import REGISTRY
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm import Session

from plaudit.events.models import Event
from plaudit.pipeline import client_events
from plaudit.store.db import Database
from tests.support.grouping import SECONDS, one_lane, until
from tests.support.service import Clock, bearer, create_product, verify
from tests.support.tenant import Tenant

# Requests from several threads at once, each transaction its own connection's.
pytestmark = pytest.mark.committed

USERS = ("ann", "bob", "cat", "dan")


class Gate:
    """Wraps the pipeline's ``run`` for client events: records each transaction's events
    (product id, user ids), and holds the first one until ``behind`` events wait for it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, client: TestClient) -> None:
        self.client = client
        one_lane(client)
        self.runs: list[tuple[str, list[str]]] = []
        self.behind = 0
        self.after: Callable[[list[Any]], None] = lambda events: None
        #: The session of the last transaction run: a test may fail its commit alone.
        self.session: Session | None = None
        real = client_events.run

        def run(session: Session, product: Any, events: list[Any], **kwargs: Any) -> Any:
            self.runs.append((product.id, [user.external_id for user, _ in events]))
            if len(self.runs) == 1:
                until(lambda: event_groups_of(client).waiting(product.id) >= self.behind)
            outcomes = real(session, product, events, **kwargs)
            self.session = session
            self.after(events)
            return outcomes

        monkeypatch.setattr(client_events, "run", run)


def event_groups_of(client: TestClient) -> Any:
    return client.app.state.event_groups  # type: ignore[attr-defined]


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
    assert sorted(gate.runs[1][1]) == ["bob", "cat", "dan"]
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
            raise DataError("INSERT", {}, Exception("the store refused the value"))

    gate.after = refuse_the_poisoned
    first_held(gate, sending, behind=3)
    sending.send("bob", {"type": "level_completed"})
    sending.send("cat", {"type": "level_completed", "properties": {"poison": True}})
    sending.send("dan", {"type": "level_completed"})
    answers = sending.wait()

    assert [len(users) for _, users in gate.runs] == [1, 3, 1, 1, 1]  # the group, then alone
    assert answers["cat"].status_code == 422  # what a lone event the store refuses answers
    for sub in ("bob", "dan"):
        assert answers[sub].status_code == 202, answers[sub].text
        assert answers[sub].json()["points_earned"] == 10
        assert acme.balance(sub) == 10
    assert acme.balance("cat") == 0
    assert stored(db) == 3  # ann's, bob's, dan's: none twice


def test_a_store_that_fails_fails_its_group_without_storing_each_event_again(
    acme: Tenant, gate: Gate, sending: Sending, db: Database
) -> None:
    """``database is locked`` after its busy timeout, a connection lost: each event alone would
    wait the same failure out again, one after another. Each request answers the error."""

    def the_store_fails(events: list[Any]) -> None:
        if len(events) > 1:
            raise OperationalError("INSERT", {}, Exception("database is locked"))

    gate.after = the_store_fails
    first_held(gate, sending, behind=2)
    sending.send("bob", {"type": "level_completed"})
    sending.send("cat", {"type": "level_completed"})
    answers = sending.wait()

    assert [len(users) for _, users in gate.runs] == [1, 2]  # not stored again one by one
    assert answers["bob"].status_code >= 500
    assert answers["cat"].status_code >= 500
    assert answers["bob"].json()["error"] == answers["cat"].json()["error"] == "internal_error"
    assert stored(db) == 1


def test_a_failed_commit_fails_its_group_and_is_never_retried(
    monkeypatch: pytest.MonkeyPatch, acme: Tenant, gate: Gate, sending: Sending, db: Database
) -> None:
    """Whether a failed commit took effect is unknown: storing again could count an event
    without an id twice. Each request of the group answers an error, as a lone one would."""
    doomed: list[Session] = []  # the group's session, whose commit fails
    commit = Session.commit

    def failing_commit(self: Session) -> None:
        if self in doomed:
            raise OperationalError("COMMIT", {}, Exception("the connection dropped"))
        commit(self)

    monkeypatch.setattr(Session, "commit", failing_commit)
    gate.after = lambda events: doomed.append(gate.session) if len(events) > 1 else None  # type: ignore[arg-type]
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


def test_an_event_is_judged_by_its_own_requests_clock_however_long_it_waited(
    acme: Tenant, gate: Gate, sending: Sending, clock: Clock, db: Database
) -> None:
    """An occurred_at just inside the bound when the request came is stored as sent, though its
    group starts after the bound has passed it (and nobody else's event fails for it)."""
    first_held(gate, sending, behind=2)
    sent_at = dt.datetime.fromtimestamp(clock.now, dt.UTC)
    edge = sent_at - dt.timedelta(minutes=5) + dt.timedelta(seconds=1)
    sending.send("bob", {"type": "level_completed", "occurred_at": edge.isoformat()})
    sending.send("cat", {"type": "level_completed"})
    until(lambda: event_groups_of(acme.client).waiting("acme") == 2)
    clock.advance(2)  # the running transaction took 2 s: bob's occurred_at is now too old
    answers = sending.wait()

    assert [len(users) for _, users in gate.runs] == [1, 2]  # stored together, no split
    assert answers["bob"].status_code == 202, answers["bob"].text
    assert answers["cat"].status_code == 202, answers["cat"].text
    with db.session() as session:
        stored_at = session.scalar(
            select(Event.occurred_at).where(Event.id == answers["bob"].json()["id"])
        )
    assert stored_at is not None
    assert stored_at.replace(tzinfo=dt.UTC) == edge


def _lock_account(connection: Connection, sub: str) -> None:
    connection.execute(
        text(
            "SELECT 1 FROM loyalty_accounts a JOIN users u ON u.id = a.user_pk "
            "WHERE u.external_id = :sub FOR UPDATE OF a"
        ),
        {"sub": sub},
    )


def test_a_users_locked_account_holds_only_that_users_event(
    acme: Tenant, client: TestClient, db: Database, sending: Sending
) -> None:
    """A row lock held elsewhere (a redemption, a server batch) stalls the group that waits for
    it; past its patience the product's next events take another lane (PostgreSQL: SQLite has
    one writer for everything, whoever's)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer for everything)")
    for sub in ("ann", "bob"):  # accounts exist
        acme.send(sub, "level_completed")
    with db.engine.connect() as other:
        held = other.begin()
        _lock_account(other, "ann")
        sending.send("ann", {"type": "level_completed"})
        until(lambda: event_groups_of(client).running("acme") == 1)
        answer = client.post(
            "/v1/events", headers=bearer(acme.token("bob")), json={"type": "level_completed"}
        )
        assert answer.status_code == 202, answer.text
        assert "ann" not in sending.answers  # still waiting for its row
        held.rollback()
    assert sending.wait()["ann"].status_code == 202
    assert acme.balance("ann") == 20
    assert acme.balance("bob") == 20


def test_a_group_that_waits_too_long_for_one_users_row_is_split_and_the_others_stored(
    acme: Tenant, client: TestClient, gate: Gate, sending: Sending, db: Database
) -> None:
    """A group of several waits at most LOCK_PATIENCE_MS for a row lock: then each of its
    events is stored alone, and only the one whose row is locked waits for it, last."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer for everything)")
    for sub in ("ann", "bob", "cat"):  # accounts exist
        acme.send(sub, "level_completed")
    gate.runs.clear()
    with db.engine.connect() as other:
        held = other.begin()
        _lock_account(other, "bob")
        first_held(gate, sending, behind=2)
        sending.send("bob", {"type": "level_completed"})
        sending.send("cat", {"type": "level_completed"})
        until(lambda: "cat" in sending.answers)  # split after the lock timeout: cat alone
        assert sending.answers["cat"].status_code == 202
        assert "bob" not in sending.answers  # waits, alone, for its row
        held.rollback()
    answers = sending.wait()
    assert answers["bob"].status_code == 202, answers["bob"].text
    # ann; the group; cat alone; bob alone (its lock waited out briefly), bob again, patiently
    assert [len(users) for _, users in gate.runs] == [1, 2, 1, 1, 1]
    assert acme.balance("bob") == 20
    assert acme.balance("cat") == 20


def test_past_its_backlog_a_products_next_event_is_refused_at_once_naming_when_to_retry(
    acme: Tenant, client: TestClient, gate: Gate, sending: Sending, db: Database
) -> None:
    """A bulkhead's limit: at most BACKLOG events wait per product; the next is answered 503
    events_backlogged with Retry-After, not queued without bound (nothing of it stored)."""
    app = client.app
    app.state.event_groups = client_events.groups(app.state.plaudit, lanes=1, backlog=1)  # type: ignore[attr-defined]
    first_held(gate, sending, behind=2)  # held until released below
    sending.send("bob", {"type": "level_completed"})
    until(lambda: event_groups_of(client).waiting("acme") == 1)
    refused = client.post(
        "/v1/events", headers=bearer(acme.token("cat")), json={"type": "level_completed"}
    )
    gate.behind = 1  # release ann's transaction
    assert refused.status_code == 503
    assert refused.json()["error"] == "events_backlogged"
    assert refused.headers["Retry-After"] == "1"
    answers = sending.wait()
    assert answers["bob"].status_code == 202
    assert stored(db) == 2  # ann's and bob's


def _later() -> float:
    return REGISTRY.get_sample_value("plaudit_event_group_later_total") or 0.0


def test_one_users_events_in_concurrent_transactions_earn_a_daily_limit_once_and_an_id_once(
    acme: Tenant, client: TestClient, db: Database, sending: Sending
) -> None:
    """The events of a user whose row is locked elsewhere are stored later, each alone and
    at once when the lock goes: a daily limit still earns once, an id is still stored once,
    across those concurrent transactions (PostgreSQL: they run at once only there)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent transactions of one product: PostgreSQL only")
    acme.rule(event_type="daily", points=5, limit_per_day=1)
    acme.send("ann", "level_completed")  # her account exists: 10 points
    later = _later()
    with db.engine.connect() as other:
        held = other.begin()
        _lock_account(other, "ann")
        sending.send("ann", {"type": "daily", "id": "d-1"}, name="first")
        until(lambda: _later() >= later + 1)
        sending.send("ann", {"type": "daily", "id": "d-2"}, name="second")
        sending.send("ann", {"type": "daily", "id": "d-1"}, name="retry")
        until(lambda: _later() >= later + 3)  # all three wait for her row, each alone
        assert sending.answers == {}
        held.rollback()
    answers = sending.wait()

    assert all(answer.status_code == 202 for answer in answers.values()), answers
    earned = sorted(answers[name].json()["points_earned"] for name in ("first", "second"))
    assert earned == [0, 5]
    assert answers["retry"].json()["duplicate"] is True
    assert answers["retry"].json()["id"] == answers["first"].json()["id"]
    assert acme.balance("ann") == 15
    assert stored(db) == 3  # her first event, d-1 once, d-2
