"""With PLAUDIT_REDIS_URL every process counts in one place: a limit holds for a deployment,
not per process. Without a reachable Redis, each process counts alone and nothing fails."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import jwt
import pytest

from plaudit.errors import TooManyEvents
from plaudit.limits.limiter import Limiter
from plaudit.limits.rates import LimitClass
from plaudit.settings import Settings
from tests.support.loops import run_async
from tests.support.served import Server
from tests.support.service import ADMIN, ADMIN_TOKEN


def test_two_limiters_on_one_redis_share_one_count(redis_url: str) -> None:
    """Three events of one user through one limiter and one through another: the fourth is
    past 3/minute, with the Retry-After Redis's window gives."""
    settings = Settings(redis_url=redis_url, rate_limit_client_events_per_user="3/minute")

    async def run() -> TooManyEvents:
        first, second = Limiter(settings), Limiter(settings)
        assert first.shared
        assert second.shared
        for limiter in (first, first, second):
            await limiter.hit(LimitClass.CLIENT_EVENTS_PER_USER, "acme", "u-1")
        with pytest.raises(TooManyEvents) as refused:
            await second.hit(LimitClass.CLIENT_EVENTS_PER_USER, "acme", "u-1")
        await first.hit(LimitClass.CLIENT_EVENTS_PER_USER, "acme", "u-2")  # another user
        return refused.value

    refused = run_async(run())
    assert 1 <= refused.retry_after <= 60


def test_an_unreachable_redis_leaves_each_process_counting_alone() -> None:
    """Redis refusing connections costs no error: the limiter counts in memory meanwhile."""
    settings = Settings(
        redis_url="redis://127.0.0.1:1/0", rate_limit_client_events_per_user="2/minute"
    )

    async def run() -> None:
        limiter = Limiter(settings)
        for _ in range(2):
            await limiter.hit(LimitClass.CLIENT_EVENTS_PER_USER, "acme", "u-1")
        with pytest.raises(TooManyEvents):
            await limiter.hit(LimitClass.CLIENT_EVENTS_PER_USER, "acme", "u-1")

    run_async(run())


@pytest.mark.committed
@pytest.mark.slow
def test_two_served_processes_share_the_limit_of_refused_tokens(
    redis_url: str, settings: Settings, tmp_path: Path
) -> None:
    """Two `plaudit serve` processes with one Redis and 6 refused tokens a minute per address:
    3 refused by each, and the next call to either is 429 (alone, each would allow 6)."""
    env = {
        **os.environ,
        "PLAUDIT_DATABASE_URL": settings.resolved_database_url,
        "PLAUDIT_MASTER_KEY": settings.master_key or "",
        "PLAUDIT_ADMIN_TOKEN": ADMIN_TOKEN,
        "PLAUDIT_DATA_DIR": str(tmp_path),
        "PLAUDIT_LOG_LEVEL": "warning",
        "PLAUDIT_REDIS_URL": redis_url,
        "PLAUDIT_RATE_LIMIT_FAILED_VERIFICATIONS_PER_ADDRESS": "6/minute",
    }
    started: list[Server] = []
    try:
        for n in (1, 2):
            started.append(Server(env, tmp_path / f"serve-{n}.log"))
        for server in started:
            server.wait_ready(time.monotonic() + 60)
        one, two = started
        created = httpx.post(
            one.base + "/v1/products", json={"name": "A", "id": "acme"}, headers=ADMIN, timeout=5
        )
        assert created.status_code == 201, created.text
        now = int(time.time())
        claims = {"sub": "u", "aud": "acme", "iat": now, "exp": now + 600}
        forged = jwt.encode(claims, "w" * 64, algorithm="HS256")
        headers = {"Authorization": f"Bearer {forged}"}
        for server in (one, one, one, two, two, two):
            answer = httpx.get(server.base + "/v1/auth/verify", headers=headers, timeout=5)
            assert answer.json()["error"] == "invalid_signature", answer.text
        for server in (one, two):
            answer = httpx.get(server.base + "/v1/auth/verify", headers=headers, timeout=5)
            assert answer.status_code == 429, answer.text
            assert answer.json()["error"] == "too_many_failed_verifications"
            assert 1 <= int(answer.headers["retry-after"]) <= 60
    finally:
        for server in started:
            server.stop()
