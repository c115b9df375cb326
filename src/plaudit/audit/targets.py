"""The management tables the audit log watches, and how each one's fields are recorded.

Keyed by table name, so that the audit log imports no feature package: every feature may
record through it. A field is either recorded as it is, redacted (secrets, API key hashes),
reduced to a fingerprint (public key material), or ignored (bookkeeping the service keeps,
not a change anyone made).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

REDACTED = "[redacted]"


@dataclass(frozen=True)
class Target:
    #: What entries call it: ``secret`` in ``secret.create``.
    type: str
    #: The attribute that names it to the tenant (a kid, an id, a name).
    key: str
    redacted: frozenset[str] = frozenset()
    fingerprinted: frozenset[str] = frozenset()
    ignored: frozenset[str] = field(default_factory=frozenset)

    def shown(self, name: str, value: Any) -> Any:
        """A field's value as an entry may hold it."""
        if value is None:
            return None
        if name in self.redacted:
            return REDACTED
        if name in self.fingerprinted:
            text = value if isinstance(value, str) else repr(value)
            return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
        return plain(value)


def plain(value: Any) -> Any:
    """A value as JSON holds it."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return str(value)


_BOOKKEEPING = frozenset({"created_at", "product_id"})

TARGETS: dict[str, Target] = {
    "products": Target(
        "product", "id", ignored=_BOOKKEEPING | {"version", "programs_version", "updated_at", "id"}
    ),
    "product_secrets": Target(
        "secret", "kid", redacted=frozenset({"ciphertext"}), ignored=_BOOKKEEPING | {"id"}
    ),
    "public_keys": Target(
        "key", "kid", fingerprinted=frozenset({"public_pem"}), ignored=_BOOKKEEPING | {"id"}
    ),
    # What a fetch stores is the refresh loop's, not a change made by someone.
    "jwks_sources": Target(
        "jwks_source",
        "id",
        ignored=_BOOKKEEPING | {"id", "jwks", "fetched_at", "last_attempt_at", "last_error"},
    ),
    "api_keys": Target(
        "api_key",
        "id",
        redacted=frozenset({"secret_hash"}),
        ignored=_BOOKKEEPING | {"id", "last_used_at"},
    ),
    "revocations": Target("revocation", "id", ignored=_BOOKKEEPING | {"id"}),
    "earning_rules": Target("rule", "id", ignored=_BOOKKEEPING | {"id"}),
    "rewards": Target("reward", "id", ignored=_BOOKKEEPING | {"id"}),
    "tiers": Target("tier", "name", ignored=_BOOKKEEPING | {"id"}),
    "badges": Target("badge", "id", ignored=_BOOKKEEPING | {"id"}),
    "webhook_endpoints": Target(
        "webhook_endpoint",
        "id",
        redacted=frozenset({"secret_ciphertext"}),
        ignored=_BOOKKEEPING | {"id"},
    ),
}


def verb(target: Target, changes: dict[str, dict[str, Any]]) -> str:
    """An update's verb: what it did, where one field says so (a revoked key), else update."""
    if target.type == "api_key" and changes.get("revoked_at", {}).get("after") is not None:
        return "revoke"
    if set(changes) == {"enabled"}:
        return "enable" if changes["enabled"].get("after") else "disable"
    return "update"
