"""Everything Plaudit holds about one user, as one JSON document (the right of access)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped
from plaudit.events.models import Event
from plaudit.gamification.models import Badge, Streak, UserBadge
from plaudit.loyalty.models import (
    LedgerEntry,
    LoyaltyAccount,
    PointsTally,
    Redemption,
    TierStanding,
)
from plaudit.products.models import AuthFailure, Product
from plaudit.referrals.models import Referral, ReferralClick, ReferralCode, ReferralReward
from plaudit.users.models import User
from plaudit.webhooks.models import WebhookDelivery, WebhookMessage

from .repository import mentioning, names

FORMAT = "plaudit.user-export/1"


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_user(
    session: Session, product: Product, user: User, *, now: dt.datetime
) -> dict[str, Any]:
    """The document: profile, points and ledger, events, redemptions, badges, streaks,
    referrals both ways, the webhooks sent about the user, and the refused tokens that named
    them. Read in one transaction, so its parts agree with each other."""
    pid = product.id
    account = session.scalar(scoped(LoyaltyAccount, pid).where(LoyaltyAccount.user_pk == user.id))
    code = session.scalar(scoped(ReferralCode, pid).where(ReferralCode.user_pk == user.id))
    return {
        "format": FORMAT,
        "product_id": pid,
        "user_id": user.external_id,
        "exported_at": now.isoformat(),
        "profile": {
            **{name: getattr(user, name) for name in User.PROFILE_FIELDS},
            "extra": user.extra or {},
            "first_seen_at": _iso(user.first_seen_at),
            "last_seen_at": _iso(user.last_seen_at),
            "listed_at": _iso(user.listed_at),
        },
        "points": {
            "balance": account.balance if account else 0,
            "lifetime": account.lifetime if account else 0,
            "tier": account.tier_name if account else None,
            "last_earned_at": _iso(account.last_earned_at) if account else None,
            "tier_standing": _standing(session, pid, user),
            "tallies": [
                {"period": t.period, "points": t.points}
                for t in session.scalars(
                    scoped(PointsTally, pid)
                    .where(PointsTally.user_pk == user.id)
                    .order_by(PointsTally.period)
                )
            ],
        },
        "ledger": [
            {
                "id": e.id,
                "delta": e.delta,
                "kind": e.kind,
                "reason": e.reason,
                "balance_after": e.balance_after,
                "rule_id": e.rule_id,
                "event_id": e.event_id,
                "redemption_id": e.redemption_id,
                "created_at": _iso(e.created_at),
            }
            for e in session.scalars(
                scoped(LedgerEntry, pid)
                .where(LedgerEntry.user_pk == user.id)
                .order_by(LedgerEntry.id)
            )
        ],
        "events": [
            {
                "id": e.id,
                "type": e.type,
                "properties": e.properties,
                "client_event_id": e.client_event_id,
                "source": e.source,
                "created_at": _iso(e.created_at),
            }
            for e in session.scalars(
                scoped(Event, pid)
                .where(Event.user_pk == user.id)
                .order_by(Event.created_at, Event.id)
            )
        ],
        "redemptions": [
            {
                "id": r.id,
                "reward_id": r.reward_id,
                "reward_name": r.reward_name,
                "cost": r.cost,
                "client_id": r.client_id,
                "created_at": _iso(r.created_at),
                "status": r.status,
                "code": r.code,
            }
            for r in session.scalars(
                scoped(Redemption, pid)
                .where(Redemption.user_pk == user.id)
                .order_by(Redemption.created_at)
            )
        ],
        "badges": [
            {"badge_id": held.badge_id, "name": name, "awarded_at": _iso(held.awarded_at)}
            for held, name in session.execute(
                select(UserBadge, Badge.name)
                .join(Badge, Badge.id == UserBadge.badge_id)
                .where(UserBadge.product_id == pid, UserBadge.user_pk == user.id)
                .order_by(UserBadge.awarded_at)
            ).all()
        ],
        "streaks": [
            {
                "event_type": s.event_type,
                "current": s.current,
                "best": s.best,
                "last_day": _iso(s.last_day),
            }
            for s in session.scalars(scoped(Streak, pid).where(Streak.user_pk == user.id))
        ],
        "referrals": _referrals(session, pid, user, code),
        "webhooks": _webhooks(session, pid, user.external_id),
        "refused_tokens": [
            {"occurred_at": _iso(f.occurred_at), "code": f.code, "claims": f.claims}
            for f in session.scalars(
                mentioning(AuthFailure, AuthFailure.claims, pid, user.external_id).order_by(
                    AuthFailure.id
                )
            )
            if names(f.claims, user.external_id)
        ],
    }


def _referrals(session: Session, pid: str, user: User, code: ReferralCode | None) -> dict[str, Any]:
    rewards = {
        r.referral_id: {"kind": r.kind, "amount": r.amount, "granted_at": _iso(r.created_at)}
        for r in session.scalars(
            scoped(ReferralReward, pid).where(ReferralReward.user_pk == user.id)
        )
    }
    made = [
        {
            "referred_user_id": r.referred_external_id,
            "signed_up_at": _iso(r.signed_up_at),
            "converted_at": _iso(r.converted_at),
            "reward": rewards.get(r.id),
        }
        for r in session.scalars(
            scoped(Referral, pid).where(Referral.referrer_pk == user.id).order_by(Referral.id)
        )
    ]
    received = session.scalar(
        scoped(Referral, pid).where(Referral.referred_external_id == user.external_id)
    )
    referrer = (
        session.scalar(scoped(User, pid).where(User.id == received.referrer_pk))
        if received
        else None
    )
    clicks = session.scalars(
        scoped(ReferralClick, pid).where(ReferralClick.referrer_pk == user.id)
    ).all()
    return {
        "code": code.code if code else None,
        "link_clicks": len(clicks),
        "made": made,
        "referred_by": (
            {
                "referrer_user_id": referrer.external_id if referrer else None,
                "signed_up_at": _iso(received.signed_up_at),
                "converted_at": _iso(received.converted_at),
            }
            if received
            else None
        ),
    }


def _webhooks(session: Session, pid: str, user_id: str) -> list[dict[str, Any]]:
    """Messages about the user (ordered by them) or naming them (a referral they came by)."""
    messages = [
        m
        for m in session.scalars(
            scoped(WebhookMessage, pid)
            .where(
                or_(
                    WebhookMessage.ordering_key == user_id,
                    mentioning(WebhookMessage, WebhookMessage.payload, pid, user_id).whereclause,
                )
            )
            .order_by(WebhookMessage.created_at, WebhookMessage.id)
        )
        if m.ordering_key == user_id or names(m.payload, user_id)
    ]
    deliveries: dict[str, list[dict[str, Any]]] = {}
    if messages:
        for d in session.scalars(
            scoped(WebhookDelivery, pid)
            .where(WebhookDelivery.message_id.in_([m.id for m in messages]))
            .order_by(WebhookDelivery.id)
        ):
            deliveries.setdefault(d.message_id, []).append(
                {
                    "endpoint_id": d.endpoint_id,
                    "status": d.status,
                    "attempts": d.attempts,
                    "delivered_at": _iso(d.delivered_at),
                }
            )
    return [
        {
            "id": m.id,
            "event_type": m.event_type,
            "created_at": _iso(m.created_at),
            "payload": m.payload,
            "deliveries": deliveries.get(m.id, []),
        }
        for m in messages
    ]


def _standing(session: Session, pid: str, user: User) -> dict[str, Any] | None:
    """Where the user stood with tiers held by a rolling window, if they ever were."""
    found = session.scalar(scoped(TierStanding, pid).where(TierStanding.user_pk == user.id))
    if found is None:
        return None
    return {
        "qualifying": found.qualifying,
        "review_at": _iso(found.review_at),
        "downgrade_to": found.downgrade_to,
    }
