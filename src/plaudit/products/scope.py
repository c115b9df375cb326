"""Changes that affect verification are marked here; kids are unique per product here."""

from __future__ import annotations

from sqlalchemy.orm import Session

from plaudit.access.scope import scoped
from plaudit.errors import Conflict
from plaudit.store.base import utcnow

from .models import Product, ProductSecret, PublicKeyRecord

__all__ = ["refuse_taken_kid", "scoped", "touch"]


def touch(product: Product) -> None:
    """Mark a change that affects verification; every process reloads the product within seconds."""
    product.version = product.version + 1
    product.updated_at = utcnow()


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
