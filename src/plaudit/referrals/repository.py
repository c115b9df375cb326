"""Reading a product's referrals: every statement starts from ``scoped(Model, product_id)``."""

from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped
from plaudit.users.models import User

from .models import Referral, ReferralReward


def referral_of(session: Session, product_id: str, referred_user_id: str) -> Referral | None:
    """The referral that brought ``referred_user_id`` (a user is referred once per product)."""
    return session.scalar(
        scoped(Referral, product_id).where(Referral.referred_external_id == referred_user_id)
    )


def referrals_query(product_id: str, *, user_id: str | None = None) -> Select[Referral]:
    """The product's referrals; with ``user_id``, those that user made or came by."""
    query = scoped(Referral, product_id)
    if user_id is not None:
        referrer = scoped(User, product_id).where(User.external_id == user_id)
        query = query.where(
            or_(
                Referral.referrer_pk.in_(referrer.with_only_columns(User.id)),
                Referral.referred_external_id == user_id,
            )
        )
    return query


def page_of_referrals(
    session: Session, query: Select[Referral], *, limit: int, offset: int
) -> tuple[list[Referral], int]:
    """One page, newest first, and the total that matches."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.scalars(query.order_by(Referral.id.desc()).limit(limit).offset(offset))
    return list(page), total


def reward_of(session: Session, referral: Referral) -> ReferralReward | None:
    return session.scalar(
        scoped(ReferralReward, referral.product_id).where(ReferralReward.referral_id == referral.id)
    )
