"""The optional time window of an export: ``from`` and ``to`` as whole UTC days, both included."""

from __future__ import annotations

import datetime as dt

from plaudit.errors import InvalidInput

from .tables import Window


def window(first: dt.date | None, last: dt.date | None) -> Window:
    """None (every row) when neither day is given; otherwise [first 00:00, the day after last)
    in UTC, open at an end not given."""
    if first is None and last is None:
        return None
    if first is not None and last is not None and first > last:
        raise InvalidInput(
            f"from: {first.isoformat()} is after to ({last.isoformat()}).",
            field="from",
            hint="Give 'from' on or before 'to' (YYYY-MM-DD; both days are included).",
        )
    start = dt.datetime.combine(first, dt.time(), dt.UTC) if first is not None else None
    end = (
        dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), dt.UTC)
        if last is not None and last < dt.date.max
        else None
    )
    return start, end
