"""Single-flight with rest and backoff: however many callers miss at once, one fetch runs.

A key (a JWKS source, a product's sources) has at most one piece of work in flight; a caller
arriving meanwhile shares its future. When the work ends, the key rests: ``min_interval``
after a success, and after failures twice as long each time (from ``min_interval``, but at
least ``failure_floor``) up to ``max_backoff``, so a host that is down or slow is asked less
and less, not once per token that names a kid it cannot serve (negative caching). A resting
key starts nothing: ``start`` answers None and the caller goes on with what it has.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass
class _Rest:
    until: float
    failures: int


class Flights(Generic[K]):
    def __init__(
        self,
        executor: Executor,
        *,
        min_interval: float,
        failure_floor: float = 5.0,
        max_backoff: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._executor = executor
        self.min_interval = min_interval
        self.failure_floor = failure_floor
        self.max_backoff = max_backoff
        self._clock = clock
        self._lock = threading.Lock()
        self._flying: dict[K, Future[bool]] = {}
        self._rest: dict[K, _Rest] = {}
        #: Pieces of work started, ever: what tests and health figures count.
        self.started = 0

    def start(self, key: K, work: Callable[[], bool]) -> Future[bool] | None:
        """The future of ``key``'s work in flight, a new one, or None while ``key`` rests.

        ``work`` runs on the executor and answers whether it succeeded; an exception counts
        as a failure (and is the future's exception).
        """
        with self._lock:
            flying = self._flying.get(key)
            if flying is not None:
                return flying
            rest = self._rest.get(key)
            if rest is not None and self._clock() < rest.until:
                return None
            future: Future[bool] = Future()
            self._flying[key] = future
            self.started += 1
        try:
            self._executor.submit(self._run, key, work, future)
        except RuntimeError as exc:  # the executor is shut down: the app is stopping
            self._land(key, ok=False)
            future.set_exception(exc)
        return future

    def resting(self, key: K) -> bool:
        with self._lock:
            rest = self._rest.get(key)
            return key not in self._flying and rest is not None and self._clock() < rest.until

    def forget(self, key: K) -> None:
        """Drop ``key``'s rest (its source was removed or replaced)."""
        with self._lock:
            self._rest.pop(key, None)

    def _run(self, key: K, work: Callable[[], bool], future: Future[bool]) -> None:
        try:
            ok = bool(work())
        except BaseException as exc:
            self._land(key, ok=False)
            future.set_exception(exc)
            return
        self._land(key, ok=ok)
        future.set_result(ok)

    def _land(self, key: K, *, ok: bool) -> None:
        with self._lock:
            self._flying.pop(key, None)
            failures = 0 if ok else (self._rest[key].failures if key in self._rest else 0) + 1
            if ok:
                pause = self.min_interval
            else:
                base = max(self.min_interval, self.failure_floor)
                pause = min(base * 2 ** min(failures - 1, 30), self.max_backoff)
            self._rest[key] = _Rest(until=self._clock() + pause, failures=failures)
