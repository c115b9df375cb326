"""Tenant scoping: every query of a product's rows starts here, and every change that
affects verification is marked here."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from plaudit.errors import Conflict, TooManyKeys
from plaudit.store.base import utcnow

from .models import (
    ApiKey,
    AuthFailure,
    JwksSource,
    Product,
    ProductSecret,
    PublicKeyRecord,
    Revocation,
)

M = TypeVar("M", ProductSecret, PublicKeyRecord, JwksSource, ApiKey, Revocation, AuthFailure)


def scoped(model: type[M], product_id: str) -> Select[M]:
    """A query of one product's rows: tenant data is only ever read through this."""
    return select(model).where(model.product_id == product_id)


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
        session.scalar(
            select(func.count()).select_from(model).where(model.product_id == product.id)
        )
        or 0
        for model in (ProductSecret, PublicKeyRecord)
    )
    if held >= limit:
        raise TooManyKeys(
            f"Product {product.id!r} has {held} secrets and public keys; the server allows {limit}."
        )


def refuse_taken_kid(session: Session, product: Product, kid: str) -> None:
    taken = session.scalar(
        select(func.count())
        .select_from(ProductSecret)
        .where(ProductSecret.product_id == product.id, ProductSecret.kid == kid)
    ) or session.scalar(
        select(func.count())
        .select_from(PublicKeyRecord)
        .where(PublicKeyRecord.product_id == product.id, PublicKeyRecord.kid == kid)
    )
    if taken:
        raise Conflict(
            f"Product {product.id!r} already has a key or secret with kid {kid!r}.",
            hint="Give each key its own kid, or delete the old one first.",
            field="kid",
        )
