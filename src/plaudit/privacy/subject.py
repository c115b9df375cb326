"""Naming a user without keeping their id: the pseudonym an erased user gets, and the keyed
digest that recognises an erasure asked again."""

from __future__ import annotations

import hashlib
import hmac
import secrets

#: What an erased user's id becomes: random, so nothing derives it back to the original.
PSEUDONYM_PREFIX = "erased_"


def pseudonym() -> str:
    return PSEUDONYM_PREFIX + secrets.token_hex(12)


def digest_key(master_keys: str) -> bytes:
    """The digest's key, derived from the newest master key: without it a digest of a
    guessable user id cannot be matched against a list of guesses."""
    newest = next((k.strip() for k in master_keys.split(",") if k.strip()), "")
    return hmac.new(newest.encode(), b"plaudit privacy subject", hashlib.sha256).digest()


def subject_digest(key: bytes, product_id: str, user_id: str) -> str:
    message = product_id.encode() + b"\x00" + user_id.encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()
