"""API keys: a product's server credential, stored as a hash and shown once."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.orm import Session

from plaudit.errors import NotFound
from plaudit.store.base import utcnow

from .models import (
    ApiKey,
    Product,
)
from .scope import scoped

API_KEY_PREFIX = "pk_"


def _hash_api_key(value: str) -> str:
    # API keys are 256 random bits: a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(value.encode()).hexdigest()


def create_api_key(session: Session, product: Product, *, name: str = "default") -> str:
    key_id = secrets.token_hex(8)
    value = f"{API_KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    session.add(
        ApiKey(id=key_id, product_id=product.id, secret_hash=_hash_api_key(value), name=name)
    )
    session.flush()
    return value


def authenticate_api_key(session: Session, presented: str) -> ApiKey | None:
    """The live API key ``presented`` is, or None. Compared in constant time."""
    if not presented.startswith(API_KEY_PREFIX):
        return None
    key_id = presented[len(API_KEY_PREFIX) :].split("_", 1)[0]
    # A NUL (possible in a Basic password) is no key id, and PostgreSQL refuses to compare it.
    record = None if "\x00" in key_id else session.get(ApiKey, key_id)
    if record is None or record.revoked_at is not None:
        # Hash anyway so that unknown and known ids take the same time.
        hmac.compare_digest(_hash_api_key(presented), "0" * 64)
        return None
    if not hmac.compare_digest(_hash_api_key(presented), record.secret_hash):
        return None
    return record


def list_api_keys(session: Session, product: Product) -> list[ApiKey]:
    return list(session.scalars(scoped(ApiKey, product.id).order_by(ApiKey.created_at)))


def revoke_api_key(session: Session, product: Product, key_id: str) -> ApiKey:
    record = session.scalar(scoped(ApiKey, product.id).where(ApiKey.id == key_id))
    if record is None:
        raise NotFound(f"Product {product.id!r} has no API key {key_id!r}.")
    record.revoked_at = record.revoked_at or utcnow()
    return record
