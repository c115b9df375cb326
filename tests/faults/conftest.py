"""Fault tests: real `plaudit serve` processes on the test store, and hostile tenant hosts on
127.0.0.1. Each test states its bound; the bounds are generous (several times what a healthy
run takes), so that they fail only when a bulkhead is missing, never because a machine is busy.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from plaudit.settings import Settings
from tests.support.served import Server
from tests.support.service import ADMIN_TOKEN

from .hosts import HostileHost

# The store (SQLite and PostgreSQL) and settings are tests/support/service.py's; every test
# that serves a process is marked ``committed``, so the processes see what it wrote.
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

Serve = Callable[..., Server]


@pytest.fixture
def host() -> Iterator[HostileHost]:
    hostile = HostileHost()
    try:
        yield hostile
    finally:
        hostile.close()


@pytest.fixture
def serve(settings: Settings, tmp_path: Path, host: HostileHost) -> Iterator[Serve]:
    """Start `plaudit serve` processes on the test store (private URLs allowed, to reach the
    hostile host); all are stopped at the end, after the host stops dripping."""
    started: list[Server] = []

    def start(**env: str) -> Server:
        environment = {
            **os.environ,
            "PLAUDIT_DATABASE_URL": settings.resolved_database_url,
            "PLAUDIT_MASTER_KEY": settings.master_key or "",
            "PLAUDIT_ADMIN_TOKEN": ADMIN_TOKEN,
            "PLAUDIT_DATA_DIR": str(tmp_path),
            "PLAUDIT_ALLOW_PRIVATE_URLS": "true",
            "PLAUDIT_KEYSTORE_REFRESH_SECONDS": "1",
            "PLAUDIT_LOG_LEVEL": "warning",
            **env,
        }
        server = Server(environment, tmp_path / f"serve-{len(started) + 1}.log")
        started.append(server)
        server.wait_ready(deadline_in(30))
        return server

    try:
        yield start
    finally:
        host.stop_dripping()
        for server in started:
            server.stop()


def deadline_in(seconds: float) -> float:
    import time

    return time.monotonic() + seconds


def admin(server: Server) -> httpx.Client:
    return httpx.Client(base_url=server.base, headers=ADMIN, timeout=30)


def create_product(server: Server, product_id: str, **body: Any) -> dict[str, Any]:
    with admin(server) as api:
        response = api.post("/v1/products", json={"name": product_id, "id": product_id, **body})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def rss_peak_kib(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in KiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/<pid>/status")
