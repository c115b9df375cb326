"""A product's figures per day: days that have ended are counted once and kept (AnalyticsDay);
the days still open are counted from the rows on each read.

A day is kept once it ended more than SETTLE ago, so that a write whose transaction began
before midnight and committed after it is still counted. The first read of a period counts its
missing days in one pass over their rows; every later read of those days reads a few rows per
day, whatever the number of users (bench/analytics.py).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from plaudit.access.scope import scoped
from plaudit.store.upsert import dialect_insert, dialect_of

from . import queries
from .models import AnalyticsDay
from .period import Period

#: The series of a day that says it is complete (its absent series are zero).
ROLLED = "rolled"
SETTLE = dt.timedelta(hours=1)
#: The series whose row holds a day's active-users sketch.
SKETCH = "active:sketch"

Figures = dict[dt.date, dict[str, int]]


@dataclass
class Days:
    """Each day's figures, and its sketch of the users active that day."""

    figures: Figures = field(default_factory=lambda: defaultdict(dict))
    sketches: dict[dt.date, bytes] = field(default_factory=dict)


def count_days(session: Session, product_id: str, period: Period) -> Days:
    """Every series and sketch of every day of ``period``, counted from the rows."""
    days = Days()
    found = days.figures
    plain = {
        "clicks": queries.clicks_per_day,
        "signups": queries.signups_per_day,
        "conversions": queries.conversions_per_day,
        "rewards": queries.rewards_per_day,
        "active": queries.active_per_day,
    }
    for series, query in plain.items():
        for day, value in query(session, product_id, period).items():
            found[day][series] = value
    for (day, kind), total in queries.ledger_per_day(session, product_id, period).items():
        found[day][f"ledger:{kind}"] = total
    for (day, rule_id), (n, points) in queries.rules_per_day(session, product_id, period).items():
        found[day][f"rule:{rule_id}:count"] = n
        found[day][f"rule:{rule_id}:points"] = points
    by_reward = queries.redemptions_per_day(session, product_id, period)
    for (day, reward_id), (n, points) in by_reward.items():
        found[day][f"reward:{reward_id}:count"] = n
        found[day][f"reward:{reward_id}:points"] = points
    days.sketches.update(queries.active_sketch_per_day(session, product_id, period))
    return days


def _stored(session: Session, product_id: str, first: dt.date, last: dt.date) -> Days:
    rows = session.execute(
        scoped(AnalyticsDay, product_id)
        .where(AnalyticsDay.day >= first, AnalyticsDay.day <= last)
        .with_only_columns(
            AnalyticsDay.day, AnalyticsDay.series, AnalyticsDay.value, AnalyticsDay.sketch
        )
    )
    found = Days()
    for day, series, value, registers in rows:
        if series == SKETCH:
            found.sketches[day] = bytes(registers or b"")
        else:
            found.figures[day][series] = int(value)
    return found


def _keep(
    session: Session, product_id: str, days: Days, kept: list[dt.date], *, now: dt.datetime
) -> None:
    row = {"product_id": product_id, "computed_at": now, "sketch": None}
    rows: list[dict[str, Any]] = [
        {**row, "day": day, "series": series, "value": value}
        for day in kept
        for series, value in {**days.figures.get(day, {}), ROLLED: 1}.items()
    ]
    rows += [
        {**row, "day": day, "series": SKETCH, "value": 0, "sketch": days.sketches[day]}
        for day in kept
        if day in days.sketches
    ]
    if rows:
        # Two readers may count the same day at once: the first one's rows stand.
        table: Any = AnalyticsDay.__table__
        session.execute(dialect_insert(dialect_of(session), table).on_conflict_do_nothing(), rows)


def _take(into: Days, source: Days, days: list[dt.date]) -> None:
    for day in days:
        into.figures[day] = dict(source.figures.get(day, {}))
        if day in source.sketches:
            into.sketches[day] = source.sketches[day]


def daily(session: Session, product_id: str, period: Period, *, now: dt.datetime) -> Days:
    """Every series and sketch of every day of ``period``: kept days read, missing ones
    counted and kept, open ones counted."""
    settled = (now - SETTLE).astimezone(dt.UTC).date()  # days before this one are kept
    days = period.days
    closed = [day for day in days if day < settled]
    result = Days()
    if closed:
        stored = _stored(session, product_id, closed[0], closed[-1])
        missing = [day for day in closed if ROLLED not in stored.figures.get(day, {})]
        if missing:
            counted = count_days(session, product_id, Period(missing[0], missing[-1]))
            _keep(session, product_id, counted, missing, now=now)
            _take(stored, counted, missing)
        _take(result, stored, closed)
    still_open = [day for day in days if day >= settled]
    if still_open:
        counted = count_days(session, product_id, Period(still_open[0], still_open[-1]))
        _take(result, counted, still_open)
    return result
