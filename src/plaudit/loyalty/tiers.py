"""Tiers, how a product holds them, and a user's progress to the next one.

A product's tiers are held one way for the whole ladder, as Open Loyalty's tier sets and
Talon.One's loyalty programs do: by lifetime points (a tier once reached is kept), or by the
points earned in a rolling window of days, with a grace period before a downgrade. Under
lifetime, the credit path moves users as their running lifetime figure crosses a threshold;
under a rolling window, ``requalify`` (a background step) does, from the ledger.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from plaudit.access.scope import scoped, scoped_delete
from plaudit.errors import InvalidInput
from plaudit.products.models import Product
from plaudit.products.programs import programs_changed
from plaudit.store.memo import remembered

from . import repository
from .models import LoyaltyAccount, Tier, TierStanding, TierWindow
from .schemas import TierOut, TiersOut

HeldBy = Literal["lifetime", "rolling"]


@dataclass(frozen=True)
class Policy:
    """How a product's tiers are held."""

    held_by: HeldBy = "lifetime"
    window_days: int | None = None
    grace_days: int = 0


def policy_of(product: Product) -> Policy:
    held_by: HeldBy = "rolling" if product.tier_held_by == "rolling" else "lifetime"
    return Policy(
        held_by=held_by,
        window_days=product.tier_window_days,
        grace_days=product.tier_grace_days or 0,
    )


def policy_in(
    held_by: str | None, window_days: int | None, grace_days: int | None
) -> Policy | None:
    """The policy a request gives; None when it gives none (the tiers stay held as before)."""
    if held_by is None:
        if window_days is not None or grace_days is not None:
            raise InvalidInput(
                "A window or grace period needs held_by.",
                field="held_by",
                hint='Add "held_by": "rolling" to hold tiers by the points of a rolling window.',
            )
        return None
    if held_by not in ("lifetime", "rolling"):
        raise InvalidInput(
            f"Tiers are held by 'lifetime' or 'rolling', not {held_by!r}.", field="held_by"
        )
    return Policy(
        held_by="rolling" if held_by == "rolling" else "lifetime",
        window_days=window_days,
        grace_days=grace_days or 0,
    )


def held_by_window(product: Product) -> bool:
    """Whether the background step, not the credit path, moves the product's users."""
    return product.tier_held_by == "rolling"


def described(product: Product, found: Sequence[Tier]) -> TiersOut:
    """The tiers and how they are held, as the API, the CLI and the console show them."""
    policy = policy_of(product)
    return TiersOut(
        tiers=[TierOut.model_validate(t) for t in found],
        held_by=policy.held_by,
        window_days=policy.window_days,
        grace_days=policy.grace_days,
    )


def list_tiers(session: Session, product: Product) -> list[Tier]:
    return repository.tiers(session, product.id)


def replace_tiers(
    session: Session,
    product: Product,
    wanted: Sequence[tuple[str, int]],
    *,
    policy: Policy | None = None,
) -> list[Tier]:
    """Set the product's tiers to exactly ``wanted`` (name, threshold), and how they are held
    (None: as before). Under lifetime, users move to their new tier with their next earn;
    under a rolling window, the background step re-evaluates every user. Points are untouched."""
    names = [name.strip() for name, _ in wanted]
    thresholds = [threshold for _, threshold in wanted]
    if len({n.casefold() for n in names}) != len(names):
        raise InvalidInput("Two tiers have the same name.", field="tiers")
    if len(set(thresholds)) != len(thresholds):
        raise InvalidInput("Two tiers start at the same number of points.", field="tiers")
    if policy is not None:
        _check(policy)
        product.tier_held_by = policy.held_by
        product.tier_window_days = policy.window_days
        product.tier_grace_days = policy.grace_days
    repository.delete_tiers(session, product.id)
    for name, threshold in sorted(zip(names, thresholds, strict=True), key=lambda t: t[1]):
        session.add(Tier(product_id=product.id, name=name, threshold=threshold))
    # Pending downgrades were judged against the old ladder or policy: start over.
    session.execute(scoped_delete(TierStanding, product.id))
    session.execute(scoped_delete(TierWindow, product.id))
    if held_by_window(product):
        session.add(TierWindow(product_id=product.id, sweep_after=0, aged_id=0, reversed_id=0))
    session.flush()
    programs_changed(session, product.id)
    return list_tiers(session, product)


def _check(policy: Policy) -> None:
    if policy.held_by == "rolling" and policy.window_days is None:
        raise InvalidInput(
            "Tiers held by a rolling window need its length.",
            field="window_days",
            hint="Give window_days, e.g. 365 for the last twelve months.",
        )
    if policy.held_by == "lifetime" and (policy.window_days is not None or policy.grace_days):
        raise InvalidInput(
            "Tiers held by lifetime points are never lost: they take no window or grace period.",
            field="held_by",
            hint='Set held_by to "rolling" with window_days (and grace_days), or drop them.',
        )


def tier_for(tiers: Sequence[Tier], points: int) -> Tier | None:
    """The highest tier whose threshold the points reach (tiers sorted ascending)."""
    reached = None
    for tier in tiers:
        if tier.threshold <= points:
            reached = tier
    return reached


def rank(tiers: Sequence[Tier], name: str | None) -> int:
    """A tier's place on the ladder: 0 for none, 1 for the lowest; -1 for a name not on it."""
    if name is None:
        return 0
    for place, tier in enumerate(tiers, start=1):
        if tier.name == name:
            return place
    return -1


def direction(tiers: Sequence[Tier], before: str | None, after: str | None) -> str:
    """ "up" or "down": how a move between two tiers goes (a tier no longer on the ladder
    counts as above it, so that leaving it reads as a move down)."""
    was = rank(tiers, before)
    return "up" if rank(tiers, after) > (len(tiers) + 1 if was < 0 else was) else "down"


def progress(
    tiers: Sequence[Tier], points: int, current: Tier | None = None, *, held: bool = False
) -> tuple[Tier | None, dict[str, Any] | None]:
    """The current tier, and the next one with the points still needed and the fraction done.
    The current tier is the one the points reach, or ``current`` when ``held`` (a rolling
    window's tier is the one the user holds, possibly in a grace period)."""
    if not held:
        current = tier_for(tiers, points)
    start = current.threshold if current is not None else 0
    upcoming = next((t for t in tiers if t.threshold > max(points, start)), None)
    if upcoming is None:
        return current, None
    span = upcoming.threshold - start
    return current, {
        "name": upcoming.name,
        "threshold": upcoming.threshold,
        "points_needed": upcoming.threshold - points,
        "progress": round(min(max(points - start, 0) / span, 1.0), 4) if span > 0 else 0.0,
    }


def standing(
    session: Session, product: Product, account: LoyaltyAccount, tiers: Sequence[Tier]
) -> tuple[Tier | None, dict[str, Any] | None, dict[str, Any] | None]:
    """The user's tier, next tier and ``tier_status`` as /v1/me shows them: under lifetime, from
    the lifetime figure; under a rolling window, the tier the user holds and the window's
    points as of the last evaluation plus what they earned since (no SUM on the read path)."""
    if not held_by_window(product):
        tier, upcoming = progress(tiers, account.lifetime)
        status: dict[str, Any] = {
            "qualifying_points": account.lifetime,
            "window_days": None,
            "review_at": None,
            "downgrade_to": None,
        }
        return tier, upcoming, (status if tiers else None)
    found = session.scalar(
        scoped(TierStanding, product.id).where(TierStanding.user_pk == account.user_pk)
    )
    if found is None:  # not evaluated yet: everything earned is recent enough to count
        qualifying = account.lifetime
    else:
        qualifying = max(found.qualifying + account.lifetime - found.lifetime_seen, 0)
    held = next((t for t in tiers if t.name == account.tier_name), None)
    tier, upcoming = progress(tiers, qualifying, held, held=True)
    status = {
        "qualifying_points": qualifying,
        "window_days": product.tier_window_days,
        "review_at": found.review_at if found is not None else None,
        "downgrade_to": found.downgrade_to if found is not None else None,
    }
    return tier, upcoming, (status if tiers else None)


def change_data(
    tiers: Sequence[Tier], before: str | None, after: str | None, **extra: Any
) -> dict[str, Any]:
    """A ``tier.changed`` webhook's data."""
    return {"from": before, "to": after, **extra, "direction": direction(tiers, before, after)}


def notice(
    session: Session, product: Product, before: str | None, after: str | None, lifetime: int
) -> dict[str, Any]:
    """The ``tier.changed`` data of a move on the credit path (the ladder read once a session)."""
    ladder = remembered(session, ("tiers", product.id), lambda: list_tiers(session, product))
    return change_data(ladder, before, after, lifetime=lifetime)


def review_at(now: dt.datetime, grace_days: int) -> dt.datetime:
    return now + dt.timedelta(days=grace_days)
