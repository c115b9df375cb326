"""What the programs' configurable items (earning rules, rewards, badges) share: listing a
product's own and finding one of them, always through the product they belong to."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from plaudit.errors import NotFound
from plaudit.gamification.models import Badge
from plaudit.products.models import Product

from .models import EarningRule, Reward

Item = TypeVar("Item", EarningRule, Reward, Badge)


def all_of(
    session: Session,
    model: type[Item],
    product: Product,
    *,
    enabled_only: bool = False,
    order: tuple[Any, ...] = (),
) -> list[Item]:
    """The product's items, oldest first unless ``order`` says otherwise."""
    query = select(model).where(model.product_id == product.id)
    if enabled_only:
        query = query.where(model.enabled)
    return list(session.scalars(query.order_by(*order, model.created_at, model.id)))


def one_of(session: Session, model: type[Item], product: Product, item_id: str, noun: str) -> Item:
    """The product's item with this id; another product's does not exist here."""
    found = session.scalar(select(model).where(model.product_id == product.id, model.id == item_id))
    if found is None:
        raise NotFound(f"Product {product.id!r} has no {noun} {item_id!r}.")
    return found
