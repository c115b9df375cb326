"""Days, weeks and months as a product's users live them, in the product's time zone: shared by
the ledger's tallies, streaks and leaderboards (a zone is checked when it is set, by
``plaudit.shapes.valid_zone``)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

ALL_TIME = "all"
#: Leaderboard names, as the API spells them, and the period each ranks.
BOARDS = ("all-time", "week", "month")


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(now: dt.datetime, time_zone: str) -> dt.date:
    return now.astimezone(zone(time_zone)).date()


def week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"week:{year}-W{week:02d}"


def month_of(day: dt.date) -> str:
    return f"month:{day.year}-{day.month:02d}"


def periods(now: dt.datetime, time_zone: str) -> tuple[str, str, str]:
    """The tallies an earn at ``now`` adds to: all time, its week, its month."""
    day = local_day(now, time_zone)
    return ALL_TIME, week_of(day), month_of(day)


def board_period(board: str, now: dt.datetime, time_zone: str) -> str:
    all_time, week, month = periods(now, time_zone)
    return {"all-time": all_time, "week": week, "month": month}[board]


def day_start(day: dt.date, time_zone: str) -> dt.datetime:
    """The UTC moment a local day begins."""
    return dt.datetime.combine(day, dt.time(), tzinfo=zone(time_zone)).astimezone(dt.UTC)
