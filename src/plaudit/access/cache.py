"""The bounded cache for the app's memos keyed by something a caller chooses (a token).

The core keeps its own time-limited `auth.cache.VerifiedTokenCache` for verified tokens.

Least recently used entries go first when it is full, so a flood of new keys evicts only the
coldest ones instead of emptying the whole memo. Reads and writes happen on the event loop
and in worker threads. Each OrderedDict operation is atomic under the GIL, so a read takes no
lock (it is on the verify hot path); writes take one, so that eviction keeps the size exact.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        value = self._entries.get(key)
        if value is not None:
            try:  # noqa: SIM105  # contextlib.suppress costs more than the read, on the hot path
                self._entries.move_to_end(key)
            except KeyError:  # evicted by a writer meanwhile: the value read is still right
                pass
        return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def discard(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
