"""How a ledger entry is written and read: the one shape of a row (``entry_row``), lots, the
account row every change of a user's lots locks first, and the webhook data they share.

Every earning entry is a lot (docs/loyalty.md, "Lots"): it carries the points of it that
remain, when they expire and when they become available. A held lot's remaining points are
in the account's ``pending``, the others' in its ``balance``. Debits consume lots oldest
expiry first, then oldest id (``consume``), under the account row's lock.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    Table,
    bindparam,
    case,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from plaudit.events.repository import Member
from plaudit.periods import periods
from plaudit.products.models import Product
from plaudit.store.bulk import insert_rows
from plaudit.store.memo import remembered
from plaudit.store.upsert import insert_ignore
from plaudit.users.models import User
from plaudit.webhooks.service import enqueue

from . import repository, tiers
from .models import EarningRule, LedgerEntry, LoyaltyAccount, PointsTally

#: Kinds that count as earned: they raise lifetime points, tiers and leaderboards. Each is a lot.
EARNING_KINDS = frozenset({"earn", "referral", "adjust"})


#: Kinds a product's hold applies to: points earned by rules, which a refund may still take
#: back. Referral rewards have the referral program's own hold; adjustments are the tenant's.
HELD_KINDS = frozenset({"earn"})


#: Kinds that give spent points back without earning them: each is a lot of its own.
GIVEN_BACK_KINDS = frozenset({"refund"})


MAX_POINTS = 1_000_000_000


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


ACCOUNTS: Table = LoyaltyAccount.__table__  # type: ignore[assignment]


ENTRIES: Table = LedgerEntry.__table__  # type: ignore[assignment]


TALLIES: Table = PointsTally.__table__  # type: ignore[assignment]


ENTRY_COLUMNS = (
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

#: A row's values in the order of ENTRY_COLUMNS, for ``insert_rows``.
entry_values = operator.itemgetter(*ENTRY_COLUMNS)


APPEND = (
    insert(ENTRIES)
    .values({name: bindparam(name, type_=ENTRIES.c[name].type) for name in ENTRY_COLUMNS})
    .returning(ENTRIES.c.id)
)


_TALLY_COLUMNS = ("user_pk", "period", "product_id", "points")


_ADD_TALLIES = (
    "ON CONFLICT (user_pk, period) DO UPDATE SET points = points_tallies.points + excluded.points"
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


def add_tallies(
    session: Session, product: Product, totals: dict[int, int], now: dt.datetime
) -> None:
    """Each user's points of the batch into the all-time, week and month tallies at once."""
    keys = periods(now, product.time_zone)
    product_id = product.id  # read off the row once, not once a tally
    insert_rows(
        session,
        TALLIES,
        _TALLY_COLUMNS,
        [
            (user_pk, period, product_id, points)
            for user_pk, points in sorted(totals.items())
            for period in keys
        ],
        tail=_ADD_TALLIES,
    )


def ensure_accounts(session: Session, product_id: str, users: Sequence[int]) -> None:
    """Make the accounts the users do not have yet, in one statement."""
    insert_rows(
        session,
        ACCOUNTS,
        ("user_pk", "product_id", "balance", "lifetime"),
        [(user_pk, product_id, 0, 0) for user_pk in users],
        tail="ON CONFLICT DO NOTHING",
    )


def ensure_account(session: Session, user: User) -> None:
    insert_ignore(
        session,
        ACCOUNTS,
        {"user_pk": user.id, "product_id": user.product_id, "balance": 0, "lifetime": 0},
    )


def account(session: Session, user: User) -> LoyaltyAccount:
    """The user's account row, made on first use."""
    ensure_account(session, user)
    found = session.get(LoyaltyAccount, user.id, populate_existing=True)
    assert found is not None  # noqa: S101  # inserted or present just above
    return found


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


LOTS_LEFT = literal_column("ledger_entries.remaining") > literal_column("0")


def consume(session: Session, user_pk: int, points: int) -> None:
    if points > 0:
        session.connection().execute(_CONSUME, {"user_pk": user_pk, "points": points})


def lock_accounts(session: Session, users: Sequence[int]) -> dict[int, list[int]]:
    """Lock the users' account rows (PostgreSQL; SQLite has one writer) in key order, and
    read them: {user_pk: [balance, pending, lifetime]}."""
    rows = session.connection().execute(
        select(ACCOUNTS.c.user_pk, ACCOUNTS.c.balance, ACCOUNTS.c.pending, ACCOUNTS.c.lifetime)
        .where(ACCOUNTS.c.user_pk.in_(sorted(set(users))))
        .order_by(ACCOUNTS.c.user_pk)
        .with_for_update()
    )
    return {user_pk: [balance, pending, lifetime] for user_pk, balance, pending, lifetime in rows}


def store_accounts(session: Session, accounts: dict[int, list[int]], users: set[int]) -> None:
    if users:
        session.connection().execute(
            update(ACCOUNTS)
            .where(ACCOUNTS.c.user_pk == bindparam("account_user"))
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


class Owner(NamedTuple):
    id: int
    product_id: str
    external_id: str


def owners_of(session: Session, product_id: str, users: set[int]) -> dict[int, Owner]:
    if not users:
        return {}
    rows = session.execute(
        select(User.id, User.external_id).where(
            User.product_id == product_id, User.id.in_(sorted(users))
        )
    )
    return {user_pk: Owner(user_pk, product_id, external) for user_pk, external in rows}


def when_then(condition: Any, then: Any, otherwise: Any) -> Any:
    return case((condition, then), else_=otherwise)


def aware(moment: Any) -> dt.datetime:
    """A timestamp an aggregate read back raw (SQLite: text) as an aware datetime."""
    found: dt.datetime = dt.datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return found if found.tzinfo is not None else found.replace(tzinfo=dt.UTC)


def moment_data(pair: tuple[int, dt.datetime] | None) -> dict[str, Any] | None:
    return None if pair is None else {"points": pair[0], "at": pair[1]}


def iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else aware(moment).isoformat().replace("+00:00", "Z")


def lot_data(
    available_at: dt.datetime | None, expires_at: dt.datetime | None, *, held: bool
) -> dict[str, Any]:
    """A lot's dates for ``points.earned``: only where it has them, so that a product without
    holds or expiry sends what it always sent."""
    data: dict[str, Any] = {}
    if available_at is not None:
        data["pending"] = held
        data["available_at"] = iso(available_at)
    if expires_at is not None:
        data["expires_at"] = iso(expires_at)
    return data


def append(
    session: Session,
    user: User | Owner,
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
    entry_id = session.connection().execute(APPEND, row).scalar_one()
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


def retier(
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
        update(ACCOUNTS).where(ACCOUNTS.c.user_pk == user.id).values(tier_name=name)
    )
    return TierChange(before=before, after=name)


def notify(session: Session, user: User, event_type: str, now: dt.datetime, **data: Any) -> None:
    enqueue(
        session,
        product_id=user.product_id,
        event_type=event_type,
        data=data,
        user_id=user.external_id,
        now=now,
    )
