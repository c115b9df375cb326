"""Hostile text never reaches a header or a 500: whatever a token's header or a path carries,
every client route answers a 4xx whose WWW-Authenticate holds only what RFC 6750 allows."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.support.service import NOW, create_product, product_header, standard_claims

#: Every route a user token calls, with a body it accepts.
CLIENT_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/auth/verify", None),
    ("POST", "/v1/events", {"type": "login"}),
    ("GET", "/v1/me", None),
    ("GET", "/v1/me/history", None),
    ("GET", "/v1/rewards", None),
    ("POST", "/v1/rewards/rwd_1/redeem", {}),
    ("GET", "/v1/leaderboards/points", None),
    ("POST", "/api/v1/acme/open/account/a-1/user/u-1", {}),
    ("GET", "/v1/referrals/me", None),
]

#: Token headers an attacker may send: text outside Latin-1, quotes, line breaks, controls.
HOSTILE_HEADERS: list[dict[str, Any]] = [
    {"alg": "HS256", "kid": "☃"},
    {"alg": "☃"},
    {"alg": "HS256\u2028", "kid": "k"},
    {"alg": "HS256", "kid": 'a"b\\c'},
    {"alg": "HS256", "kid": "line\r\nSet-Cookie: x=1"},
    {"alg": "HS256", "kid": "nul\x00kid"},
    {"alg": "HS256", "kid": "\U0001f600" * 300},
    {"alg": "none", "kid": "é"},
    {"alg": "HS256", "typ": "☃", "kid": "k"},
    {"alg": "HS256", "crit": ["☃"], "☃": 1},
]

#: What RFC 6750 section 3 allows in the header's quoted values, and the header's shape.
CHALLENGE = re.compile(
    r'^Bearer error="[\x20\x21\x23-\x5b\x5d-\x7e]*", '
    r'error_description="[\x20\x21\x23-\x5b\x5d-\x7e]*"$'
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _token(header: dict[str, Any]) -> str:
    claims = {"sub": "u-1", "aud": "acme", "iss": "tenant-1", "iat": 1, "exp": 2**40}
    raw = json.dumps(header, ensure_ascii=False).encode()
    return f"{_b64(raw)}.{_b64(json.dumps(claims).encode())}.{_b64(b'sig')}"


@pytest.mark.parametrize("header", HOSTILE_HEADERS, ids=lambda h: ascii(h)[:40])
def test_a_hostile_token_header_is_a_clean_401_on_every_client_route(
    client: TestClient, header: dict[str, Any]
) -> None:
    """For each hostile header, on each client route, with the product named and routed by the
    token's claims alike: a 4xx error body, and a WWW-Authenticate of safe ASCII only."""
    create_product(client, id="acme")
    token = _token(header)
    for method, path, body in CLIENT_ROUTES:
        for extra in (product_header("acme"), {}):
            response = client.request(
                method, path, json=body, headers={"Authorization": f"Bearer {token}", **extra}
            )
            assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
            assert set(response.json()) >= {"error", "message", "hint"}
            challenge = response.headers.get("www-authenticate")
            if challenge is not None and challenge != "Bearer":
                assert CHALLENGE.fullmatch(challenge), challenge


@pytest.mark.parametrize("user_id", ["☃", "é", "\U0001f600", 'a"b'])
def test_non_ascii_path_ids_never_give_a_500(client: TestClient, user_id: str) -> None:
    """A path id outside ASCII, compared with a token's user id or an API key's product, is a
    clean 4xx, never the TypeError of comparing non-ASCII text in constant time."""
    product = create_product(client, id="acme")
    key = {"Authorization": f"Bearer {product['api_key']}"}
    for path, headers in (
        (f"/v1/products/{user_id}", key),
        (f"/v1/products/{user_id}/users", key),
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 404, response.text
    token = jwt.encode(standard_claims("acme", iat=NOW), product["secret"]["value"])
    response = client.post(
        f"/api/v1/acme/open/account/a-1/user/{user_id}",
        json={},
        headers={"X-SaaSquatch-User-Token": token},
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "insufficient_permissions"
