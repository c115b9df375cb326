"""Tiers by lifetime points, and a user's progress to the next one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from plaudit.errors import InvalidInput
from plaudit.products.models import Product
from plaudit.products.programs import programs_changed

from . import repository
from .models import Tier


def list_tiers(session: Session, product: Product) -> list[Tier]:
    return repository.tiers(session, product.id)


def replace_tiers(
    session: Session, product: Product, wanted: Sequence[tuple[str, int]]
) -> list[Tier]:
    """Set the product's tiers to exactly ``wanted`` (name, threshold). Users move to their new
    tier with their next earn; their points are untouched."""
    names = [name.strip() for name, _ in wanted]
    thresholds = [threshold for _, threshold in wanted]
    if len({n.casefold() for n in names}) != len(names):
        raise InvalidInput("Two tiers have the same name.", field="tiers")
    if len(set(thresholds)) != len(thresholds):
        raise InvalidInput("Two tiers start at the same number of points.", field="tiers")
    repository.delete_tiers(session, product.id)
    for name, threshold in sorted(zip(names, thresholds, strict=True), key=lambda t: t[1]):
        session.add(Tier(product_id=product.id, name=name, threshold=threshold))
    session.flush()
    programs_changed(session, product.id)
    return list_tiers(session, product)


def tier_for(tiers: Sequence[Tier], lifetime: int) -> Tier | None:
    """The highest tier whose threshold the lifetime points reach (tiers sorted ascending)."""
    reached = None
    for tier in tiers:
        if tier.threshold <= lifetime:
            reached = tier
    return reached


def progress(tiers: Sequence[Tier], lifetime: int) -> tuple[Tier | None, dict[str, Any] | None]:
    """The current tier, and the next one with the points still needed and the fraction done."""
    current = tier_for(tiers, lifetime)
    upcoming = next((t for t in tiers if t.threshold > lifetime), None)
    if upcoming is None:
        return current, None
    start = current.threshold if current is not None else 0
    span = upcoming.threshold - start
    return current, {
        "name": upcoming.name,
        "threshold": upcoming.threshold,
        "points_needed": upcoming.threshold - lifetime,
        "progress": round((lifetime - start) / span, 4) if span > 0 else 0.0,
    }
