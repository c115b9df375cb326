"""The limits under test, on SQLite and PostgreSQL (the service suite's ``store`` fixtures).

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
from tests.conftest import missing_backend
from tests.service import conftest as service
from tests.service.conftest import ADMIN, NOW, Clock, create_product

from plaudit.app import create_app
from plaudit.settings import Settings
from plaudit.store.db import Database

store = service.store
db = service.db
clock = service.clock
settings = service.settings
client = service.client

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
def redis_url() -> str:
    """PLAUDIT_TEST_REDIS_URL, emptied: a logical database of the tests' own (.ci/run: /1)."""
    url = os.environ.get("PLAUDIT_TEST_REDIS_URL")
    if not url:
        missing_backend("redis", "set PLAUDIT_TEST_REDIS_URL (.ci/run does)")
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        missing_backend("redis", f"cannot connect: {type(exc).__name__}")
    finally:
        client.close()
    return url


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a thread of its own: another suite's tool (Playwright's sync API) may
    leave an event loop running on the main thread, where ``asyncio.run`` refuses to start."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
