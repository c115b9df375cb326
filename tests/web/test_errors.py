"""Bad input never gives a 500: malformed bodies, unknown fields, wrong types, oversized tokens
and garbage credentials each get a 4xx whose body names the problem, and 401s carry
WWW-Authenticate (RFC 6750)."""

from __future__ import annotations

import base64
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import (
    ADMIN,
    NOW,
    bearer,
    create_product,
    product_header,
    standard_claims,
    verify,
)


@pytest.fixture
def product(db: Database, settings: Settings) -> dict[str, Any]:
    return factories.product(db, settings, id="acme")


def _assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"]
    assert body["message"]
    assert "hint" in body
    if code is not None:
        assert body["error"] == code, body
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    return body


WRITES = [
    ("POST", "/v1/products"),
    ("PATCH", "/v1/products/acme"),
    ("POST", "/v1/products/acme/secrets"),
    ("POST", "/v1/products/acme/keys"),
    ("PATCH", "/v1/products/acme/keys/k1"),
    ("POST", "/v1/products/acme/jwks-sources"),
    ("POST", "/v1/products/acme/api-keys"),
    ("POST", "/v1/products/acme/revocations"),
]


MALFORMED = [b"{", b"not json", b"[]", b"null", b"42", b'"text"', b"\xff\xfe\x00", b'{"a": NaN']


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_malformed_json_bodies_are_refused(
    client: TestClient, product: dict[str, Any], method: str, path: str
) -> None:
    """A body that is not a JSON object is invalid_request (400 if not even UTF-8, else 422)."""
    for content in MALFORMED:
        response = client.request(
            method, path, content=content, headers={**ADMIN, "Content-Type": "application/json"}
        )
        _assert_error(response, 400 if content.startswith(b"\xff") else 422, "invalid_request")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/products", {"name": "A", "secret": "mine"}, "secret"),
        ("/v1/products/acme/secrets", {"value": None, "expires": 3}, "expires"),
        ("/v1/products/acme/keys", {"public_key": "x", "use": "sig"}, "use"),
        ("/v1/products/acme/jwks-sources", {"url": "https://e.com/j", "headers": {}}, "headers"),
        ("/v1/products/acme/api-keys", {"scopes": ["all"]}, "scopes"),
        ("/v1/products/acme/revocations", {"jti": "a", "until": 1}, "until"),
    ],
)
def test_unknown_fields_are_422_naming_the_field(
    client: TestClient, product: dict[str, Any], path: str, body: dict[str, Any], field: str
) -> None:
    """A field the API does not know is refused by name, so a typo is never silently ignored."""
    body = _assert_error(client.post(path, json=body, headers=ADMIN), 422, "invalid_request")
    assert body["field"] == field
    assert body["message"] == f"{field}: Unknown field."


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/products", {"name": ["A"]}, "name"),
        ("/v1/products/acme/secrets", {"grace_seconds": "an hour"}, "grace_seconds"),
        ("/v1/products/acme/secrets", {"algorithm": 256}, "algorithm"),
        ("/v1/products/acme/keys", {"jwk": "{}"}, "jwk"),
        ("/v1/products/acme/keys", {"public_key": "x", "enabled": "maybe"}, "enabled"),
        ("/v1/products/acme/jwks-sources", {"url": 7}, "url"),
        ("/v1/products/acme/jwks-sources", {"url": "http://[::1"}, "url"),
        ("/v1/products/acme/jwks-sources", {"url": "https://e.com:99999/j"}, "url"),
        (
            "/v1/products/acme/jwks-sources",
            {"url": "https://e.com/j", "refresh_seconds": 1},
            "refresh_seconds",
        ),
        (
            "/v1/products/acme/revocations",
            {"user_id": "u", "issued_before": "0001-01-01T00:00:00+14:00"},
            "issued_before",
        ),
        (
            "/v1/products/acme/revocations",
            {"user_id": "u", "issued_before": [2025]},
            "issued_before",
        ),
        ("/v1/products/acme/api-keys", {"name": ""}, "name"),
    ],
)
def test_wrong_types_and_values_are_422_naming_the_field(
    client: TestClient, product: dict[str, Any], path: str, body: dict[str, Any], field: str
) -> None:
    """A value of the wrong type or out of range is a 422 naming its field, never a 500."""
    body = _assert_error(client.post(path, json=body, headers=ADMIN), 422, "invalid_request")
    assert body["field"] == field


@pytest.mark.parametrize(
    "query",
    [
        "limit=abc",
        "limit=-1",
        "offset=-5",
        "offset=100000000000000000000000",
        "include_unlisted=perhaps",
    ],
)
def test_bad_query_parameters_are_422(
    client: TestClient, product: dict[str, Any], query: str
) -> None:
    """Query parameters are validated like bodies: 422 with the parameter named."""
    response = client.get(f"/v1/products/acme/users?{query}", headers=ADMIN)
    body = _assert_error(response, 422, "invalid_request")
    assert body["field"] == query.split("=", maxsplit=1)[0]


def test_a_theme_colour_set_to_null_goes_back_to_the_default(
    client: TestClient, product: dict[str, Any]
) -> None:
    """PATCH {theme: {text: null}} restores that colour's default instead of breaking reads."""
    response = client.patch("/v1/products/acme", json={"theme": {"text": None}}, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["theme"]["text"].startswith("#")
    assert client.get("/v1/products", headers=ADMIN).status_code == 200


def test_oversized_tokens_are_refused_before_parsing(
    client: TestClient, product: dict[str, Any]
) -> None:
    """A token past max_token_bytes (8 KiB by default) is token_too_large, RFC 6750 invalid_request."""
    big = jwt.encode(
        standard_claims("acme", padding="x" * 10_000), product["secret"]["value"], algorithm="HS256"
    )
    for headers in (bearer(big), {"X-Plaudit-User-Token": big, **product_header("acme")}):
        response = client.get("/v1/auth/verify", headers=headers)
        _assert_error(response, 401, "token_too_large")
        assert 'error="invalid_request"' in response.headers["WWW-Authenticate"]
    response = client.post("/v1/events", headers=bearer(big), json={"type": "x"})
    _assert_error(response, 401, "token_too_large")


GARBAGE_AUTHORIZATION = [
    "Bearer",
    "Bearer ",
    "Bearer     ",
    "bearer",
    "Token abc",
    "Bearerabc.def.ghi",
    "Basic",
    "Basic !!!not-base64!!!",
    "Basic " + base64.b64encode(b"\xff\xfe\xfd").decode(),
    "Basic " + base64.b64encode(b"no-colon").decode(),
    "Basic " + base64.b64encode(b"user:").decode(),
    "Digest username=x",
    "Bearer a.b",
    "Bearer ....",
    "Bearer e30.e30.e30",
    "Bearer " + "A" * 9000,
    "Bearer pk_",
    "Bearer pk_x_y",
    "Bearer adm_",
]


def test_garbage_authorization_headers_are_4xx_never_500(
    client: TestClient, product: dict[str, Any]
) -> None:
    """Any malformed credential on client or management routes: a 4xx with a named error."""
    for authorization in GARBAGE_AUTHORIZATION:
        headers = {"Authorization": authorization}
        for method, path in (
            ("GET", "/v1/auth/verify"),
            ("GET", "/v1/products/acme"),
            ("GET", "/v1/products"),
        ):
            response = client.request(method, path, headers=headers)
            assert 400 <= response.status_code < 500, (authorization, path, response.text)
            _assert_error(response, response.status_code)
        response = client.post("/v1/events", headers=headers, json={"type": "x"})
        assert 400 <= response.status_code < 500, (authorization, response.text)
        response = client.post(
            "/api/v1/acme/open/account/a/user/u", headers=headers, json={"email": "x@example.com"}
        )
        assert 400 <= response.status_code < 500, (authorization, response.text)
        _assert_error(response, response.status_code)


def test_basic_auth_garbage_at_the_open_endpoint_is_401(client: TestClient) -> None:
    """Basic credentials that are not the product's API key are refused like a wrong key."""
    create_product(client, id="acme", profile="saasquatch")
    for raw in (
        b":",
        b"acme:",
        b":pk_",
        b":pk_0000_0000",
        b"\x00:\x00",
        b":pk_\x00_x",
        b":pk_a\x00b_x",
        ":pk_é_x".encode(),
        b":" + b"A" * 5000,
    ):
        header = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        response = client.post("/api/v1/acme/open/account/a/user/u", headers=header, json={})
        assert response.status_code == 401, (raw, response.text)
        _assert_error(response, 401)


def test_missing_token_is_401_with_the_rfc_6750_header(
    client: TestClient, product: dict[str, Any]
) -> None:
    """No token at all: missing_token, WWW-Authenticate error=invalid_request."""
    response = client.get("/v1/auth/verify")
    body = _assert_error(response, 401, "missing_token")
    assert "Authorization" in body["hint"]
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_request"')


def test_a_token_naming_no_product_is_unknown_product(
    client: TestClient, product: dict[str, Any]
) -> None:
    """A valid-looking token that names no known product, nor is named by a header: 401."""
    token = jwt.encode(standard_claims("ghost"), "s" * 64, algorithm="HS256")
    _assert_error(verify(client, token), 401, "unknown_product")
    _assert_error(verify(client, token, **product_header("ghost")), 401, "unknown_product")
    no_claims = jwt.encode({"sub": "u", "exp": int(NOW) + 60}, "s" * 64, algorithm="HS256")
    _assert_error(verify(client, no_claims), 401, "unknown_product")


@pytest.mark.parametrize(
    "token",
    [
        "a.b.c",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.",
        "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.AAAA",
        "eyJhbGciOiJIUzI1NiJ9.WzFd.AAAA",
        "\u00e9t\u00e9.b.c",
        ".".join(["eyJhbGciOiJIUzI1NiJ9"] * 5),
    ],
)
def test_hostile_tokens_at_a_named_product_are_401(
    client: TestClient, product: dict[str, Any], token: str
) -> None:
    """Unsigned, non-JSON or oddly shaped tokens sent to a product are refused with a code."""
    response = client.get(
        "/v1/auth/verify",
        headers={"X-Plaudit-User-Token": token.encode(), "X-Plaudit-Product": b"acme"},
    )
    assert response.status_code == 401, response.text
    _assert_error(response, 401)


def test_unknown_routes_and_methods_answer_json_errors(client: TestClient) -> None:
    """404 and 405 come as {error, message, hint} too."""
    _assert_error(client.get("/v1/nothing-here"), 404, "not_found")
    _assert_error(client.delete("/v1/auth/verify"), 405, "method_not_allowed")


def test_long_and_odd_path_ids_are_404(client: TestClient, product: dict[str, Any]) -> None:
    """Product ids far past 64 characters, or with odd characters, are simply not found (a
    control character is refused before any lookup: see test_identifiers)."""
    for product_id in ("x" * 5000, "acme%2F..", "ácmé", "acme'--", "☃"):
        response = client.get(f"/v1/products/{product_id}", headers=ADMIN)
        _assert_error(response, 404)
        response = client.get(f"/v1/products/{product_id}/users/u", headers=ADMIN)
        _assert_error(response, 404)


def test_nul_characters_anywhere_never_give_a_500(
    client: TestClient, product: dict[str, Any]
) -> None:
    """A NUL (which PostgreSQL cannot store in text) in a path, body, query or token is a 4xx."""
    nul = "a\x00b"
    for method, path, body in (
        ("GET", "/v1/products/acme/keys/%00", None),
        ("PATCH", "/v1/products/acme/keys/%00", {"enabled": False}),
        ("POST", "/v1/products/acme/secrets/%00/disable", None),
        ("DELETE", "/v1/products/acme/api-keys/%00", None),
        ("GET", "/v1/products/acme/users/%00", None),
        ("GET", "/v1/products/acme/users?q=%00", None),
        ("POST", "/v1/products", {"name": nul}),
        ("PATCH", "/v1/products/acme", {"issuer": nul}),
        ("POST", "/v1/products/acme/api-keys", {"name": nul}),
        ("POST", "/v1/products/acme/revocations", {"jti": nul}),
        ("POST", "/v1/products/acme/secrets", {"kid": nul}),
    ):
        response = client.request(method, path, json=body, headers=ADMIN)
        assert response.status_code < 500, (method, path, response.text)
        if response.status_code >= 400:
            _assert_error(response, response.status_code)
    client.patch("/v1/products/acme", json={"issuer": None}, headers=ADMIN)  # SQLite stored it
    secret = product["secret"]["value"]
    with_nul_email = jwt.encode(standard_claims("acme", email=nul), secret, algorithm="HS256")
    response = verify(client, with_nul_email)
    assert response.status_code == 200, response.text
    assert client.get("/v1/products/acme/users/user_123", headers=ADMIN).json()["email"] is None
    routed_by_nul = jwt.encode(standard_claims(nul), secret, algorithm="HS256")
    _assert_error(verify(client, routed_by_nul), 401, "unknown_product")
    response = client.post(
        "/v1/events", headers=bearer(_token_for(product)), json={"type": "x", "id": nul}
    )
    assert response.status_code < 500, response.text


def _token_for(product: dict[str, Any]) -> str:
    return jwt.encode(standard_claims("acme"), product["secret"]["value"], algorithm="HS256")
