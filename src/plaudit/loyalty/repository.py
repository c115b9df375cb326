"""The loyalty program's reads of tenant data: every statement starts from ``scoped``.

Rows keyed by a user's primary key (an account, a user's ledger) belong to that user's product
already; they are read here too, filtered by the user. The ledger's hot-path statements, built
once with bind parameters, stay in ``ledger``: they change one user's account row only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, update
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped, scoped_delete, tenant_filter
from plaudit.events.models import Event
from plaudit.items import all_of, one_of
from plaudit.users.models import User

from .models import EarningRule, LedgerEntry, LoyaltyAccount, Redemption, Reward, Tier


def rules(session: Session, product_id: str, *, enabled_only: bool = False) -> list[EarningRule]:
    return all_of(session, EarningRule, product_id, enabled_only=enabled_only)


def rule(session: Session, product_id: str, rule_id: str) -> EarningRule:
    return one_of(session, EarningRule, product_id, rule_id, "earning rule")


def rewards(session: Session, product_id: str, *, enabled_only: bool = False) -> list[Reward]:
    return all_of(session, Reward, product_id, enabled_only=enabled_only, order=(Reward.cost,))


def reward(session: Session, product_id: str, reward_id: str) -> Reward:
    return one_of(session, Reward, product_id, reward_id, "reward")


def reward_for_update(session: Session, product_id: str, reward_id: str) -> Reward | None:
    """The reward, its row locked and re-read: a restock and a redemption take turns."""
    return session.scalar(
        scoped(Reward, product_id)
        .where(Reward.id == reward_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def redemption_by_client_id(session: Session, user: User, client_id: str) -> Redemption | None:
    return session.scalar(
        scoped(Redemption, user.product_id).where(
            Redemption.user_pk == user.id, Redemption.client_id == client_id
        )
    )


def tiers(session: Session, product_id: str) -> list[Tier]:
    return list(session.scalars(scoped(Tier, product_id).order_by(Tier.threshold)))


def delete_tiers(session: Session, product_id: str) -> None:
    session.execute(scoped_delete(Tier, product_id))


def take_one(session: Session, reward: Reward) -> bool:
    """Take one of a limited reward's stock if any is left: one conditional UPDATE, so two
    redemptions of the last one cannot both have it."""
    taken = session.execute(
        update(Reward)
        .where(tenant_filter(Reward, reward.product_id), Reward.id == reward.id, Reward.stock > 0)
        .values(stock=Reward.stock - 1)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def stale_accounts(
    session: Session, product_id: str, *, cutoff: dt.datetime, limit: int
) -> list[tuple[int, int]]:
    """Accounts with a balance and no earn since ``cutoff``: (user pk, balance)."""
    rows = session.execute(
        scoped(LoyaltyAccount, product_id)
        .with_only_columns(LoyaltyAccount.user_pk, LoyaltyAccount.balance)
        .where(LoyaltyAccount.balance > 0, LoyaltyAccount.last_earned_at < cutoff)
        .limit(limit)
    )
    return [(user_pk, balance) for user_pk, balance in rows]


def history(
    session: Session, user: User, *, limit: int, before: int | None = None
) -> list[LedgerEntry]:
    """Up to ``limit`` of the user's entries, newest first, older than ``before``."""
    query = scoped(LedgerEntry, user.product_id).where(LedgerEntry.user_pk == user.id)
    if before is not None:
        query = query.where(LedgerEntry.id < before)
    return list(session.scalars(query.order_by(LedgerEntry.id.desc()).limit(limit)))


def balance(session: Session, user: User) -> int:
    """The user's balance, 0 with no account yet."""
    found = session.scalar(
        scoped(LoyaltyAccount, user.product_id)
        .with_only_columns(LoyaltyAccount.balance)
        .where(LoyaltyAccount.user_pk == user.id)
    )
    return int(found or 0)


def ledger_sum(session: Session, user: User) -> int:
    """The balance as the ledger alone says it."""
    total = session.scalar(
        scoped(LedgerEntry, user.product_id)
        .with_only_columns(func.coalesce(func.sum(LedgerEntry.delta), 0))
        .where(LedgerEntry.user_pk == user.id)
    )
    return int(total or 0)


def earned_by_rules(
    session: Session,
    product_id: str,
    users: list[int],
    rule_ids: set[str],
    *,
    since: dt.datetime | None = None,
) -> dict[tuple[int, str], int]:
    """How many times each of the users earned by each of the rules (since a moment, if
    given): one read for a batch."""
    if not users or not rule_ids:
        return {}
    query = (
        scoped(LedgerEntry, product_id)
        .with_only_columns(LedgerEntry.user_pk, LedgerEntry.rule_id, func.count())
        .where(LedgerEntry.user_pk.in_(users), LedgerEntry.rule_id.in_(rule_ids))
        .group_by(LedgerEntry.user_pk, LedgerEntry.rule_id)
    )
    if since is not None:
        query = query.where(LedgerEntry.created_at >= since)
    return {(user_pk, str(rule_id)): int(n) for user_pk, rule_id, n in session.execute(query)}


def lock_accounts(session: Session, product_id: str, users: list[int]) -> None:
    """Lock the users' account rows until the transaction ends (PostgreSQL), in the order
    of their keys: two transactions locking overlapping sets never deadlock."""
    session.execute(
        scoped(LoyaltyAccount, product_id)
        .with_only_columns(LoyaltyAccount.user_pk)
        .where(LoyaltyAccount.user_pk.in_(users))
        .order_by(LoyaltyAccount.user_pk)
        .with_for_update()
    )


def latest_entry_id(session: Session, product_id: str) -> int:
    """The product's newest ledger entry id (0: none yet)."""
    latest = session.scalar(
        scoped(LedgerEntry, product_id).with_only_columns(func.max(LedgerEntry.id))
    )
    return int(latest or 0)


def event(session: Session, product_id: str, event_id: str) -> Event | None:
    """The product's event by Plaudit's id."""
    return session.scalar(scoped(Event, product_id).where(Event.id == event_id))


def events_by_client_id(
    session: Session, product_id: str, client_event_id: str, *, user_pk: int | None = None
) -> list[Event]:
    """Up to two of the product's events the tenant gave this id (one user's, if given):
    two say the id alone is ambiguous."""
    query = scoped(Event, product_id).where(Event.client_event_id == client_event_id)
    if user_pk is not None:
        query = query.where(Event.user_pk == user_pk)
    return list(session.scalars(query.order_by(Event.created_at).limit(2)))


def earned_between(
    session: Session,
    product_id: str,
    users: list[int],
    rule_ids: set[str],
    *,
    start: dt.datetime,
    end: dt.datetime,
    ahead: dt.timedelta,
) -> list[tuple[int, str, dt.datetime]]:
    """Each earn of the users by the rules whose event happened in [start, end): (user pk,
    rule id, when the event happened). An event's ``occurred_at`` (its stored moment for older
    events) is at most ``ahead`` past its entry's, which bounds the entries read by their index."""
    if not users or not rule_ids:
        return []
    happened = func.coalesce(Event.occurred_at, LedgerEntry.created_at)
    query = (
        scoped(LedgerEntry, product_id)
        .outerjoin(Event, Event.id == LedgerEntry.event_id)
        .with_only_columns(LedgerEntry.user_pk, LedgerEntry.rule_id, happened)
        .where(
            LedgerEntry.user_pk.in_(users),
            LedgerEntry.rule_id.in_(rule_ids),
            LedgerEntry.created_at >= start - ahead,
            happened >= start,
            happened < end,
        )
    )
    return [(user_pk, str(rule_id), at) for user_pk, rule_id, at in session.execute(query)]
