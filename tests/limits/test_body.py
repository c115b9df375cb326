"""Request bodies are refused with 413 ``body_too_large`` past their route class's limit, before
they are read and before any credential is looked at."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from plaudit.limits.body import RouteClass, route_class
from plaudit.settings import Settings
from tests.limits.conftest import call_asgi
from tests.support.served import Server
from tests.support.service import ADMIN, ADMIN_TOKEN, MakeClient, create_product, standard_claims

FIFTY_MB = 50 * 1024 * 1024


@pytest.mark.parametrize(
    ("method", "path", "credentials"),
    [
        ("POST", "/v1/events", b"Bearer not-even-a-token"),
        ("POST", "/v1/events", None),
        ("POST", "/v1/products/acme/events", ADMIN["Authorization"].encode()),
        ("POST", "/v1/products/acme/keys", None),
        ("POST", "/console/sign-in", None),
        ("GET", "/v1/auth/verify", b"Bearer x"),  # the hot path, served ahead of FastAPI
        ("POST", "/api/v1/acme/open/account/a/user/u", None),
    ],
)
def test_an_announced_50_mb_body_is_refused_unread_with_or_without_credentials(
    client: TestClient, method: str, path: str, credentials: bytes | None
) -> None:
    """Content-Length: 50 MB is answered 413 without the body being asked for once."""
    headers = [(b"content-length", str(FIFTY_MB).encode()), (b"content-type", b"application/json")]
    if credentials:
        headers.append((b"authorization", credentials))
    status, body, asked = call_asgi(client.app, method, path, headers, [b"{}"])
    assert (status, body["error"], asked) == (413, "body_too_large", 0)
    assert str(FIFTY_MB) in body["message"]


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(
    client: TestClient, settings: Settings
) -> None:
    """Without Content-Length the body is counted as it arrives: 413, and no event is stored."""
    product = create_product(client, id="acme")
    token = jwt.encode(standard_claims("acme"), product["secret"]["value"], algorithm="HS256")
    limit = settings.body_limit_client_bytes
    event = json.dumps({"type": "signed_up", "properties": {"pad": "x" * limit}}).encode()
    chunks = [event[i : i + 4096] for i in range(0, len(event), 4096)]
    headers = [
        (b"transfer-encoding", b"chunked"),
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {token}".encode()),
    ]
    status, body, asked = call_asgi(client.app, "POST", "/v1/events", headers, chunks)
    assert (status, body["error"]) == (413, "body_too_large")
    assert asked == limit // 4096 + 1  # not one chunk past the limit was asked for
    stored = client.get("/v1/products/acme/users/user_123", headers=ADMIN)
    assert stored.status_code == 404  # the request never reached the handler


def test_each_route_class_has_its_own_limit(make_client: MakeClient) -> None:
    """A body just over a class's limit is refused there, while a larger class accepts it."""
    client = make_client(body_limit_client_bytes=2048, body_limit_events_bytes=8192)
    product = create_product(client, id="acme")
    token = jwt.encode(standard_claims("acme"), product["secret"]["value"], algorithm="HS256")
    padded = {"type": "signed_up", "properties": {"pad": "x" * 3000}}
    from_browser = client.post(
        "/v1/events", json=padded, headers={"Authorization": f"Bearer {token}"}
    )
    assert from_browser.status_code == 413, from_browser.text
    assert from_browser.headers["connection"] == "close"
    from_server = client.post(
        "/v1/products/acme/events", json={**padded, "user_id": "u-1"}, headers=ADMIN
    )
    assert from_server.status_code == 202, from_server.text


def test_paths_fall_in_the_documented_route_classes() -> None:
    """Client calls, event batches, keys, console forms, and everything else as management."""
    assert route_class("/v1/events") is RouteClass.CLIENT
    assert route_class("/api/v1/p/open/account/a/user/u") is RouteClass.CLIENT
    assert route_class("/v1/products/p/events") is RouteClass.EVENTS
    assert route_class("/v1/products/p/keys") is RouteClass.KEYS
    assert route_class("/v1/products/p/secrets/s1/disable") is RouteClass.KEYS
    assert route_class("/v1/products/p/jwks-sources") is RouteClass.KEYS
    assert route_class("/console/products/p/authentication/keys") is RouteClass.CONSOLE
    assert route_class("/v1/products/p/loyalty/rules") is RouteClass.MANAGEMENT
    assert route_class("/v1/products") is RouteClass.MANAGEMENT


@pytest.mark.committed
@pytest.mark.slow
def test_a_served_process_answers_413_at_once_to_an_announced_50_mb_body(
    settings: Settings, tmp_path: Path
) -> None:
    """Through uvicorn: headers announcing 50 MB and no body get a 413 within 5 s, and the
    connection is closed (the unread body is never parsed as a next request)."""
    env = {
        **os.environ,
        "PLAUDIT_DATABASE_URL": settings.resolved_database_url,
        "PLAUDIT_MASTER_KEY": settings.master_key or "",
        "PLAUDIT_ADMIN_TOKEN": ADMIN_TOKEN,
        "PLAUDIT_DATA_DIR": str(tmp_path),
        "PLAUDIT_LOG_LEVEL": "warning",
    }
    server = Server(env, tmp_path / "serve.log")
    try:
        server.wait_ready(time.monotonic() + 60)
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            started = time.monotonic()
            sock.sendall(
                b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\n"
                b"Content-Length: " + str(FIFTY_MB).encode() + b"\r\n\r\n"
            )
            answer = b""
            while chunk := sock.recv(65536):  # until the server closes the connection
                answer += chunk
            took = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b'"body_too_large"' in answer
        assert took < 5, f"the 413 took {took:.1f} s"
    finally:
        server.stop()
