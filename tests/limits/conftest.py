"""The limits under test, on SQLite and PostgreSQL (the store fixtures of tests/support).


``make_client(**settings)`` builds an app whose limits are set low enough to reach in a few
calls; the clock is the pinned one, so a window ends when a test moves it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any, TypeVar

import pytest
import redis
from fastapi.testclient import TestClient

from plaudit.app import create_app
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.conftest import missing_backend
from tests.support.service import ADMIN, NOW, Clock, create_product

__all__ = ["ADMIN", "NOW", "Clock", "create_product"]

MakeClient = Callable[..., TestClient]
T = TypeVar("T")


@pytest.fixture
def make_client(settings: Settings, db: Database, clock: Clock) -> Iterator[MakeClient]:
    """A TestClient on an app with these settings changed; ``address`` is the client's IP."""
    with ExitStack() as stack:

        def make(address: str = "203.0.113.7", **changes: Any) -> TestClient:
            app = create_app(
                settings.model_copy(update=changes), db=db, clock=clock, background=False
            )
            return stack.enter_context(
                TestClient(app, raise_server_exceptions=False, client=(address, 50000))
            )

        yield make


@pytest.fixture
def redis_url() -> Iterator[str]:
    """PLAUDIT_TEST_REDIS_URL (.ci/run: a logical database of the tests' own), its limit counts
    emptied. xdist workers share that database: a test holds a lock in it for its whole run, so
    no other worker's test counts against the same keys meanwhile."""
    url = os.environ.get("PLAUDIT_TEST_REDIS_URL")
    if not url:
        missing_backend("redis", "set PLAUDIT_TEST_REDIS_URL (.ci/run does)")
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        missing_backend("redis", f"cannot connect: {type(exc).__name__}")
    # Bounded: a test using Redis takes seconds; a crashed holder's lock expires after 180 s.
    lock = client.lock("tests:limits:lock", timeout=180, blocking_timeout=600)
    if not lock.acquire():
        client.close()
        pytest.fail("another test held the Redis lock for 600 s")
    try:
        for key in client.scan_iter(match="plaudit:*", count=1000):
            client.delete(key)
        yield url
    finally:
        lock.release()
        client.close()


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a thread of its own: another suite's tool (Playwright's sync API) may
    leave an event loop running on the main thread, where ``asyncio.run`` refuses to start."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
