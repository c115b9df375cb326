"""Recording events: idempotent on the caller's event id, durable once acknowledged, and
applied to the programs (points, streaks, badges) in the same transaction that stores them."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plaudit.gamification import badges, streaks
from plaudit.loyalty import ledger, rules
from plaudit.products.models import Product
from plaudit.users.models import User
from plaudit.users.service import upsert_user

from .models import Event
from .schemas import ServerEventIn


@dataclass
class Outcome:
    """What one event did: stored (or found as a retry), points earned, badges awarded."""

    event: Event
    new: bool
    points: int = 0
    badges: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.event.id,
            "duplicate": not self.new,
            "points_earned": self.points,
            "badges_awarded": self.badges,
        }


def ingest(
    session: Session,
    product: Product,
    user: User,
    *,
    type: str,
    properties: dict[str, Any] | None = None,
    client_event_id: str | None = None,
    source: str = "client",
    now: dt.datetime,
) -> Outcome:
    """Store the event and apply it once: a retry with the same id earns nothing again."""
    event, new = record_event(
        session,
        user=user,
        type=type,
        properties=properties,
        client_event_id=client_event_id,
        source=source,
        now=now,
    )
    if not new:
        return Outcome(event, new=False)
    entries = rules.apply_rules(
        session,
        product,
        user,
        event_type=type,
        properties=event.properties,
        event_id=event.id,
        now=now,
    )
    streak = streaks.record(session, product, user, event_type=type, now=now)
    awarded = badges.evaluate(
        session,
        product,
        user,
        now=now,
        lifetime=ledger.account(session, user).lifetime if entries else None,
        event_type=type,
        streak=streak,
    )
    return Outcome(
        event, new=True, points=sum(e.delta for e in entries), badges=[b.name for b in awarded]
    )


def ingest_batch(
    session: Session,
    product: Product,
    events: Sequence[ServerEventIn],
    *,
    source: str,
    now: dt.datetime,
) -> list[Outcome]:
    """Ingest events for named users, in order, in the caller's transaction: all or none.
    A user not seen before is created (listed if the product is published)."""
    users: dict[str, User] = {}
    outcomes = []
    for item in events:
        user = users.get(item.user_id)
        if user is None:
            user = users[item.user_id] = upsert_user(
                session,
                product_id=product.id,
                external_id=item.user_id,
                profile={},
                listed=product.published,
                now=now,
            )
        outcomes.append(
            ingest(
                session,
                product,
                user,
                type=item.type,
                properties=item.properties,
                client_event_id=item.id,
                source=source,
                now=now,
            )
        )
    return outcomes


def record_event(
    session: Session,
    *,
    user: User,
    type: str,
    properties: dict[str, Any] | None = None,
    client_event_id: str | None = None,
    source: str = "client",
    now: dt.datetime | None = None,
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
    if now is not None:
        event.created_at = now
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
