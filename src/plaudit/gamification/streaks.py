"""Streaks: consecutive local days with an event type, current and best."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Date, Table, bindparam, case, literal_column
from sqlalchemy.orm import Session

from plaudit.periods import local_day
from plaudit.products.models import Product
from plaudit.store.upsert import dialect_insert, dialect_of
from plaudit.users.models import User

from . import repository
from .models import Streak

#: A user's streaks listed by /v1/me, most recent first.
MAX_LISTED = 20


@dataclass(frozen=True)
class StreakState:
    current: int
    best: int
    last_day: dt.date


_streaks: Table = Streak.__table__  # type: ignore[assignment]


@lru_cache(maxsize=8)
def _count_day(dialect: str, today: dt.date) -> Any:
    """One statement for a batch: insert each streak at 1, or move the stored one on by a day.

    Every SET expression reads the row as it was, on both stores: yesterday's streak grows,
    today's (or a later day's) stays, an older one starts again at 1. The days are written into
    the statement (an ISO date, compared as text by SQLite and as a date by PostgreSQL) rather
    than bound: a multi-row INSERT can only bind its rows' values, so bound days would make
    SQLAlchemy send each row alone. One statement per day, compiled once.
    """
    c = _streaks.c
    day = literal_column(f"'{today.isoformat()}'", Date)
    yesterday = literal_column(f"'{(today - dt.timedelta(days=1)).isoformat()}'", Date)
    grown = case((c.last_day == yesterday, c.current + 1), (c.last_day >= day, c.current), else_=1)
    statement = dialect_insert(dialect, _streaks).values(
        user_pk=bindparam("streak_user"),
        event_type=bindparam("type"),
        product_id=bindparam("product"),
        current=1,
        best=1,
        last_day=bindparam("today", type_=Date),
    )
    return statement.on_conflict_do_update(
        index_elements=[c.user_pk, c.event_type],
        set_={
            "current": grown,
            "best": case((grown > c.best, grown), else_=c.best),
            "last_day": case((c.last_day > day, c.last_day), else_=day),
        },
    ).returning(c.user_pk, c.event_type, c.current, c.best, c.last_day)


def record(
    session: Session, product: Product, user: User, *, event_type: str, now: dt.datetime
) -> StreakState:
    """Count today (in the product's zone) for the event type; returns the streak after it."""
    return record_many(session, product, [(user.id, event_type)], now=now)[(user.id, event_type)]


def record_many(
    session: Session, product: Product, pairs: Sequence[tuple[int, str]], *, now: dt.datetime
) -> dict[tuple[int, str], StreakState]:
    """Count today for each (user, event type) of a batch, in one statement; the streaks after
    it. A batch's events share one day, so a pair counts once however often it comes."""
    today = local_day(now, product.time_zone)
    rows = [
        {"streak_user": user_pk, "type": event_type, "product": product.id, "today": today}
        for user_pk, event_type in sorted(set(pairs))  # one lock order for every batch
    ]
    if not rows:
        return {}
    result = session.connection().execute(
        _count_day(dialect_of(session), today), rows if len(rows) > 1 else rows[0]
    )
    return {
        (row.user_pk, row.event_type): StreakState(
            current=row.current, best=row.best, last_day=row.last_day
        )
        for row in result
    }


def current(streak: Streak, today: dt.date) -> int:
    """The streak as of today: alive if the last day was today or yesterday, else 0."""
    return streak.current if (today - streak.last_day).days <= 1 else 0


def for_user(
    session: Session, product: Product, user: User, *, now: dt.datetime
) -> list[dict[str, Any]]:
    today = local_day(now, product.time_zone)
    rows = repository.streaks(session, user, limit=MAX_LISTED)
    return [
        {
            "event_type": s.event_type,
            "current": current(s, today),
            "best": s.best,
            "last_day": s.last_day.isoformat(),
        }
        for s in rows
    ]
