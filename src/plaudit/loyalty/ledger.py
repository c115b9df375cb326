"""The points ledger: every change of a balance is an entry with its reason.

Each change is one conditional UPDATE of the user's account row plus one appended entry, in
the caller's transaction. A debit's ``balance >= amount`` test and its subtraction are the
same statement, so two redemptions racing on PostgreSQL are serialised by the row lock and
the second one re-checks the balance the first one left: the balance never goes negative
(and a CHECK constraint says so too). Lots and their rows: ``entries``; holds and expiry:
``settling``; refunds: ``reversal``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    bindparam,
    update,
)
from sqlalchemy.orm import Session

from plaudit.events.repository import Member
from plaudit.periods import periods
from plaudit.products.models import Product
from plaudit.store.bulk import insert_rows
from plaudit.store.memo import remembered
from plaudit.store.upsert import insert_or_add
from plaudit.users.models import User
from plaudit.webhooks.service import Notice

from . import repository, tiers
from .entries import (
    ACCOUNTS,
    ENTRIES,
    ENTRY_COLUMNS,
    TALLIES,
    Entry,
    Lot,
    TierChange,
    add_tallies,
    append,
    consume,
    ensure_account,
    entry_row,
    entry_values,
    lot_data,
    lot_for,
    notify,
    retier,
)
from .errors import InsufficientPoints
from .models import EarningRule, LedgerEntry
from .settling import settle

# Built once with bind parameters: the hot path runs these for every earning event.
_CREDIT = (
    update(ACCOUNTS)
    .where(ACCOUNTS.c.user_pk == bindparam("account_user"))
    .values(
        balance=ACCOUNTS.c.balance + bindparam("available"),
        pending=ACCOUNTS.c.pending + bindparam("held"),
        lifetime=ACCOUNTS.c.lifetime + bindparam("points"),
        last_earned_at=bindparam("at", type_=ACCOUNTS.c.last_earned_at.type),
    )
    .returning(ACCOUNTS.c.balance, ACCOUNTS.c.lifetime, ACCOUNTS.c.tier_name)
)


_DEBIT = (
    update(ACCOUNTS)
    .where(
        ACCOUNTS.c.user_pk == bindparam("account_user"), ACCOUNTS.c.balance >= bindparam("points")
    )
    .values(balance=ACCOUNTS.c.balance - bindparam("points"))
    .returning(ACCOUNTS.c.balance, ACCOUNTS.c.lifetime)
)


class Credit(NamedTuple):
    """An earn a batch decided on: who, how many points, and why."""

    user: Member
    points: int
    kind: str
    reason: str
    rule_id: str | None = None
    event_id: str | None = None
    #: When the earn happened (the event's occurred_at): the lot's expiry and hold count
    #: from it. None: now.
    at: dt.datetime | None = None
    #: The rule of ``rule_id`` as the caller holds it (the pipeline's kept copy): spares the
    #: read of it, which no session has since the programs are kept per process.
    rule: EarningRule | None = None


@dataclass(frozen=True)
class Credited:
    """A credit as written: its entry, the tier it moved the user to (if it did), and the
    notifications it queues (``points.earned``, then ``tier.changed``)."""

    entry: Entry
    tier: TierChange | None
    notices: list[Notice]


_ACCOUNT_COLUMNS = ("user_pk", "product_id", "balance", "pending", "lifetime", "last_earned_at")


#: Add to many accounts in one statement, making the missing ones: what each user's balance,
#: lifetime points and tier are after the batch.
_CREDIT_MANY = (
    "ON CONFLICT (user_pk) DO UPDATE SET "
    "balance = loyalty_accounts.balance + excluded.balance, "
    "pending = loyalty_accounts.pending + excluded.pending, "
    "lifetime = loyalty_accounts.lifetime + excluded.lifetime, "
    "last_earned_at = excluded.last_earned_at "
    "RETURNING user_pk, balance, lifetime, tier_name"
)


_SET_TIER = (
    update(ACCOUNTS)
    .where(ACCOUNTS.c.user_pk == bindparam("account_user"))
    .values(tier_name=bindparam("tier"))
)


def _rule_of(session: Session, rule_id: str | None) -> EarningRule | None:
    return session.get(EarningRule, rule_id) if rule_id is not None else None


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
    available: dict[int, int] = {}
    held: dict[int, int] = {}
    lots: list[Lot] = []
    rules_by_id: dict[str | None, EarningRule | None] = {}
    # A batch's credits share a few lots' dates (one rule, one moment): each worked out once.
    lot_of: dict[tuple[str | None, str, dt.datetime | None], Lot] = {}
    for credit_ in credits:
        if credit_.points <= 0:
            raise ValueError("a credit adds a positive number of points")
        if credit_.rule_id not in rules_by_id:
            rules_by_id[credit_.rule_id] = credit_.rule or _rule_of(session, credit_.rule_id)
        key = (credit_.rule_id, credit_.kind, credit_.at)
        lot = lot_of.get(key)
        if lot is None:
            lot = lot_of[key] = lot_for(
                product, rules_by_id[credit_.rule_id], kind=credit_.kind, at=credit_.at, now=now
            )
        lots.append(lot)
        user_pk = credit_.user.id
        totals[user_pk] = totals.get(user_pk, 0) + credit_.points
        into = held if lot.held else available
        into[user_pk] = into.get(user_pk, 0) + credit_.points
    product_id = product.id  # read off the row once, not once an account
    after = insert_rows(
        session,
        ACCOUNTS,
        _ACCOUNT_COLUMNS,
        [
            (
                user_pk,
                product_id,
                available.get(user_pk, 0),
                held.get(user_pk, 0),
                totals[user_pk],
                now,
            )
            for user_pk in sorted(totals)  # one lock order for every batch (PostgreSQL)
        ],
        tail=_CREDIT_MANY,
    )
    # Running totals from where each account stood before the batch.
    state: dict[int, list[Any]] = {
        user_pk: [balance - available.get(user_pk, 0), lifetime - totals[user_pk], tier]
        for user_pk, balance, lifetime, tier in after
    }
    stored_tier = {user_pk: st[2] for user_pk, st in state.items()}
    product_tiers = remembered(
        session, ("tiers", product.id), lambda: repository.tiers(session, product.id)
    )
    ladder = [(tier.threshold, tier.name) for tier in product_tiers]  # ascending
    by_window = tiers.held_by_window(product)  # then the background step moves tiers
    entries: list[dict[str, Any]] = []
    lifetimes: list[int] = []
    changes: list[TierChange | None] = []
    for credit_, lot in zip(credits, lots, strict=True):
        st = state[credit_.user.id]
        if not lot.held:
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
                lot=lot,
            )
        )
        lifetimes.append(st[1])
        name = None  # the highest tier the lifetime points reach, as ``tiers.tier_for``
        for threshold, tier_name in ladder:
            if threshold <= st[1]:
                name = tier_name
        name = st[2] if by_window else name
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
            ENTRIES,
            ENTRY_COLUMNS,
            [entry_values(row) for row in entries],
            tail="RETURNING id",
        )
    )
    add_tallies(session, product, totals, now)
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
            available_at=row["available_at"],
            expires_at=row["expires_at"],
            remaining=row["remaining"],
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
                    **lot_data(row["available_at"], row["expires_at"], held=row["held"]),
                },
            )
        ]
        if change is not None:
            notices.append(
                (
                    "tier.changed",
                    user_id,
                    tiers.notice(session, product, change.before, change.after, lifetime),
                )
            )
        out.append(Credited(entry=entry, tier=change, notices=notices))
    return out


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
    at: dt.datetime | None = None,
) -> Entry:
    """Add earned points as a lot: balance (or pending, while the lot is held), lifetime, the
    leaderboard tallies, and the tier. ``at``: when it was earned, if not now."""
    if points <= 0:
        raise ValueError("a credit adds a positive number of points")
    lot = lot_for(product, _rule_of(session, rule_id), kind=kind, at=at, now=now)
    connection = session.connection()
    params = {
        "account_user": user.id,
        "points": points,
        "available": 0 if lot.held else points,
        "held": points if lot.held else 0,
        "at": now,
    }
    row = connection.execute(_CREDIT, params).first()
    if row is None:  # the user's first points
        ensure_account(session, user)
        row = connection.execute(_CREDIT, params).one()
    balance, lifetime, tier_before = row
    insert_or_add(
        session,
        TALLIES,
        [
            {"user_pk": user.id, "period": period, "product_id": product.id, "points": points}
            for period in periods(now, product.time_zone)
        ],
        add=("points",),
    )
    entry = append(
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
        lot=lot,
    )
    notify(
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
        **lot_data(lot.available_at, lot.expires_at, held=lot.held),
    )
    change = retier(session, product, user, lifetime, tier_before)
    if change is not None:
        notify(
            session,
            user,
            "tier.changed",
            now,
            **tiers.notice(session, product, change.before, change.after, lifetime),
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
    """Take points from the balance, consuming lots oldest expiry first, or raise
    InsufficientPoints and change nothing. The user's due lots are settled first (under the
    account's lock): released ones can be spent, expired ones cannot."""
    if points <= 0:
        raise ValueError("a debit takes a positive number of points")
    settle(session, user.product_id, [user.id], now=now)
    row = session.connection().execute(_DEBIT, {"account_user": user.id, "points": points}).first()
    if row is None:  # too little, or no account yet (nothing earned: a balance of 0)
        have = repository.balance(session, user)
        raise InsufficientPoints(
            f"This needs {points} points; the balance is {have}, {points - have} short."
        )
    consume(session, user.id, points)
    return append(
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


def history(
    session: Session, user: User, *, limit: int, before: int | None = None
) -> tuple[list[LedgerEntry], int | None]:
    """The user's entries, newest first, and the ``before`` that fetches the next page."""
    rows = repository.history(session, user, limit=limit + 1, before=before)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


def ledger_sum(session: Session, user: User) -> int:
    """The ledger's sum for the user: what the account's balance plus pending must equal."""
    return repository.ledger_sum(session, user)


def refund(
    session: Session,
    product: Product,
    user: User,
    *,
    points: int,
    reason: str,
    redemption_id: str,
    now: dt.datetime,
) -> Entry:
    """Give back the points of a redemption that failed, as an entry of kind ``refund``: not
    an earn (lifetime points, tiers and leaderboards stay as they are)."""
    if points <= 0:
        raise ValueError("a refund gives back a positive number of points")
    if user.product_id != product.id:
        raise ValueError("the user is not the product's")
    ensure_account(session, user)
    row = (
        session.connection()
        .execute(
            update(ACCOUNTS)
            .where(ACCOUNTS.c.user_pk == user.id)
            .values(balance=ACCOUNTS.c.balance + points)
            .returning(ACCOUNTS.c.balance, ACCOUNTS.c.lifetime)
        )
        .one()
    )
    return append(
        session,
        user,
        delta=points,
        kind="refund",
        reason=reason,
        balance_after=row.balance,
        lifetime=row.lifetime,
        now=now,
        redemption_id=redemption_id,
    )
