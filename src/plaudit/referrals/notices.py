"""A referral as the API, the console and the webhooks show it, and the webhooks about it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from plaudit.users.models import User
from plaudit.webhooks.service import enqueue

from .models import Referral, ReferralReward


def _when(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def reward_info(reward: ReferralReward | None) -> dict[str, Any] | None:
    if reward is None:
        return None
    return {
        "kind": reward.kind,
        "amount": reward.amount,
        "status": reward.status,
        "available_at": _when(reward.available_at),
        "order_id": reward.order_id,
    }


def review_info(referral: Referral) -> dict[str, Any] | None:
    """None when no screening rule fired; else the state, the reasons and the decision."""
    if referral.review is None:
        return None
    return {
        "status": referral.review,
        "reasons": list(referral.reasons or []),
        "note": referral.review_note,
        "reviewed_at": _when(referral.reviewed_at),
    }


def referral_info(
    referral: Referral, referrer: User | None, reward: ReferralReward | None
) -> dict[str, Any]:
    return {
        "id": referral.id,
        "referrer_user_id": referrer.external_id if referrer else None,
        "referred_user_id": referral.referred_external_id,
        "signed_up_at": referral.signed_up_at.isoformat(),
        "converted_at": _when(referral.converted_at),
        "reward": reward_info(reward),
        "review": review_info(referral),
    }


def notify(
    session: Session,
    referral: Referral,
    event_type: str,
    *,
    reward: ReferralReward | None = None,
    now: dt.datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """A webhook in this transaction, about the referrer: their conversions, rewards and reviews
    reach an endpoint in order."""
    info = referral_info(referral, session.get(User, referral.referrer_pk), reward)
    data: dict[str, Any] = {"referral": info, **(extra or {})}
    if reward is not None:
        data["reward"] = {"id": reward.id, **(reward_info(reward) or {})}
    enqueue(
        session,
        product_id=referral.product_id,
        event_type=event_type,
        data=data,
        user_id=info["referrer_user_id"],
        now=now,
    )
