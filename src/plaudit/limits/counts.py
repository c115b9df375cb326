"""Refusals by a rate limit, per product and code, counted in memory until the background loop
hands them to ``plaudit.products.limited``, which stores and reports them."""

from __future__ import annotations

import datetime as dt
import threading

#: (product, day, code) triples held in memory at most between two writes.
MAX_PENDING = 10_000


class LimitedCounts:
    """Refusals waiting to be written; a refusal only adds to a number in memory."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, dt.date, str], int] = {}
        self._lock = threading.Lock()

    def add(self, product_id: str, code: str, now: float) -> None:
        day = dt.datetime.fromtimestamp(now, dt.UTC).date()
        key = (product_id, day, code)
        with self._lock:
            if key in self._pending or len(self._pending) < MAX_PENDING:
                self._pending[key] = self._pending.get(key, 0) + 1

    def take(self) -> dict[tuple[str, dt.date, str], int]:
        """The pending counts, handed over to be written (``plaudit.products.limited``)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        return pending
