"""Several worker processes behind one port: whichever answers the scrape, /metrics counts
every worker's requests (prometheus-client's multiprocess mode), and `plaudit serve
--workers N` turns that mode on by itself."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from plaudit.cli import serve

WORKER = textwrap.dedent(
    """
    import sys
    from plaudit import metrics
    for _ in range(int(sys.argv[1])):
        metrics.record_request("/healthz", "GET", 200, 0.001)
    """
)
SCRAPE = textwrap.dedent(
    """
    from prometheus_client import generate_latest
    from plaudit.operations.scrape import registry
    print(generate_latest(registry()).decode())
    """
)
SAMPLE = 'plaudit_http_requests_total{method="GET",route="/healthz",status="200"} '


def _python(code: str, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(  # noqa: S603  # this interpreter, our own code
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_a_scrape_sums_every_workers_counts(tmp_path: Path) -> None:
    """Two workers count 7 and 5 requests into one PROMETHEUS_MULTIPROC_DIR; a third process
    answering the scrape reports 12."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    _python(WORKER, "7", env=env)
    _python(WORKER, "5", env=env)
    scraped = _python(SCRAPE, env=env)
    assert [line for line in scraped.splitlines() if line.startswith(SAMPLE)] == [SAMPLE + "12.0"]


def test_serve_with_workers_turns_multiprocess_mode_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`plaudit serve --workers 2` hands its workers a fresh PROMETHEUS_MULTIPROC_DIR; one
    worker needs none."""
    seen: list[str | None] = []
    monkeypatch.setattr(
        serve.uvicorn,
        "run",
        lambda *a, **k: seen.append(os.environ.get("PROMETHEUS_MULTIPROC_DIR")),
    )
    for name in ("PLAUDIT_HOST", "PLAUDIT_PORT", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.setenv(name, "")  # restored as it was at the end: _run sets them
        monkeypatch.delenv(name)
    serve._run("127.0.0.1", 8000, 1)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    serve._run("127.0.0.1", 8000, 2)
    assert seen[0] is None
    assert seen[1] is not None
    assert Path(seen[1]).is_dir()
    assert not any(Path(seen[1]).iterdir())
