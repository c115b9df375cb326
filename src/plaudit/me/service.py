"""One user's standing in every program of a product."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from plaudit.gamification import badges, streaks
from plaudit.loyalty import entries, rules, settling, tiers
from plaudit.loyalty.schemas import RuleOut, TierOut
from plaudit.products.models import Product
from plaudit.referrals import service as referrals
from plaudit.users.models import User


def summary(
    session: Session, product: Product, user: User, *, now: dt.datetime, public_url: str
) -> dict[str, Any]:
    points = settling.standing(session, user, now=now)
    product_tiers = tiers.list_tiers(session, product)
    account = entries.account(session, user)
    tier, upcoming, tier_status = tiers.standing(session, product, account, product_tiers)
    return {
        "product": {
            "id": product.id,
            "name": product.name,
            "theme": referrals.theme_of(product),
        },
        "user": {"id": user.external_id, "first_name": user.first_name, "name": user.name},
        "points": points.as_dict(),
        "tier": TierOut.model_validate(tier).model_dump() if tier is not None else None,
        "next_tier": upcoming,
        "tier_status": tier_status,
        "tiers": [TierOut.model_validate(t).model_dump() for t in product_tiers],
        "badges": badges.for_user(session, product, user),
        "streaks": streaks.for_user(session, product, user, now=now),
        "referrals": _referral_stats(session, user, public_url=public_url),
        "ways_to_earn": [
            RuleOut.model_validate(r).model_dump()
            for r in rules.list_rules(session, product, enabled_only=True)
        ],
    }


def _referral_stats(session: Session, user: User, *, public_url: str) -> dict[str, Any]:
    code = referrals.code_for(session, user).code
    return {
        "code": code,
        "link": referrals.share_link(public_url, code),
        **referrals.stats(session, user),
    }
