"""A referral reward's life: held for review, pending through the hold days, then granted once;
or rejected by a reviewer, or cancelled by the tenant (a refunded order).

Every change of state is one conditional UPDATE (``WHERE status IN (...)``): of two racing
callers (two reviewers, an approval and a cancellation, two servers' release steps) exactly one
moves the row, and only that one grants; the other sees the state the winner left.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped, tenant_filter
from plaudit.gamification import badges
from plaudit.loyalty import entries, ledger
from plaudit.products.models import Product
from plaudit.store.db import Database, each_product
from plaudit.users.models import User

from . import repository
from .models import Referral, ReferralReward
from .notices import notify

HELD, PENDING, GRANTED, REJECTED, CANCELLED = "held", "pending", "granted", "rejected", "cancelled"
#: How many due rewards one batch of the release step grants.
RELEASE_BATCH = 500
#: Batches one run may take: a backlog beyond them waits for the next run (seconds away).
RELEASE_ROUNDS = 10


def reward_for(
    session: Session,
    product: Product,
    referral: Referral,
    *,
    now: dt.datetime,
    order_id: str | None = None,
) -> ReferralReward | None:
    """The referrer's reward for this referral, made once however often this is called: held
    while the referral is flagged, pending through the product's hold days, else granted."""
    existing = repository.reward_of(session, referral)
    if existing is not None or product.referral_reward_amount <= 0:
        return existing
    hold = dt.timedelta(days=product.referral_reward_hold_days or 0)
    if referral.review == "flagged":
        status = HELD
    elif referral.review == "rejected":
        status = REJECTED
    else:
        status = PENDING if hold else GRANTED
    reward = ReferralReward(
        product_id=product.id,
        user_pk=referral.referrer_pk,
        referral_id=referral.id,
        kind=product.referral_reward_kind,
        amount=product.referral_reward_amount,
        status=status,
        order_id=order_id,
        available_at=now + hold if hold else None,
        created_at=now,
        status_reason=referral.review_note if status == REJECTED else None,
    )
    try:
        with session.begin_nested():
            session.add(reward)
    except IntegrityError:  # a racing call made it first
        return repository.reward_of(session, referral)
    if status == GRANTED:
        _pay(session, product, referral, reward, now=now)
    return reward


def move(
    session: Session,
    reward: ReferralReward,
    sources: Iterable[str],
    target: str,
    *,
    reason: str | None = None,
    now: dt.datetime,
) -> bool:
    """Move ``reward`` from one of ``sources`` to ``target``; False if another caller moved it
    first (then ``reward`` shows where it is now)."""
    values: dict[str, object] = {"status": target}
    if target == GRANTED:
        values["granted_at"] = now
    if reason is not None:
        values["status_reason"] = reason[:500]
    moved = session.execute(
        update(ReferralReward)
        .where(
            tenant_filter(ReferralReward, reward.product_id),
            ReferralReward.id == reward.id,
            ReferralReward.status.in_(list(sources)),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(reward)
    return bool(moved.rowcount == 1)  # type: ignore[attr-defined]


def grant_or_wait(
    session: Session,
    product: Product,
    referral: Referral,
    reward: ReferralReward,
    *,
    sources: Iterable[str],
    now: dt.datetime,
) -> bool:
    """A reward cleared for payment: granted now if its hold is over, else pending until then.
    False if it was no longer in ``sources`` (cancelled, or moved by a racing caller)."""
    due = reward.available_at is None or reward.available_at <= now
    if not move(session, reward, sources, GRANTED if due else PENDING, now=now):
        return False
    if due:
        _pay(session, product, referral, reward, now=now)
    return True


def _pay(
    session: Session,
    product: Product,
    referral: Referral,
    reward: ReferralReward,
    *,
    now: dt.datetime,
) -> None:
    """What granting means: the ``reward.granted`` webhook and, for points, the ledger."""
    reward.status, reward.granted_at = GRANTED, now
    notify(session, referral, "reward.granted", reward=reward, now=now)
    if reward.kind.strip().lower() != "points":
        return
    # A reward in points lands in the loyalty ledger, where it can be spent.
    referrer = session.get(User, referral.referrer_pk)
    if referrer is None:
        return
    ledger.credit(
        session,
        product,
        referrer,
        points=reward.amount,
        kind="referral",
        reason=f"Referred {referral.referred_external_id}",
        now=now,
    )
    badges.evaluate(
        session, product, referrer, now=now, lifetime=entries.account(session, referrer).lifetime
    )


def cancel(
    session: Session,
    product: Product,
    referral: Referral,
    *,
    reason: str,
    now: dt.datetime,
) -> ReferralReward | None:
    """Cancel the referral's reward if it is not granted yet; the reward as it stands."""
    reward = repository.reward_of(session, referral)
    if reward is not None:
        move(session, reward, (HELD, PENDING), CANCELLED, reason=reason, now=now)
    return reward


def cancel_for_order(
    session: Session,
    product: Product,
    order_id: str,
    *,
    reason: str,
    now: dt.datetime,
    referred_user_id: str | None = None,
) -> list[ReferralReward]:
    """Cancel the held and pending rewards the order ``order_id`` triggered (a refund or a
    chargeback); granted ones stay (adjust the referrer's points to take them back). With
    ``referred_user_id``, only that referred user's: an order id the tenant gave is unique
    per user, not per product. Returns those it cancelled."""
    query = scoped(ReferralReward, product.id).where(
        ReferralReward.order_id == order_id, ReferralReward.status.in_((HELD, PENDING))
    )
    if referred_user_id is not None:
        query = query.join(Referral, Referral.id == ReferralReward.referral_id).where(
            Referral.referred_external_id == referred_user_id
        )
    found = session.scalars(query).all()
    return [
        reward
        for reward in found
        if move(session, reward, (HELD, PENDING), CANCELLED, reason=reason, now=now)
    ]


def release_due(db: Database, *, now: dt.datetime) -> int:
    """Grant the pending rewards whose hold is over, in every product: the background step.
    Returns how many it granted.

    Oldest due first, RELEASE_BATCH at a time; each product's rewards are granted in a
    transaction of their own, and a product whose grant fails is logged and left out for the
    rest of the run: one tenant's failure never holds another's rewards back."""
    granted = 0
    failed: set[str] = set()
    for _ in range(RELEASE_ROUNDS):
        with db.session() as session:
            due = session.execute(
                select(ReferralReward.product_id, ReferralReward.id)
                .where(
                    ReferralReward.status == PENDING,
                    ReferralReward.available_at <= now,
                    ReferralReward.product_id.not_in(sorted(failed)),
                )
                .order_by(ReferralReward.available_at, ReferralReward.id)
                .limit(RELEASE_BATCH)
            ).all()
        granted += each_product(
            db,
            due,
            lambda session, product_id, ids: _release(session, product_id, ids, now=now),
            failed=failed,
            failure="referral_release_failed",
        )
        if len(due) < RELEASE_BATCH:
            break
    return granted


def _release(session: Session, product_id: str, reward_ids: list[int], *, now: dt.datetime) -> int:
    product = session.get(Product, product_id)
    if product is None:  # deleted since: its rewards went with it
        return 0
    granted = 0
    for reward in session.scalars(
        scoped(ReferralReward, product_id)
        .where(ReferralReward.id.in_(reward_ids))
        .order_by(ReferralReward.available_at, ReferralReward.id)
    ):
        referral = session.get(Referral, reward.referral_id)
        if referral is not None and grant_or_wait(
            session, product, referral, reward, sources=(PENDING,), now=now
        ):
            granted += 1
    return granted
