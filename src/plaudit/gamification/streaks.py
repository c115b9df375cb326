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


@lru_cache(maxsize=64)
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
    today = local_day(now, product.time_zone)
    return record_many(session, product, [(user.id, event_type, today)])[
        (user.id, event_type, today)
    ]


def record_many(
    session: Session, product: Product, items: Sequence[tuple[int, str, dt.date]]
) -> dict[tuple[int, str, dt.date], StreakState]:
    """Count each (user, event type, local day) of a batch; the streak after each. One
    statement per distinct day, oldest day first, so that a batch of imported events spanning
    days moves a streak on day by day; a (user, type) counts once a day however often it comes.

    A streak only moves forward: an event dated before the streak's last day (sent late) does
    not rebuild its past; it still counts towards limits and "N times" badges."""
    days: dict[dt.date, set[tuple[int, str]]] = {}
    for user_pk, event_type, day in items:
        days.setdefault(day, set()).add((user_pk, event_type))
    after: dict[tuple[int, str, dt.date], StreakState] = {}
    product_id = product.id  # read off the row once, not once a streak
    for day in sorted(days):
        rows = [
            (user_pk, event_type, product_id, 1, 1, day)
            for user_pk, event_type in sorted(days[day])  # one lock order for every batch
        ]
        for user_pk, event_type, current, best, last in insert_rows(
            session, _streaks, _COLUMNS, rows, tail=_count_day(day)
        ):
            after[(user_pk, event_type, day)] = StreakState(
                current=current,
                best=best,
                # SQLite answers the stored text: RETURNING bypasses SQLAlchemy's Date type.
                last_day=dt.date.fromisoformat(last) if isinstance(last, str) else last,
            )
    return after


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
