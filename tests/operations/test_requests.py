"""Every answer carries a request id: the caller's when it is sane, a new one otherwise; and
the lines logged while serving a request carry it too."""

from __future__ import annotations

import logging

import pytest
import structlog
from fastapi.testclient import TestClient

from plaudit import logs
from plaudit.app import create_app
from plaudit.operations import requests
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.web import errors as web_errors
from tests.support.service import Clock


def test_a_sane_inbound_request_id_is_echoed(client: TestClient) -> None:
    """A proxy's X-Request-ID comes back unchanged, on the hot path and off it."""
    for path in ("/healthz", "/v1/auth/verify", "/no/such/path"):
        response = client.get(path, headers={"X-Request-ID": "lb-7f3a:0001"})
        assert response.headers["x-request-id"] == "lb-7f3a:0001", path


@pytest.mark.parametrize("inbound", ["a" * 129, "has space", "new\\nline", "<script>", ""])
def test_an_unusable_inbound_request_id_is_replaced(client: TestClient, inbound: str) -> None:
    """Too long, or holding characters a log or header should not carry: a new id instead."""
    response = client.get("/healthz", headers={"X-Request-ID": inbound})
    assert response.headers["x-request-id"] not in (inbound, "")


def test_each_request_without_an_id_gets_a_new_one(client: TestClient) -> None:
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


def test_lines_logged_while_serving_carry_the_request_id(
    settings: Settings,
    db: Database,
    clock: Clock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An unexpected error's line and the access line both carry the id the caller got back;
    the token the exception quoted is cut out of its traceback."""
    configured = settings.model_copy(update={"log_json": True, "access_log": True})
    logs.configure(configured)
    # Loggers another test may have cached under another configuration: fresh ones.
    monkeypatch.setattr(web_errors, "log", structlog.get_logger("plaudit.web"))
    monkeypatch.setattr(requests, "log", structlog.get_logger("plaudit.access"))
    app = create_app(configured, db=db, clock=clock, background=False)

    @app.get("/test/fails")
    def fails() -> None:
        raise RuntimeError("refused eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl for u1")

    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/test/fails", headers={"X-Request-ID": "req-42"})
        err = capsys.readouterr().err
    finally:
        structlog.reset_defaults()
        logging.basicConfig(force=True, handlers=[logging.NullHandler()])
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "req-42"
    lines = [line for line in err.splitlines() if '"request_id": "req-42"' in line]
    assert any('"event": "unhandled_error"' in line for line in lines), err
    assert any('"route": "/test/fails"' in line and '"status": 500' in line for line in lines)
    assert "eyJhbGciOiJIUzI1NiJ9" not in err
    assert "refused [redacted] for u1" in err
