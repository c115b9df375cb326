"""A bounded cache of verified tokens, so that a widget's repeated calls skip the crypto.

Keyed on the exact token string: a token that differs in one byte is a different token. An
entry lives until the earliest of the token's own end (``exp`` or ``iat`` + max age, with
leeway), its key's end (a rotated secret's grace period) and a short TTL, so that a cached
answer is never more permissive than verifying again would be. A verifier owns its cache, and a
changed key set or policy makes a new verifier, which drops every entry at once.
"""

from __future__ import annotations

from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_TTL_SECONDS = 300.0
DEFAULT_MAX_ENTRIES = 10_000


class VerifiedTokenCache(Generic[T]):
    __slots__ = ("_entries", "max_entries", "ttl")

    def __init__(
        self, *, max_entries: int = DEFAULT_MAX_ENTRIES, ttl: float = DEFAULT_TTL_SECONDS
    ) -> None:
        self.max_entries = max_entries
        self.ttl = ttl
        #: token -> (value, stored at, valid until)
        self._entries: dict[str, tuple[T, float, float]] = {}

    def get(self, token: str, now: float) -> T | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        if entry[1] <= now < entry[2]:
            return entry[0]
        if now >= entry[2]:
            del self._entries[token]
        # A clock that stepped back is a miss: the entry only vouches for moments it has seen.
        return None

    def put(self, token: str, value: T, now: float, valid_until: float | None) -> None:
        deadline = now + self.ttl
        if valid_until is not None and valid_until < deadline:
            deadline = valid_until
        if deadline <= now or self.max_entries <= 0:
            return
        entries = self._entries
        if len(entries) >= self.max_entries and token not in entries:
            # Oldest insertion first: dicts keep order, so this is O(1) and needs no bookkeeping.
            del entries[next(iter(entries))]
        entries[token] = (value, now, deadline)

    def discard(self, token: str) -> None:
        self._entries.pop(token, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
