"""The event store: every statement of it starts from the product and user an event belongs to.

Storing is idempotent on the caller's event id; applying a stored event to the programs is the
pipeline's work (``plaudit.pipeline``), not this package's."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.orm import Session

from plaudit.store.upsert import insert_ignore
from plaudit.users.models import User

from .models import Event

_events: Table = Event.__table__  # type: ignore[assignment]
_BY_CLIENT_ID = select(_events.c.id).where(
    _events.c.product_id == bindparam("product"),
    _events.c.user_pk == bindparam("user"),
    _events.c.client_event_id == bindparam("client_id"),
)
_COUNT_OF_TYPE = (
    select(func.count())
    .select_from(_events)
    .where(
        _events.c.product_id == bindparam("product"),
        _events.c.user_pk == bindparam("user"),
        _events.c.type == bindparam("type"),
    )
)


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
    existing = (
        session.connection()
        .execute(
            _BY_CLIENT_ID,
            {"product": user.product_id, "user": user.id, "client_id": client_event_id},
        )
        .scalar()
    )
    if existing is None:  # a conflict on the id itself: 96 random bits, so never in practice
        raise RuntimeError("event id collision")
    return str(existing), False


def count_of_type(session: Session, user: User, event_type: str) -> int:
    """How many events of a type the user has sent (what an "N times" badge counts)."""
    count = (
        session.connection()
        .execute(_COUNT_OF_TYPE, {"product": user.product_id, "user": user.id, "type": event_type})
        .scalar()
    )
    return int(count or 0)
