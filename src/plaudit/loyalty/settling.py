"""When held points come due and lots expire: settled (released, expired) by the background
step, and lazily by any debit before it takes points, so a debit never spends expired points
nor misses released ones; reads (``standing``) count due lots as settled without writing.
Also the older expiry of a whole balance after a period without earning (``expire_inactive``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    false,
    func,
    literal_column,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session

from plaudit.products.models import Product
from plaudit.store.bulk import insert_rows
from plaudit.store.db import Database, each_product
from plaudit.users.models import User
from plaudit.webhooks.service import enqueue

from . import repository
from .entries import (
    ENTRIES,
    ENTRY_COLUMNS,
    LOTS_LEFT,
    account,
    append,
    aware,
    entry_row,
    entry_values,
    iso,
    lock_accounts,
    moment_data,
    owners_of,
    store_accounts,
    when_then,
)
from .models import LedgerEntry, LoyaltyAccount

EXPIRY_BATCH = 1000


#: Users settled (lots released or expired) per transaction by the background step.
SETTLE_BATCH = 500


#: The most batches one run of a background step does: the next run goes on from there.
MAX_BATCHES = 100


def settle(session: Session, product_id: str, users: Sequence[int], *, now: dt.datetime) -> int:
    """Lock the users' accounts and settle their due lots: held lots whose ``available_at``
    has passed move from pending into the balance (``points.released``), lots whose expiry
    has come lose what remains of them (one ``expire`` entry per lot). Set-wise: a handful
    of statements whatever the number of users and lots. Returns the lots settled."""
    accounts = lock_accounts(session, users)
    if not accounts:
        return 0
    connection = session.connection()
    c = ENTRIES.c
    in_users = c.user_pk.in_(sorted(accounts))
    released = connection.execute(
        update(ENTRIES)
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
        .where(in_users, LOTS_LEFT, c.expires_at <= now)
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
    members = owners_of(session, product_id, changed | {row.user_pk for row in expired})
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
            update(ENTRIES)
            .where(c.id.in_([row.id for row in expired]))
            .values(remaining=0, held=False)
        )
        insert_rows(
            session,
            ENTRIES,
            ENTRY_COLUMNS,
            [entry_values(row) for row in rows],
        )
    store_accounts(session, accounts, changed)
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
    c = ENTRIES.c
    for _ in range(MAX_BATCHES):
        others = c.product_id.not_in(sorted(failed)) if failed else true()
        with db.session() as session:
            due = {
                *(
                    (product_id, user_pk)
                    for product_id, user_pk in session.execute(
                        select(c.product_id, c.user_pk)
                        .where(c.held == true(), LOTS_LEFT, c.available_at <= now, others)
                        .order_by(c.available_at)
                        .limit(SETTLE_BATCH)
                    )
                ),
                *(
                    (product_id, user_pk)
                    for product_id, user_pk in session.execute(
                        select(c.product_id, c.user_pk)
                        .where(LOTS_LEFT, c.expires_at <= now, others)
                        .order_by(c.expires_at)
                        .limit(SETTLE_BATCH)
                    )
                ),
            }
        settled += each_product(
            db,
            due,
            lambda session, product_id, users: settle(session, product_id, users, now=now),
            failed=failed,
            failure="points_settle_failed",
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
    c = ENTRIES.c
    for product_id, days in products:
        for _ in range(MAX_BATCHES):
            with db.session() as session:
                picked = (
                    select(c.id)
                    .where(
                        LOTS_LEFT,
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
                    update(ENTRIES)
                    .where(c.id.in_(picked), c.expiring_notified == false())
                    .values(expiring_notified=True)
                    .returning(c.id, c.user_pk, c.remaining, c.expires_at)
                ).all()
                members = owners_of(session, product_id, {lot.user_pk for lot in lots})
                for lot_id, user_pk, remaining, expires_at in sorted(lots):
                    enqueue(
                        session,
                        product_id=product_id,
                        event_type="points.expiring",
                        data={
                            "points": remaining,
                            "expires_at": iso(expires_at),
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
            "next_release": moment_data(self.next_release),
            "next_expiry": moment_data(self.next_expiry),
        }


def standing(session: Session, user: User, *, now: dt.datetime) -> Standing:
    """The user's balance, pending points and next release and expiry: three reads of the
    user's lots that have points left (an index range), nothing written."""
    found = account(session, user)
    c = LedgerEntry
    mine = (LedgerEntry.user_pk == user.id, LOTS_LEFT)
    due = (
        (c.held == true())
        & (c.available_at <= now)
        & or_(c.expires_at.is_(None), c.expires_at > now)
    )
    gone = c.expires_at <= now
    zero: Any = literal_column("0")
    totals = session.execute(
        select(
            func.coalesce(func.sum(when_then(due, c.remaining, zero)), 0),
            func.coalesce(func.sum(when_then(gone & (c.held == false()), c.remaining, zero)), 0),
            func.coalesce(func.sum(when_then(gone & (c.held == true()), c.remaining, zero)), 0),
            func.min(when_then((c.held == true()) & (c.available_at > now), c.available_at, None)),
            func.min(when_then(c.expires_at > now, c.expires_at, None)),
        ).where(*mine)
    ).one()
    released, expired, expired_held, release_at, expiry_at = totals
    next_release = next_expiry = None
    if release_at is not None:
        release_at = aware(release_at)
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
        expiry_at = aware(expiry_at)
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
                update(ENTRIES)
                .where(ENTRIES.c.user_pk == user_pk, LOTS_LEFT, ENTRIES.c.held == false())
                .values(remaining=0)
            )
            append(
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
