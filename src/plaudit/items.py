"""What the programs' configurable items (earning rules, rewards, badges) share: listing a
product's own and finding one of them, from ``plaudit.access.scope.scoped`` like every read of
tenant data.

Neutral: it knows no feature's models, so that loyalty and gamification both use it without
importing each other."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from plaudit.access.scope import TenantRow, scoped
from plaudit.errors import NotFound

#: A mapped class with ``id``, ``product_id``, ``enabled`` and ``created_at`` columns (typing
#: cannot say "a mapped class with these columns" without naming the classes).
Item = TypeVar("Item", bound=TenantRow)


def all_of(
    session: Session,
    model: type[Item],
    product_id: str,
    *,
    enabled_only: bool = False,
    order: tuple[Any, ...] = (),
) -> list[Item]:
    """The product's items, oldest first unless ``order`` says otherwise."""
    columns: Any = model
    query = scoped(model, product_id)
    if enabled_only:
        query = query.where(columns.enabled)
    return list(session.scalars(query.order_by(*order, columns.created_at, columns.id)))


def one_of(session: Session, model: type[Item], product_id: str, item_id: str, noun: str) -> Item:
    """The product's item with this id; another product's does not exist here."""
    columns: Any = model
    found = session.scalar(scoped(model, product_id).where(columns.id == item_id))
    if found is None:
        raise NotFound(f"Product {product_id!r} has no {noun} {item_id!r}.")
    return found
