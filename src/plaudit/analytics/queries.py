"""The dashboard's reads, each one range of a product's (product_id, time) index: counted per
UTC day in the store, the days without rows filled in by the service.

Every statement starts from ``scope.scoped``; ``with_only_columns`` keeps its tenant filter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Date, Select, cast, func, literal_column
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from plaudit.access.scope import scoped
from plaudit.events.models import Event
from plaudit.loyalty.models import EarningRule, LedgerEntry, Redemption, Reward
from plaudit.referrals.models import Referral, ReferralClick, ReferralReward

from . import sketch
from .period import Period

#: A select of any columns.
Rows = Select[*tuple[Any, ...]]
#: Ledger kinds that credit points a user earned (a referral's points are earned too).
EARNED_KINDS = ("earn", "referral")


def day_of(session: Session, column: InstrumentedAttribute[dt.datetime]) -> ColumnElement[Any]:
    """The UTC day of a stored time. SQLite keeps 'YYYY-MM-DD HH:MM:SS' text in UTC (see
    store.base.UTCDateTime), so the day is its first ten characters; PostgreSQL keeps an
    instant, read in UTC whatever the session's time zone."""
    if session.get_bind().dialect.name == "sqlite":
        return func.substr(column, 1, 10)
    return cast(func.timezone(literal_column("'UTC'"), column), Date)


def _day_key(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _in(column: InstrumentedAttribute[dt.datetime], period: Period) -> list[ColumnElement[bool]]:
    return [column >= period.start, column < period.end]


def _per_day(
    session: Session, statement: Rows, column: InstrumentedAttribute[dt.datetime]
) -> dict[dt.date, int]:
    day = day_of(session, column)
    rows = session.execute(statement.with_only_columns(day, func.count()).group_by(day))
    return {_day_key(d): int(n) for d, n in rows}


def clicks_per_day(session: Session, product_id: str, period: Period) -> dict[dt.date, int]:
    when = ReferralClick.created_at
    return _per_day(session, scoped(ReferralClick, product_id).where(*_in(when, period)), when)


def signups_per_day(session: Session, product_id: str, period: Period) -> dict[dt.date, int]:
    when = Referral.signed_up_at
    return _per_day(session, scoped(Referral, product_id).where(*_in(when, period)), when)


def conversions_per_day(session: Session, product_id: str, period: Period) -> dict[dt.date, int]:
    when: Any = Referral.converted_at  # nullable: None never falls in a period
    return _per_day(session, scoped(Referral, product_id).where(*_in(when, period)), when)


def rewards_per_day(session: Session, product_id: str, period: Period) -> dict[dt.date, int]:
    """Referral rewards granted, on the day they were: a held, pending, rejected or cancelled
    one is not (yet) the referrer's."""
    when: Any = ReferralReward.granted_at  # nullable: None never falls in a period
    return _per_day(session, scoped(ReferralReward, product_id).where(*_in(when, period)), when)


def ledger_per_day(
    session: Session, product_id: str, period: Period
) -> dict[tuple[dt.date, str], int]:
    """The sum of the ledger's deltas per day and kind."""
    day = day_of(session, LedgerEntry.created_at)
    rows = session.execute(
        scoped(LedgerEntry, product_id)
        .where(*_in(LedgerEntry.created_at, period))
        .with_only_columns(day, LedgerEntry.kind, func.sum(LedgerEntry.delta))
        .group_by(day, LedgerEntry.kind)
    )
    return {(_day_key(d), kind): int(total or 0) for d, kind, total in rows}


def active_per_day(session: Session, product_id: str, period: Period) -> dict[dt.date, int]:
    day = day_of(session, Event.created_at)
    rows = session.execute(
        scoped(Event, product_id)
        .where(*_in(Event.created_at, period))
        .with_only_columns(day, func.count(Event.user_pk.distinct()))
        .group_by(day)
    )
    return {_day_key(d): int(n) for d, n in rows}


def active_sketch_per_day(
    session: Session, product_id: str, period: Period
) -> dict[dt.date, bytes]:
    """Each day's sketch of the users with an event: their row ids, each day's once, read in
    batches and hashed here (a hash good enough for HyperLogLog takes more arithmetic than SQL
    spells cheaply)."""
    day = day_of(session, Event.created_at)
    rows = session.execute(
        scoped(Event, product_id)
        .where(*_in(Event.created_at, period))
        .with_only_columns(day, Event.user_pk)
        .distinct()
        .execution_options(yield_per=10_000)
    )
    users: dict[dt.date, list[int]] = {}
    for d, user_pk in rows:
        users.setdefault(_day_key(d), []).append(int(user_pk))
    return {d: sketch.from_users(pks) for d, pks in users.items()}


def active_in_period(session: Session, product_id: str, period: Period) -> int:
    """The exact count of distinct active users: what the sketches estimate (bench/analytics.py
    compares the two)."""
    found = session.scalar(
        scoped(Event, product_id)
        .where(*_in(Event.created_at, period))
        .with_only_columns(func.count(Event.user_pk.distinct()))
    )
    return int(found or 0)


def rules_per_day(
    session: Session, product_id: str, period: Period
) -> dict[tuple[dt.date, str], tuple[int, int]]:
    """(earns, points) per day and earning rule."""
    day = day_of(session, LedgerEntry.created_at)
    rows = session.execute(
        scoped(LedgerEntry, product_id)
        .where(
            *_in(LedgerEntry.created_at, period),
            LedgerEntry.kind == "earn",
            LedgerEntry.rule_id.is_not(None),
        )
        .with_only_columns(day, LedgerEntry.rule_id, func.count(), func.sum(LedgerEntry.delta))
        .group_by(day, LedgerEntry.rule_id)
    )
    return {(_day_key(d), rule): (int(n), int(total or 0)) for d, rule, n, total in rows}


def redemptions_per_day(
    session: Session, product_id: str, period: Period
) -> dict[tuple[dt.date, str], tuple[int, int]]:
    """(redemptions, points spent) per day and reward."""
    day = day_of(session, Redemption.created_at)
    rows = session.execute(
        scoped(Redemption, product_id)
        .where(*_in(Redemption.created_at, period))
        .with_only_columns(day, Redemption.reward_id, func.count(), func.sum(Redemption.cost))
        .group_by(day, Redemption.reward_id)
    )
    return {(_day_key(d), reward): (int(n), int(total or 0)) for d, reward, n, total in rows}


def rules_named(session: Session, product_id: str, ids: Sequence[str]) -> dict[str, EarningRule]:
    if not ids:
        return {}
    found = session.scalars(scoped(EarningRule, product_id).where(EarningRule.id.in_(ids)))
    return {rule.id: rule for rule in found}


def rewards_named(session: Session, product_id: str, ids: Sequence[str]) -> dict[str, str]:
    """The rewards' names: the catalog's, or for a reward removed since, the name its last
    redemption recorded."""
    if not ids:
        return {}
    names = {
        reward.id: reward.name
        for reward in session.scalars(scoped(Reward, product_id).where(Reward.id.in_(ids)))
    }
    gone = [reward_id for reward_id in ids if reward_id not in names]
    if gone:
        rows = session.execute(
            scoped(Redemption, product_id)
            .where(Redemption.reward_id.in_(gone))
            .with_only_columns(Redemption.reward_id, func.max(Redemption.reward_name))
            .group_by(Redemption.reward_id)
        )
        names.update({str(reward_id): str(name) for reward_id, name in rows})
    return names
