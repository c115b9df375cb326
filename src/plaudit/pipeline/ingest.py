"""The event pipeline: a batch of events through every program, in the caller's transaction.

For each event, in order: store it (a retry stops here), earn by the rules (the ledger entry,
the balance, the leaderboard tallies, the tier), count the streak, award the badges; each step
queues its webhooks in the same transaction, so an acknowledged event is durable with all its
effects. What a step reads of the product's programs (rules, badges) is read once per batch.
A single event is a batch of one.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from plaudit import metrics
from plaudit.events import repository as event_store
from plaudit.events.schemas import EventIn, ServerEventIn
from plaudit.gamification import badges, streaks
from plaudit.gamification.models import Badge
from plaudit.loyalty import rules
from plaudit.loyalty.models import EarningRule
from plaudit.products.models import Product
from plaudit.users.models import User
from plaudit.users.service import upsert_user


@dataclass
class Outcome:
    """What one event did (the API's ``EventAccepted``): stored, or found as a retry of a
    stored one (``duplicate``, which earns nothing); points earned, badges awarded."""

    id: str
    duplicate: bool
    points_earned: int = 0
    badges_awarded: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Programs:
    """A product's program settings as one batch sees them: read once, before its first event."""

    rules_by_type: dict[str, list[EarningRule]]
    badges: list[Badge]

    @classmethod
    def load(cls, session: Session, product: Product) -> Programs:
        return cls(
            rules_by_type=rules.enabled_by_type(session, product),
            badges=badges.list_badges(session, product, enabled_only=True),
        )


def run(
    session: Session,
    product: Product,
    events: Sequence[tuple[User, EventIn]],
    *,
    source: str,
    now: dt.datetime,
) -> list[Outcome]:
    """Apply each (user, event) once, in order: a retry with a stored id earns nothing again."""
    started = time.perf_counter()
    programs = Programs.load(session, product)
    outcomes = [
        _apply(session, product, programs, user, event, source=source, now=now)
        for user, event in events
    ]
    metrics.record_events(len(outcomes), time.perf_counter() - started, source=source)
    return outcomes


def _apply(
    session: Session,
    product: Product,
    programs: Programs,
    user: User,
    event: EventIn,
    *,
    source: str,
    now: dt.datetime,
) -> Outcome:
    event_id, new = event_store.record_event(
        session,
        user=user,
        type=event.type,
        properties=event.properties,
        client_event_id=event.id,
        source=source,
        now=now,
    )
    if not new:
        return Outcome(event_id, duplicate=True)
    entries = rules.apply_rules(
        session,
        product,
        user,
        rules=programs.rules_by_type.get(event.type, []),
        properties=event.properties,
        event_id=event_id,
        source=source,
        now=now,
    )
    streak = streaks.record(session, product, user, event_type=event.type, now=now)
    awarded = badges.evaluate(
        session,
        product,
        user,
        now=now,
        lifetime=entries[-1].lifetime if entries else None,
        event_type=event.type,
        streak=streak,
        events_of_type=lambda: event_store.count_of_type(session, user, event.type),
        enabled=programs.badges,
    )
    return Outcome(
        event_id,
        duplicate=False,
        points_earned=sum(e.delta for e in entries),
        badges_awarded=[b.name for b in awarded],
    )


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
    """One event of a known user: a batch of one."""
    event = EventIn.model_construct(type=type, properties=properties or {}, id=client_event_id)
    return run(session, product, [(user, event)], source=source, now=now)[0]


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
    for item in events:
        if item.user_id not in users:
            users[item.user_id] = upsert_user(
                session,
                product_id=product.id,
                external_id=item.user_id,
                profile={},
                listed=product.published,
                now=now,
            )
    return run(session, product, [(users[e.user_id], e) for e in events], source=source, now=now)
