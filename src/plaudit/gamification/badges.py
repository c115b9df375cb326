"""Badges: the rules that award them, and awarding each at most once."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from plaudit.errors import InvalidInput
from plaudit.products.models import Product
from plaudit.store.memo import forget
from plaudit.store.upsert import insert_ignore
from plaudit.users.models import User
from plaudit.webhooks.service import enqueue

from . import repository
from .models import Badge, UserBadge
from .schemas import BadgeCreate, BadgeOut, BadgeUpdate, EventCount, PointsTotal
from .streaks import StreakState


def list_badges(session: Session, product: Product, *, enabled_only: bool = False) -> list[Badge]:
    return repository.badges(session, product.id, enabled_only=enabled_only)


def get_badge(session: Session, product: Product, badge_id: str) -> Badge:
    return repository.badge(session, product.id, badge_id)


def create_badge(session: Session, product: Product, body: BadgeCreate) -> Badge:
    criteria = body.criteria
    if isinstance(criteria, EventCount):
        event_type, threshold = criteria.event_type, criteria.count
    elif isinstance(criteria, PointsTotal):
        event_type, threshold = None, criteria.points
    else:
        event_type, threshold = criteria.event_type, criteria.days
    badge = Badge(
        id="bdg_" + secrets.token_hex(8),
        product_id=product.id,
        name=body.name,
        description=body.description,
        icon=body.icon,
        kind=criteria.kind,
        event_type=event_type,
        threshold=threshold,
        enabled=body.enabled,
    )
    session.add(badge)
    session.flush()
    forget(session)
    return badge


def update_badge(session: Session, product: Product, badge_id: str, body: BadgeUpdate) -> Badge:
    """Name, description, icon and the switch change; the rule does not (holders keep it)."""
    badge = get_badge(session, product, badge_id)
    for name, value in body.model_dump(exclude_unset=True).items():
        if value is None:
            raise InvalidInput(f"'{name}' cannot be null.", field=name)
        setattr(badge, name, value)
    session.flush()
    forget(session)
    return badge


def delete_badge(session: Session, product: Product, badge_id: str) -> None:
    session.delete(get_badge(session, product, badge_id))
    forget(session)


def evaluate(
    session: Session,
    product: Product,
    user: User,
    *,
    now: dt.datetime,
    lifetime: int | None = None,
    event_type: str | None = None,
    streak: StreakState | None = None,
    events_of_type: Callable[[], int] | None = None,
    enabled: Sequence[Badge] | None = None,
) -> list[Badge]:
    """Award every badge whose rule the user now meets and does not hold yet.

    ``enabled`` is the product's enabled badges when the caller read them already (once for a
    batch of events); ``events_of_type`` counts the user's events of ``event_type``, asked only
    when an "N times" badge needs it."""
    if enabled is None:
        enabled = list_badges(session, product, enabled_only=True)
    # What the event itself tells first; the store is asked only about badges still possible.
    possible = [b for b in enabled if _may_be_met(b, lifetime, event_type, streak)]
    if not possible:
        return []
    held = repository.held(session, user)
    awarded = []
    count: int | None = None
    for badge in possible:
        if badge.id in held:
            continue
        if badge.kind == "event_count":
            if count is None:
                count = events_of_type() if events_of_type is not None else 0
            if count < badge.threshold:
                continue
        if _award(session, product, user, badge, now):
            awarded.append(badge)
    return awarded


def _may_be_met(
    badge: Badge, lifetime: int | None, event_type: str | None, streak: StreakState | None
) -> bool:
    """Whether the badge's rule may be met, judged without the store (an "N times" badge
    still needs the count)."""
    if badge.kind == "points_total":
        return lifetime is not None and lifetime >= badge.threshold
    if badge.event_type != event_type:
        return False
    if badge.kind == "streak":
        return streak is not None and streak.current >= badge.threshold
    return True


def _award(session: Session, product: Product, user: User, badge: Badge, now: dt.datetime) -> bool:
    if not insert_ignore(
        session,
        UserBadge.__table__,  # type: ignore[arg-type]
        {"user_pk": user.id, "badge_id": badge.id, "product_id": product.id, "awarded_at": now},
    ):
        return False  # a racing request awarded it first
    enqueue(
        session,
        product_id=product.id,
        event_type="badge.awarded",
        data={"badge": BadgeOut.model_validate(badge).model_dump(exclude={"enabled"})},
        user_id=user.external_id,
        now=now,
    )
    return True


def for_user(session: Session, product: Product, user: User) -> list[dict[str, Any]]:
    """Every enabled badge, with when the user earned it (None: not yet); earned ones too
    when switched off since."""
    held = repository.held(session, user)
    return [
        {
            "id": b.id,
            "name": b.name,
            "description": b.description,
            "icon": b.icon,
            "awarded_at": held[b.id].isoformat() if b.id in held else None,
        }
        for b in list_badges(session, product)
        if b.enabled or b.id in held
    ]
