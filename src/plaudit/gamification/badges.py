"""Badges: the rules that award them, and awarding each at most once."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Table
from sqlalchemy.orm import Session

from plaudit.errors import InvalidInput
from plaudit.events.repository import Member
from plaudit.products.models import Product
from plaudit.products.programs import programs_changed
from plaudit.store.upsert import dialect_insert, dialect_of, insert_ignore
from plaudit.users.models import User
from plaudit.webhooks.service import Notice, enqueue

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
    programs_changed(session, product.id)
    return badge


def update_badge(session: Session, product: Product, badge_id: str, body: BadgeUpdate) -> Badge:
    """Name, description, icon and the switch change; the rule does not (holders keep it)."""
    badge = get_badge(session, product, badge_id)
    for name, value in body.model_dump(exclude_unset=True).items():
        if value is None:
            raise InvalidInput(f"'{name}' cannot be null.", field=name)
        setattr(badge, name, value)
    session.flush()
    programs_changed(session, product.id)
    return badge


def delete_badge(session: Session, product: Product, badge_id: str) -> None:
    session.delete(get_badge(session, product, badge_id))
    programs_changed(session, product.id)


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
    possible = [
        b
        for b in enabled
        if _may_be_met(b.kind, b.threshold, b.event_type, lifetime, event_type, streak)
    ]
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


class Step(NamedTuple):
    """What one new event of a batch tells the badges: its user and type, the user's lifetime
    points after it (None: it earned nothing), and the streak of its type after it."""

    user: Member
    event_type: str
    lifetime: int | None
    streak: StreakState | None


def evaluate_many(
    session: Session,
    product: Product,
    steps: Sequence[Step],
    *,
    enabled: Sequence[Badge],
    events_of_types: Callable[[set[tuple[int, str]]], dict[tuple[int, str], int]],
    now: dt.datetime,
) -> list[tuple[list[Badge], list[Notice]]]:
    """The badges each step awards, in order, and their notifications: what ``evaluate`` does
    per event, with the held badges and the event counts read once for the batch (after the
    batch's events are stored) and the awards written in one statement. A badge is awarded at
    most once: to the first step that meets it, and not when another request did first."""
    out: list[tuple[list[Badge], list[Notice]]] = [([], []) for _ in steps]
    # Each badge's terms read off its row once for the batch, not once an event.
    terms = [(b, b.kind, b.threshold, b.event_type) for b in enabled]
    possible = [
        [
            b
            for b, kind, threshold, event_type in terms
            if _may_be_met(kind, threshold, event_type, s.lifetime, s.event_type, s.streak)
        ]
        for s in steps
    ]
    if not any(possible):
        return out
    users = {s.user.id for s, found in zip(steps, possible, strict=True) if found}
    held = repository.held_by(session, product.id, users)
    # Events are counted only for an "N times" badge the user does not hold yet.
    counted = {
        (s.user.id, s.event_type)
        for s, found in zip(steps, possible, strict=True)
        if any(b.kind == "event_count" and b.id not in held.get(s.user.id, ()) for b in found)
    }
    totals = events_of_types(counted) if counted else {}
    # The count as of each step: the stored total less the batch's later events of the pair.
    count_at: list[int] = [0] * len(steps)
    later: dict[tuple[int, str], int] = {}
    for i in range(len(steps) - 1, -1, -1):
        key = (steps[i].user.id, steps[i].event_type)
        if key in counted:
            count_at[i] = totals.get(key, 0) - later.get(key, 0)
            later[key] = later.get(key, 0) + 1
    wanted: list[tuple[int, Badge]] = []
    for i, (step, found) in enumerate(zip(steps, possible, strict=True)):
        mine = held.setdefault(step.user.id, set())
        for badge in found:
            if badge.id in mine:
                continue
            if badge.kind == "event_count" and count_at[i] < badge.threshold:
                continue
            mine.add(badge.id)
            wanted.append((i, badge))
    if not wanted:
        return out
    rows = [
        {"user_pk": steps[i].user.id, "badge_id": b.id, "product_id": product.id, "awarded_at": now}
        for i, b in wanted
    ]
    statement = _award_many(dialect_of(session))
    awarded = {
        (user_pk, badge_id)
        for user_pk, badge_id in session.connection().execute(
            statement, rows if len(rows) > 1 else rows[0]
        )
    }
    shown: dict[str, dict[str, Any]] = {}
    for i, badge in wanted:
        step = steps[i]
        if (step.user.id, badge.id) not in awarded:
            continue  # a racing request awarded it first
        if badge.id not in shown:
            shown[badge.id] = {
                "badge": BadgeOut.model_validate(badge).model_dump(exclude={"enabled"})
            }
        out[i][0].append(badge)
        out[i][1].append(("badge.awarded", step.user.external_id, shown[badge.id]))
    return out


@lru_cache(maxsize=2)
def _award_many(dialect: str) -> Any:
    table: Table = UserBadge.__table__  # type: ignore[assignment]
    return (
        dialect_insert(dialect, table)
        .on_conflict_do_nothing()
        .returning(table.c.user_pk, table.c.badge_id)
    )


def _may_be_met(
    kind: str,
    threshold: int,
    badge_event_type: str | None,
    lifetime: int | None,
    event_type: str | None,
    streak: StreakState | None,
) -> bool:
    """Whether a badge's rule (its kind, threshold, event type) may be met, judged without
    the store (an "N times" badge still needs the count)."""
    if kind == "points_total":
        return lifetime is not None and lifetime >= threshold
    if badge_event_type != event_type:
        return False
    if kind == "streak":
        return streak is not None and streak.current >= threshold
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
