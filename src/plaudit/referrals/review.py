"""The review queue: flagged referrals, and a reviewer's approval or rejection.

A decision is made once: it is a conditional UPDATE of the referral's review from "flagged",
so of two reviewers deciding at once one decides and the other is told it was decided. An
approval clears the held reward (granted now, or pending through the rest of the hold); a
rejection rejects it. Each sends ``referral.reviewed`` with the reasons that fired.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped, tenant_filter
from plaudit.errors import NotFound
from plaudit.products.models import Product
from plaudit.users import repository as users

from . import repository, rewards
from .errors import NotInReview
from .models import Referral
from .notices import notify, referral_info

STATUSES = ("flagged", "approved", "rejected")


def flag(
    session: Session,
    referral: Referral,
    reasons: list[dict[str, str]],
    *,
    now: dt.datetime,
) -> None:
    """Add what fired to the referral and put it in the queue (again, if it was approved and
    something new fired); ``referral.flagged`` says so. A rejected referral stays rejected."""
    if not reasons:
        return
    referral.reasons = [*(referral.reasons or []), *reasons]
    if referral.review == "rejected":
        return
    referral.review, referral.reviewed_at, referral.review_note = "flagged", None, None
    session.flush()
    reward = repository.reward_of(session, referral)
    if reward is not None and reward.status == rewards.PENDING:
        rewards.move(session, reward, (rewards.PENDING,), rewards.HELD, now=now)
    notify(
        session,
        referral,
        "referral.flagged",
        reward=reward,
        now=now,
        extra={"reasons": reasons},
    )


def queue(
    session: Session,
    product: Product,
    *,
    status: str | None = "flagged",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The referrals screening flagged, by review state (None: all), oldest first: the queue is
    worked from its front."""
    query = scoped(Referral, product.id).where(Referral.review.is_not(None))
    if status is not None:
        query = query.where(Referral.review == status)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(query.order_by(Referral.id).limit(limit).offset(offset)).all()
    rows = [
        referral_info(
            referral,
            users.user_by_pk(session, product.id, referral.referrer_pk),
            repository.reward_of(session, referral),
        )
        for referral in page
    ]
    return rows, total


def _flagged(session: Session, product: Product, referred_user_id: str) -> Referral:
    referral = repository.referral_of(session, product.id, referred_user_id)
    if referral is None:
        raise NotFound(
            f"User {referred_user_id!r} of product {product.id!r} was not referred.",
            field="referred_user_id",
        )
    return referral


def decide(
    session: Session,
    product: Product,
    referred_user_id: str,
    *,
    approve: bool,
    note: str | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """Approve or reject the flagged referral of ``referred_user_id``; its answer as the API
    gives it. ``referral_not_in_review`` if it is not flagged (any more)."""
    referral = _flagged(session, product, referred_user_id)
    decision = "approved" if approve else "rejected"
    decided = session.execute(
        update(Referral)
        .where(
            tenant_filter(Referral, product.id),
            Referral.id == referral.id,
            Referral.review == "flagged",
        )
        .values(review=decision, reviewed_at=now, review_note=note)
        .execution_options(synchronize_session=False)
    )
    session.refresh(referral)
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        state = referral.review or "not flagged"
        raise NotInReview(
            f"The referral of {referred_user_id!r} is not waiting for review ({state})."
        )
    reward = repository.reward_of(session, referral)
    if reward is not None:
        if approve:
            rewards.grant_or_wait(
                session, product, referral, reward, sources=(rewards.HELD,), now=now
            )
        else:
            rewards.move(
                session,
                reward,
                (rewards.HELD, rewards.PENDING),
                rewards.REJECTED,
                reason=note,
                now=now,
            )
    notify(
        session,
        referral,
        "referral.reviewed",
        reward=reward,
        now=now,
        extra={"decision": decision, "reasons": list(referral.reasons or []), "note": note},
    )
    session.flush()
    return referral_info(
        referral, users.user_by_pk(session, product.id, referral.referrer_pk), reward
    )
