"""`plaudit serve --workers 2`: whichever worker answers the scrape, /metrics counts every
worker's requests (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from plaudit.settings import Settings
from tests.support.service import ADMIN_TOKEN

METRICS_TOKEN = "metrics-" + "w" * 32

pytestmark = [pytest.mark.committed, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthz_count(base: str) -> float:
    answer = httpx.get(
        base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    prefix = 'plaudit_http_requests_total{method="GET",route="/healthz",status="200"} '
    return sum(
        float(line[len(prefix) :]) for line in answer.text.splitlines() if line.startswith(prefix)
    )


def test_every_workers_requests_are_counted_whoever_answers_the_scrape(
    settings: Settings, tmp_path: Path
) -> None:
    """60 requests on fresh connections, spread over two workers by the kernel: every scrape,
    whichever worker answers it, counts all 60 (and each worker kept files of its own)."""
    files = tmp_path / "metrics"
    files.mkdir()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PLAUDIT_DATABASE_URL": settings.resolved_database_url,
        "PLAUDIT_MASTER_KEY": settings.master_key or "",
        "PLAUDIT_ADMIN_TOKEN": ADMIN_TOKEN,
        "PLAUDIT_METRICS_TOKEN": METRICS_TOKEN,
        "PLAUDIT_DATA_DIR": str(tmp_path),
        "PLAUDIT_LOG_LEVEL": "warning",
        "PROMETHEUS_MULTIPROC_DIR": str(files),
    }
    plaudit = Path(sys.executable).parent / "plaudit"
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603  # our own console script
            [str(plaudit), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            # Generous: on an idle machine both workers answer within 5 s; under heavy load
            # uvicorn's supervisor may restart a worker slow to answer its health ping.
            deadline = time.monotonic() + 180
            while True:
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                try:
                    if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "plaudit serve did not become ready"
                time.sleep(0.2)
            before = _healthz_count(base)
            for _ in range(60):
                with httpx.Client() as fresh:  # a new connection: either worker may take it
                    assert fresh.get(base + "/healthz", timeout=10).status_code == 200
            counts = {_healthz_count(base) for _ in range(6)}
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert counts == {before + 60}
    # A file per process that counted: both workers (and the supervisor, which imports them).
    assert len({path.name.rsplit("_", 1)[-1] for path in files.glob("counter_*.db")}) >= 2
