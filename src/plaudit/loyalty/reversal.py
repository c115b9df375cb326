"""Refunds and chargebacks in the ledger: what an event earned is taken back as ``reverse``
entries linked to its lots, never below zero, idempotently (docs/loyalty.md, "Reversal")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from plaudit.errors import InvalidInput, NotFound
from plaudit.events.models import Event
from plaudit.periods import periods
from plaudit.products.models import Product
from plaudit.users.models import User

from . import repository, tiers
from .entries import (
    EARNING_KINDS,
    ENTRIES,
    TALLIES,
    Entry,
    append,
    aware,
    consume,
    lock_accounts,
    notify,
    retier,
    store_accounts,
)
from .models import LedgerEntry, LoyaltyAccount
from .settling import settle


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
    accounts = lock_accounts(session, [owner.id])  # as settled, under the lock
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
                update(ENTRIES)
                .where(ENTRIES.c.id == lot.id)
                .values(
                    remaining=ENTRIES.c.remaining - own,
                    held=lot.held and lot.remaining - own > 0,
                )
            )
        plan.append((lot, amount, own))
    for lot, amount, own in plan:
        assert state is not None  # noqa: S101  # a plan is made only with an account
        rest = min(amount - own, state[0])
        consume(session, owner.id, rest)
        state[0] -= rest
        short = amount - own - rest
        state[2] = max(state[2] - amount, 0)
        taken_total += own + rest
        unrecovered_total += short
        for period in periods(aware(lot.created_at), product.time_zone):
            by_day[period] = by_day.get(period, 0) + amount
        entries.append(
            append(
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
        store_accounts(session, accounts, {owner.id})
        connection.execute(
            update(TALLIES)
            .where(TALLIES.c.user_pk == owner.id, TALLIES.c.period == bindparam("tally_period"))
            .values(
                points=func.greatest(TALLIES.c.points - bindparam("tally_points"), 0)
                if connection.dialect.name == "postgresql"
                else func.max(TALLIES.c.points - bindparam("tally_points"), 0)
            ),
            [{"tally_period": p, "tally_points": n} for p, n in sorted(by_day.items())],
        )
        tier_before = session.scalar(
            select(LoyaltyAccount.tier_name).where(LoyaltyAccount.user_pk == owner.id)
        )
        notify(
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
        change = retier(session, product, owner, state[2], tier_before)
        if change is not None:
            notify(
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
