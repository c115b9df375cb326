"""A batch's users seen for the first time are made together, in one statement, and each is
made and announced exactly as one first sight makes and announces it, also when batches race
to make the same users (PostgreSQL). Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text

from plaudit.events.models import Event
from plaudit.events.schemas import ServerEventIn
from plaudit.pipeline import ingest
from plaudit.products.models import Product
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.users.models import User
from plaudit.webhooks.models import WebhookDelivery, WebhookMessage
from tests.support import factories
from tests.support.grouping import SECONDS
from tests.support.racing import race
from tests.support.service import ADMIN, Clock
from tests.support.tenant import Tenant

URL = "/v1/products/acme/events"


@pytest.fixture
def acme(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    tenant = Tenant(client, factories.product(db, settings, id="acme"), clock)
    tenant.admin(
        "POST",
        "/webhooks",
        201,
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["user.created", "points.earned"]},
    )
    tenant.rule(event_type="purchase", points=1)
    return tenant


def _batch(client: TestClient, users: list[str]) -> None:
    events = [{"user_id": user, "type": "purchase"} for user in users]
    response = client.post(URL, headers=ADMIN, json={"events": events})
    assert response.status_code == 202, response.text


def _messages(db: Database) -> list[tuple[str, dict[str, Any]]]:
    """Every queued notification as (type, data), in delivery order."""
    with db.session() as session:
        rows = session.execute(
            select(WebhookMessage.event_type, WebhookMessage.payload)
            .join(WebhookDelivery, WebhookDelivery.message_id == WebhookMessage.id)
            .order_by(WebhookDelivery.id)
        )
        return [(str(kind), dict(payload["data"])) for kind, payload in rows]


def _users(db: Database) -> dict[str, tuple[Any, ...]]:
    with db.session() as session:
        rows = session.execute(
            select(
                User.external_id,
                User.email,
                User.extra,
                User.first_seen_at,
                User.last_seen_at,
                User.listed_at,
            )
        )
        return {row[0]: tuple(row[1:]) for row in rows}


@pytest.mark.parametrize("published", [False, True])
def test_a_batchs_new_users_are_made_and_announced_as_a_first_sight_makes_them(
    acme: Tenant, client: TestClient, db: Database, clock: Clock, published: bool
) -> None:
    """Beside a user made one by one at the same moment (``upsert_user``, as a first token
    makes it): the same row but for its id, the same ``user.created`` but for its ids, sent
    before the user's first ``points.earned``; a user named twice is made once."""
    if published:
        acme.admin("PATCH", "", json={"published": True})
    factories.users(db, "acme", [("ref", {})], listed=published, now=clock.now)
    _batch(client, ["ann", "ref", "bob", "ann"])
    users = _users(db)
    assert users["ann"] == users["bob"] == users["ref"]
    assert (users["ann"][4] is not None) is published
    messages = _messages(db)
    created = {data["user_id"]: data for kind, data in messages if kind == "user.created"}
    assert sorted(created) == ["ann", "bob", "ref"]
    for user in ("ann", "bob"):
        assert created[user] == {
            **created["ref"],
            "user_id": user,
            "user": {**created["ref"]["user"], "id": user},
        }
        about = [kind for kind, data in messages if data["user_id"] == user]
        assert about == ["user.created", "points.earned", "points.earned"][: len(about)]
        assert about[0] == "user.created"


def test_a_thousand_new_users_are_made_by_one_statement(
    acme: Tenant, client: TestClient, db: Database, store: Database
) -> None:
    inserts: list[str] = []

    def seen(*args: Any) -> None:
        if args[2].startswith("INSERT INTO users"):
            inserts.append(args[2])

    event.listen(store.engine, "before_cursor_execute", seen)  # the engine under the test's
    try:
        _batch(client, [f"new-{i}" for i in range(1000)])
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert len(inserts) == 1
    assert len(_users(db)) == 1000
    assert acme.balance("new-999") == 1


def test_new_users_are_inserted_in_one_order_whatever_the_batchs(
    acme: Tenant, client: TestClient, store: Database
) -> None:
    """The INSERT names a batch's new users sorted, however the batch orders them: two
    batches racing to make the same users then take their rows' locks in one order and wait
    for each other instead of deadlocking (PostgreSQL). The race below rarely overlaps two
    INSERTs in one process, so the order is shown here, on the statement itself."""
    named: list[list[Any]] = []

    def seen(*args: Any) -> None:
        if args[2].startswith("INSERT INTO users"):
            named.append(list(args[3][1::6]))  # external_id, the second of six columns

    event.listen(store.engine, "before_cursor_execute", seen)
    try:
        _batch(client, ["zed", "amy", "kim", "bob"])
    finally:
        event.remove(store.engine, "before_cursor_execute", seen)
    assert named == [["amy", "bob", "kim", "zed"]]


@pytest.mark.committed
def test_batches_racing_to_make_the_same_users_make_each_once(
    acme: Tenant, client: TestClient, db: Database, clock: Clock
) -> None:
    """Four batches at once name the same 40 new users, two in the opposite order: every batch
    is stored, each user made once and announced once, and each earns once per batch."""
    if db.is_sqlite:
        pytest.skip("concurrent writers: PostgreSQL only (SQLite has one writer)")
    now = dt.datetime.fromtimestamp(clock.now, dt.UTC)
    names = [f"racer-{i:02}" for i in range(40)]
    orders = [names, names[::-1], names, names[::-1]]
    batches = [[ServerEventIn(user_id=user, type="purchase") for user in order] for order in orders]
    failures = race(db, "acme", batches, now=now)
    assert failures == []
    assert sorted(_users(db)) == names
    created = [data["user_id"] for kind, data in _messages(db) if kind == "user.created"]
    assert sorted(created) == names
    assert {acme.balance(name) for name in names} == {4}
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 160


@pytest.mark.committed
def test_a_batch_that_knows_a_user_another_is_making_does_not_deadlock_with_it(
    acme: Tenant, db: Database, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three writers (PostgreSQL): batch A finds neither "s" nor "t"; the server then makes
    "t" (a token's first sight); batch B finds "t" and is about to make "s". A makes "s"
    before B does and finds "t" made meanwhile: neither waits for a row the other holds
    while holding one it wants (before the fix B had marked "t" seen, so locked it, before
    making "s", and one batch failed with a deadlock). Each wait is bounded by SECONDS."""
    if db.is_sqlite:
        pytest.skip("concurrent writers: PostgreSQL only (SQLite has one writer)")
    now = dt.datetime.fromtimestamp(clock.now, dt.UTC)
    a_read, b_about_to_make, a_made_or_waits = (threading.Event() for _ in range(3))
    role = threading.local()
    known, create_many = ingest._known, ingest.create_many

    def _known(*args: Any) -> Any:
        found = known(*args)
        if getattr(role, "name", "") == "A" and not a_read.is_set():
            a_read.set()
            assert b_about_to_make.wait(SECONDS)
        return found

    def _create_many(*args: Any, **kwargs: Any) -> Any:
        if getattr(role, "name", "") == "B":
            b_about_to_make.set()
            assert a_made_or_waits.wait(SECONDS)
        try:
            return create_many(*args, **kwargs)
        finally:
            if getattr(role, "name", "") == "A":
                a_made_or_waits.set()

    monkeypatch.setattr(ingest, "_known", _known)
    monkeypatch.setattr(ingest, "create_many", _create_many)
    failures: list[BaseException] = []

    def send(name: str, users: list[str], start: threading.Event | None) -> None:
        role.name = name
        try:
            if start is not None:
                assert start.wait(SECONDS)
            events = [ServerEventIn(user_id=user, type="purchase") for user in users]
            with db.session() as session:
                product = session.get(Product, "acme")
                assert product is not None
                ingest.ingest_batch(session, product, events, source="server", now=now)
        except BaseException as exc:  # reported below
            failures.append(exc)

    t_made = threading.Event()
    a = threading.Thread(target=send, args=("A", ["s", "t"], None))
    b = threading.Thread(target=send, args=("B", ["s", "t"], t_made))
    a.start()
    assert a_read.wait(SECONDS)
    factories.users(db, "acme", [("t", {})], listed=False, now=clock.now)
    t_made.set()
    b.start()
    # A's INSERT returns, or waits on a row lock: either way it has made "s" first.
    deadline = time.monotonic() + SECONDS
    while not a_made_or_waits.is_set() and time.monotonic() < deadline:
        if _waiting_on_a_lock(db):
            a_made_or_waits.set()
        time.sleep(0.01)
    a_made_or_waits.set()
    a.join(SECONDS)
    b.join(SECONDS)
    assert failures == []
    assert {acme.balance(name) for name in ("s", "t")} == {2}


def _waiting_on_a_lock(db: Database) -> bool:
    with db.engine.connect() as connection:
        waiting = connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND datname = current_database()"
            )
        )
    return bool(waiting)


def test_a_new_user_made_and_deleted_by_others_meanwhile_fails_the_batch_with_a_retry(
    acme: Tenant, client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another transaction made the user first (this batch's INSERT skipped it), then it was
    erased before this batch could read it: the batch stores nothing and answers 503
    store_contended, to be sent again (not a 500)."""

    def made_by_another(*_args: Any, **_kwargs: Any) -> dict[str, int]:
        return {}  # as when every row of the INSERT met one made meanwhile, since gone

    monkeypatch.setattr(ingest, "create_many", made_by_another)
    events = [{"user_id": "ann", "type": "purchase"}]
    response = client.post(URL, headers=ADMIN, json={"events": events})
    assert response.status_code == 503, response.text
    assert response.json()["error"] == "store_contended"
    assert response.headers["retry-after"] == "1"
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0
