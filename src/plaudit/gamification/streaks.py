"""Streaks: consecutive local days with an event type, current and best."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from plaudit.periods import local_day
from plaudit.products.models import Product
from plaudit.store.bulk import insert_rows
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


_COLUMNS = ("user_pk", "event_type", "product_id", "current", "best", "last_day")


@lru_cache(maxsize=8)
def _count_day(today: dt.date) -> str:
    """The rest of one statement for a batch: insert each streak at 1, or move the stored one
    on by a day.

    Every SET expression reads the row as it was, on both stores: yesterday's streak grows,
    today's (or a later day's) stays, an older one starts again at 1. The days are ISO dates
    written into the statement (compared as text by SQLite, as dates by PostgreSQL): only the
    rows' own values are bound in a multi-row INSERT. One statement a day.
    """
    day = f"'{today.isoformat()}'"
    yesterday = f"'{(today - dt.timedelta(days=1)).isoformat()}'"
    grown = (
        f"CASE WHEN streaks.last_day = {yesterday} THEN streaks.current + 1 "
        f"WHEN streaks.last_day >= {day} THEN streaks.current ELSE 1 END"
    )
    return (
        "ON CONFLICT (user_pk, event_type) DO UPDATE SET "
        f"current = {grown}, "
        f"best = CASE WHEN {grown} > streaks.best THEN {grown} ELSE streaks.best END, "
        f"last_day = CASE WHEN streaks.last_day > {day} THEN streaks.last_day ELSE {day} END "
        "RETURNING user_pk, event_type, current, best, last_day"
    )


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
        (user_pk, event_type, product.id, 1, 1, today)
        for user_pk, event_type in sorted(set(pairs))  # one lock order for every batch
    ]
    return {
        (user_pk, event_type): StreakState(
            current=current,
            best=best,
            # SQLite answers the stored text: RETURNING bypasses SQLAlchemy's Date type.
            last_day=dt.date.fromisoformat(last) if isinstance(last, str) else last,
        )
        for user_pk, event_type, current, best, last in insert_rows(
            session, _streaks, _COLUMNS, rows, tail=_count_day(today)
        )
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
