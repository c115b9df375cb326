"""How many exports may stream at once: each holds a database connection (and a thread) for as
long as its client takes to read it, so a tenant opening many slow downloads would otherwise
take the connection pool from every other tenant (found by the round-3 hostile review).

At most ``PER_PRODUCT`` exports of one product and ``PER_PROCESS`` in all stream at once in a
process; one more is refused at once with 429 ``rate_limited``, before any connection is taken.
A slot is given back when the download ends, fails, or its client goes away (the body is then
closed or collected, never started or not).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator

from plaudit.errors import RateLimited

PER_PRODUCT = 2
#: Well under the pool (10 connections and 10 overflow): other requests always find one.
PER_PROCESS = 4


class ExportSlots:
    def __init__(self, *, per_product: int = PER_PRODUCT, per_process: int = PER_PROCESS) -> None:
        self._per_product = per_product
        self._per_process = per_process
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, product_id: str) -> None:
        with self._lock:
            held = self._held.get(product_id, 0)
            if held >= self._per_product or sum(self._held.values()) >= self._per_process:
                raise RateLimited(
                    f"Product {product_id!r} has {held} export(s) streaming, and this process "
                    "streams a few at a time.",
                    hint="Wait for a download to finish, then retry after the Retry-After seconds.",
                    retry_after=5,
                )
            self._held[product_id] = held + 1

    def give_back(self, product_id: str) -> None:
        with self._lock:
            held = self._held.get(product_id, 0) - 1
            if held > 0:
                self._held[product_id] = held
            else:
                self._held.pop(product_id, None)

    def held(self, product_id: str) -> int:
        return self._held.get(product_id, 0)

    def holding(self, product_id: str, body: Iterator[bytes]) -> Iterator[bytes]:
        """``body`` with the slot ``take`` gave ``product_id``, given back exactly once."""
        given = threading.Event()

        def give_back() -> None:
            if not given.is_set():
                given.set()
                self.give_back(product_id)

        def held() -> Iterator[bytes]:
            try:
                yield from body
            finally:
                give_back()

        wrapped = held()
        weakref.finalize(wrapped, give_back)  # a body never started is only collected
        return wrapped


#: This process's slots.
SLOTS = ExportSlots()
