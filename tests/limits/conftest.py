"""The limits under test, on SQLite and PostgreSQL (the store fixtures of tests/support).


``make_client(**settings)`` builds an app whose limits are set low enough to reach in a few
calls; the clock is the pinned one, so a window ends when a test moves it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
import redis
from starlette.types import ASGIApp, Message

from tests.conftest import missing_backend
from tests.support.loops import run_async
from tests.support.service import ADMIN, NOW, Clock, create_product

__all__ = ["ADMIN", "NOW", "Clock", "create_product"]

T = TypeVar("T")


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


def call_asgi(
    app: ASGIApp, method: str, path: str, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> tuple[int, dict[str, Any], int]:
    """Call the ASGI app directly: (status, JSON body, how many times it asked for the body)."""
    asked = 0
    sent: list[Message] = []
    pending = list(chunks)

    async def receive() -> Message:
        nonlocal asked
        asked += 1
        if pending:
            return {"type": "http.request", "body": pending.pop(0), "more_body": bool(pending)}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("203.0.113.7", 50000),
        "server": ("plaudit.test", 80),
        "state": {},
    }
    run_async(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body or b"{}"), asked
