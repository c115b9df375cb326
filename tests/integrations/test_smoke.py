"""The guides' flows end to end: a product, a token signed as a guide shows, a verified user."""

from __future__ import annotations

import jwt
from fastapi.testclient import TestClient

from tests.support.service import ADMIN, NOW, bearer, create_product


def test_a_gamification_guide_token_verifies_at_the_test_endpoint(client: TestClient) -> None:
    """A token made exactly as the gamification guide's jsonwebtoken code makes it verifies."""
    product = create_product(client, id="your-application-id")
    secret = product["secret"]["value"]
    token = jwt.encode(
        {
            "sub": "user_123",
            "iss": "your-tenant-id",
            "aud": "your-application-id",
            "iat": int(NOW),
            "exp": int(NOW) + 3600,
            "scope": ["read", "write"],
        },
        secret,
        algorithm="HS256",
    )
    response = client.get("/v1/auth/verify", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["product"] == "your-application-id"
    assert body["user"]["id"] == "user_123"
    assert body["scopes"] == ["read", "write"]
    assert client.get("/v1/products/your-application-id", headers=ADMIN).status_code == 200
