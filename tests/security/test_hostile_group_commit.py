"""A hostile tenant, browser and anonymous client against group commit (issue 13): the single
events one product's users send while its last transaction runs, stored together by the next
(``pipeline/group_commit.py``, ``pipeline/client_events.py``).

Each HTTP test holds one product's first group before its transaction opens (so that SQLite's
one writer is free) until the events it needs wait behind it, so that the group it attacks
forms every time, on either store. Each asserts the refusal, or that the attack changed nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from plaudit.events.models import Event
from plaudit.loyalty.models import LedgerEntry
from plaudit.pipeline import client_events
from plaudit.pipeline.group_commit import GroupCommit
from plaudit.store.db import Database
from plaudit.users.models import User
from tests.support.grouping import SECONDS, one_lane, until
from tests.support.loops import run_async
from tests.support.service import ADMIN, Clock, bearer, create_product, product_header, verify
from tests.support.tenant import Tenant

# Requests from several threads at once, each transaction its own connection's.
pytestmark = pytest.mark.committed

USERS = ("ann", "bob", "cat", "dan")


class Held:
    """The first group of ``product`` waits, before its transaction opens, until released;
    every transaction's events are recorded (product id, user ids) as the pipeline runs them,
    and ``before`` may refuse a transaction's events as the store would."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, client: TestClient) -> None:
        self.client = client
        one_lane(client)
        self.product = "acme"
        self.release = threading.Event()
        self.started = threading.Event()
        self.runs: list[tuple[str, list[str]]] = []
        self.before: Callable[[list[Any]], None] = lambda events: None
        real_store = client_events.store
        real_run = client_events.run

        def store(state: Any, product_id: str, sent: list[Any]) -> Any:
            if product_id == self.product and not self.started.is_set():
                self.started.set()
                assert self.release.wait(SECONDS), "never released"
            return real_store(state, product_id, sent)

        def run(session: Session, product: Any, events: list[Any], **kwargs: Any) -> Any:
            self.runs.append((product.id, [user.external_id for user, _ in events]))
            self.before(events)
            return real_run(session, product, events, **kwargs)

        monkeypatch.setattr(client_events, "store", store)
        monkeypatch.setattr(client_events, "run", run)

    def groups(self) -> GroupCommit[str, Any, Any]:
        groups: GroupCommit[str, Any, Any] = self.client.app.state.event_groups  # type: ignore[attr-defined]
        return groups

    def hold_first(self, sending: Sending, tenant: Tenant, sub: str = "ann") -> None:
        """``sub``'s event starts the product's first group, held."""
        sending.post("first", bearer(tenant.token(sub)), {"type": "level_completed"})
        assert self.started.wait(SECONDS)

    def wait_behind(self, count: int, product: str = "acme") -> None:
        until(lambda: self.groups().waiting(product) >= count)

    def sizes(self, product: str = "acme") -> list[int]:
        return [len(users) for pid, users in self.runs if pid == product]


class Sending:
    """Requests sent from threads of their own, each answer kept by its name."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.threads: list[threading.Thread] = []
        self.answers: dict[str, Response] = {}

    def post(self, name: str, headers: dict[str, str], body: Any, **kwargs: Any) -> None:
        # Encoded with JSON escapes, as a browser may send a lone surrogate (httpx would not).
        content = json.dumps(body).encode()
        headers = {**headers, "Content-Type": "application/json"}

        def post() -> None:
            self.answers[name] = self.client.post(
                "/v1/events", headers=headers, content=content, **kwargs
            )

        thread = threading.Thread(target=post)
        thread.start()
        self.threads.append(thread)

    def wait(self) -> dict[str, Response]:
        for thread in self.threads:
            thread.join(timeout=SECONDS)
        assert not any(thread.is_alive() for thread in self.threads), "a request hung"
        return self.answers


def make_tenant(client: TestClient, clock: Clock, product_id: str, points: int) -> Tenant:
    tenant = Tenant(client, create_product(client, id=product_id), clock)
    tenant.rule(event_type="level_completed", points=points)
    for sub in USERS:  # known, so that their tokens' checks write nothing while a group waits
        assert verify(client, tenant.token(sub)).status_code == 200
    return tenant


@pytest.fixture
def acme(client: TestClient, clock: Clock) -> Tenant:
    return make_tenant(client, clock, "acme", 10)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch, client: TestClient) -> Held:
    return Held(monkeypatch, client)


@pytest.fixture
def sending(client: TestClient, held: Held) -> Iterator[Sending]:
    sending = Sending(client)
    yield sending
    held.release.set()
    sending.wait()


def count(db: Database, model: Any, product_id: str, **where: Any) -> int:
    with db.session() as session:
        query = select(func.count()).select_from(model).where(model.product_id == product_id)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.scalar(query) or 0


def points_of(db: Database, product_id: str) -> dict[str, int]:
    """Each user's points in the ledger, by external id (read without a token: reading
    through /v1/me would map the user again)."""
    with db.session() as session:
        rows = session.execute(
            select(User.external_id, func.sum(LedgerEntry.delta))
            .join(User, User.id == LedgerEntry.user_pk)
            .where(LedgerEntry.product_id == product_id)
            .group_by(User.external_id)
        )
        return {name: int(total) for name, total in rows}


def utc(clock: Clock) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock.now, dt.UTC)


# --- 1. one tenant's events never in another's group, never credited to another's user ------


def test_two_products_with_the_same_user_ids_by_claims_and_by_header_never_share_a_group(
    client: TestClient, clock: Clock, acme: Tenant, held: Held, sending: Sending, db: Database
) -> None:
    """acme's first group held; rival's users, named like acme's, send by ``aud`` and by
    header while acme's events wait: every event is stored in its own product, credited to
    that product's user of that id, by that product's rule."""
    rival = make_tenant(client, clock, "rival", 3)
    held.hold_first(sending, acme)
    for sub in ("bob", "cat"):
        sending.post(f"acme-{sub}-claims", bearer(acme.token(sub)), {"type": "level_completed"})
        sending.post(
            f"acme-{sub}-header",
            {**bearer(acme.token(sub)), **product_header("acme")},
            {"type": "level_completed"},
        )
    held.wait_behind(4)
    for sub in ("bob", "cat"):  # rival is not held: answered while acme's events wait
        by_claims = client.post(
            "/v1/events", headers=bearer(rival.token(sub)), json={"type": "level_completed"}
        )
        by_header = client.post(
            "/v1/events",
            headers={**bearer(rival.token(sub)), **product_header("rival")},
            json={"type": "level_completed"},
        )
        assert by_claims.status_code == by_header.status_code == 202
        assert by_claims.json()["points_earned"] == by_header.json()["points_earned"] == 3
    # acme's token sent with rival's header is judged by rival's keys: refused, never grouped
    crossed = client.post(
        "/v1/events",
        headers={**bearer(acme.token("bob")), **product_header("rival")},
        json={"type": "level_completed"},
    )
    assert crossed.status_code == 401, crossed.text
    assert held.groups().waiting("rival") == 0
    held.release.set()
    answers = sending.wait()

    assert all(answer.status_code == 202 for answer in answers.values())
    assert all(answers[name].json()["points_earned"] == 10 for name in answers if name != "first")
    assert held.sizes("acme") == [1, 4]  # no event of rival's in acme's group
    assert all(len(users) == 1 for pid, users in held.runs if pid == "rival")
    assert points_of(db, "acme") == {"ann": 10, "bob": 20, "cat": 20}
    assert points_of(db, "rival") == {"bob": 6, "cat": 6}
    assert count(db, Event, "acme") == 5
    assert count(db, Event, "rival") == 4


# --- 2. what changed while an event waited: its token revoked, its user erased, its age -----


def test_an_event_waiting_while_its_user_is_erased_does_not_bring_the_erased_profile_back(
    client: TestClient, acme: Tenant, held: Held, sending: Sending, db: Database
) -> None:
    """docs/privacy.md: a token signed before an erasure is refused, so that a page left open
    cannot bring the erased profile back, email included. An event authenticated just before
    the erasure and stored after it, by a group that waited, is refused the same way."""
    held.hold_first(sending, acme)
    token = acme.token("bob", email="bob@example.com")
    sending.post("bob", bearer(token), {"type": "level_completed"})
    held.wait_behind(1)
    erased = client.post("/v1/products/acme/users/bob/erase", headers=ADMIN)
    assert erased.status_code == 200, erased.text
    held.release.set()
    answers = sending.wait()

    assert answers["first"].status_code == 202
    assert answers["bob"].status_code == 401, answers["bob"].text
    assert answers["bob"].json()["error"] == "token_revoked"
    assert count(db, User, "acme", external_id="bob") == 0
    assert count(db, User, "acme", email="bob@example.com") == 0
    # and no split: the refused event never joined a transaction
    assert held.sizes() == [1]


def test_an_event_waiting_while_its_users_tokens_are_revoked_is_refused(
    client: TestClient, acme: Tenant, held: Held, sending: Sending, db: Database, clock: Clock
) -> None:
    held.hold_first(sending, acme)
    sending.post("bob", bearer(acme.token("bob")), {"type": "level_completed"})
    sending.post("cat", bearer(acme.token("cat")), {"type": "level_completed"})
    held.wait_behind(2)
    revoked = client.post(
        "/v1/products/acme/revocations",
        headers=ADMIN,
        json={
            "user_id": "bob",
            "issued_before": (utc(clock) + dt.timedelta(seconds=1)).isoformat(),
        },
    )
    assert revoked.status_code == 201, revoked.text
    held.release.set()
    answers = sending.wait()

    assert answers["bob"].status_code == 401, answers["bob"].text
    assert answers["bob"].json()["error"] == "token_revoked"
    assert answers["cat"].status_code == 202, answers["cat"].text
    assert held.sizes() == [1, 1]  # cat's alone, never split for bob's
    assert points_of(db, "acme") == {"ann": 10, "cat": 10}


def test_an_event_whose_occurred_at_ages_past_the_bound_while_it_waits_is_judged_on_arrival(
    acme: Tenant, held: Held, sending: Sending, db: Database, clock: Clock
) -> None:
    """A browser may date an event back 5 minutes: one dated just inside the bound passes the
    request's check and is out of it by the time its group runs. It is judged by its request's
    clock, as it would have been alone: stored; it neither fails the others' transaction nor
    forces it to be split (a user who could split every group of its product would serialise
    the product's ingest)."""
    held.hold_first(sending, acme)
    edge = utc(clock) - dt.timedelta(minutes=5) + dt.timedelta(seconds=1)
    sending.post(
        "bob",
        bearer(acme.token("bob")),
        {"type": "level_completed", "occurred_at": edge.isoformat()},
    )
    sending.post("cat", bearer(acme.token("cat")), {"type": "level_completed"})
    sending.post("dan", bearer(acme.token("dan")), {"type": "level_completed"})
    held.wait_behind(3)
    clock.advance(2)  # the group starts 2 s after the requests were checked
    held.release.set()
    answers = sending.wait()

    for sub in ("bob", "cat", "dan"):
        assert answers[sub].status_code == 202, answers[sub].text
    assert held.sizes() == [1, 3]
    assert points_of(db, "acme") == {"ann": 10, "bob": 10, "cat": 10, "dan": 10}


# --- 3. a hostile user's event never fails, loses, doubles the others' ----------------------


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


HOSTILE_BODIES = {
    "nul-in-properties": {"properties": {"k\x00": "v\x00"}},
    "huge-int": {"properties": {"n": 10**4000}},
    "huge-numbers": {"properties": {"n": -(10**30), "m": 1e308}},
    "deep": {"properties": {"deep": _nested(500)}},
    "surrogate-property": {"properties": {"k": "\ud800"}},
    "surrogate-id": {"id": "ok\udfff"},
    "nul-id": {"id": "x\x00"},
    "long-id": {"id": "z" * 256},
    "longest-id": {"id": "z" * 255},
    "wide-properties": {"properties": {f"k{i}": "v" * 90 for i in range(300)}},
    # A client-safe property rule's arithmetic on what JSON can carry
    "score-huge-int": {"type": "score", "properties": {"n": 10**4000}},
    "score-huge-float": {"type": "score", "properties": {"n": 1e308}},
    "score-negative": {"type": "score", "properties": {"n": -(10**30)}},
    "score-tiny": {"type": "score", "properties": {"n": 5e-324}},
}


@pytest.mark.parametrize("hostile", list(HOSTILE_BODIES), ids=list(HOSTILE_BODIES))
def test_a_hostile_event_in_a_group_fails_or_is_stored_alone_and_the_others_exactly_once(
    acme: Tenant, held: Held, sending: Sending, db: Database, hostile: str
) -> None:
    """Properties and ids a store may refuse, sent in the middle of a group: the hostile event
    gets what it would get alone (a 202 or a precise 422, never a 5xx); the others are each
    stored once and earn once, whether or not the group had to be split."""
    acme.rule(event_type="score", property="n", rate=1)  # client-safe, up to 10^9 an event
    held.hold_first(sending, acme)
    sending.post("bob", bearer(acme.token("bob")), {"type": "level_completed"})
    body = {"type": "level_completed", **HOSTILE_BODIES[hostile]}
    sending.post("dan", bearer(acme.token("dan")), body)
    sending.post("cat", bearer(acme.token("cat")), {"type": "level_completed"})
    until(lambda: len(sending.answers) >= 1 or held.groups().waiting("acme") >= 3)
    # Refused by its shape (answered at once), or joined the group: either way the others
    # are waiting before the first group is let go.
    held.wait_behind(2 if "dan" in sending.answers else 3)
    held.release.set()
    answers = sending.wait()

    assert answers["dan"].status_code in (202, 422), answers["dan"].text
    if answers["dan"].status_code == 422:
        assert {"error", "message", "hint"} <= set(answers["dan"].json())
    for sub in ("bob", "cat"):
        assert answers[sub].status_code == 202, answers[sub].text
        assert answers[sub].json()["points_earned"] == 10
    accepted = answers["dan"].status_code == 202
    earned = answers["dan"].json()["points_earned"] if accepted else 0
    assert 0 <= earned <= 10**9
    expected = {"ann": 10, "bob": 10, "cat": 10, **({"dan": earned} if earned else {})}
    assert points_of(db, "acme") == expected
    assert count(db, Event, "acme") == 3 + accepted
    assert held.sizes() in ([1, 2], [1, 3])  # refused before grouping, or grouped: never split


def _poison_splits(held: Held) -> None:
    """A transaction holding an event marked ``poison`` fails before its commit, as if the
    store refused it: the group is rolled back and stored event by event."""

    def refuse(events: list[Any]) -> None:
        if any(event.properties.get("poison") for _, event in events):
            raise DataError("INSERT", {}, Exception("the store refused a value"))

    held.before = refuse


@pytest.mark.parametrize("split", [False, True], ids=["together", "split"])
def test_one_users_events_racing_in_one_group_earn_within_day_limits_and_once_rules_exactly(
    acme: Tenant, held: Held, sending: Sending, db: Database, split: bool
) -> None:
    """Bob sends a daily-limited event three times and a once-ever event twice, all in one
    group (then, split by a poisoned event, each alone): he earns the first of each only."""
    acme.rule(event_type="daily", points=5, limit_per_day=1)
    acme.rule(event_type="welcome", points=7, once=True)
    if split:
        _poison_splits(held)
    held.hold_first(sending, acme)
    for i in range(3):
        sending.post(f"daily{i}", bearer(acme.token("bob")), {"type": "daily"})
    for i in range(2):
        sending.post(f"welcome{i}", bearer(acme.token("bob")), {"type": "welcome"})
    sending.post("cat", bearer(acme.token("cat")), {"type": "daily"})
    sending.post(
        "poison", bearer(acme.token("dan")), {"type": "daily", "properties": {"poison": split}}
    )
    held.wait_behind(7)
    held.release.set()
    answers = sending.wait()

    assert held.sizes() == ([1, 7, 1, 1, 1, 1, 1, 1, 1] if split else [1, 7])
    daily = sorted(answers[f"daily{i}"].json()["points_earned"] for i in range(3))
    welcome = sorted(answers[f"welcome{i}"].json()["points_earned"] for i in range(2))
    assert daily == [0, 0, 5]
    assert welcome == [0, 7]
    assert answers["poison"].status_code == (422 if split else 202)
    expected = {"ann": 10, "bob": 12, "cat": 5, **({} if split else {"dan": 5})}
    assert points_of(db, "acme") == expected
    assert count(db, Event, "acme") == 7 + (not split)
    assert count(db, LedgerEntry, "acme") == len(expected) + 1  # bob's two earns


def test_the_same_event_id_in_one_group_and_the_next_is_stored_once_per_user_and_answered_alike(
    client: TestClient,
    clock: Clock,
    acme: Tenant,
    held: Held,
    sending: Sending,
    db: Database,
) -> None:
    """An id is the user's own: bob's and cat's "order-1" are two events; bob's "order-1"
    twice in the group and once more in the next are one event, answered with one id;
    rival's bob with the same id is rival's own event."""
    rival = make_tenant(client, clock, "rival", 3)
    held.hold_first(sending, acme)
    body = {"type": "level_completed", "id": "order-1"}
    sending.post("bob1", bearer(acme.token("bob")), body)
    sending.post("cat", bearer(acme.token("cat")), body)
    sending.post("bob2", bearer(acme.token("bob")), body)
    held.wait_behind(3)
    other = client.post("/v1/events", headers=bearer(rival.token("bob")), json=body)
    assert other.status_code == 202
    assert other.json()["duplicate"] is False
    held.release.set()
    answers = sending.wait()
    again = client.post("/v1/events", headers=bearer(acme.token("bob")), json=body)

    bob = [answers["bob1"].json(), answers["bob2"].json(), again.json()]
    assert len({outcome["id"] for outcome in bob}) == 1
    assert [outcome["duplicate"] for outcome in bob].count(False) == 1
    assert sum(outcome["points_earned"] for outcome in bob) == 10
    assert answers["cat"].json()["duplicate"] is False
    assert answers["cat"].json()["id"] not in (bob[0]["id"], other.json()["id"])
    assert held.sizes() == [1, 3, 1]
    assert count(db, Event, "acme", client_event_id="order-1") == 2
    assert count(db, Event, "rival", client_event_id="order-1") == 1
    assert points_of(db, "acme") == {"ann": 10, "bob": 10, "cat": 10}


# --- 5. errors: precise, shaped, each the request's own --------------------------------------


def test_the_culprit_of_a_split_group_gets_its_own_shaped_error_and_request_id(
    acme: Tenant, held: Held, sending: Sending, db: Database
) -> None:
    """The group's transaction works for its first request; the answers do not: each carries
    its own X-Request-ID, the culprit's error is ``{"error", "message", "hint"}``."""
    _poison_splits(held)
    held.hold_first(sending, acme)
    for sub in ("bob", "cat", "dan"):
        body = {"type": "level_completed", "properties": {"poison": sub == "cat"}}
        sending.post(sub, {**bearer(acme.token(sub)), "X-Request-ID": f"req-{sub}"}, body)
    held.wait_behind(3)
    held.release.set()
    answers = sending.wait()

    for sub in ("bob", "cat", "dan"):
        assert answers[sub].headers["x-request-id"] == f"req-{sub}"
    assert answers["cat"].status_code == 422  # a value the store refuses, as alone
    assert answers["cat"].json() == {
        "error": "invalid_request",
        "message": answers["cat"].json()["message"],
        "hint": answers["cat"].json()["hint"],
    }
    assert "refused" not in answers["cat"].text  # never the exception's own text
    assert answers["bob"].status_code == answers["dan"].status_code == 202
    assert points_of(db, "acme") == {"ann": 10, "bob": 10, "dan": 10}


def test_events_waiting_while_their_product_is_deleted_get_a_precise_error_and_store_nothing(
    client: TestClient, acme: Tenant, held: Held, sending: Sending, db: Database
) -> None:
    held.hold_first(sending, acme)
    for sub in ("bob", "cat"):
        sending.post(sub, bearer(acme.token(sub)), {"type": "level_completed"})
    held.wait_behind(2)
    assert client.delete("/v1/products/acme", headers=ADMIN).status_code == 204
    held.release.set()
    answers = sending.wait()

    for name in ("first", "bob", "cat"):
        assert 400 <= answers[name].status_code < 500, answers[name].text
        assert {"error", "message", "hint"} <= set(answers[name].json())
    assert count(db, Event, "acme") == 0
    assert count(db, User, "acme") == 0


# --- 6. limits and the bulkhead ---------------------------------------------------------------


def test_a_users_rate_limit_answers_429_before_its_event_joins_a_group(
    monkeypatch: pytest.MonkeyPatch, make_client: Any, acme: Tenant, db: Database
) -> None:
    limited = make_client(rate_limit_client_events_per_user="2/minute")
    held = Held(monkeypatch, limited)
    sending = Sending(limited)
    try:
        sending.post("first", bearer(acme.token("ann")), {"type": "level_completed"})
        assert held.started.wait(SECONDS)
        for i in range(2):
            sending.post(f"bob{i}", bearer(acme.token("bob")), {"type": "level_completed"})
        held.wait_behind(2)
        third = limited.post(
            "/v1/events", headers=bearer(acme.token("bob")), json={"type": "level_completed"}
        )
        assert third.status_code == 429, third.text
        assert third.json()["error"] == "too_many_events"
        assert int(third.headers["retry-after"]) >= 1
        assert held.groups().waiting("acme") == 2
    finally:
        held.release.set()
        answers = sending.wait()
    assert [answers[f"bob{i}"].status_code for i in range(2)] == [202, 202]
    assert points_of(db, "acme") == {"ann": 10, "bob": 20}


def test_a_products_waiting_flood_holds_one_group_thread_none_of_the_pool_nor_another_product(
    client: TestClient, clock: Clock, acme: Tenant, held: Held, sending: Sending, db: Database
) -> None:
    """acme's group held, 60 of its events waiting behind it: one of group commit's own
    threads is taken (the held group's; a stalled product takes at most its lanes), none of
    the pool the other routes use, and rival's events are answered meanwhile."""
    import anyio.to_thread

    rival = make_tenant(client, clock, "rival", 3)
    held.hold_first(sending, acme)
    for i in range(60):
        sending.post(f"e{i}", bearer(acme.token(USERS[i % 4])), {"type": "level_completed"})
    held.wait_behind(60)
    portal = client.portal
    assert portal is not None
    shared = portal.call(anyio.to_thread.current_default_thread_limiter)
    kept = portal.call(client_events._limiter, "groups", client_events.GROUP_THREADS)
    assert shared.borrowed_tokens == 0
    assert kept.borrowed_tokens == 1
    for sub in USERS:
        answer = client.post(
            "/v1/events", headers=bearer(rival.token(sub)), json={"type": "level_completed"}
        )
        assert answer.status_code == 202
    held.release.set()
    answers = sending.wait()

    assert all(answer.status_code == 202 for answer in answers.values())
    assert held.sizes() == [1, 60]
    assert count(db, Event, "acme") == 61
    assert count(db, Event, "rival") == 4
    assert idle(held.groups())


# --- 4. the coalescer itself: nothing hangs, nothing is left behind ---------------------------


def run_test(test: Callable[[], Any]) -> None:
    run_async(asyncio.wait_for(test(), timeout=SECONDS))


class HeldWork:
    """Work whose first group waits until released; each item answered by ``answer``."""

    def __init__(self, answer: Callable[[str], Any] = str.upper) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.groups: list[list[str]] = []
        self.answer = answer

    async def __call__(self, key: str, items: list[str]) -> list[Any]:
        self.groups.append(list(items))
        if len(self.groups) == 1:
            self.started.set()
            await self.release.wait()
        return [self.answer(item) for item in items]


def idle(groups: GroupCommit[Any, Any, Any]) -> bool:
    return not groups._waiting and not groups._running


def test_thousands_of_requests_cancelled_while_they_wait_leave_the_key_idle_and_usable() -> None:
    """Clients that disconnect behind a slow group (many more than a group holds): their
    items are dropped, the key's state emptied, and the next request is served."""

    async def test() -> None:
        work = HeldWork()
        groups: GroupCommit[str, str, str] = GroupCommit(work, most=2)
        first = asyncio.create_task(groups.submit("p", "a"))
        await work.started.wait()
        gone = [asyncio.create_task(groups.submit("p", f"x{i}")) for i in range(3000)]
        await asyncio.sleep(0)
        for task in gone:
            task.cancel()
        await asyncio.gather(*gone, return_exceptions=True)
        work.release.set()
        assert await first == "A"
        assert await groups.submit("p", "b") == "B"
        assert work.groups == [["a"], ["b"]]
        assert idle(groups)

    run_test(test)


def test_a_request_cancelled_while_its_group_runs_is_stored_and_the_others_answered() -> None:
    async def test() -> None:
        work = HeldWork()
        groups: GroupCommit[str, str, str] = GroupCommit(work, most=10)
        first = asyncio.create_task(groups.submit("p", "a"))
        await work.started.wait()
        first.cancel()  # its group is running: it is stored anyway, never answered
        behind = [asyncio.create_task(groups.submit("p", i)) for i in ("b", "c")]
        await asyncio.sleep(0)
        work.release.set()
        assert [await task for task in behind] == ["B", "C"]
        with pytest.raises(asyncio.CancelledError):
            await first
        assert work.groups == [["a"], ["b", "c"]]
        assert idle(groups)

    run_test(test)


def test_an_answer_no_future_can_hold_fails_its_item_and_never_wedges_the_key() -> None:
    """A StopIteration cannot be set on an asyncio future (TypeError): a group answered with
    one must still answer its other items and free its key for the next group."""

    def answer(item: str) -> Any:
        return StopIteration(item) if item == "bad" else item.upper()

    async def test() -> None:
        work = HeldWork(answer)
        groups: GroupCommit[str, str, str] = GroupCommit(work, most=10)
        first = asyncio.create_task(groups.submit("p", "a"))
        await work.started.wait()
        bad = asyncio.create_task(groups.submit("p", "bad"))
        good = asyncio.create_task(groups.submit("p", "c"))
        await asyncio.sleep(0)
        work.release.set()
        assert await first == "A"
        with pytest.raises(RuntimeError):
            await bad
        assert await good == "C"
        assert await groups.submit("p", "d") == "D"
        assert idle(groups)

    run_test(test)
