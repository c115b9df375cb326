"""The points ledger: every change of a balance is an entry with its reason.

Each change is one conditional UPDATE of the user's account row plus one appended entry, in
the caller's transaction. A debit's ``balance >= amount`` test and its subtraction are the
same statement, so two redemptions racing on PostgreSQL are serialised by the row lock and
the second one re-checks the balance the first one left: the balance never goes negative
(and a CHECK constraint says so too).

Every earning entry is a lot (docs/loyalty.md, "Lots"): it carries the points of it that
remain, when they expire and when they become available. A held lot's remaining points are
in the account's ``pending``, the others' in its ``balance``. Debits (redemptions, negative
adjustments, reversals, expiry) consume lots oldest expiry first, then oldest id, under the
account row's lock, which every change of a user's lots takes first. A lot whose hold has
passed or whose expiry has come is settled (released, expired) by the background step, and
lazily by any debit before it takes points, so a debit never spends expired points nor misses
released ones; reads (``standing``) count due lots as settled without writing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import structlog
from sqlalchemy import (
    Table,
    bindparam,
    case,
    false,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.orm import Session

from plaudit.errors import InvalidInput, NotFound
from plaudit.events.models import Event
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
from .models import EarningRule, LedgerEntry, LoyaltyAccount, PointsTally

#: Kinds that count as earned: they raise lifetime points, tiers and leaderboards. Each is a lot.
EARNING_KINDS = frozenset({"earn", "referral", "adjust"})
#: Kinds a product's hold applies to: points earned by rules, which a refund may still take
#: back. Referral rewards have the referral program's own hold; adjustments are the tenant's.
HELD_KINDS = frozenset({"earn"})
#: Kinds that give spent points back without earning them: each is a lot of its own.
GIVEN_BACK_KINDS = frozenset({"refund"})
MAX_POINTS = 1_000_000_000
log = structlog.get_logger("plaudit")
EXPIRY_BATCH = 1000
#: Users settled (lots released or expired) per transaction by the background step.
SETTLE_BATCH = 500
#: The most batches one run of a background step does: the next run goes on from there.
MAX_BATCHES = 100


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
    #: Of a lot: when its points become available (null: at once) and when they expire.
    available_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    #: Of a lot: its points not yet spent, reversed or expired (null: not a lot).
    remaining: int | None = None


_accounts: Table = LoyaltyAccount.__table__  # type: ignore[assignment]
_entries: Table = LedgerEntry.__table__  # type: ignore[assignment]
_tallies: Table = PointsTally.__table__  # type: ignore[assignment]
# Built once with bind parameters: the hot path runs these for every earning event.
_CREDIT = (
    update(_accounts)
    .where(_accounts.c.user_pk == bindparam("account_user"))
    .values(
        balance=_accounts.c.balance + bindparam("available"),
        pending=_accounts.c.pending + bindparam("held"),
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
    "remaining",
    "expires_at",
    "available_at",
    "held",
    "lot_id",
    "unrecovered",
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
    lot: Lot | None = None,
    lot_id: int | None = None,
    unrecovered: int | None = None,
) -> dict[str, Any]:
    """A ledger entry's row: the one place entries are built, one at a time or by the batch.
    With ``lot``, the entry is a lot of ``delta`` points. Points given back (a failed
    redemption's refund) are a lot too, available at once and never expiring: the balance
    they go into must stay the sum of the available lots."""
    if lot is None and kind in GIVEN_BACK_KINDS and delta > 0:
        lot = Lot(expires_at=None, available_at=None, held=False)
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
        "remaining": delta if lot is not None else None,
        "expires_at": lot.expires_at if lot is not None else None,
        "available_at": lot.available_at if lot is not None else None,
        "held": lot.held if lot is not None else False,
        "lot_id": lot_id,
        "unrecovered": unrecovered,
    }


class Lot(NamedTuple):
    """When a credit's points expire and become available, and whether they are held now."""

    expires_at: dt.datetime | None
    available_at: dt.datetime | None
    held: bool


def lot_for(
    product: Product,
    rule: EarningRule | None,
    *,
    kind: str,
    at: dt.datetime | None,
    now: dt.datetime,
) -> Lot:
    """A credit's lot: its expiry and hold count from when it was earned (``at``), by the
    rule's own days where it sets them (0: never expires / not held), else the product's."""
    start = at or now
    expiry = product.points_lot_expiry_days
    hold = product.points_hold_days if kind in HELD_KINDS else None
    if rule is not None:
        if rule.lot_expiry_days is not None:
            expiry = rule.lot_expiry_days
        if rule.hold_days is not None and kind in HELD_KINDS:
            hold = rule.hold_days
    expires_at = start + dt.timedelta(days=expiry) if expiry else None
    available_at = start + dt.timedelta(days=hold) if hold else None
    return Lot(expires_at, available_at, available_at is not None and available_at > now)


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
    for credit_ in credits:
        if credit_.points <= 0:
            raise ValueError("a credit adds a positive number of points")
        if credit_.rule_id not in rules_by_id:
            rules_by_id[credit_.rule_id] = credit_.rule or _rule_of(session, credit_.rule_id)
        lot = lot_for(
            product, rules_by_id[credit_.rule_id], kind=credit_.kind, at=credit_.at, now=now
        )
        lots.append(lot)
        user_pk = credit_.user.id
        totals[user_pk] = totals.get(user_pk, 0) + credit_.points
        into = held if lot.held else available
        into[user_pk] = into.get(user_pk, 0) + credit_.points
    after = insert_rows(
        session,
        _accounts,
        _ACCOUNT_COLUMNS,
        [
            (
                user_pk,
                product.id,
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
                    **_lot_data(row["available_at"], row["expires_at"], held=row["held"]),
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
        lot=lot,
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
        **_lot_data(lot.available_at, lot.expires_at, held=lot.held),
    )
    change = _retier(session, product, user, lifetime, tier_before)
    if change is not None:
        _notify(
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
    _consume(session, user.id, points)
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


# --- lots: consuming, settling, reading -----------------------------------------------------

#: Take ``points`` from the user's available lots, oldest expiry first (never-expiring last),
#: then oldest id, in one statement: each lot's running total in that order says how much of
#: it the debit reaches. The caller holds the account row's lock and has checked the balance.
_CONSUME = text(
    "WITH ordered AS ("
    " SELECT id, remaining,"
    " SUM(remaining) OVER (ORDER BY (expires_at IS NULL), expires_at, id) AS upto"
    " FROM ledger_entries"
    " WHERE user_pk = :user_pk AND remaining > 0 AND NOT held"
    ") "
    "UPDATE ledger_entries SET remaining = CASE WHEN ordered.upto <= :points THEN 0"
    " ELSE ordered.upto - :points END "
    "FROM ordered "
    "WHERE ledger_entries.id = ordered.id AND ordered.upto - ordered.remaining < :points"
)
_LOTS_LEFT = literal_column("ledger_entries.remaining") > literal_column("0")


def _consume(session: Session, user_pk: int, points: int) -> None:
    if points > 0:
        session.connection().execute(_CONSUME, {"user_pk": user_pk, "points": points})


def _lock_accounts(session: Session, users: Sequence[int]) -> dict[int, list[int]]:
    """Lock the users' account rows (PostgreSQL; SQLite has one writer) in key order, and
    read them: {user_pk: [balance, pending, lifetime]}."""
    rows = session.connection().execute(
        select(_accounts.c.user_pk, _accounts.c.balance, _accounts.c.pending, _accounts.c.lifetime)
        .where(_accounts.c.user_pk.in_(sorted(set(users))))
        .order_by(_accounts.c.user_pk)
        .with_for_update()
    )
    return {user_pk: [balance, pending, lifetime] for user_pk, balance, pending, lifetime in rows}


def _store_accounts(session: Session, accounts: dict[int, list[int]], users: set[int]) -> None:
    if users:
        session.connection().execute(
            update(_accounts)
            .where(_accounts.c.user_pk == bindparam("account_user"))
            .values(
                balance=bindparam("new_balance"),
                pending=bindparam("new_pending"),
                lifetime=bindparam("new_lifetime"),
            ),
            [
                {
                    "account_user": user_pk,
                    "new_balance": accounts[user_pk][0],
                    "new_pending": accounts[user_pk][1],
                    "new_lifetime": accounts[user_pk][2],
                }
                for user_pk in sorted(users)
            ],
        )


def settle(session: Session, product_id: str, users: Sequence[int], *, now: dt.datetime) -> int:
    """Lock the users' accounts and settle their due lots: held lots whose ``available_at``
    has passed move from pending into the balance (``points.released``), lots whose expiry
    has come lose what remains of them (one ``expire`` entry per lot). Set-wise: a handful
    of statements whatever the number of users and lots. Returns the lots settled."""
    accounts = _lock_accounts(session, users)
    if not accounts:
        return 0
    connection = session.connection()
    c = _entries.c
    in_users = c.user_pk.in_(sorted(accounts))
    released = connection.execute(
        update(_entries)
        .where(
            in_users,
            c.held == true(),
            c.available_at <= now,
            or_(c.expires_at.is_(None), c.expires_at > now),
        )
        .values(held=False)
        .returning(c.id, c.user_pk, c.remaining)
    ).all()
    expired = connection.execute(
        select(c.id, c.user_pk, c.remaining, c.held, c.created_at)
        .where(in_users, _LOTS_LEFT, c.expires_at <= now)
        .order_by(c.user_pk, c.expires_at, c.id)
    ).all()
    if not released and not expired:
        return 0
    changed: set[int] = set()
    freed: dict[int, tuple[list[int], list[int]]] = {}  # user: (lot ids, points)
    for lot_id, user_pk, remaining in released:
        accounts[user_pk][0] += remaining
        accounts[user_pk][1] -= remaining
        lot_ids, points = freed.setdefault(user_pk, ([], []))
        lot_ids.append(lot_id)
        points.append(remaining)
        changed.add(user_pk)
    members = _members(session, product_id, changed | {row.user_pk for row in expired})
    rows = []
    for lot_id, user_pk, remaining, held, earned_at in expired:
        accounts[user_pk][1 if held else 0] -= remaining
        changed.add(user_pk)
        rows.append(
            entry_row(
                members[user_pk],
                delta=-remaining,
                kind="expire",
                reason=f"Points earned on {earned_at:%Y-%m-%d} expired",
                balance_after=accounts[user_pk][0],
                now=now,
                lot_id=lot_id,
            )
        )
    if expired:
        connection.execute(
            update(_entries)
            .where(c.id.in_([row.id for row in expired]))
            .values(remaining=0, held=False)
        )
        insert_rows(
            session,
            _entries,
            _ENTRY_COLUMNS,
            [tuple(row[name] for name in _ENTRY_COLUMNS) for row in rows],
        )
    _store_accounts(session, accounts, changed)
    for user_pk, (lot_ids, points) in sorted(freed.items()):
        if not sum(points):  # lots a reversal emptied while held: nothing to announce
            continue
        enqueue(
            session,
            product_id=product_id,
            event_type="points.released",
            data={
                "points": sum(points),
                "balance": accounts[user_pk][0],
                "pending": accounts[user_pk][1],
                "entry_ids": lot_ids,
            },
            user_id=members[user_pk].external_id,
            now=now,
        )
    return len(released) + len(expired)


class _Member(NamedTuple):
    id: int
    product_id: str
    external_id: str


def _members(session: Session, product_id: str, users: set[int]) -> dict[int, _Member]:
    if not users:
        return {}
    rows = session.execute(
        select(User.id, User.external_id).where(
            User.product_id == product_id, User.id.in_(sorted(users))
        )
    )
    return {user_pk: _Member(user_pk, product_id, external) for user_pk, external in rows}


def settle_due(db: Database, *, now: dt.datetime) -> int:
    """The background step: settle every user with a due lot (a hold passed, an expiry
    come), a batch of users per transaction, and send ``points.expiring`` for the lots about
    to expire. Each batch leaves its lots settled, so a crash loses no progress already
    committed and the next run goes on from there. Returns the lots settled.

    Lots are taken oldest due first, so a tenant with a large backlog delays the others only
    by what fell due before theirs; each product settles in its own transaction, and one that
    fails is logged and left out for the rest of the run: it never holds the others back."""
    settled = 0
    failed: set[str] = set()
    c = _entries.c
    for _ in range(MAX_BATCHES):
        others = c.product_id.not_in(sorted(failed)) if failed else true()
        with db.session() as session:
            due = {
                *(
                    (product_id, user_pk)
                    for product_id, user_pk in session.execute(
                        select(c.product_id, c.user_pk)
                        .where(c.held == true(), _LOTS_LEFT, c.available_at <= now, others)
                        .order_by(c.available_at)
                        .limit(SETTLE_BATCH)
                    )
                ),
                *(
                    (product_id, user_pk)
                    for product_id, user_pk in session.execute(
                        select(c.product_id, c.user_pk)
                        .where(_LOTS_LEFT, c.expires_at <= now, others)
                        .order_by(c.expires_at)
                        .limit(SETTLE_BATCH)
                    )
                ),
            }
        by_product: dict[str, list[int]] = {}
        for product_id, user_pk in due:
            by_product.setdefault(product_id, []).append(user_pk)
        for product_id, users in sorted(by_product.items()):
            try:
                with db.session() as session:
                    settled += settle(session, product_id, users, now=now)
            except Exception as exc:  # logged; the other products go on
                failed.add(product_id)
                log.warning(
                    "points_settle_failed", product_id=product_id, error_type=type(exc).__name__
                )
        if not due:
            break
    notify_expiring(db, now=now)
    return settled


def notify_expiring(db: Database, *, now: dt.datetime) -> int:
    """``points.expiring`` once per lot, the product's notice days before it expires;
    returns how many were sent. The lot is marked in the same statement that picks it, so a
    lot is announced once even with two processes sweeping."""
    with db.session() as session:
        products = session.execute(
            select(Product.id, Product.points_expiring_notice_days).where(
                Product.points_expiring_notice_days.is_not(None)
            )
        ).all()
    sent = 0
    c = _entries.c
    for product_id, days in products:
        for _ in range(MAX_BATCHES):
            with db.session() as session:
                picked = (
                    select(c.id)
                    .where(
                        _LOTS_LEFT,
                        c.product_id == product_id,
                        c.expiring_notified == false(),
                        c.expires_at > now,
                        c.expires_at <= now + dt.timedelta(days=days or 0),
                    )
                    .order_by(c.expires_at, c.id)
                    .limit(EXPIRY_BATCH)
                    .scalar_subquery()
                )
                lots = session.execute(
                    update(_entries)
                    .where(c.id.in_(picked), c.expiring_notified == false())
                    .values(expiring_notified=True)
                    .returning(c.id, c.user_pk, c.remaining, c.expires_at)
                ).all()
                members = _members(session, product_id, {lot.user_pk for lot in lots})
                for lot_id, user_pk, remaining, expires_at in sorted(lots):
                    enqueue(
                        session,
                        product_id=product_id,
                        event_type="points.expiring",
                        data={
                            "points": remaining,
                            "expires_at": _iso(expires_at),
                            "entry_id": lot_id,
                        },
                        user_id=members[user_pk].external_id,
                        now=now,
                    )
            sent += len(lots)
            if len(lots) < EXPIRY_BATCH:
                break
    return sent


@dataclass(frozen=True)
class Standing:
    """A user's points as of ``now``, with the due lots counted as settled (released,
    expired) whether or not the background step has run yet."""

    balance: int
    lifetime: int
    pending: int
    #: The next moment held points become available, and the points that do within a day.
    next_release: tuple[int, dt.datetime] | None
    #: The next moment points expire, and the points that expire within a day of it.
    next_expiry: tuple[int, dt.datetime] | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "balance": self.balance,
            "lifetime": self.lifetime,
            "pending": self.pending,
            "next_release": _moment(self.next_release),
            "next_expiry": _moment(self.next_expiry),
        }


def standing(session: Session, user: User, *, now: dt.datetime) -> Standing:
    """The user's balance, pending points and next release and expiry: three reads of the
    user's lots that have points left (an index range), nothing written."""
    found = account(session, user)
    c = LedgerEntry
    mine = (LedgerEntry.user_pk == user.id, _LOTS_LEFT)
    due = (
        (c.held == true())
        & (c.available_at <= now)
        & or_(c.expires_at.is_(None), c.expires_at > now)
    )
    gone = c.expires_at <= now
    zero: Any = literal_column("0")
    totals = session.execute(
        select(
            func.coalesce(func.sum(_when(due, c.remaining, zero)), 0),
            func.coalesce(func.sum(_when(gone & (c.held == false()), c.remaining, zero)), 0),
            func.coalesce(func.sum(_when(gone & (c.held == true()), c.remaining, zero)), 0),
            func.min(_when((c.held == true()) & (c.available_at > now), c.available_at, None)),
            func.min(_when(c.expires_at > now, c.expires_at, None)),
        ).where(*mine)
    ).one()
    released, expired, expired_held, release_at, expiry_at = totals
    next_release = next_expiry = None
    if release_at is not None:
        release_at = _aware(release_at)
        points = session.scalar(
            select(func.sum(c.remaining)).where(
                *mine,
                c.held == true(),
                c.available_at >= release_at,
                c.available_at < release_at + dt.timedelta(days=1),
            )
        )
        next_release = (int(points or 0), release_at)
    if expiry_at is not None:
        expiry_at = _aware(expiry_at)
        points = session.scalar(
            select(func.sum(c.remaining)).where(
                *mine, c.expires_at >= expiry_at, c.expires_at < expiry_at + dt.timedelta(days=1)
            )
        )
        next_expiry = (int(points or 0), expiry_at)
    return Standing(
        balance=found.balance + int(released) - int(expired),
        lifetime=found.lifetime,
        pending=found.pending - int(released) - int(expired_held),
        next_release=next_release,
        next_expiry=next_expiry,
    )


def _when(condition: Any, then: Any, otherwise: Any) -> Any:
    return case((condition, then), else_=otherwise)


def _aware(moment: Any) -> dt.datetime:
    """A timestamp an aggregate read back raw (SQLite: text) as an aware datetime."""
    found: dt.datetime = dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return found if found.tzinfo is not None else found.replace(tzinfo=dt.UTC)


def _moment(pair: tuple[int, dt.datetime] | None) -> dict[str, Any] | None:
    return None if pair is None else {"points": pair[0], "at": pair[1]}


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else _aware(moment).isoformat().replace("+00:00", "Z")


def _lot_data(
    available_at: dt.datetime | None, expires_at: dt.datetime | None, *, held: bool
) -> dict[str, Any]:
    """A lot's dates for ``points.earned``: only where it has them, so that a product without
    holds or expiry sends what it always sent."""
    data: dict[str, Any] = {}
    if available_at is not None:
        data["pending"] = held
        data["available_at"] = _iso(available_at)
    if expires_at is not None:
        data["expires_at"] = _iso(expires_at)
    return data


# --- reversal ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reversal:
    """What reversing an event did now: its entries, the points taken back and those that
    could not be (the balance was too small), and the user's standing after."""

    event_id: str
    client_event_id: str | None
    user: User
    entries: list[Entry]
    reversed: int
    unrecovered: int
    balance: int
    pending: int
    lifetime: int


def find_event(
    session: Session, product: Product, event_id: str, *, user: User | None = None
) -> Event:
    """The event by Plaudit's id (``evt_...``), or by the id the tenant gave it (that user's
    when ``user`` is given)."""
    found = repository.event(session, product.id, event_id)
    if found is not None and (user is None or found.user_pk == user.id):
        return found
    matches = repository.events_by_client_id(
        session, product.id, event_id, user_pk=user.id if user is not None else None
    )
    if not matches:
        raise NotFound(f"Product {product.id!r} has no event {event_id!r}.")
    if len(matches) > 1:
        raise InvalidInput(
            f"Several users have an event with the id {event_id!r}.",
            field="user_id",
            hint="Give user_id, or use Plaudit's event id (evt_...) from the event's answer.",
        )
    return matches[0]


def reverse_event(
    session: Session,
    product: Product,
    *,
    event_id: str,
    reason: str,
    now: dt.datetime,
    points: int | None = None,
    user: User | None = None,
) -> Reversal:
    """Take back what an event earned (a refund, a chargeback): one ``reverse`` entry per
    lot the event earned, linked to it by ``lot_id``.

    From each lot: its own points first (held ones cancelled from pending, available ones
    from the balance), then, for what was already spent or expired, the user's other
    available lots oldest expiry first. What the balance cannot cover is recorded on the
    entry as ``unrecovered``: the balance goes to zero, never below. Lifetime points drop by
    what is reversed (recovered or not), the tier follows them, and the leaderboard tallies
    of the days the lot was earned drop too.

    ``points``: how many of the event's points stand reversed after this call (a partial
    refund); None: all of them. Reversing is idempotent: what was reversed already is never
    taken again, so the same call twice takes nothing the second time."""
    event = find_event(session, product, event_id, user=user)
    owner = session.get(User, event.user_pk)
    assert owner is not None  # noqa: S101  # events cascade with their user
    settle(session, product.id, [owner.id], now=now)
    accounts = _lock_accounts(session, [owner.id])  # as settled, under the lock
    c = LedgerEntry
    lots = list(
        session.execute(
            select(c.id, c.delta, c.remaining, c.held, c.created_at)
            .where(
                c.user_pk == owner.id,
                c.event_id == event.id,
                c.remaining.is_not(None),
                c.kind.in_(EARNING_KINDS),
            )
            .order_by(c.id)
        )
    )
    done = dict(
        session.execute(
            select(c.lot_id, func.sum(-c.delta + func.coalesce(c.unrecovered, 0)))
            .where(
                c.user_pk == owner.id,
                c.kind == "reverse",
                c.lot_id.in_([lot.id for lot in lots] or [0]),
            )
            .group_by(c.lot_id)
        ).all()
    )
    earned = sum(lot.delta for lot in lots)
    already = sum(int(done.get(lot.id, 0)) for lot in lots)
    target = earned if points is None else min(points, earned)
    left = max(target - already, 0)
    state = accounts.get(owner.id)
    entries: list[Entry] = []
    taken_total = unrecovered_total = 0
    by_day: dict[str, int] = {}
    connection = session.connection()
    # First what is left of the event's own lots, all of them; only then the other lots, so
    # that taking for one of the event's lots never consumes another one's points unseen.
    plan: list[tuple[Any, int, int]] = []  # (lot, amount to reverse, taken from itself)
    for lot in lots:
        if left <= 0 or state is None:
            break
        amount = min(lot.delta - int(done.get(lot.id, 0)), left)
        if amount <= 0:
            continue
        left -= amount
        own = min(amount, lot.remaining)
        if own:
            state[1 if lot.held else 0] -= own
            # A held lot the reversal empties is no longer held: nothing is left to release,
            # and the settle step must not find it due on every run.
            connection.execute(
                update(_entries)
                .where(_entries.c.id == lot.id)
                .values(
                    remaining=_entries.c.remaining - own,
                    held=lot.held and lot.remaining - own > 0,
                )
            )
        plan.append((lot, amount, own))
    for lot, amount, own in plan:
        assert state is not None  # noqa: S101  # a plan is made only with an account
        rest = min(amount - own, state[0])
        _consume(session, owner.id, rest)
        state[0] -= rest
        short = amount - own - rest
        state[2] = max(state[2] - amount, 0)
        taken_total += own + rest
        unrecovered_total += short
        for period in periods(_aware(lot.created_at), product.time_zone):
            by_day[period] = by_day.get(period, 0) + amount
        entries.append(
            _append(
                session,
                owner,
                delta=-(own + rest),
                kind="reverse",
                reason=reason,
                balance_after=state[0],
                lifetime=state[2],
                now=now,
                event_id=event.id,
                lot_id=lot.id,
                unrecovered=short,
            )
        )
    if state is None:
        return Reversal(event.id, event.client_event_id, owner, [], 0, 0, 0, 0, 0)
    if entries:
        _store_accounts(session, accounts, {owner.id})
        connection.execute(
            update(_tallies)
            .where(_tallies.c.user_pk == owner.id, _tallies.c.period == bindparam("tally_period"))
            .values(
                points=func.greatest(_tallies.c.points - bindparam("tally_points"), 0)
                if connection.dialect.name == "postgresql"
                else func.max(_tallies.c.points - bindparam("tally_points"), 0)
            ),
            [{"tally_period": p, "tally_points": n} for p, n in sorted(by_day.items())],
        )
        tier_before = session.scalar(
            select(LoyaltyAccount.tier_name).where(LoyaltyAccount.user_pk == owner.id)
        )
        _notify(
            session,
            owner,
            "points.reversed",
            now,
            event_id=event.client_event_id or event.id,
            points=taken_total,
            unrecovered=unrecovered_total,
            balance=state[0],
            pending=state[1],
            lifetime=state[2],
            reason=reason,
            entry_ids=[entry.id for entry in entries],
        )
        change = _retier(session, product, owner, state[2], tier_before)
        if change is not None:
            _notify(
                session,
                owner,
                "tier.changed",
                now,
                **tiers.notice(session, product, change.before, change.after, state[2]),
            )
    return Reversal(
        event_id=event.id,
        client_event_id=event.client_event_id,
        user=owner,
        entries=entries,
        reversed=taken_total,
        unrecovered=unrecovered_total,
        balance=state[0],
        pending=state[1],
        lifetime=state[2],
    )


# --- inactivity expiry ---------------------------------------------------------------------


def expire_inactive(session: Session, product: Product, *, now: dt.datetime) -> int:
    """Expire the balances with no earn for the product's expiry window; returns how many.
    The available lots go with the balance; held (pending) points are not the balance."""
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
            session.connection().execute(
                update(_entries)
                .where(_entries.c.user_pk == user_pk, _LOTS_LEFT, _entries.c.held == false())
                .values(remaining=0)
            )
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
    """The ledger's sum for the user: what the account's balance plus pending must equal."""
    return repository.ledger_sum(session, user)


def _append(
    session: Session,
    user: User | _Member,
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
    lot: Lot | None = None,
    lot_id: int | None = None,
    unrecovered: int | None = None,
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
        lot=lot,
        lot_id=lot_id,
        unrecovered=unrecovered,
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
        available_at=row["available_at"],
        expires_at=row["expires_at"],
        remaining=row["remaining"],
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
    if before == name or tiers.held_by_window(product):  # the background step moves them
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
            update(_accounts)
            .where(_accounts.c.user_pk == user.id)
            .values(balance=_accounts.c.balance + points)
            .returning(_accounts.c.balance, _accounts.c.lifetime)
        )
        .one()
    )
    return _append(
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
