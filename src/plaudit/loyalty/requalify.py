"""The background step that keeps tiers held by a rolling window true: upgrades, grace periods
and downgrades, from the ledger.

The credit path stays as cheap as under lifetime tiers (it leaves rolling tiers alone); each
pass finds, set-wise and bounded, the few users whose window may have changed, and sums their
window's earning entries (net of reversals) in one grouped read:

- users who earned since the last pass (their lifetime figure moved since their evaluation),
- users with an entry that left the window since the last pass (a keyset walk of old entries),
- users with a reversal since the last pass,
- users whose grace period ends, and every user after the tiers or the policy change (a sweep).

A user whose window reaches a higher tier moves up at once; one below their tier's threshold
gets ``review_at`` (now + the grace days) and the tier they would move to; recovering before
then clears it; after it they move down, as many tiers as the window says, with a
``tier.changed`` webhook (``direction`` "down").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import structlog
from sqlalchemy import Row, Table, and_, bindparam, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from plaudit.access.scope import scoped
from plaudit.products.models import Product
from plaudit.store.db import Database
from plaudit.users.models import User
from plaudit.webhooks.service import Notice, enqueue_many

from . import repository, tiers
from .entries import EARNING_KINDS
from .models import LedgerEntry, LoyaltyAccount, TierStanding, TierWindow

log = structlog.get_logger("plaudit")

#: Users evaluated per source and pass: a pass reads and writes a few thousand rows at most.
BATCH = 1000
#: Passes over one product in one step, at most: the rest waits for the next step.
ROUNDS = 10
#: Entries this recent may belong to a transaction not yet committed: looked at again.
SETTLE = dt.timedelta(minutes=1)
#: The ledger kind of a reversal: its (negative) points count against the window.
REVERSE = "reverse"
QUALIFYING = sorted(EARNING_KINDS | {REVERSE})

_accounts: Table = LoyaltyAccount.__table__  # type: ignore[assignment]
_SET_TIER = (
    update(_accounts)
    .where(_accounts.c.user_pk == bindparam("account_user"))
    .values(tier_name=bindparam("tier"))
)


def requalify_all(db: Database, *, now: dt.datetime) -> int:
    """The background step: every product whose tiers are held by a rolling window, a
    transaction per batch, ``ROUNDS`` batches per product at most. Returns the tier moves."""
    with db.session() as session:
        product_ids = list(
            session.scalars(select(Product.id).where(Product.tier_held_by == "rolling"))
        )
    moved = 0
    for product_id in product_ids:
        try:
            for _ in range(ROUNDS):
                with db.session() as session:
                    product = session.get(Product, product_id)
                    done, more = requalify(session, product, now=now) if product else (0, False)
                moved += done
                if not more:
                    break
        except Exception as exc:  # logged; one product's failure never holds the others back
            log.warning(
                "tiers_requalify_failed", product_id=product_id, error_type=type(exc).__name__
            )
    return moved


def requalify(session: Session, product: Product, *, now: dt.datetime) -> tuple[int, bool]:
    """One bounded pass over one product: (tier moves made, whether work is left)."""
    if not tiers.held_by_window(product) or not product.tier_window_days:
        return 0, False
    window = session.scalar(
        scoped(TierWindow, product.id).with_for_update(skip_locked=True)  # one pass at a time
    )
    if window is None:
        if session.get(TierWindow, product.id) is not None:
            return 0, False  # another process is on it
        window = TierWindow(product_id=product.id, sweep_after=0, aged_id=0, reversed_id=0)
        session.add(window)
        session.flush()
    cutoff = now - dt.timedelta(days=product.tier_window_days)
    users: set[int] = set()
    more = False
    for found, full in (
        _sweep(session, product, window),
        _aged(session, product, window, cutoff),
        _earners(session, product, window, now),
        _reversed(session, product, window, now),
        _due(session, product, now),
    ):
        users.update(found)
        more = more or full
    if not users:
        return 0, more
    return _evaluate(session, product, sorted(users), cutoff=cutoff, now=now), more


def _sweep(session: Session, product: Product, window: TierWindow) -> tuple[set[int], bool]:
    if window.sweep_after is None:
        return set(), False
    found = list(
        session.scalars(
            scoped(LoyaltyAccount, product.id)
            .with_only_columns(LoyaltyAccount.user_pk)
            .where(LoyaltyAccount.user_pk > window.sweep_after)
            .order_by(LoyaltyAccount.user_pk)
            .limit(BATCH)
        )
    )
    full = len(found) == BATCH
    window.sweep_after = found[-1] if full else None
    return set(found), full


def _aged(
    session: Session, product: Product, window: TierWindow, cutoff: dt.datetime
) -> tuple[set[int], bool]:
    """Users with an entry that left the window since the last pass: entries written before
    ``cutoff`` and after the last one seen, in (created_at, id) order. They are a window old,
    long committed, so the walk misses none."""
    if window.aged_upto is None:  # the first pass: the sweep sees everyone
        window.aged_upto, window.aged_id = cutoff, 0
        return set(), False
    rows = _entries_after(
        session,
        product,
        (window.aged_upto, window.aged_id),
        LedgerEntry.kind.in_(QUALIFYING),
        LedgerEntry.created_at < cutoff,
    )
    full = len(rows) == BATCH
    if rows:
        window.aged_upto, window.aged_id = rows[-1].created_at, rows[-1].id
    if not full and window.aged_upto < cutoff:
        window.aged_upto, window.aged_id = cutoff, 0
    return {row.user_pk for row in rows}, full


def _earners(
    session: Session, product: Product, window: TierWindow, now: dt.datetime
) -> tuple[set[int], bool]:
    """Users who earned since the last pass and were not evaluated since: their lifetime
    figure differs from the one their standing saw (a retried pass finds none twice)."""
    since = (window.earned_since or now) - SETTLE
    found = list(
        session.scalars(
            scoped(LoyaltyAccount, product.id)
            .with_only_columns(LoyaltyAccount.user_pk)
            .outerjoin(TierStanding, TierStanding.user_pk == LoyaltyAccount.user_pk)
            .where(
                LoyaltyAccount.last_earned_at >= since,
                LoyaltyAccount.lifetime != func.coalesce(TierStanding.lifetime_seen, -1),
            )
            .order_by(LoyaltyAccount.last_earned_at)
            .limit(BATCH)
        )
    )
    full = len(found) == BATCH
    if not full:
        window.earned_since = now
    return set(found), full


def _reversed(
    session: Session, product: Product, window: TierWindow, now: dt.datetime
) -> tuple[set[int], bool]:
    """Users with a reversal since the last look, by the entries' time (the product's
    time index): the next look starts a minute before this one, so an entry whose transaction
    commits late is still seen (a user evaluated twice is evaluated the same)."""
    rows = _entries_after(
        session,
        product,
        (window.reversed_since or now - SETTLE, window.reversed_id),
        LedgerEntry.kind == REVERSE,
    )
    full = len(rows) == BATCH
    if full:
        window.reversed_since, window.reversed_id = rows[-1].created_at, rows[-1].id
    else:
        window.reversed_since, window.reversed_id = now - SETTLE, 0
    return {row.user_pk for row in rows}, full


def _due(session: Session, product: Product, now: dt.datetime) -> tuple[set[int], bool]:
    found = list(
        session.scalars(
            scoped(TierStanding, product.id)
            .with_only_columns(TierStanding.user_pk)
            .where(TierStanding.review_at <= now)
            .order_by(TierStanding.review_at)
            .limit(BATCH)
        )
    )
    return set(found), len(found) == BATCH


def window_points(
    session: Session, product_id: str, users: Iterable[int], *, cutoff: dt.datetime
) -> dict[int, int]:
    """Each user's earning entries since ``cutoff``, net of reversals: one grouped read."""
    wanted = list(users)
    out: dict[int, int] = {}
    for start in range(0, len(wanted), BATCH):
        part = wanted[start : start + BATCH]
        rows = session.execute(
            scoped(LedgerEntry, product_id)
            .with_only_columns(LedgerEntry.user_pk, func.sum(LedgerEntry.delta))
            .where(
                LedgerEntry.user_pk.in_(part),
                LedgerEntry.kind.in_(QUALIFYING),
                LedgerEntry.created_at >= cutoff,
            )
            .group_by(LedgerEntry.user_pk)
        )
        out.update({user_pk: int(total or 0) for user_pk, total in rows})
    return out


def _evaluate(
    session: Session, product: Product, users: list[int], *, cutoff: dt.datetime, now: dt.datetime
) -> int:
    ladder = repository.tiers(session, product.id)
    points = window_points(session, product.id, users, cutoff=cutoff)
    accounts = {
        row.user_pk: row
        for row in session.execute(
            scoped(LoyaltyAccount, product.id)
            .with_only_columns(
                LoyaltyAccount.user_pk,
                LoyaltyAccount.lifetime,
                LoyaltyAccount.tier_name,
            )
            .where(LoyaltyAccount.user_pk.in_(users))
        )
    }
    standings = {
        s.user_pk: s
        for s in session.scalars(
            scoped(TierStanding, product.id).where(TierStanding.user_pk.in_(users))
        )
    }
    external: dict[int, str] = dict(
        session.execute(
            scoped(User, product.id)
            .with_only_columns(User.id, User.external_id)
            .where(User.id.in_(users))
        ).all()
    )
    moves: list[dict[str, object]] = []
    notices: list[Notice] = []
    for user_pk in users:
        account = accounts.get(user_pk)
        if account is None:
            continue
        qualifying = max(points.get(user_pk, 0), 0)
        current = account.tier_name
        target_tier = tiers.tier_for(ladder, qualifying)
        target = target_tier.name if target_tier is not None else None
        standing = standings.get(user_pk)
        if standing is None:
            standing = TierStanding(user_pk=user_pk, product_id=product.id)
            session.add(standing)
        standing.qualifying = qualifying
        standing.lifetime_seen = account.lifetime
        was, goes = tiers.rank(ladder, current), tiers.rank(ladder, target)
        move = False
        if was < 0 or goes > was:  # up at once (or off a tier no longer on the ladder)
            move = True
        elif goes == was:  # holds the tier: any grace period ends
            standing.review_at, standing.downgrade_to = None, None
        elif standing.review_at is None and product.tier_grace_days:
            standing.review_at = tiers.review_at(now, product.tier_grace_days)
            standing.downgrade_to = target
        elif standing.review_at is None or standing.review_at <= now:
            move = True
        else:  # still in grace: where the user would go today
            standing.downgrade_to = target
        if not move:
            continue
        standing.review_at, standing.downgrade_to = None, None
        moves.append({"account_user": user_pk, "tier": target})
        notices.append(
            (
                "tier.changed",
                external.get(user_pk),
                tiers.change_data(
                    ladder,
                    current,
                    target,
                    lifetime=account.lifetime,
                    qualifying_points=qualifying,
                ),
            )
        )
    if moves:
        session.connection().execute(_SET_TIER, moves)
    session.flush()
    enqueue_many(session, product_id=product.id, notices=notices, now=now)
    return len(moves)


def _entries_after(
    session: Session,
    product: Product,
    seen: tuple[dt.datetime, int],
    *conditions: ColumnElement[bool],
) -> Sequence[Row[int, dt.datetime, int]]:
    """The next BATCH of the product's entries meeting ``conditions`` after ``seen`` (a
    moment and an id) in (created_at, id) order: (user_pk, created_at, id)."""
    seen_at, seen_id = seen
    return session.execute(
        scoped(LedgerEntry, product.id)
        .with_only_columns(LedgerEntry.user_pk, LedgerEntry.created_at, LedgerEntry.id)
        .where(
            *conditions,
            or_(
                LedgerEntry.created_at > seen_at,
                and_(LedgerEntry.created_at == seen_at, LedgerEntry.id > seen_id),
            ),
        )
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
        .limit(BATCH)
    ).all()
