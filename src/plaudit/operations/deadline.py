"""One store read at a time, on a thread of its own, waited for at most a deadline.

Probes and scrapes come every few seconds from several places; against a hung store each would
take a thread and hold it. Here they share one thread: a call while a read is running waits
for that same read (its answer is as fresh as the call), and gives up at the deadline while
the read finishes in the background.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleRead(Generic[T]):
    def __init__(self, read: Callable[[], T], *, seconds: float, name: str) -> None:
        self._read = read
        self._seconds = seconds
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._running: Future[T] | None = None

    async def __call__(self) -> T | None:
        """The read's result, or None if it failed or did not end within the deadline."""
        running = self._running
        if running is None or running.done():
            running = self._running = self._thread.submit(self._read)
        waiting = asyncio.wrap_future(running)
        done, _ = await asyncio.wait({waiting}, timeout=self._seconds)
        if not done:
            # Read whatever it ends with, so that no "exception never retrieved" is logged.
            waiting.add_done_callback(lambda f: f.cancelled() or f.exception())
            return None
        return None if waiting.exception() is not None else waiting.result()

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
