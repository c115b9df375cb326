"""JWKS fetches in their own bulkhead: their own threads, one flight per product, bounded waits.

Three things fetch a tenant's key set, and none of them holds a request thread, a database
transaction or another tenant's work while a host answers:

- **registration** fetches before anything is stored (``register``): the tenant hears at once
  whether the URL serves a usable set, and waits at most ``jwks.FETCH_SECONDS``;
- **an unknown kid** (``refetch``) starts at most one refetch per product at a time, and none
  while the product rests (``jwks_min_refetch_seconds`` after a fetch, backing off after
  failures); the request waits for it at most ``REFETCH_WAIT_SECONDS`` and is otherwise
  answered ``unknown_key`` while the fetch finishes for the tokens after it;
- **the schedule** (``refresh_due``), run by the app's own JWKS loop, never by the loop that
  picks up other processes' key, secret and revocation changes.

The request path awaits these on the event loop; the fetches run on this class's threads,
three pools so that none can starve another: registrations (a tenant registering many slow URLs
delays only registrations), unknown-kid refetches (at most one per product at a time), and the
schedule (one pass at a time, fetching several sources at once).
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import structlog

from plaudit.outbound import Flights
from plaudit.store.db import Database

from . import jwks
from .keystore import Keystore

T = TypeVar("T")

log = structlog.get_logger("plaudit.jwks")

#: The longest a request waits for an unknown-kid refetch before answering without it.
REFETCH_WAIT_SECONDS = 3.0
#: Unknown-kid refetches at once across every product; more wait their turn, never a request
#: thread. Registrations get half as many threads of their own.
WORKERS = 8


class JwksFetcher:
    def __init__(
        self,
        db: Database,
        client: httpx.Client,
        keystore: Keystore,
        *,
        allow_private: bool,
        min_refetch_seconds: float,
        workers: int = WORKERS,
    ) -> None:
        self._db = db
        self._client = client
        self._keystore = keystore
        self._allow_private = allow_private
        self._min_refetch_seconds = min_refetch_seconds
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="plaudit-jwks")
        self._registrations = ThreadPoolExecutor(
            max_workers=max(1, workers // 2), thread_name_prefix="plaudit-jwks-register"
        )
        self._schedule = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="plaudit-jwks-refresh"
        )
        self.flights: Flights[str] = Flights(self._executor, min_interval=min_refetch_seconds)

    async def register(self, url: str) -> dict[str, Any]:
        """The key set at ``url`` for its registration, or the tenant's error (no transaction
        is open meanwhile; the caller stores it after)."""
        return await _awaited(
            self._registrations.submit(
                jwks.fetch_new, url, client=self._client, allow_private=self._allow_private
            )
        )

    async def refetch(self, product_id: str) -> bool:
        """Whether an unknown-kid refetch of the product's sources succeeded in time, the
        keystore then holding what it fetched. False at once while the product rests."""
        future = self.flights.start(product_id, lambda: self._refetch(product_id))
        if future is None:
            return False
        waiting = _shielded(future)
        # Not wait_for: on Python 3.11 it can swallow the request's own cancellation.
        done, _ = await asyncio.wait({waiting}, timeout=REFETCH_WAIT_SECONDS)
        if not done:
            return False  # the fetch goes on, for the tokens after this one
        try:
            return waiting.result()
        except Exception as exc:  # a database hiccup: the token is answered without it
            log.warning("jwks_refetch_failed", product_id=product_id, error_type=type(exc).__name__)
            return False

    def _refetch(self, product_id: str) -> bool:
        refreshed = jwks.refetch_for_unknown_kid(
            self._db,
            product_id,
            client=self._client,
            allow_private=self._allow_private,
            min_interval=self._min_refetch_seconds,
        )
        if refreshed.changed:
            self._keystore.reload(product_id)
        return not refreshed.failed

    async def refresh_due(self) -> int:
        """The scheduled refresh: every source whose interval has passed, fetched at once."""
        return await _awaited(
            self._schedule.submit(
                jwks.refresh_due,
                self._db,
                client=self._client,
                allow_private=self._allow_private,
            )
        )

    def close(self) -> None:
        for pool in (self._executor, self._registrations, self._schedule):
            pool.shutdown(wait=False, cancel_futures=True)


def _shielded(future: Future[T]) -> asyncio.Future[T]:
    # A waiter giving up must not cancel the fetch the other waiters share; what a waiter that
    # gave up never reads is read here, so that no "exception never retrieved" is logged.
    shielded = asyncio.shield(asyncio.wrap_future(future))
    shielded.add_done_callback(lambda f: f.cancelled() or f.exception())
    return shielded


async def _awaited(future: Future[T]) -> T:
    return await _shielded(future)
