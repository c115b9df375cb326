"""Recognising a product's API key: by its id, then its hash compared in constant time."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy.orm import Session

from .models import ApiKey

API_KEY_PREFIX = "pk_"


def hash_api_key(value: str) -> str:
    # API keys are 256 random bits: a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(value.encode()).hexdigest()


def authenticate_api_key(session: Session, presented: str) -> ApiKey | None:
    """The live API key ``presented`` is, or None. Compared in constant time."""
    if not presented.startswith(API_KEY_PREFIX):
        return None
    key_id = presented[len(API_KEY_PREFIX) :].split("_", 1)[0]
    # A NUL (possible in a Basic password) is no key id, and PostgreSQL refuses to compare it.
    record = None if "\x00" in key_id else session.get(ApiKey, key_id)
    if record is None or record.revoked_at is not None:
        # Hash anyway so that unknown and known ids take the same time.
        hmac.compare_digest(hash_api_key(presented), "0" * 64)
        return None
    if not hmac.compare_digest(hash_api_key(presented), record.secret_hash):
        return None
    return record
