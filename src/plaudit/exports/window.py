"""The optional time window of an export: ``from`` and ``to`` as whole UTC days, both included."""

from __future__ import annotations

import datetime as dt

from plaudit.analytics.period import day_start, refuse_backwards

from .tables import Window


def window(first: dt.date | None, last: dt.date | None) -> Window:
    """None (every row) when neither day is given; otherwise [first 00:00, the day after last)
    in UTC, open at an end not given."""
    if first is None and last is None:
        return None
    if first is not None and last is not None:
        refuse_backwards(first, last)
    start = day_start(first) if first is not None else None
    end = (
        day_start(last + dt.timedelta(days=1)) if last is not None and last < dt.date.max else None
    )
    return start, end
