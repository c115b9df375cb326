"""A product's analytics over a period, assembled from its days' figures (rollup.daily):
zero-filled days, totals, the top rewards and rules."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy.orm import Session

from plaudit.products.models import Product

from . import queries, rollup, sketch
from .period import Period
from .rollup import Days, Figures
from .schemas import (
    ActiveUsers,
    Dashboard,
    Funnel,
    PeriodOut,
    Points,
    TopReward,
    TopRule,
)

#: Top rewards and rules: how many a dashboard lists unless asked otherwise.
TOP = 10
MAX_TOP = 100

FUNNEL = ("clicks", "signups", "conversions", "rewards")
#: The points series and the ledger kinds they add up (with the sign that makes them positive).
#: Points pending (held before they count) join here with issue 14's holds.
POINT_SERIES: dict[str, tuple[tuple[str, int], ...]] = {
    "earned": tuple((kind, 1) for kind in queries.EARNED_KINDS),
    "redeemed": (("redeem", -1),),
    "expired": (("expire", -1),),
    "adjusted": (("adjust", 1),),
}


def _series(figures: Figures, period: Period, name: str) -> list[int]:
    return [figures.get(day, {}).get(name, 0) for day in period.days]


def funnel(session: Session, product: Product, period: Period, *, now: dt.datetime) -> Funnel:
    return _funnel(rollup.daily(session, product.id, period, now=now).figures, period)


def _funnel(figures: Figures, period: Period) -> Funnel:
    series = {name: _series(figures, period, name) for name in FUNNEL}
    return Funnel(days=period.days, series=series, totals={k: sum(v) for k, v in series.items()})


def points(session: Session, product: Product, period: Period, *, now: dt.datetime) -> Points:
    return _points(rollup.daily(session, product.id, period, now=now).figures, period)


def _points(figures: Figures, period: Period) -> Points:
    series = {
        name: [
            sum(sign * figures.get(day, {}).get(f"ledger:{kind}", 0) for kind, sign in kinds)
            for day in period.days
        ]
        for name, kinds in POINT_SERIES.items()
    }
    return Points(days=period.days, series=series, totals={k: sum(v) for k, v in series.items()})


def active_users(
    session: Session, product: Product, period: Period, *, now: dt.datetime
) -> ActiveUsers:
    return _active(rollup.daily(session, product.id, period, now=now), period)


def _active(days: Days, period: Period) -> ActiveUsers:
    return ActiveUsers(
        days=period.days,
        series={"active": _series(days.figures, period, "active")},
        # Distinct users over the period do not add up from the days: the days' sketches do.
        total=sketch.estimate(sketch.merge(days.sketches.get(day, b"") for day in period.days)),
    )


def _ranked(figures: Figures, prefix: str, *, by: tuple[str, str]) -> list[tuple[str, int, int]]:
    """(id, count, points) of every ``prefix:<id>:*`` series over the days, best first by the
    ``by`` figures, then id."""
    totals: dict[str, Counter[str]] = {}
    for values in figures.values():
        for series, value in values.items():
            kind, _, rest = series.partition(":")
            if kind != prefix:
                continue
            item, _, figure = rest.rpartition(":")
            totals.setdefault(item, Counter())[figure] += value
    rows = [(item, c["count"], c["points"]) for item, c in totals.items()]
    first, second = by
    return sorted(rows, key=lambda r: (-totals[r[0]][first], -totals[r[0]][second], r[0]))


def top_rewards(
    session: Session, product: Product, period: Period, *, now: dt.datetime, limit: int = TOP
) -> list[TopReward]:
    figures = rollup.daily(session, product.id, period, now=now).figures
    return _top_rewards(session, product, figures, limit)


def _top_rewards(
    session: Session, product: Product, figures: Figures, limit: int
) -> list[TopReward]:
    rows = _ranked(figures, "reward", by=("count", "points"))[:limit]
    names = queries.rewards_named(session, product.id, [row[0] for row in rows])
    return [
        TopReward(
            reward_id=reward_id, name=names.get(reward_id, reward_id), redemptions=n, points=p
        )
        for reward_id, n, p in rows
    ]


def top_rules(
    session: Session, product: Product, period: Period, *, now: dt.datetime, limit: int = TOP
) -> list[TopRule]:
    figures = rollup.daily(session, product.id, period, now=now).figures
    return _top_rules(session, product, figures, limit)


def _top_rules(session: Session, product: Product, figures: Figures, limit: int) -> list[TopRule]:
    rows = _ranked(figures, "rule", by=("points", "count"))[:limit]
    named = queries.rules_named(session, product.id, [row[0] for row in rows])
    answer = []
    for rule_id, n, earned in rows:
        rule = named.get(rule_id)
        answer.append(
            TopRule(
                rule_id=rule_id,
                name=rule.name if rule else None,
                event_type=rule.event_type if rule else None,
                earns=n,
                points=earned,
            )
        )
    return answer


def dashboard(
    session: Session, product: Product, period: Period, *, now: dt.datetime, top: int = TOP
) -> Dashboard:
    days = rollup.daily(session, product.id, period, now=now)
    figures = days.figures
    return Dashboard(
        product_id=product.id,
        period=PeriodOut(first=period.first, last=period.last),
        funnel=_funnel(figures, period),
        points=_points(figures, period),
        active_users=_active(days, period),
        top_rewards=_top_rewards(session, product, figures, top),
        top_rules=_top_rules(session, product, figures, top),
    )
