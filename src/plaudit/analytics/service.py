"""A product's analytics over a period, assembled from the queries: zero-filled days, totals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy.orm import Session

from plaudit.products.models import Product

from . import queries
from .period import Period
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

#: The points series and the ledger kinds they add up (with the sign that makes them positive).
#: Points pending (held before they count) join here with issue 14's holds.
POINT_SERIES: dict[str, tuple[tuple[str, int], ...]] = {
    "earned": tuple((kind, 1) for kind in queries.EARNED_KINDS),
    "redeemed": (("redeem", -1),),
    "expired": (("expire", -1),),
    "adjusted": (("adjust", 1),),
}


def _column(days: list[dt.date], found: Mapping[dt.date, int]) -> list[int]:
    return [found.get(day, 0) for day in days]


def funnel(session: Session, product: Product, period: Period) -> Funnel:
    days = period.days
    series = {
        "clicks": _column(days, queries.clicks_per_day(session, product.id, period)),
        "signups": _column(days, queries.signups_per_day(session, product.id, period)),
        "conversions": _column(days, queries.conversions_per_day(session, product.id, period)),
        "rewards": _column(days, queries.rewards_per_day(session, product.id, period)),
    }
    return Funnel(days=days, series=series, totals={k: sum(v) for k, v in series.items()})


def points(session: Session, product: Product, period: Period) -> Points:
    days = period.days
    by_kind = queries.ledger_per_day(session, product.id, period)
    series = {
        name: [sum(sign * by_kind.get((day, kind), 0) for kind, sign in kinds) for day in days]
        for name, kinds in POINT_SERIES.items()
    }
    return Points(days=days, series=series, totals={k: sum(v) for k, v in series.items()})


def active_users(session: Session, product: Product, period: Period) -> ActiveUsers:
    days = period.days
    return ActiveUsers(
        days=days,
        series={"active": _column(days, queries.active_per_day(session, product.id, period))},
        total=queries.active_in_period(session, product.id, period),
    )


def top_rewards(
    session: Session, product: Product, period: Period, *, limit: int = TOP
) -> list[TopReward]:
    return [
        TopReward(reward_id=reward_id, name=name, redemptions=count, points=int(spent or 0))
        for reward_id, name, count, spent in queries.top_rewards(
            session, product.id, period, limit=limit
        )
    ]


def top_rules(
    session: Session, product: Product, period: Period, *, limit: int = TOP
) -> list[TopRule]:
    rows = queries.top_rules(session, product.id, period, limit=limit)
    named = queries.rules_named(session, product.id, [row[0] for row in rows])
    answer = []
    for rule_id, count, earned in rows:
        rule = named.get(rule_id)
        answer.append(
            TopRule(
                rule_id=rule_id,
                name=rule.name if rule else None,
                event_type=rule.event_type if rule else None,
                earns=count,
                points=int(earned or 0),
            )
        )
    return answer


def dashboard(session: Session, product: Product, period: Period, *, top: int = TOP) -> Dashboard:
    return Dashboard(
        product_id=product.id,
        period=PeriodOut(first=period.first, last=period.last),
        funnel=funnel(session, product, period),
        points=points(session, product, period),
        active_users=active_users(session, product, period),
        top_rewards=top_rewards(session, product, period, limit=top),
        top_rules=top_rules(session, product, period, limit=top),
    )
