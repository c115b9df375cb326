"""The event store: every read of it starts from ``scoped`` (the product an event belongs to).

Storing is idempotent on the caller's event id; applying a stored event to the programs is the
pipeline's work (``plaudit.pipeline``), not this package's."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Select, Table, bindparam, func
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped
from plaudit.store.bulk import insert_rows, random_ids
from plaudit.store.upsert import insert_ignore
from plaudit.users.models import User

from .models import Event

_events: Table = Event.__table__  # type: ignore[assignment]


class Member(Protocol):
    """A user as the pipeline needs one: a stored User, or the few columns of one."""

    @property
    def id(self) -> int: ...
    @property
    def product_id(self) -> str: ...
    @property
    def external_id(self) -> str: ...


class NewEvent(NamedTuple):
    """An event of a batch, to be stored."""

    user: Member
    type: str
    properties: dict[str, Any]
    client_event_id: str | None
    #: When it happened (the sender's occurred_at, else now).
    occurred_at: dt.datetime | None = None


_COLUMNS = (
    "id",
    "product_id",
    "user_pk",
    "type",
    "properties",
    "client_event_id",
    "source",
    "created_at",
    "occurred_at",
)


def record_events(
    session: Session, product_id: str, events: Sequence[NewEvent], *, source: str, now: dt.datetime
) -> list[tuple[str, bool]]:
    """Store a batch of events in one statement; for each, its id and whether it is new.

    An id sent twice in the batch is stored once (the later copies answer the first's id); an
    id stored by an earlier batch, or by one racing this one, is found by the unique (product,
    user, client id) index, which makes the insert of a retry a no-op."""
    answers: list[tuple[str, bool]] = []
    rows: list[tuple[Any, ...]] = []
    first: dict[tuple[int, str], int] = {}
    ids = iter(random_ids("evt_", len(events)))
    for event in events:
        key = (event.user.id, event.client_event_id) if event.client_event_id else None
        if key is not None and key in first:
            answers.append((answers[first[key]][0], False))
            continue
        event_id = next(ids)
        if key is not None:
            first[key] = len(answers)
        answers.append((event_id, True))
        rows.append(
            (
                event_id,
                product_id,
                event.user.id,
                event.type,
                event.properties,
                event.client_event_id,
                source,
                now,
                event.occurred_at or now,
            )
        )
    inserted = insert_rows(
        session, _events, _COLUMNS, rows, tail="ON CONFLICT DO NOTHING RETURNING id"
    )
    stored = {event_id for (event_id,) in inserted}
    if len(stored) == len(rows):
        return answers
    # Retries of stored events: their ids, one read for the batch.
    retried = {i for i, (event_id, new) in enumerate(answers) if new and event_id not in stored}
    users = {events[i].user.id for i in retried}
    client_ids = {events[i].client_event_id for i in retried}
    found = {
        (user_pk, client_id): event_id
        for event_id, user_pk, client_id in session.execute(
            scoped(Event, product_id)
            .with_only_columns(Event.id, Event.user_pk, Event.client_event_id)
            .where(Event.user_pk.in_(users), Event.client_event_id.in_(client_ids))
        )
    }
    for i in retried:
        existing = found.get((events[i].user.id, events[i].client_event_id or ""))
        if existing is None:  # a conflict on the id itself: 96 random bits, so never in practice
            raise RuntimeError("event id collision")
        answers[i] = (existing, False)
    # Later copies in the batch of a retried event answer the stored id too.
    return [
        (answers[first[(e.user.id, e.client_event_id)]][0], new)
        if not new and e.client_event_id
        else (event_id, new)
        for e, (event_id, new) in zip(events, answers, strict=True)
    ]


def record_event(
    session: Session,
    *,
    user: User,
    type: str,
    properties: dict[str, Any] | None = None,
    client_event_id: str | None = None,
    source: str = "client",
    now: dt.datetime,
) -> tuple[str, bool]:
    """Store an event; returns its id and whether it is new (False: a retry of a stored one,
    whose id is returned). One statement for a new event: the unique (product, user, client
    id) turns a retry into a no-op insert, also when two copies race."""
    event_id = "evt_" + secrets.token_hex(12)
    if insert_ignore(
        session,
        _events,
        {
            "id": event_id,
            "product_id": user.product_id,
            "user_pk": user.id,
            "type": type,
            "properties": properties or {},
            "client_event_id": client_event_id,
            "source": source,
            "created_at": now,
        },
    ):
        return event_id, True
    existing = session.scalar(
        scoped(Event, user.product_id)
        .with_only_columns(Event.id)
        .where(Event.user_pk == user.id, Event.client_event_id == client_event_id)
    )
    if existing is None:  # a conflict on the id itself: 96 random bits, so never in practice
        raise RuntimeError("event id collision")
    return str(existing), False


def counts_of_types(
    session: Session, product_id: str, pairs: set[tuple[int, str]]
) -> dict[tuple[int, str], int]:
    """How many events of each (user, type) there are: what "N times" badges count, read
    once for a batch."""
    if not pairs:
        return {}
    rows = session.connection().execute(
        _counts_of_types(product_id),
        {"users": sorted({u for u, _ in pairs}), "types": sorted({t for _, t in pairs})},
    )
    return {(user_pk, kind): int(n) for user_pk, kind, n in rows if (user_pk, kind) in pairs}


@lru_cache(maxsize=1024)
def _counts_of_types(product_id: str) -> Select[int, str, int]:
    """Built once per product: building a statement costs more than running it."""
    return (
        scoped(Event, product_id)
        .with_only_columns(Event.user_pk, Event.type, func.count())
        .where(
            Event.user_pk.in_(bindparam("users", expanding=True)),
            Event.type.in_(bindparam("types", expanding=True)),
        )
        .group_by(Event.user_pk, Event.type)
    )


def count_of_type(session: Session, user: User, event_type: str) -> int:
    """How many events of a type the user has sent (what an "N times" badge counts)."""
    count = session.scalar(
        scoped(Event, user.product_id)
        .with_only_columns(func.count())
        .where(Event.user_pk == user.id, Event.type == event_type)
    )
    return int(count or 0)


def originals(
    session: Session, product_id: str, wanted: set[tuple[int, str]]
) -> dict[tuple[int, str], str]:
    """The stored events that (user pk, reference) pairs name, by the id Plaudit gave them or
    the sender's own id for that user: (user pk, reference) -> Plaudit's event id. One read."""
    if not wanted:
        return {}
    users = {user_pk for user_pk, _ in wanted}
    references = {reference for _, reference in wanted}
    found: dict[tuple[int, str], str] = {}
    for event_id, user_pk, client_id in session.execute(
        scoped(Event, product_id)
        .with_only_columns(Event.id, Event.user_pk, Event.client_event_id)
        .where(
            Event.user_pk.in_(users),
            Event.id.in_(references) | Event.client_event_id.in_(references),
        )
    ):
        if (user_pk, event_id) in wanted:
            found[(user_pk, event_id)] = event_id
        if client_id is not None and (user_pk, client_id) in wanted:
            found.setdefault((user_pk, client_id), event_id)
    return found
