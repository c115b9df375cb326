"""The event store: every read of it starts from ``scoped`` (the product an event belongs to).

Storing is idempotent on the caller's event id; applying a stored event to the programs is the
pipeline's work (``plaudit.pipeline``), not this package's."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped
from plaudit.store.upsert import insert_ignore
from plaudit.users.models import User

from .models import Event

_events: Table = Event.__table__  # type: ignore[assignment]


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


def count_of_type(session: Session, user: User, event_type: str) -> int:
    """How many events of a type the user has sent (what an "N times" badge counts)."""
    count = session.scalar(
        scoped(Event, user.product_id)
        .with_only_columns(func.count())
        .where(Event.user_pk == user.id, Event.type == event_type)
    )
    return int(count or 0)
