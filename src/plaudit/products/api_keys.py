"""API keys: a product's server credential, stored as a hash and shown once."""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from plaudit.access.api_keys import API_KEY_PREFIX, hash_api_key
from plaudit.access.models import ApiKey
from plaudit.access.scope import scoped
from plaudit.errors import NotFound
from plaudit.store.base import utcnow

from .models import Product


def create_api_key(session: Session, product: Product, *, name: str = "default") -> str:
    key_id = secrets.token_hex(8)
    value = f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    session.add(
        ApiKey(id=key_id, product_id=product.id, secret_hash=hash_api_key(value), name=name)
    )
    session.flush()
    return value


def list_api_keys(session: Session, product: Product) -> list[ApiKey]:
    return list(session.scalars(scoped(ApiKey, product.id).order_by(ApiKey.created_at)))


def revoke_api_key(session: Session, product: Product, key_id: str) -> ApiKey:
    record = session.scalar(scoped(ApiKey, product.id).where(ApiKey.id == key_id))
    if record is None:
        raise NotFound(f"Product {product.id!r} has no API key {key_id!r}.")
    record.revoked_at = record.revoked_at or utcnow()
    return record
