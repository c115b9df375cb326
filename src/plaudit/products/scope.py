"""Changes that affect verification are marked here; kids are unique per product here."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plaudit.access.scope import scoped
from plaudit.errors import Conflict, TooManyKeys
from plaudit.store.base import utcnow

from .models import Product, ProductSecret, PublicKeyRecord

__all__ = ["refuse_taken_kid", "refuse_too_many_keys", "scoped", "touch"]


def touch(product: Product) -> None:
    """Mark a change that affects verification; every process reloads the product within seconds."""
    product.version = product.version + 1
    product.updated_at = utcnow()


def refuse_too_many_keys(session: Session, product: Product, limit: int | None) -> None:
    """A product holds at most ``limit`` secrets and public keys, disabled ones included:
    each is loaded by every process and may be tried by a token without a kid."""
    if limit is None:
        return
    held = sum(
        session.scalar(select(func.count()).select_from(scoped(model, product.id).subquery())) or 0
        for model in (ProductSecret, PublicKeyRecord)
    )
    if held >= limit:
        raise TooManyKeys(
            f"Product {product.id!r} has {held} secrets and public keys; the server allows {limit}."
        )


def refuse_taken_kid(session: Session, product: Product, kid: str) -> None:
    taken = session.scalar(
        scoped(ProductSecret, product.id).where(ProductSecret.kid == kid).limit(1)
    ) or session.scalar(
        scoped(PublicKeyRecord, product.id).where(PublicKeyRecord.kid == kid).limit(1)
    )
    if taken:
        raise Conflict(
            f"Product {product.id!r} already has a key or secret with kid {kid!r}.",
            hint="Give each key its own kid, or delete the old one first.",
            field="kid",
        )
