"""Recording events: idempotent on the caller's event id, durable once acknowledged."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plaudit.users.models import User

from .models import Event


def record_event(
    session: Session,
    *,
    user: User,
    type: str,
    properties: dict[str, Any] | None = None,
    client_event_id: str | None = None,
    source: str = "client",
) -> tuple[Event, bool]:
    """Store an event; returns it and whether it is new (False: a retry of a stored one)."""
    if client_event_id is not None:
        existing = _by_client_id(session, user, client_event_id)
        if existing is not None:
            return existing, False
    event = Event(
        id="evt_" + secrets.token_hex(12),
        product_id=user.product_id,
        user_pk=user.id,
        type=type,
        properties=properties or {},
        client_event_id=client_event_id,
        source=source,
    )
    try:
        with session.begin_nested():
            session.add(event)
    except IntegrityError:
        existing = _by_client_id(session, user, client_event_id or "")
        if existing is None:
            raise
        return existing, False
    return event, True


def _by_client_id(session: Session, user: User, client_event_id: str) -> Event | None:
    return session.scalar(
        select(Event).where(
            Event.product_id == user.product_id,
            Event.user_pk == user.id,
            Event.client_event_id == client_event_id,
        )
    )
