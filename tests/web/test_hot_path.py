"""The verify hot path reads the request's headers in one pass and keeps every guard: CORS and
the body limit on the same request, and the first of a repeated header, as everywhere else."""

from __future__ import annotations

import asyncio
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from starlette.types import Message

from tests.support.service import ADMIN, NOW, create_product, standard_claims

ORIGIN = b"https://app.acme.example"


@pytest.fixture
def acme(client: TestClient) -> dict[str, Any]:
    product = create_product(client, id="acme")
    patched = client.patch(
        "/v1/products/acme", json={"allowed_origins": [ORIGIN.decode()]}, headers=ADMIN
    )
    assert patched.status_code == 200, patched.text
    return product


def _token(product: dict[str, Any]) -> bytes:
    claims = standard_claims(product["id"], iat=NOW)
    return b"Bearer " + jwt.encode(claims, product["secret"]["value"], algorithm="HS256").encode()


def _get(client: TestClient, headers: list[tuple[bytes, bytes]]) -> tuple[int, dict[str, str]]:
    """GET /v1/auth/verify straight into the ASGI app: (status, response headers)."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/v1/auth/verify",
        "raw_path": b"/v1/auth/verify",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("203.0.113.7", 50000),
        "server": ("plaudit.test", 80),
        "state": {},
    }
    asyncio.run(client.app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


def test_an_allowed_origin_announcing_a_huge_body_gets_413_with_cors_headers(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """One pass over the headers finds both the origin and the body: the 413 still comes, and
    the browser can read it."""
    status, headers = _get(
        client,
        [(b"origin", ORIGIN), (b"content-length", b"52428800"), (b"authorization", _token(acme))],
    )
    assert status == 413
    assert headers["access-control-allow-origin"] == ORIGIN.decode()


def test_the_first_of_two_origins_is_the_one_judged(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """A second Origin header cannot stand in for a refused first one."""
    status, _ = _get(
        client,
        [
            (b"origin", b"https://evil.example"),
            (b"origin", ORIGIN),
            (b"authorization", _token(acme)),
        ],
    )
    assert status == 403


def test_the_first_of_two_product_headers_routes_the_token(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """As ``request.headers.get`` reads it: the first X-Plaudit-Product counts."""
    create_product(client, id="other")
    token = _token(acme)
    first_acme = [(b"x-plaudit-product", b"acme"), (b"x-plaudit-product", b"other")]
    first_other = [(b"x-plaudit-product", b"other"), (b"x-plaudit-product", b"acme")]
    assert _get(client, [*first_acme, (b"authorization", token)])[0] == 200
    assert _get(client, [*first_other, (b"authorization", token)])[0] == 401


def test_a_user_token_header_is_read_before_authorization(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """X-Plaudit-User-Token wins over a Bearer credential sent beside it."""
    token = _token(acme).removeprefix(b"Bearer ")
    status, _ = _get(
        client,
        [
            (b"x-plaudit-product", b"acme"),
            (b"x-plaudit-user-token", token),
            (b"authorization", b"Bearer not-a-token"),
        ],
    )
    assert status == 200
