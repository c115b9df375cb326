"""What this process remembers of the users it has mapped, so that a known user's new token
writes nothing.

A widget sends a new token on every page load. Its user was created on the first one; a later
token changes the row only if it carries a profile value the row does not hold yet, or lists
the user once the product is published. So each mapped user is remembered (``KnownUser``:
its primary key and what the token mapping wrote), stamped with the product runtime's build
(any change to the product, here or in another process, builds a new one and so forgets them
all), and for ``KNOWN_TTL_SECONDS`` at most, which bounds how long another process's write to
the same row can go unnoticed. A token that would change nothing is answered without the
database; its ``last_seen_at`` is noted here and written by the background loop in one
statement for every user seen since the last flush (``flush``), and on shutdown.

What a crash loses is bounded: the ``last_seen_at`` moves noted since the last flush (one
``keystore_refresh_seconds``, 2 s by default), never a user, a profile value or a listing,
which are written before the token is answered. docs/operations.md says so too.

Eviction: ``forget_user`` (a user erased or deleted in this process; ``UserMemory.forget_user``
where no request is at hand). Another process notices a deleted row at its next flush (the row is gone, so it forgets the
user) and maps it again on its next token.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from plaudit.access.cache import BoundedCache
from plaudit.auth import VerifiedToken
from plaudit.store.db import Database

from . import repository
from .models import User

KNOWN_SIZE = 100_000
KNOWN_TTL_SECONDS = 300.0
#: Users whose ``last_seen_at`` waits for the next flush; past this, a new one waits for its
#: next token instead (the ones already noted still move).
MAX_PENDING = 100_000
FLUSH_BATCH = 1_000


@dataclass(frozen=True, slots=True)
class KnownUser:
    pk: int
    #: The product runtime's build this was remembered under (``ProductRuntime.build``).
    build: int
    #: Monotonic seconds after which the user is mapped through the store again.
    expires: float
    #: The row's profile, in the order of ``User.PROFILE_FIELDS``.
    profile: tuple[str | None, ...]
    listed: bool

    def unchanged_by(self, profile: Mapping[str, Any], *, published: bool) -> bool:
        """Whether mapping a token with this profile would write nothing (``map_user``'s
        rules: a non-empty text value without NUL replaces what differs; publishing lists)."""
        if published and not self.listed:
            return False
        if profile:
            for name, held in zip(User.PROFILE_FIELDS, self.profile, strict=True):
                value = profile.get(name)
                if isinstance(value, str) and value and value != held and "\x00" not in value:
                    return False
        return True


class UserMemory:
    """The known users and the ``last_seen_at`` moves waiting for the next flush."""

    def __init__(self, *, known_size: int = KNOWN_SIZE, ttl: float = KNOWN_TTL_SECONDS) -> None:
        #: Wall-clock Unix seconds for last_seen_at (as ``map_user`` writes it; tests move it).
        self.clock: Callable[[], float] = time.time
        self._known: BoundedCache[tuple[str, str], KnownUser] = BoundedCache(known_size)
        self._ttl = ttl
        #: (product id, external id) -> (primary key, Unix time last seen)
        self._pending: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def known(
        self, product_id: str, build: int, verified: VerifiedToken, *, published: bool
    ) -> KnownUser | None:
        """The remembered user, if this token would change nothing in its row."""
        entry = self._known.get((product_id, verified.user_id))
        if (
            entry is None
            or entry.build != build
            or entry.expires < time.monotonic()
            or not entry.unchanged_by(verified.profile, published=published)
        ):
            return None
        return entry

    def entry(self, build: int, user: User) -> KnownUser:
        """What to remember of ``user`` as mapped (read inside its transaction)."""
        return KnownUser(
            pk=user.id,
            build=build,
            expires=time.monotonic() + self._ttl,
            profile=tuple(getattr(user, name) for name in User.PROFILE_FIELDS),
            listed=user.listed_at is not None,
        )

    def remember(self, product_id: str, external_id: str, entry: KnownUser) -> None:
        """Once the transaction that wrote the user committed: its next tokens write nothing."""
        self._known.put((product_id, external_id), entry)

    def seen(self, product_id: str, external_id: str, pk: int) -> None:
        """Note that the user was seen now; ``flush`` writes it."""
        key = (product_id, external_id)
        now = self.clock()
        with self._lock:
            if key in self._pending or len(self._pending) < MAX_PENDING:
                self._pending[key] = (pk, now)

    def forget_user(self, product_id: str, external_id: str) -> None:
        """Forget a user this process erased or deleted: its next token maps it afresh, and no
        ``last_seen_at`` is written to its row any more."""
        self._known.discard((product_id, external_id))
        with self._lock:
            self._pending.pop((product_id, external_id), None)

    def pending(self) -> int:
        return len(self._pending)

    def flush(self, db: Database) -> int:
        """Write the noted ``last_seen_at`` moves; forget users whose row is gone. Returns how
        many were written. On a failure the moves are kept for the next flush."""
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return 0
        items = list(batch.items())
        try:
            while items:
                chunk = items[:FLUSH_BATCH]
                with db.session() as session:
                    present = repository.touch_last_seen(
                        session,
                        [
                            (product_id, pk, dt.datetime.fromtimestamp(seen, dt.UTC))
                            for (product_id, _), (pk, seen) in chunk
                        ],
                    )
                for (product_id, external_id), (pk, _) in chunk:
                    if (product_id, pk) not in present:  # erased or deleted: map it again
                        self._known.discard((product_id, external_id))
                del items[: len(chunk)]  # written: not kept for a retry
        except Exception:
            with self._lock:
                for key, value in items:
                    kept = self._pending.get(key)
                    if kept is None or kept[1] < value[1]:
                        self._pending[key] = value
            raise
        return len(batch)


def user_memory(request: Request) -> UserMemory:
    memory: UserMemory = request.app.state.users
    return memory


def forget_user(request: Request, product_id: str, external_id: str) -> None:
    """Evict a user from this process's memory: call it when a user is erased or deleted."""
    user_memory(request).forget_user(product_id, external_id)
