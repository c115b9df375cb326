"""The events users' tokens send, one a request, stored by group commit (``group_commit``).

A group of one product's events is one transaction through the pipeline, as a batch is:
the product read once, the token's users found in one statement (or made on their first
sight), then ``run``. Each request's event keeps its own fate, as if it had come alone:

- it is judged by its own request's clock: its ``occurred_at`` is checked when the request
  arrives (``check``), and the moment found then is the one stored, however long it waited;
- what changed while it waited is checked when its group starts (``_refusal``): its token
  revoked or its user erased meanwhile (docs/privacy.md: a page left open must not bring an
  erased profile back). Such an event fails alone, before any transaction;
- if the group fails before its commit for something one event can cause (a value the
  database refuses, a bug an input sets off, a deadlock or a row lock waited for too long),
  it is rolled back and each event is stored again alone, in a transaction of its own, so
  that only the event at fault fails, with its own error;
- if the store itself fails (unreachable, ``database is locked`` after its busy timeout, the
  connection pool exhausted), or the commit does, nothing is retried: each request of the
  group gets the error (a 5xx), as a lone request would have. Retrying would wait out the
  same failure once per event, and whether a failed commit took effect is unknown: an event
  without an id stored twice would count twice.

On PostgreSQL a group waits at most ``LOCK_PATIENCE_MS`` for a row lock held elsewhere
(another request's redemption, a server batch holding its users' accounts): then it is split,
each event waits ``SPLIT_LOCK_MS`` more, and those whose row is still locked are stored later,
alone, on threads kept for them (``Later``), while the others are answered now.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import weakref
from dataclasses import dataclass
from functools import partial

import structlog
from anyio import CapacityLimiter, to_thread
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from starlette.requests import Request

from plaudit import metrics
from plaudit.access.scope import scoped_in
from plaudit.access.session import REQUEST, unit_of_work
from plaudit.access.state import AppState
from plaudit.auth.errors import AuthError
from plaudit.errors import ServiceError
from plaudit.events.errors import EventsBacklogged, UserBusy
from plaudit.events.repository import Member
from plaudit.events.schemas import MAX_BATCH, EventIn
from plaudit.products.current import current_product
from plaudit.products.models import Product
from plaudit.products.verification import get_verification
from plaudit.store.conflicts import LOCK_TIMEOUT, lost_over_rows, sqlstate
from plaudit.users.client import ClientContext
from plaudit.users.models import User

from .group_commit import GroupCommit, Later, twin
from .ingest import KnownUser, Outcome, moments, run

log = structlog.get_logger("plaudit.events")
#: What a request of a group is answered: its outcome, its error, or its outcome later.
Answer = Outcome | BaseException | Later[Outcome]
#: The most events one group stores: a batch's most.
MAX_GROUP = MAX_BATCH
#: A product's groups at once: a group that runs past ``PATIENCE_SECONDS`` (a slow disk, a
#: lock) lets those behind it start another, up to this many. On SQLite, one: it has one
#: writer for everything, so a second group could only wait for the first, holding a thread.
LANES = 2
PATIENCE_SECONDS = 0.1
#: The events that may wait per product in one process: past it, 503 events_backlogged at once.
BACKLOG = 10 * MAX_GROUP
#: On PostgreSQL, how long a group waits for a row lock held elsewhere before it is split (a
#: group of one: before its event is stored later); how long each event of a split group waits
#: (the group has waited already); how long an event stored later waits, on one of the
#: PATIENT_THREADS kept for it, before its request answers the error.
LOCK_PATIENCE_MS = 1000
SPLIT_LOCK_MS = 50
PATIENT_LOCK_MS = 30_000
PATIENT_THREADS = 4
#: The threads group commit's transactions may take at once, all products together: what is
#: left of the worker pool (40) and of the connection pool (10 + 10) stays the other routes',
#: whatever the events do.
GROUP_THREADS = 8


@dataclass(frozen=True)
class Sent:
    """One event a user's token sent, waiting to be stored."""

    user: ClientContext
    event: EventIn
    #: The request it came with: a group's transaction works for the first one's.
    request: Request
    #: When it happened, as judged when its request arrived (``check``).
    happened: dt.datetime


def check(event: EventIn, *, now: dt.datetime) -> dt.datetime:
    """When the event happened, judged by its request's clock ``now``; refused alone
    (OccurredAtOutOfRange) before it joins a group if out of bounds."""
    return moments([event], source="client", now=now)[0]


def store(state: AppState, product_id: str, sent: list[Sent]) -> list[Answer]:
    """Store one product's events: together, else each alone. Each answered in order."""
    now = state.now()
    answers: list[Answer | None] = [_refusal(one) for one in sent]
    kept = [i for i, answer in enumerate(answers) if answer is None]
    if kept:
        stored = _stored(state, product_id, [sent[i] for i in kept], now=now)
        for i, outcome in zip(kept, stored, strict=True):
            answers[i] = outcome
    return [answer for answer in answers if answer is not None]


def _refusal(one: Sent) -> BaseException | None:
    """The error an event meets now though its request passed: its token revoked (its user
    erased) after it was verified. The product's runtime is rebuilt on each change of it: an
    unchanged one has nothing new."""
    try:
        current = get_verification(one.request).keystore.get(one.user.product_id)
        if current is not None and current.build != one.user.runtime.build:
            current.check(one.user.verified)
    except (AuthError, ServiceError) as error:
        return error
    return None


def _stored(
    state: AppState, product_id: str, sent: list[Sent], *, now: dt.datetime
) -> list[Answer]:
    metrics.record_event_group(len(sent))
    if len(sent) == 1:
        # Alone, waiting at most LOCK_PATIENCE_MS for a row lock held elsewhere, so that one
        # user's locked row never holds the product's lanes.
        return [
            _or_later(state, sent[0], _alone(state, sent[0], now=now, lock_ms=LOCK_PATIENCE_MS))
        ]
    try:
        return _together(state, product_id, sent, now=now)
    except _Apart as apart:
        metrics.record_event_group_split()
        log.info(
            "event_group_split",
            product_id=product_id,
            events=len(sent),
            error_type=type(apart.__cause__).__name__,
        )
    # Each alone, barely waiting for a row lock (the group has waited already): the events
    # whose row is still locked elsewhere are answered once they have it, later; the others
    # when the split is done (50 ms more for each locked one).
    return [
        _or_later(state, one, _alone(state, one, now=now, lock_ms=SPLIT_LOCK_MS)) for one in sent
    ]


def _or_later(state: AppState, one: Sent, answer: Outcome | BaseException) -> Answer:
    """``answer``, or, if it is the wait for a row lock given up, the event stored later."""
    if not _lock_waited(answer):
        return answer
    metrics.record_event_later()
    return Later(partial(_patiently, state, one))


async def _patiently(state: AppState, one: Sent) -> Outcome | BaseException:
    """The event stored alone, waiting up to PATIENT_LOCK_MS for its row, on the threads kept
    for it (however many rows are locked, they never take the threads other requests need),
    one of its product's at a time (one tenant's locked rows never take another's: found by
    the second attack on group commit)."""
    name = f"patient:{one.user.product_id}"
    mine = _limiter(name, 1)
    try:
        async with mine:
            return await to_thread.run_sync(
                partial(_alone_later, state, one), limiter=_limiter("patient", PATIENT_THREADS)
            )
    finally:
        if mine.borrowed_tokens == 0 and mine.statistics().tasks_waiting == 0:
            _limiters.get(asyncio.get_running_loop(), {}).pop(name, None)


def _alone_later(state: AppState, one: Sent) -> Outcome | BaseException:
    """The event stored later, judged again as its group judged it (``_refusal``): its token
    revoked, or its user erased, while it waited for its row or a thread is refused, not
    stored for a profile mapped afresh (found by the second attack on group commit)."""
    refused = _refusal(one)
    if refused is not None:
        return refused
    answer = _alone(state, one, now=state.now(), lock_ms=PATIENT_LOCK_MS)
    if _lock_waited(answer):  # its row held past the patience: busy, not broken
        return UserBusy(retry_after=5)
    return answer


#: Each event loop's limiters (a limiter belongs to the loop it was made on; tests run many).
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, CapacityLimiter]] = (
    weakref.WeakKeyDictionary()
)


def _limiter(name: str, threads: int) -> CapacityLimiter:
    """The threads kept for one kind of group-commit work, on the running event loop."""
    kept = _limiters.setdefault(asyncio.get_running_loop(), {})
    found = kept.get(name)
    if found is None:
        found = kept[name] = CapacityLimiter(threads)
    return found


class _Apart(Exception):
    """The group failed before its commit for something one event may cause: store its
    events one by one."""


def _one_events_doing(error: Exception) -> bool:
    """Whether one event of a group may have caused ``error``: then storing the events one by
    one finds it. Not when the store itself fails: each event alone would wait it out again."""
    if isinstance(error, PoolTimeout):
        return False
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return False
        if isinstance(error, OperationalError | InterfaceError):
            # Losing to another transaction over a row is the group's bad luck with one row;
            # the rest (on SQLite, ``database is locked``) are the store's.
            return lost_over_rows(error)
    return True


def _together(
    state: AppState, product_id: str, sent: list[Sent], *, now: dt.datetime
) -> list[Answer]:
    with state.db.sessions() as session:
        session.info[REQUEST] = sent[0].request
        session.begin()
        try:
            outcomes: list[Answer] = list(
                _apply(state, session, product_id, sent, now=now, lock_ms=LOCK_PATIENCE_MS)
            )
        except Exception as error:
            session.rollback()
            if _one_events_doing(error):
                raise _Apart from error
            return _each(error, len(sent))
        try:
            session.commit()
        except Exception as error:
            return _each(error, len(sent))
    return outcomes


def _each(error: Exception, count: int) -> list[Answer]:
    """The error for each request of a group: a copy each, so that the requests that raise it
    at once do not write their tracebacks into one object."""
    return [error, *(twin(error) for _ in range(count - 1))]


def _alone(
    state: AppState, one: Sent, *, now: dt.datetime, lock_ms: int
) -> Outcome | BaseException:
    try:
        with unit_of_work(one.request) as session:
            return _apply(state, session, one.user.product_id, [one], now=now, lock_ms=lock_ms)[0]
    except Exception as error:
        return error


def _lock_waited(answer: Outcome | BaseException) -> bool:
    """Whether ``answer`` is PostgreSQL's lock timeout (55P03)."""
    return isinstance(answer, OperationalError) and sqlstate(answer) == LOCK_TIMEOUT


def _apply(
    state: AppState,
    session: Session,
    product_id: str,
    sent: list[Sent],
    *,
    now: dt.datetime,
    lock_ms: int,
) -> list[Outcome]:
    """The events stored in ``session``'s transaction, which waits at most ``lock_ms`` for a
    lock on PostgreSQL (55P03 past it); SQLite has one writer for everything, and its busy
    timeout is the store's."""
    if any(one.user.product_id != product_id for one in sent):
        raise RuntimeError("a group holds one product's events")  # never: the group's key
    if not state.db.is_sqlite:
        # First, so that every statement of the transaction is bounded by it, reading the
        # product included (a migration may hold its table: found by the hot path's attack).
        session.connection().exec_driver_sql(f"SET LOCAL lock_timeout = {int(lock_ms)}")
    product = current_product(session, product_id)
    users = members(session, product, sent)
    events = [(user, one.event) for user, one in zip(users, sent, strict=True)]
    happened = [one.happened for one in sent]
    return run(session, product, events, source="client", now=now, happened=happened)


def members(session: Session, product: Product, sent: list[Sent]) -> list[Member]:
    """Each event's user: those this process knows read in one statement (each checked to be
    still its token's user, as ``ClientContext.user_in`` does one by one), the others mapped."""
    remembered = [one.user.remembered(product) for one in sent]
    keys = sorted({pk for pk in remembered if pk is not None})
    rows = scoped_in(session, User, product.id, "id", keys, columns=("id", "external_id"))
    external_ids: dict[int, str] = dict(rows)
    out: list[Member] = []
    for one, pk in zip(sent, remembered, strict=True):
        if pk is not None and external_ids.get(pk) == one.user.verified.user_id:
            one.user.seen(product.id, pk)
            out.append(KnownUser(id=pk, product_id=product.id, external_id=external_ids[pk]))
        else:
            out.append(one.user.mapped(session, product))
    return out


def groups(
    state: AppState, *, lanes: int | None = None, backlog: int = BACKLOG
) -> GroupCommit[str, Sent, Outcome]:
    """This process's groups of client events, each stored off the event loop on the threads
    kept for them (GROUP_THREADS)."""

    async def work(product_id: str, sent: list[Sent]) -> list[Answer]:
        return await to_thread.run_sync(
            partial(store, state, product_id, sent), limiter=_limiter("groups", GROUP_THREADS)
        )

    return GroupCommit(
        work,
        most=MAX_GROUP,
        lanes=lanes if lanes is not None else 1 if state.db.is_sqlite else LANES,
        patience=PATIENCE_SECONDS,
        backlog=backlog,
        refuse=lambda: EventsBacklogged(retry_after=1),
    )
