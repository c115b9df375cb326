"""The points ledger: every change of a balance is an entry with its reason.

Each change is one conditional UPDATE of the user's account row plus one appended entry, in
the caller's transaction. A debit's ``balance >= amount`` test and its subtraction are the
same statement, so two redemptions racing on PostgreSQL are serialised by the row lock and
the second one re-checks the balance the first one left: the balance never goes negative
(and a CHECK constraint says so too).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from plaudit.events.repository import Member
from plaudit.periods import periods
from plaudit.products.models import Product
from plaudit.store.bulk import insert_rows
from plaudit.store.db import Database
from plaudit.store.memo import remembered
from plaudit.store.upsert import insert_ignore, insert_or_add
from plaudit.users.models import User
from plaudit.webhooks.service import Notice, enqueue

from . import repository, tiers
from .errors import InsufficientPoints
from .models import LedgerEntry, LoyaltyAccount, PointsTally

#: Kinds that count as earned: they raise lifetime points, tiers and leaderboards.
EARNING_KINDS = frozenset({"earn", "referral", "adjust"})
MAX_POINTS = 1_000_000_000
EXPIRY_BATCH = 1000


@dataclass(frozen=True)
class TierChange:
    before: str | None
    after: str | None


@dataclass(frozen=True)
class Entry:
    """A ledger entry as written: the same fields a stored LedgerEntry reads with."""

    id: int
    delta: int
    kind: str
    reason: str
    created_at: dt.datetime
    balance_after: int
    #: The user's lifetime points after it.
    lifetime: int


_accounts: Table = LoyaltyAccount.__table__  # type: ignore[assignment]
_entries: Table = LedgerEntry.__table__  # type: ignore[assignment]
_tallies: Table = PointsTally.__table__  # type: ignore[assignment]
# Built once with bind parameters: the hot path runs these for every earning event.
_CREDIT = (
    update(_accounts)
    .where(_accounts.c.user_pk == bindparam("account_user"))
    .values(
        balance=_accounts.c.balance + bindparam("points"),
        lifetime=_accounts.c.lifetime + bindparam("points"),
        last_earned_at=bindparam("at", type_=_accounts.c.last_earned_at.type),
    )
    .returning(_accounts.c.balance, _accounts.c.lifetime, _accounts.c.tier_name)
)
_DEBIT = (
    update(_accounts)
    .where(
        _accounts.c.user_pk == bindparam("account_user"), _accounts.c.balance >= bindparam("points")
    )
    .values(balance=_accounts.c.balance - bindparam("points"))
    .returning(_accounts.c.balance, _accounts.c.lifetime)
)
_ENTRY_COLUMNS = (
    "product_id",
    "user_pk",
    "delta",
    "kind",
    "reason",
    "balance_after",
    "rule_id",
    "event_id",
    "redemption_id",
    "created_at",
)
_APPEND = (
    insert(_entries)
    .values({name: bindparam(name, type_=_entries.c[name].type) for name in _ENTRY_COLUMNS})
    .returning(_entries.c.id)
)


class Credit(NamedTuple):
    """An earn a batch decided on: who, how many points, and why."""

    user: Member
    points: int
    kind: str
    reason: str
    rule_id: str | None = None
    event_id: str | None = None
    #: When the earn happened (the event's occurred_at); None: now.
    at: dt.datetime | None = None


@dataclass(frozen=True)
class Credited:
    """A credit as written: its entry, the tier it moved the user to (if it did), and the
    notifications it queues (``points.earned``, then ``tier.changed``)."""

    entry: Entry
    tier: TierChange | None
    notices: list[Notice]


_ACCOUNT_COLUMNS = ("user_pk", "product_id", "balance", "lifetime", "last_earned_at")
#: Add to many accounts in one statement, making the missing ones: what each user's balance,
#: lifetime points and tier are after the batch.
_CREDIT_MANY = (
    "ON CONFLICT (user_pk) DO UPDATE SET "
    "balance = loyalty_accounts.balance + excluded.balance, "
    "lifetime = loyalty_accounts.lifetime + excluded.lifetime, "
    "last_earned_at = excluded.last_earned_at "
    "RETURNING user_pk, balance, lifetime, tier_name"
)
_TALLY_COLUMNS = ("user_pk", "period", "product_id", "points")
_ADD_TALLIES = (
    "ON CONFLICT (user_pk, period) DO UPDATE SET points = points_tallies.points + excluded.points"
)
_SET_TIER = (
    update(_accounts)
    .where(_accounts.c.user_pk == bindparam("account_user"))
    .values(tier_name=bindparam("tier"))
)


def entry_row(
    user: Member,
    *,
    delta: int,
    kind: str,
    reason: str,
    balance_after: int,
    now: dt.datetime,
    rule_id: str | None = None,
    event_id: str | None = None,
    redemption_id: str | None = None,
) -> dict[str, Any]:
    """A ledger entry's row: the one place entries are built, one at a time or by the batch."""
    return {
        "product_id": user.product_id,
        "user_pk": user.id,
        "delta": delta,
        "kind": kind,
        "reason": reason[:500],
        "balance_after": balance_after,
        "rule_id": rule_id,
        "event_id": event_id,
        "redemption_id": redemption_id,
        "created_at": now,
    }


def credit_many(
    session: Session, product: Product, credits: Sequence[Credit], *, now: dt.datetime
) -> list[Credited]:
    """Credit a batch's earns, in order, set-wise: one statement adds each user's total to
    their account (made on first use), one appends the entries, one adds to the leaderboard
    tallies, and one moves the users whose tier changed.

    The account statement returns each balance after the batch, so the balance after each
    entry is known exactly: on PostgreSQL the row stays locked until the transaction ends, so
    no other write lands between the batch's entries (SQLite has one writer). Tiers move as
    each entry's lifetime points cross a threshold, so a batch that crosses two tiers
    reports both changes, as one request per event would."""
    if not credits:
        return []
    totals: dict[int, int] = {}
    members: dict[int, Member] = {}
    for credit_ in credits:
        if credit_.points <= 0:
            raise ValueError("a credit adds a positive number of points")
        totals[credit_.user.id] = totals.get(credit_.user.id, 0) + credit_.points
        members[credit_.user.id] = credit_.user
    after = insert_rows(
        session,
        _accounts,
        _ACCOUNT_COLUMNS,
        [
            (user_pk, product.id, totals[user_pk], totals[user_pk], now)
            for user_pk in sorted(totals)  # one lock order for every batch (PostgreSQL)
        ],
        tail=_CREDIT_MANY,
    )
    # Running totals from where each account stood before the batch.
    state: dict[int, list[Any]] = {
        user_pk: [balance - totals[user_pk], lifetime - totals[user_pk], tier]
        for user_pk, balance, lifetime, tier in after
    }
    stored_tier = {user_pk: st[2] for user_pk, st in state.items()}
    product_tiers = remembered(
        session, ("tiers", product.id), lambda: repository.tiers(session, product.id)
    )
    ladder = [(tier.threshold, tier.name) for tier in product_tiers]  # ascending
    entries: list[dict[str, Any]] = []
    lifetimes: list[int] = []
    changes: list[TierChange | None] = []
    for credit_ in credits:
        st = state[credit_.user.id]
        st[0] += credit_.points
        st[1] += credit_.points
        entries.append(
            entry_row(
                credit_.user,
                delta=credit_.points,
                kind=credit_.kind,
                reason=credit_.reason,
                balance_after=st[0],
                now=now,
                rule_id=credit_.rule_id,
                event_id=credit_.event_id,
            )
        )
        lifetimes.append(st[1])
        name = None  # the highest tier the lifetime points reach, as ``tiers.tier_for``
        for threshold, tier_name in ladder:
            if threshold <= st[1]:
                name = tier_name
        changes.append(None if name == st[2] else TierChange(before=st[2], after=name))
        st[2] = name
    moved = [
        {"account_user": user_pk, "tier": st[2]}
        for user_pk, st in sorted(state.items())
        if st[2] != stored_tier[user_pk]
    ]
    if moved:
        session.connection().execute(_SET_TIER, moved if len(moved) > 1 else moved[0])
    # A multi-row INSERT numbers its rows in the order of its VALUES on both stores (the key is
    # drawn row by row within the statement), so the ids sorted are the entries' in order.
    ids = sorted(
        entry_id
        for (entry_id,) in insert_rows(
            session,
            _entries,
            _ENTRY_COLUMNS,
            [tuple(row[name] for name in _ENTRY_COLUMNS) for row in entries],
            tail="RETURNING id",
        )
    )
    _add_tallies(session, product, totals, now)
    out = []
    for credit_, row, entry_id, lifetime, change in zip(
        credits, entries, ids, lifetimes, changes, strict=True
    ):
        entry = Entry(
            id=entry_id,
            delta=row["delta"],
            kind=row["kind"],
            reason=row["reason"],
            created_at=now,
            balance_after=row["balance_after"],
            lifetime=lifetime,
        )
        user_id = credit_.user.external_id
        notices: list[Notice] = [
            (
                "points.earned",
                user_id,
                {
                    "points": entry.delta,
                    "balance": entry.balance_after,
                    "lifetime": lifetime,
                    "kind": entry.kind,
                    "reason": credit_.reason,
                    "entry_id": entry_id,
                    "event_id": credit_.event_id,
                    "rule_id": credit_.rule_id,
                },
            )
        ]
        if change is not None:
            notices.append(
                (
                    "tier.changed",
                    user_id,
                    {"from": change.before, "to": change.after, "lifetime": lifetime},
                )
            )
        out.append(Credited(entry=entry, tier=change, notices=notices))
    return out


def _add_tallies(
    session: Session, product: Product, totals: dict[int, int], now: dt.datetime
) -> None:
    """Each user's points of the batch into the all-time, week and month tallies at once."""
    keys = periods(now, product.time_zone)
    insert_rows(
        session,
        _tallies,
        _TALLY_COLUMNS,
        [
            (user_pk, period, product.id, points)
            for user_pk, points in sorted(totals.items())
            for period in keys
        ],
        tail=_ADD_TALLIES,
    )


def ensure_accounts(session: Session, product_id: str, users: Sequence[int]) -> None:
    """Make the accounts the users do not have yet, in one statement."""
    insert_rows(
        session,
        _accounts,
        ("user_pk", "product_id", "balance", "lifetime"),
        [(user_pk, product_id, 0, 0) for user_pk in users],
        tail="ON CONFLICT DO NOTHING",
    )


def ensure_account(session: Session, user: User) -> None:
    insert_ignore(
        session,
        _accounts,
        {"user_pk": user.id, "product_id": user.product_id, "balance": 0, "lifetime": 0},
    )


def account(session: Session, user: User) -> LoyaltyAccount:
    """The user's account row, made on first use."""
    ensure_account(session, user)
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
) -> Entry:
    """Add earned points: balance, lifetime, the leaderboard tallies, and the tier."""
    if points <= 0:
        raise ValueError("a credit adds a positive number of points")
    connection = session.connection()
    params = {"account_user": user.id, "points": points, "at": now}
    row = connection.execute(_CREDIT, params).first()
    if row is None:  # the user's first points
        ensure_account(session, user)
        row = connection.execute(_CREDIT, params).one()
    balance, lifetime, tier_before = row
    insert_or_add(
        session,
        _tallies,
        [
            {"user_pk": user.id, "period": period, "product_id": product.id, "points": points}
            for period in periods(now, product.time_zone)
        ],
        add=("points",),
    )
    entry = _append(
        session,
        user,
        delta=points,
        kind=kind,
        reason=reason,
        balance_after=balance,
        lifetime=lifetime,
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
    change = _retier(session, product, user, lifetime, tier_before)
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
) -> Entry:
    """Take points from the balance, or raise InsufficientPoints and change nothing."""
    if points <= 0:
        raise ValueError("a debit takes a positive number of points")
    row = session.connection().execute(_DEBIT, {"account_user": user.id, "points": points}).first()
    if row is None:  # too little, or no account yet (nothing earned: a balance of 0)
        have = repository.balance(session, user)
        raise InsufficientPoints(
            f"This needs {points} points; the balance is {have}, {points - have} short."
        )
    return _append(
        session,
        user,
        delta=-points,
        kind=kind,
        reason=reason,
        balance_after=row.balance,
        lifetime=row.lifetime,
        now=now,
        redemption_id=redemption_id,
    )


def adjust(
    session: Session, product: Product, user: User, *, points: int, reason: str, now: dt.datetime
) -> Entry:
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
    stale = repository.stale_accounts(session, product.id, cutoff=cutoff, limit=EXPIRY_BATCH)
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
    rows = repository.history(session, user, limit=limit + 1, before=before)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def ledger_sum(session: Session, user: User) -> int:
    """The balance as the ledger alone says it: what the account row must always equal."""
    return repository.ledger_sum(session, user)


def _append(
    session: Session,
    user: User,
    *,
    delta: int,
    kind: str,
    reason: str,
    balance_after: int,
    lifetime: int = 0,
    now: dt.datetime,
    rule_id: str | None = None,
    event_id: str | None = None,
    redemption_id: str | None = None,
) -> Entry:
    row = entry_row(
        user,
        delta=delta,
        kind=kind,
        reason=reason,
        balance_after=balance_after,
        now=now,
        rule_id=rule_id,
        event_id=event_id,
        redemption_id=redemption_id,
    )
    entry_id = session.connection().execute(_APPEND, row).scalar_one()
    return Entry(
        id=entry_id,
        delta=delta,
        kind=kind,
        reason=row["reason"],
        created_at=now,
        balance_after=balance_after,
        lifetime=lifetime,
    )


def _retier(
    session: Session, product: Product, user: User, lifetime: int, before: str | None
) -> TierChange | None:
    """Move the user to the tier their lifetime points reach; the change, if any."""
    product_tiers = remembered(
        session, ("tiers", product.id), lambda: repository.tiers(session, product.id)
    )
    tier = tiers.tier_for(product_tiers, lifetime)
    name = tier.name if tier is not None else None
    if before == name:
        return None
    session.connection().execute(
        update(_accounts).where(_accounts.c.user_pk == user.id).values(tier_name=name)
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
