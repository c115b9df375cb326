"""The points ledger: every change of a balance is an entry with its reason.

Each change is one conditional UPDATE of the user's account row plus one appended entry, in
the caller's transaction. A debit's ``balance >= amount`` test and its subtraction are the
same statement, so two redemptions racing on PostgreSQL are serialised by the row lock and
the second one re-checks the balance the first one left: the balance never goes negative
(and a CHECK constraint says so too).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from plaudit.products.models import Product
from plaudit.store.db import Database
from plaudit.store.upsert import insert_ignore, insert_or_add
from plaudit.users.models import User
from plaudit.webhooks.service import enqueue

from . import tiers
from .errors import InsufficientPoints
from .models import LedgerEntry, LoyaltyAccount, PointsTally
from .periods import periods

#: Kinds that count as earned: they raise lifetime points, tiers and leaderboards.
EARNING_KINDS = frozenset({"earn", "referral", "adjust"})
MAX_POINTS = 1_000_000_000
EXPIRY_BATCH = 1000


@dataclass(frozen=True)
class TierChange:
    before: str | None
    after: str | None


def account(session: Session, user: User) -> LoyaltyAccount:
    """The user's account row, made on first use."""
    insert_ignore(
        session,
        LoyaltyAccount.__table__,  # type: ignore[arg-type]
        {"user_pk": user.id, "product_id": user.product_id, "balance": 0, "lifetime": 0},
    )
    found = session.get(LoyaltyAccount, user.id, populate_existing=True)
    assert found is not None  # noqa: S101  # inserted or present just above
    return found


def credit(
    session: Session,
    product: Product,
    user: User,
    *,
    points: int,
    kind: str,
    reason: str,
    now: dt.datetime,
    rule_id: str | None = None,
    event_id: str | None = None,
) -> LedgerEntry:
    """Add earned points: balance, lifetime, the leaderboard tallies, and the tier."""
    if points <= 0:
        raise ValueError("a credit adds a positive number of points")
    account(session, user)
    balance, lifetime = session.execute(
        update(LoyaltyAccount)
        .where(LoyaltyAccount.user_pk == user.id)
        .values(
            balance=LoyaltyAccount.balance + points,
            lifetime=LoyaltyAccount.lifetime + points,
            last_earned_at=now,
        )
        .returning(LoyaltyAccount.balance, LoyaltyAccount.lifetime)
    ).one()
    for period in periods(now, product.time_zone):
        insert_or_add(
            session,
            PointsTally.__table__,  # type: ignore[arg-type]
            {"user_pk": user.id, "period": period, "product_id": product.id},
            add={"points": points},
        )
    entry = _append(
        session,
        user,
        delta=points,
        kind=kind,
        reason=reason,
        balance_after=balance,
        now=now,
        rule_id=rule_id,
        event_id=event_id,
    )
    _notify(
        session,
        user,
        "points.earned",
        now,
        points=points,
        balance=balance,
        lifetime=lifetime,
        kind=kind,
        reason=reason,
        entry_id=entry.id,
        event_id=event_id,
        rule_id=rule_id,
    )
    change = _retier(session, product, user, lifetime)
    if change is not None:
        _notify(
            session,
            user,
            "tier.changed",
            now,
            **{"from": change.before, "to": change.after, "lifetime": lifetime},
        )
    return entry


def debit(
    session: Session,
    user: User,
    *,
    points: int,
    kind: str,
    reason: str,
    now: dt.datetime,
    redemption_id: str | None = None,
) -> LedgerEntry:
    """Take points from the balance, or raise InsufficientPoints and change nothing."""
    if points <= 0:
        raise ValueError("a debit takes a positive number of points")
    account(session, user)
    balance = session.scalar(
        update(LoyaltyAccount)
        .where(LoyaltyAccount.user_pk == user.id, LoyaltyAccount.balance >= points)
        .values(balance=LoyaltyAccount.balance - points)
        .returning(LoyaltyAccount.balance)
    )
    if balance is None:
        have = session.scalar(
            select(LoyaltyAccount.balance).where(LoyaltyAccount.user_pk == user.id)
        )
        short = points - (have or 0)
        raise InsufficientPoints(
            f"This needs {points} points; the balance is {have or 0}, {short} short."
        )
    return _append(
        session,
        user,
        delta=-points,
        kind=kind,
        reason=reason,
        balance_after=balance,
        now=now,
        redemption_id=redemption_id,
    )


def adjust(
    session: Session, product: Product, user: User, *, points: int, reason: str, now: dt.datetime
) -> LedgerEntry:
    """The tenant's manual correction: a credit counts as earned, a debit never overdraws."""
    if points > 0:
        return credit(session, product, user, points=points, kind="adjust", reason=reason, now=now)
    return debit(session, user, points=-points, kind="adjust", reason=reason, now=now)


def expire_inactive(session: Session, product: Product, *, now: dt.datetime) -> int:
    """Expire the balances with no earn for the product's expiry window; returns how many."""
    days = product.points_expire_after_days
    if not days:
        return 0
    cutoff = now - dt.timedelta(days=days)
    stale = session.execute(
        select(LoyaltyAccount.user_pk, LoyaltyAccount.balance)
        .where(
            LoyaltyAccount.product_id == product.id,
            LoyaltyAccount.balance > 0,
            LoyaltyAccount.last_earned_at < cutoff,
        )
        .limit(EXPIRY_BATCH)
    ).all()
    expired = 0
    for user_pk, seen in stale:
        # Only the balance we saw: a redemption in between leaves less (or nothing) to expire.
        done = session.execute(
            update(LoyaltyAccount)
            .where(LoyaltyAccount.user_pk == user_pk, LoyaltyAccount.balance == seen)
            .values(balance=0)
        )
        if done.rowcount:  # type: ignore[attr-defined]
            user = session.get(User, user_pk)
            assert user is not None  # noqa: S101  # the account row cascades with its user
            _append(
                session,
                user,
                delta=-seen,
                kind="expire",
                reason=f"No points earned for {days} days",
                balance_after=0,
                now=now,
            )
            expired += 1
    return expired


def expire_all(db: Database, *, now: dt.datetime) -> int:
    """The background step: every product with an expiry window, a batch per transaction."""
    with db.session() as session:
        product_ids = list(
            session.scalars(select(Product.id).where(Product.points_expire_after_days.is_not(None)))
        )
    expired = 0
    for product_id in product_ids:
        while True:
            with db.session() as session:
                product = session.get(Product, product_id)
                done = expire_inactive(session, product, now=now) if product else 0
            expired += done
            if done < EXPIRY_BATCH:
                break
    return expired


def history(
    session: Session, user: User, *, limit: int, before: int | None = None
) -> tuple[list[LedgerEntry], int | None]:
    """The user's entries, newest first, and the ``before`` that fetches the next page."""
    query = select(LedgerEntry).where(
        LedgerEntry.product_id == user.product_id, LedgerEntry.user_pk == user.id
    )
    if before is not None:
        query = query.where(LedgerEntry.id < before)
    rows = list(session.scalars(query.order_by(LedgerEntry.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def entry_dict(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "delta": entry.delta,
        "kind": entry.kind,
        "reason": entry.reason,
        "created_at": entry.created_at.isoformat(),
        "balance_after": entry.balance_after,
    }


def ledger_sum(session: Session, user: User) -> int:
    """The balance as the ledger alone says it: what the account row must always equal."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(
                LedgerEntry.user_pk == user.id
            )
        )
        or 0
    )


def _append(
    session: Session,
    user: User,
    *,
    delta: int,
    kind: str,
    reason: str,
    balance_after: int,
    now: dt.datetime,
    rule_id: str | None = None,
    event_id: str | None = None,
    redemption_id: str | None = None,
) -> LedgerEntry:
    entry = LedgerEntry(
        product_id=user.product_id,
        user_pk=user.id,
        delta=delta,
        kind=kind,
        reason=reason[:500],
        balance_after=balance_after,
        rule_id=rule_id,
        event_id=event_id,
        redemption_id=redemption_id,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def _retier(session: Session, product: Product, user: User, lifetime: int) -> TierChange | None:
    """Move the user to the tier their lifetime points reach; the change, if any."""
    tier = tiers.tier_for(tiers.list_tiers(session, product), lifetime)
    name = tier.name if tier is not None else None
    before = session.scalar(
        select(LoyaltyAccount.tier_name).where(LoyaltyAccount.user_pk == user.id)
    )
    if before == name:
        return None
    session.execute(
        update(LoyaltyAccount).where(LoyaltyAccount.user_pk == user.id).values(tier_name=name)
    )
    return TierChange(before=before, after=name)


def _notify(session: Session, user: User, event_type: str, now: dt.datetime, **data: Any) -> None:
    enqueue(
        session,
        product_id=user.product_id,
        event_type=event_type,
        data=data,
        user_id=user.external_id,
        now=now,
    )
