"""A second hostile pass at group commit (issue 13): its lanes, its backlog and the events it
stores later (``Later``: an event whose user's row is locked elsewhere, stored alone on the
threads kept for it, ``client_events._patiently``).

The PostgreSQL tests hold row locks from connections of their own, as a tenant's server
holding its users' accounts (a long batch, a redemption) would; each waits for states (an
event answered later, the patient threads taken), never for a time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from plaudit.events.models import Event
from plaudit.pipeline import client_events
from plaudit.pipeline.group_commit import GroupCommit, Later
from plaudit.store.db import Database
from plaudit.users.models import User
from tests.security.test_hostile_group_commit import Sending, count, make_tenant, run_test
from tests.support.grouping import SECONDS, one_lane, until
from tests.support.service import ADMIN, Clock, bearer
from tests.support.tenant import Tenant

# Requests from several threads at once, each transaction its own connection's.
pytestmark = pytest.mark.committed

#: acme's users whose accounts its server holds: as many as the threads kept for later events
#: (of which acme may take one at a time).
HOLDERS = ("bob", "cat", "dan", "eve")


def postgres_only(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks held elsewhere: PostgreSQL only (SQLite has one writer)")


def lock_accounts(connection: Connection, product_id: str, *subs: str) -> None:
    """Hold ``subs``' loyalty accounts of ``product_id`` until ``connection``'s transaction ends."""
    connection.execute(
        text(
            "SELECT 1 FROM loyalty_accounts a JOIN users u ON u.id = a.user_pk "
            "WHERE u.product_id = :pid AND u.external_id = ANY(:subs) FOR UPDATE OF a"
        ),
        {"pid": product_id, "subs": list(subs)},
    )


def _patient(client: TestClient, name: str) -> Any:
    """The app's limiter ``name``, on its own event loop (another test's loops may linger)."""
    portal = client.portal
    assert portal is not None
    loop = portal.call(asyncio.get_running_loop)
    return client_events._limiters.get(loop, {}).get(name)


def threads_taken(client: TestClient) -> int:
    """The threads kept for later events that are taken now, all products together."""
    found = _patient(client, "patient")
    return 0 if found is None else int(found.borrowed_tokens)


def waiting_for(client: TestClient, product_id: str) -> int:
    """The later events of ``product_id`` waiting for its one thread at a time."""
    found = _patient(client, f"patient:{product_id}")
    return 0 if found is None else int(found.statistics().tasks_waiting)


@pytest.fixture
def acme(client: TestClient, clock: Clock) -> Tenant:
    tenant = make_tenant(client, clock, "acme", 10)
    for sub in ("ann", *HOLDERS):  # accounts exist, so that there are rows to hold
        tenant.send(sub, "level_completed")
    return tenant


@pytest.fixture
def sending(client: TestClient) -> Iterator[Sending]:
    sending = Sending(client)
    yield sending
    sending.wait()


def hold_patient_threads(
    client: TestClient, db: Database, acme: Tenant, sending: Sending
) -> Connection:
    """acme's server holds HOLDERS' accounts; their events are stored later, one at a time
    for acme: the first takes one thread kept for later events, waiting for its row, the
    others wait their turn (on the event loop, no thread). The holding connection is
    returned, in its transaction."""
    one_lane(client)
    holder = db.engine.connect()
    holder.begin()
    try:
        lock_accounts(holder, "acme", *HOLDERS)
        for sub in HOLDERS:
            sending.post(f"acme-{sub}", bearer(acme.token(sub)), {"type": "level_completed"})
        until(
            lambda: threads_taken(client) == 1 and waiting_for(client, "acme") == len(HOLDERS) - 1
        )
    except BaseException:
        holder.rollback()
        holder.close()
        raise
    return holder


# --- 1. an event stored later is judged like one stored in its group --------------------


def test_an_event_stored_later_after_its_user_is_erased_does_not_bring_the_profile_back(
    client: TestClient, acme: Tenant, sending: Sending, db: Database
) -> None:
    """docs/privacy.md: a token signed before an erasure is refused. Ann's event, its row
    locked, is stored later; she is erased before its turn comes: it is refused (401
    token_revoked) as it would be in its group, not stored for a profile made afresh from
    her token, email included."""
    postgres_only(db)
    holder = hold_patient_threads(client, db, acme, sending)
    try:
        with db.engine.connect() as other:
            other.begin()
            lock_accounts(other, "acme", "ann")
            token = acme.token("ann", email="ann@example.com")
            sending.post("ann", bearer(token), {"type": "level_completed"})
            until(lambda: waiting_for(client, "acme") == len(HOLDERS))  # hers too, behind theirs
            other.rollback()
        erased = client.post("/v1/products/acme/users/ann/erase", headers=ADMIN)
        assert erased.status_code == 200, erased.text
    finally:
        holder.rollback()
        holder.close()
    answers = sending.wait()

    assert answers["ann"].status_code == 401, answers["ann"].text
    assert answers["ann"].json()["error"] == "token_revoked"
    assert count(db, User, "acme", external_id="ann") == 0
    assert count(db, User, "acme", email="ann@example.com") == 0
    assert all(answers[f"acme-{sub}"].status_code == 202 for sub in HOLDERS)


# --- 2. the threads kept for later events, and the backlog ------------------------------


def test_one_products_locked_rows_never_hold_another_products_event_stored_later(
    client: TestClient, clock: Clock, acme: Tenant, sending: Sending, db: Database
) -> None:
    """docs/security.md: one user's locked row holds only that user's event, and a stalled
    product delays no other product's events. rival's ann, her row briefly locked, is stored
    later; her row free again, she is answered while acme's server still holds its users'."""
    postgres_only(db)
    rival = make_tenant(client, clock, "rival", 3)
    rival.send("ann", "level_completed")  # her account exists
    holder = hold_patient_threads(client, db, acme, sending)
    try:
        with db.engine.connect() as other:
            other.begin()
            lock_accounts(other, "rival", "ann")
            sending.post("rival-ann", bearer(rival.token("ann")), {"type": "level_completed"})
            until(lambda: threads_taken(client) == 2)  # acme's one, and rival's
            other.rollback()
        until(lambda: "rival-ann" in sending.answers)
    finally:
        holder.rollback()
        holder.close()
    assert sending.wait()["rival-ann"].status_code == 202


def test_items_answered_later_count_against_their_keys_backlog() -> None:
    """At most ``backlog`` items wait per key, whether for a group or for a later answer:
    each item's work answers Later and the later answers never come; past the backlog the
    next submission is refused at once."""

    async def test() -> None:
        never: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def answer() -> str | BaseException:
            return await never

        async def work(key: str, items: list[str]) -> list[Any]:
            return [Later(answer) for _ in items]

        groups: GroupCommit[str, str, str] = GroupCommit(
            work, most=10, backlog=2, refuse=lambda: OverflowError("backlogged")
        )
        waiting = []
        try:
            for i in range(10):
                waiting.append(asyncio.create_task(groups.submit("p", str(i))))
                await asyncio.sleep(0.01)  # its group runs and answers Later
            done = [task for task in waiting if task.done()]
            assert any(isinstance(task.exception(), OverflowError) for task in done)
        finally:
            for task in waiting:
                task.cancel()
            never.cancel()
            await asyncio.gather(*waiting, *groups._later, return_exceptions=True)

    run_test(test)


# --- 3. what a request answers ------------------------------------------------------------


def test_an_event_whose_row_stays_locked_past_its_patience_answers_a_503_to_retry(
    client: TestClient, acme: Tenant, sending: Sending, db: Database, monkeypatch: Any
) -> None:
    """A tenant's server holding a user's account longer than an event stored later waits
    for it: the event is not stored, and its request is told so precisely (503 with
    Retry-After, as the backlog does), not with a 500."""
    postgres_only(db)
    monkeypatch.setattr(client_events, "PATIENT_LOCK_MS", 100)  # 30 s in production
    with db.engine.connect() as other:
        other.begin()
        lock_accounts(other, "acme", "ann")
        sending.post("ann", bearer(acme.token("ann")), {"type": "level_completed"})
        until(lambda: "ann" in sending.answers)
        other.rollback()
    answer = sending.wait()["ann"]
    assert acme.balance("ann") == 10  # her first event's points only
    assert answer.status_code == 503, answer.text
    assert "Retry-After" in answer.headers


# --- 4. lanes: one user's events in two transactions at once ------------------------------


def test_one_users_events_in_two_lanes_at_once_earn_a_day_limit_once_and_an_id_once(
    client: TestClient,
    acme: Tenant,
    sending: Sending,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL's two lanes: ann's first group runs (uncommitted) while her next events,
    a daily-limited one and a retry of the first's id, form the second group beside it. The
    second waits for the first's rows or sees them committed: the day's limit earns once,
    the id is stored once and its retry answered as the duplicate it is."""
    postgres_only(db)
    acme.rule(event_type="daily", points=5, limit_per_day=1)
    real = client_events.run
    runs: list[list[str]] = []
    first_ran = threading.Event()
    second_done = threading.Event()

    def run(session: Any, product: Any, events: list[Any], **kwargs: Any) -> Any:
        runs.append([event.id or "" for _, event in events])
        outcomes = real(session, product, events, **kwargs)
        if len(runs) == 1:  # the first group, uncommitted: until the second meets it
            first_ran.set()
            with db.engine.connect() as watcher:
                until(lambda: second_done.is_set() or lock_waiters(watcher) > 0)
        else:
            second_done.set()
        return outcomes

    monkeypatch.setattr(client_events, "run", run)
    sending.post("first", bearer(acme.token("ann")), {"type": "daily", "id": "d-1"})
    assert first_ran.wait(SECONDS)
    sending.post("second", bearer(acme.token("ann")), {"type": "daily", "id": "d-2"})
    sending.post("retry", bearer(acme.token("ann")), {"type": "daily", "id": "d-1"})
    answers = sending.wait()

    assert all(answer.status_code == 202 for answer in answers.values()), answers
    assert len(runs) >= 2, runs  # the first group, and after it one lane or two
    earned = sorted(answers[name].json()["points_earned"] for name in ("first", "second"))
    assert earned == [0, 5]
    assert answers["retry"].json()["duplicate"] is True
    assert answers["retry"].json()["id"] == answers["first"].json()["id"]
    assert acme.balance("ann") == 15  # her first event's 10, the day's 5 once
    assert count(db, Event, "acme", client_event_id="d-1") == 1


def lock_waiters(connection: Connection) -> int:
    """The other backends of this database waiting for a lock now (each read in a transaction
    of its own: pg_stat_activity is a snapshot per transaction)."""
    with connection.begin():
        return int(
            connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        )
