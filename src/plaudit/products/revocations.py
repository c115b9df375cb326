"""Revocations: a token id, or a user's tokens issued before a moment."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from plaudit.errors import NotFound
from plaudit.store.base import utcnow

from .models import (
    Product,
    Revocation,
)
from .scope import scoped, touch


def add_revocation(
    session: Session,
    product: Product,
    *,
    jti: str | None = None,
    user_id: str | None = None,
    issued_before: dt.datetime | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Revocation:
    if user_id is not None and issued_before is None:
        issued_before = now or utcnow()
    record = Revocation(
        product_id=product.id, jti=jti, user_id=user_id, issued_before=issued_before, reason=reason
    )
    session.add(record)
    touch(product)
    session.flush()
    return record


def delete_revocation(session: Session, product: Product, revocation_id: int) -> None:
    """Undo a revocation: the tokens it refused verify again, in every process within seconds
    (the product's version moves, as for any change that affects verification)."""
    record = session.scalar(scoped(Revocation, product.id).where(Revocation.id == revocation_id))
    if record is None:
        raise NotFound(f"Product {product.id!r} has no revocation {revocation_id}.")
    session.delete(record)
    touch(product)
    session.flush()


def list_revocations(session: Session, product: Product) -> list[Revocation]:
    return list(session.scalars(scoped(Revocation, product.id).order_by(Revocation.id)))
