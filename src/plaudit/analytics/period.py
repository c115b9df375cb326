"""The period a dashboard covers: whole UTC days, ``from`` and ``to`` both included."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from plaudit.errors import InvalidInput

#: Without ``from``: the 30 days that end with ``to`` (today by default).
DEFAULT_DAYS = 30
#: A year and a day: a leap year's dashboard, and no request that scans a product's whole past.
MAX_DAYS = 366
#: Days a period may name: from the Unix epoch, and not the calendar's very last days.
EARLIEST = dt.date(1970, 1, 1)
LATEST = dt.date(9999, 12, 30)


@dataclass(frozen=True)
class Period:
    first: dt.date
    last: dt.date

    @property
    def start(self) -> dt.datetime:
        """The first instant of the period (UTC)."""
        return day_start(self.first)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the period (UTC): queries read ``start <= time < end``."""
        return day_start(self.last + dt.timedelta(days=1))

    @property
    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def day_start(day: dt.date) -> dt.datetime:
    """The first instant of a UTC day."""
    return dt.datetime.combine(day, dt.time(), dt.UTC)


def refuse_backwards(first: dt.date, last: dt.date) -> None:
    """Refuse a period whose first day is after its last, naming the ``from`` field."""
    if first > last:
        raise InvalidInput(
            f"from: {first.isoformat()} is after to ({last.isoformat()}).",
            field="from",
            hint="Give 'from' on or before 'to' (YYYY-MM-DD; both days are included).",
        )


def period(first: dt.date | None, last: dt.date | None, *, now: dt.datetime) -> Period:
    """The period ``first`` .. ``last`` (both included), refused with a field-named error when
    it runs backwards or spans more than MAX_DAYS. ``last`` defaults to today (UTC), ``first``
    to the DEFAULT_DAYS ending with ``last``."""
    for name, day in (("from", first), ("to", last)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise InvalidInput(
                f"{name}: {day.isoformat()} is outside {EARLIEST.isoformat()} .. "
                f"{LATEST.isoformat()}.",
                field=name,
                hint="Give days as YYYY-MM-DD within that range.",
            )
    last = last or now.astimezone(dt.UTC).date()
    first = first or max(EARLIEST, last - dt.timedelta(days=DEFAULT_DAYS - 1))
    refuse_backwards(first, last)
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(
            f"from: the period spans {(last - first).days + 1} days; at most {MAX_DAYS}.",
            field="from",
            hint=f"Ask for at most {MAX_DAYS} days at a time (YYYY-MM-DD, both included).",
        )
    return Period(first, last)
