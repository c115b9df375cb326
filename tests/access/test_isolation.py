"""Per-product isolation: one product's API key sees nothing of another, and a token signed with
one product's secret never verifies at another, whatever product it names."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from plaudit.products.models import Product
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import (
    ADMIN,
    NOW,
    RsaPair,
    bearer,
    create_product,
    product_header,
    standard_claims,
    verify,
)


@pytest.fixture
def products(db: Database, settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    return factories.product(db, settings, id="alpha"), factories.product(db, settings, id="bravo")


ROUTES = [
    ("GET", "/v1/products/bravo", None),
    ("PATCH", "/v1/products/bravo", {"published": True}),
    ("GET", "/v1/products/bravo/secrets", None),
    ("POST", "/v1/products/bravo/secrets", {}),
    ("POST", "/v1/products/bravo/secrets/{kid}/disable", None),
    ("GET", "/v1/products/bravo/keys", None),
    ("POST", "/v1/products/bravo/keys", {"public_key": "x"}),
    ("GET", "/v1/products/bravo/jwks-sources", None),
    ("POST", "/v1/products/bravo/jwks-sources", {"url": "https://example.com/jwks"}),
    ("GET", "/v1/products/bravo/users", None),
    ("GET", "/v1/products/bravo/users/u-1", None),
    ("GET", "/v1/products/bravo/api-keys", None),
    ("POST", "/v1/products/bravo/api-keys", {}),
    ("DELETE", "/v1/products/bravo/api-keys/{key_id}", None),
    ("POST", "/v1/products/bravo/revocations", {"user_id": "u-1"}),
    ("GET", "/v1/products/bravo/revocations", None),
    ("GET", "/v1/products/bravo/auth-failures", None),
    ("POST", "/api/v1/bravo/open/account/a/user/u-1", {}),
]


def test_one_products_api_key_cannot_read_or_change_another(
    client: TestClient, products: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """Every management route of product B answers A's API key 404, and B is left unchanged."""
    alpha, bravo = products
    key_id = client.get("/v1/products/bravo/api-keys", headers=ADMIN).json()[0]["id"]
    before = client.get("/v1/products/bravo", headers=ADMIN).json()
    for method, template, body in ROUTES:
        path = template.format(kid=bravo["secret"]["kid"], key_id=key_id)
        response = client.request(method, path, json=body, headers=bearer(alpha["api_key"]))
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"] == "not_found"
    assert client.delete("/v1/products/bravo", headers=bearer(alpha["api_key"])).status_code == 403
    assert client.get("/v1/products/bravo", headers=ADMIN).json() == before
    assert [s["state"] for s in client.get("/v1/products/bravo/secrets", headers=ADMIN).json()] == [
        "active"
    ]
    assert all(
        k["revoked_at"] is None
        for k in client.get("/v1/products/bravo/api-keys", headers=ADMIN).json()
    )
    assert client.get("/v1/products/bravo/revocations", headers=ADMIN).json() == []
    assert client.get("/v1/products/bravo", headers=bearer(bravo["api_key"])).status_code == 200


def test_a_token_signed_for_a_naming_b_never_verifies_at_b(
    client: TestClient, products: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """A's secret with B's id in aud, or sent with X-Plaudit-Product B: B's keys refuse it."""
    alpha, _ = products
    secret_a = alpha["secret"]["value"]
    by_aud = jwt.encode(standard_claims("bravo"), secret_a, algorithm="HS256")
    response = verify(client, by_aud)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"

    own = jwt.encode(standard_claims("alpha"), secret_a, algorithm="HS256")
    assert verify(client, own).status_code == 200  # verified at A, and remembered
    at_b = verify(client, own, **product_header("bravo"))
    assert at_b.status_code == 401
    assert at_b.json()["error"] == "wrong_product"  # its aud names A, B's keys refuse it
    assert verify(client, by_aud, **product_header("bravo")).json()["error"] == "invalid_signature"
    assert (
        client.get(
            "/v1/products/bravo/users", params={"include_unlisted": True}, headers=ADMIN
        ).json()["total"]
        == 0
    )


def test_a_widget_token_naming_b_by_product_id_never_verifies_at_b(client: TestClient) -> None:
    """A referral widget token signed with A's secret but ProductId B is refused at B."""
    alpha = create_product(client, id="alpha", profile="reditus")
    create_product(client, id="bravo", profile="reditus")
    forged = jwt.encode(
        {"ProductId": "bravo", "UserId": "42", "iat": int(NOW)},
        alpha["secret"]["value"],
        algorithm="HS512",
    )
    assert verify(client, forged).json()["error"] == "invalid_signature"
    with_header = verify(client, forged, **product_header("bravo"))
    assert with_header.json()["error"] == "invalid_signature"
    at_a = verify(client, forged, **product_header("alpha"))
    assert at_a.status_code == 401  # A's keys verify it, but it names another product
    assert at_a.json()["error"] == "wrong_product"
    assert "bravo" in at_a.json()["message"]


def test_a_kid_of_a_sent_to_b_is_unknown_key(
    client: TestClient, products: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """A token naming A's secret by its kid is unknown_key at B: kids never cross products."""
    alpha, _ = products
    token = jwt.encode(
        standard_claims("bravo"),
        alpha["secret"]["value"],
        algorithm="HS256",
        headers={"kid": alpha["secret"]["kid"]},
    )
    response = verify(client, token, **product_header("bravo"))
    assert response.status_code == 401
    assert response.json()["error"] == "unknown_key"


def test_a_public_key_of_a_does_not_verify_at_b(client: TestClient, rsa_pair: RsaPair) -> None:
    """A key uploaded to A verifies nothing at B, with or without its kid."""
    create_product(client, id="alpha", profile="xtremepush")
    create_product(client, id="bravo", profile="xtremepush")
    client.post(
        "/v1/products/alpha/keys",
        json={"public_key": rsa_pair.public_pem, "kid": "primary"},
        headers=ADMIN,
    )
    for headers in ({"kid": "primary"}, None):
        token = jwt.encode(
            {"sub": "u-1", "exp": int(NOW) + 60},
            rsa_pair.private_pem,
            algorithm="RS256",
            headers=headers,
        )
        assert verify(client, token, **product_header("alpha")).status_code == 200
        assert verify(client, token, **product_header("bravo")).status_code == 401


def test_a_products_id_in_aud_wins_over_another_products_audience(
    client: TestClient, db: Database
) -> None:
    """When aud names two products (one by id, one by configured audience, as a store may hold
    from before such audiences were refused: see test_routing), the product named by its id is
    the one whose keys judge the token: another tenant's setting never steers it away."""
    alpha = create_product(client, id="alpha")
    create_product(client, id="bravo")
    refused = client.patch("/v1/products/bravo", json={"audience": "alpha"}, headers=ADMIN)
    assert refused.json()["error"] == "routing_conflict"
    with db.session() as session:
        stored = session.get(Product, "bravo")
        assert stored is not None
        stored.audience = "alpha"
    token = jwt.encode(standard_claims("alpha"), alpha["secret"]["value"], algorithm="HS256")
    response = verify(client, token)
    assert response.status_code == 200, response.text
    assert response.json()["product"] == "alpha"
    assert verify(client, token, **product_header("alpha")).status_code == 200


def test_the_same_user_id_is_two_users_in_two_products(
    client: TestClient, products: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    """User u-1 of A and user u-1 of B are separate profiles."""
    for product, email in zip(products, ("a@example.com", "b@example.com"), strict=True):
        token = jwt.encode(
            standard_claims(product["id"], sub="u-1", email=email),
            product["secret"]["value"],
            algorithm="HS256",
        )
        assert verify(client, token).status_code == 200
    a = client.get("/v1/products/alpha/users/u-1", headers=ADMIN).json()
    b = client.get("/v1/products/bravo/users/u-1", headers=ADMIN).json()
    assert (a["email"], b["email"]) == ("a@example.com", "b@example.com")


def test_a_user_token_of_a_cannot_write_users_of_b(client: TestClient, rsa_pair: RsaPair) -> None:
    """At B's open endpoint, a token signed with A's secret is refused, whatever it names."""
    alpha = create_product(client, id="alpha", profile="saasquatch")
    create_product(client, id="bravo", profile="saasquatch")
    token = jwt.encode(
        {"user": {"id": "u-1", "accountId": "a-1"}, "exp": int(NOW) + 60},
        alpha["secret"]["value"],
        algorithm="HS256",
    )
    response = client.post(
        "/api/v1/bravo/open/account/a-1/user/u-1",
        headers={"X-SaaSquatch-User-Token": token},
        json={"email": "pwned@example.com"},
    )
    assert response.status_code == 401
    assert client.get("/v1/products/bravo/users/u-1", headers=ADMIN).status_code == 404
