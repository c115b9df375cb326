"""The events users' tokens send, one a request, stored by group commit (``group_commit``).

A group of one product's events is one transaction through the pipeline, as a batch is:
the product read once, each token's user found (or made on its first sight), then ``run``.
Each request's event keeps its own fate, as if it had come alone:

- what can be refused of one event alone (its ``occurred_at``) is refused before it joins a
  group (``check``), and again when its group starts (``_refusal``), with what changed while
  it waited: its token revoked or its user erased meanwhile (docs/privacy.md: a page left
  open must not bring an erased profile back), its ``occurred_at`` aged past the bound. Such
  an event fails alone, before any transaction: it neither fails nor splits the others';
- if the group fails before its commit (one event the database refuses, a deadlock), it is
  rolled back and each event is stored again alone, in a transaction of its own, so that
  only the event at fault fails, with its own error;
- if the commit itself fails, nothing is retried: whether it took effect is unknown, and an
  event without an id stored twice would count twice. Each request gets the error (a 5xx),
  as a single request whose commit failed always did.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import structlog
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from plaudit import metrics
from plaudit.access.session import REQUEST, unit_of_work
from plaudit.access.state import AppState
from plaudit.auth.errors import AuthError
from plaudit.errors import ServiceError
from plaudit.events.schemas import MAX_BATCH, EventIn
from plaudit.products.repository import get_product
from plaudit.products.verification import get_verification
from plaudit.users.client import ClientContext

from .group_commit import GroupCommit
from .ingest import Outcome, moments, run

log = structlog.get_logger("plaudit.events")
#: The most events one group stores: a batch's most.
MAX_GROUP = MAX_BATCH


@dataclass(frozen=True)
class Sent:
    """One event a user's token sent, waiting to be stored."""

    user: ClientContext
    event: EventIn
    #: The request it came with: a group's transaction works for the first one's.
    request: Request


def check(event: EventIn, *, now: dt.datetime) -> None:
    """Refuse, alone, what would make the event's group fail (OccurredAtOutOfRange)."""
    moments([event], source="client", now=now)


def store(state: AppState, product_id: str, sent: list[Sent]) -> list[Outcome | BaseException]:
    """Store one product's events: together, else each alone. Each answered in order."""
    now = state.now()
    answers: list[Outcome | BaseException | None] = [_refusal(one, now=now) for one in sent]
    kept = [i for i, answer in enumerate(answers) if answer is None]
    if kept:
        stored = _stored(state, product_id, [sent[i] for i in kept], now=now)
        for i, outcome in zip(kept, stored, strict=True):
            answers[i] = outcome
    return [answer for answer in answers if answer is not None]


def _refusal(one: Sent, *, now: dt.datetime) -> BaseException | None:
    """The error an event meets now though its request passed: its token revoked (its user
    erased) after it was verified, or its ``occurred_at`` past the bound by the group's clock.
    The product's runtime is rebuilt on each change of it: an unchanged one has nothing new."""
    try:
        current = get_verification(one.request).keystore.get(one.user.product_id)
        if current is not None and current.build != one.user.runtime.build:
            current.check(one.user.verified)
        check(one.event, now=now)
    except (AuthError, ServiceError) as error:
        return error
    return None


def _stored(
    state: AppState, product_id: str, sent: list[Sent], *, now: dt.datetime
) -> list[Outcome | BaseException]:
    metrics.record_event_group(len(sent))
    if len(sent) > 1:
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
    return [_alone(state, one, now=now) for one in sent]


class _Apart(Exception):
    """The group failed before its commit: store its events one by one."""


def _together(
    state: AppState, product_id: str, sent: list[Sent], *, now: dt.datetime
) -> list[Outcome | BaseException]:
    with state.db.sessions() as session:
        session.info[REQUEST] = sent[0].request
        session.begin()
        try:
            outcomes: list[Outcome | BaseException] = list(
                _apply(session, product_id, sent, now=now)
            )
        except Exception as error:
            session.rollback()
            raise _Apart from error
        try:
            session.commit()
        except Exception as error:
            return [error] * len(sent)
    return outcomes


def _alone(state: AppState, one: Sent, *, now: dt.datetime) -> Outcome | BaseException:
    try:
        with unit_of_work(one.request) as session:
            return _apply(session, one.user.product_id, [one], now=now)[0]
    except Exception as error:
        return error


def _apply(
    session: Session, product_id: str, sent: list[Sent], *, now: dt.datetime
) -> list[Outcome]:
    if any(one.user.product_id != product_id for one in sent):
        raise RuntimeError("a group holds one product's events")  # never: the group's key
    product = get_product(session, product_id)
    events = [(one.user.user_in(session, product), one.event) for one in sent]
    return run(session, product, events, source="client", now=now)


def groups(state: AppState) -> GroupCommit[str, Sent, Outcome]:
    """This process's groups of client events, each stored off the event loop."""

    async def work(product_id: str, sent: list[Sent]) -> list[Outcome | BaseException]:
        return await run_in_threadpool(store, state, product_id, sent)

    return GroupCommit(work, most=MAX_GROUP)
