"""Streaks: consecutive local days with an event type, current and best."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plaudit.loyalty.periods import local_day
from plaudit.products.models import Product
from plaudit.store.upsert import insert_ignore
from plaudit.users.models import User

from .models import Streak

#: A user's streaks listed by /v1/me, most recent first.
MAX_LISTED = 20


def record(
    session: Session, product: Product, user: User, *, event_type: str, now: dt.datetime
) -> Streak:
    """Count today (in the product's zone) for the event type; returns the streak after it."""
    today = local_day(now, product.time_zone)
    insert_ignore(
        session,
        Streak.__table__,  # type: ignore[arg-type]
        {
            "user_pk": user.id,
            "event_type": event_type,
            "product_id": product.id,
            "current": 0,
            "best": 0,
            "last_day": today - dt.timedelta(days=2),
        },
    )
    streak = session.scalar(
        select(Streak)
        .where(Streak.user_pk == user.id, Streak.event_type == event_type)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert streak is not None  # noqa: S101  # inserted or present just above
    if today == streak.last_day or today < streak.last_day:
        # Same day, or an event stamped before the last one counted: nothing new.
        return streak
    streak.current = streak.current + 1 if today - streak.last_day == dt.timedelta(days=1) else 1
    streak.best = max(streak.best, streak.current)
    streak.last_day = today
    return streak


def current(streak: Streak, today: dt.date) -> int:
    """The streak as of today: alive if the last day was today or yesterday, else 0."""
    return streak.current if (today - streak.last_day).days <= 1 else 0


def for_user(
    session: Session, product: Product, user: User, *, now: dt.datetime
) -> list[dict[str, Any]]:
    today = local_day(now, product.time_zone)
    rows = session.scalars(
        select(Streak)
        .where(Streak.product_id == product.id, Streak.user_pk == user.id, Streak.best > 0)
        .order_by(Streak.last_day.desc(), Streak.event_type)
        .limit(MAX_LISTED)
    )
    return [
        {
            "event_type": s.event_type,
            "current": current(s, today),
            "best": s.best,
            "last_day": s.last_day.isoformat(),
        }
        for s in rows
    ]
