"""`plaudit serve` hands its workers the address it serves on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    result = CliRunner().invoke(app, ["serve", "--port", "9123", "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert seen["target"] == "plaudit.app:app_from_environment"
    assert seen["factory"] is True
    assert (seen["port"], seen["workers"]) == (9123, 2)
    assert Settings().resolved_public_url == "http://127.0.0.1:9123"
    assert (tmp_path / "plaudit.db").exists()  # SQLite migrated before any worker starts
