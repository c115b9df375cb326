"""The client API's front door: where a user token travels, how its product is found, and what
GET /v1/auth/verify answers."""

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
    bearer,
    create_product,
    product_header,
    standard_claims,
    verify,
)


@pytest.fixture
def product(db: Database, settings: Settings) -> dict[str, Any]:
    return factories.product(db, settings, id="acme")


def _token(product: dict[str, Any], **claims: Any) -> str:
    return jwt.encode(
        {**standard_claims("acme"), **claims}, product["secret"]["value"], algorithm="HS256"
    )


def test_the_verify_answer(client: TestClient, product: dict[str, Any]) -> None:
    """200 with product, user (id and profile), scopes, expires_at and key_id; never cached."""
    token = _token(product, email="ada@example.com", scope="read write")
    response = verify(client, token)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    assert response.json() == {
        "product": "acme",
        "user": {"id": "user_123", "email": "ada@example.com"},
        "scopes": ["read", "write"],
        "expires_at": "2025-11-24T17:00:00Z",
        "key_id": product["secret"]["kid"],
    }
    assert verify(client, token).json() == response.json()  # answered from memory alike


@pytest.mark.parametrize(
    "header", ["Authorization", "X-Plaudit-User-Token", "X-SaaSquatch-User-Token"]
)
def test_a_user_token_travels_in_any_of_three_headers(
    client: TestClient, product: dict[str, Any], header: str
) -> None:
    """Authorization: Bearer, X-Plaudit-User-Token or the referral platform's header."""
    token = _token(product)
    value = f"Bearer {token}" if header == "Authorization" else token
    response = client.get("/v1/auth/verify", headers={header: value})
    assert response.status_code == 200, response.text
    assert response.json()["product"] == "acme"


def test_a_user_token_never_travels_as_basic_auth(
    client: TestClient, product: dict[str, Any]
) -> None:
    """Basic auth carries an API key for server calls, never a user token."""
    basic = base64.b64encode(f"user:{_token(product)}".encode()).decode()
    response = client.get("/v1/auth/verify", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 401
    assert response.json()["error"] == "missing_token"


def test_the_product_is_named_by_header_by_aud_or_by_configured_audience(
    client: TestClient, product: dict[str, Any]
) -> None:
    """X-Plaudit-Product, aud equal to the product id (string or array), or its audience."""
    token = _token(product, aud="an-audience-no-product-has")
    assert verify(client, token).json()["error"] == "unknown_product"
    assert verify(client, token, **product_header("acme")).status_code == 200
    assert verify(client, _token(product, aud=["other-api", "acme"])).status_code == 200

    client.patch("/v1/products/acme", json={"audience": "https://api.acme.test"}, headers=ADMIN)
    by_audience = _token(product, aud="https://api.acme.test")
    response = verify(client, by_audience)
    assert response.status_code == 200, response.text
    assert response.json()["product"] == "acme"


def test_the_product_header_wins_over_the_tokens_claims(
    client: TestClient, product: dict[str, Any]
) -> None:
    """A token naming acme, sent with X-Plaudit-Product of another product, is judged there:
    refused as wrong_product, naming the product checked and the one the token names."""
    create_product(client, id="other")
    response = verify(client, _token(product), **product_header("other"))
    assert response.status_code == 401
    assert response.json()["error"] == "wrong_product"
    assert "names 'acme'" in response.json()["message"]
    assert "Checked against product 'other'" in response.json()["message"]


def test_a_user_token_is_not_a_management_credential(
    client: TestClient, product: dict[str, Any]
) -> None:
    """A valid user token opens no management route."""
    response = client.get("/v1/products/acme", headers=bearer(_token(product)))
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"
