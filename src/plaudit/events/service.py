"""Recording events: idempotent on the caller's event id, durable once acknowledged, and
applied to the programs (points, streaks, badges) in the same transaction that stores them."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from plaudit.gamification import badges, streaks
from plaudit.loyalty import rules
from plaudit.products.models import Product
from plaudit.store.upsert import insert_ignore
from plaudit.users.models import User
from plaudit.users.service import upsert_user

from .models import Event
from .schemas import ServerEventIn


@dataclass
class Outcome:
    """What one event did: stored (or found as a retry), points earned, badges awarded."""

    event_id: str
    new: bool
    points: int = 0
    badges: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.event_id,
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
    event_id, new = record_event(
        session,
        user=user,
        type=type,
        properties=properties,
        client_event_id=client_event_id,
        source=source,
        now=now,
    )
    if not new:
        return Outcome(event_id, new=False)
    entries = rules.apply_rules(
        session,
        product,
        user,
        event_type=type,
        properties=properties or {},
        event_id=event_id,
        source=source,
        now=now,
    )
    streak = streaks.record(session, product, user, event_type=type, now=now)
    awarded = badges.evaluate(
        session,
        product,
        user,
        now=now,
        lifetime=entries[-1].lifetime if entries else None,
        event_type=type,
        streak=streak,
    )
    return Outcome(
        event_id, new=True, points=sum(e.delta for e in entries), badges=[b.name for b in awarded]
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


_events: Table = Event.__table__  # type: ignore[assignment]
_BY_CLIENT_ID = select(_events.c.id).where(
    _events.c.product_id == bindparam("product"),
    _events.c.user_pk == bindparam("user"),
    _events.c.client_event_id == bindparam("client_id"),
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
    return existing, False
