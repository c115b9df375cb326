"""`plaudit serve` hands its workers the address it serves on."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from plaudit.cli import app
from plaudit.settings import Settings


def test_serve_gives_its_workers_the_chosen_host_and_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Links a worker hands out (the public URL's default) name the port chosen on the command."""
    seen: dict[str, Any] = {}
    monkeypatch.setenv("PLAUDIT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("PLAUDIT_PUBLIC_URL", raising=False)
    # serve writes these two into the environment; registering them here undoes that after.
    monkeypatch.setenv("PLAUDIT_HOST", "127.0.0.1")
    monkeypatch.setenv("PLAUDIT_PORT", "8000")
    monkeypatch.setattr(
        "plaudit.cli.serve.uvicorn.run",
        lambda target, **options: seen.update(target=target, **options),
    )
    # In this process the runner's stderr is closed after the command: logging configured onto
    # it would fail every later test's log line (the next test runs a real server for that).
    monkeypatch.setattr("plaudit.cli.serve.logs.configure", lambda settings: None)
    result = CliRunner().invoke(app, ["serve", "--port", "9123", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert seen["target"] == "plaudit.app:app_from_environment"
    assert seen["factory"] is True
    assert (seen["port"], seen["workers"]) == (9123, 2)
    assert Settings().resolved_public_url == "http://127.0.0.1:9123"
    assert (tmp_path / "plaudit.db").exists()  # SQLite migrated before any worker starts


def test_every_process_of_a_multi_worker_server_logs_json(tmp_path: Path) -> None:
    """With PLAUDIT_LOG_JSON, the supervising parent's lines are JSON like its workers' (uvicorn
    would otherwise give the parent plain text of its own)."""
    port = _free_port()
    environment = {
        **os.environ,
        "PLAUDIT_DATA_DIR": str(tmp_path),
        "PLAUDIT_LOG_JSON": "true",
        "PLAUDIT_LOG_LEVEL": "info",
    }
    environment.pop("PLAUDIT_PUBLIC_URL", None)
    server = subprocess.Popen(  # noqa: S603  # our own console script
        [
            str(Path(sys.executable).with_name("plaudit")),
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_serving(port, deadline=time.monotonic() + 60)
    finally:
        server.send_signal(signal.SIGINT)
        _, errors = server.communicate(timeout=30)
    lines = [line for line in errors.splitlines() if line.strip()]
    # The parent's lines name its pid; the workers' theirs: several processes spoke.
    assert any("parent process" in line for line in lines), errors
    for line in lines:
        assert isinstance(json.loads(line), dict), line


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_serving(port: int, *, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"nothing served on port {port} within the deadline")
