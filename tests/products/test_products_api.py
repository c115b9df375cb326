"""Products: creation with their first credentials, their settings, and what each setting does
to the tokens the product accepts."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from plaudit.access.models import ApiKey
from plaudit.products.models import Product, ProductSecret
from plaudit.store.db import Database
from tests.support.service import (
    ADMIN,
    NOW,
    Clock,
    bearer,
    create_product,
    product_header,
    standard_claims,
    verify,
)


def _token(product: dict[str, Any], **changes: Any) -> str:
    claims = standard_claims(product["id"])
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode(claims, product["secret"]["value"], algorithm="HS256")


# --- creating ------------------------------------------------------------------------------


def test_create_returns_an_id_an_api_key_and_a_secret_once(client: TestClient) -> None:
    """POST /v1/products answers 201 with the id, an API key and a generated secret."""
    response = client.post("/v1/products", json={"name": "Acme"}, headers=ADMIN)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"].startswith("prod_")
    assert body["name"] == "Acme"
    assert body["profile"] == "standard"
    assert body["api_key"].startswith("pk_")
    assert set(body["secret"]) == {"kid", "value", "algorithm"}
    assert len(body["secret"]["value"].encode()) >= 64
    again = client.get(f"/v1/products/{body['id']}", headers=ADMIN).json()
    assert "api_key" not in again
    assert "secret" not in again


def test_the_api_key_is_stored_hashed_and_the_secret_encrypted(
    client: TestClient, db: Database
) -> None:
    """Neither the API key nor the secret value is in the database in the clear."""
    body = create_product(client, id="acme")
    with db.session() as session:
        keys = session.scalars(select(ApiKey).where(ApiKey.product_id == "acme")).all()
        secrets = session.scalars(
            select(ProductSecret).where(ProductSecret.product_id == "acme")
        ).all()
    assert len(keys) == 1
    assert body["api_key"] not in keys[0].secret_hash
    assert len(keys[0].secret_hash) == 64
    assert len(secrets) == 1
    assert body["secret"]["value"] not in secrets[0].ciphertext
    assert secrets[0].kid == body["secret"]["kid"]


def test_create_with_own_id_and_each_profile(client: TestClient) -> None:
    """A product takes the tenant's own id and any of the four token profiles."""
    expected = {"standard": None, "reditus": "HS512", "xtremepush": None, "saasquatch": None}
    for profile, algorithm in expected.items():
        body = create_product(client, id=f"p-{profile}", profile=profile)
        assert body["id"] == f"p-{profile}"
        assert body["profile"] == profile
        if algorithm:
            assert body["secret"]["algorithm"] == algorithm


def test_create_refuses_a_taken_id_with_409(client: TestClient) -> None:
    """A second product with the same id is a conflict naming the field."""
    create_product(client, id="acme")
    response = client.post("/v1/products", json={"name": "Other", "id": "acme"}, headers=ADMIN)
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert response.json()["field"] == "id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A", "id": "a"}, "id"),
        ({"name": "A", "id": "has space"}, "id"),
        ({"name": "A", "id": "-dash-first"}, "id"),
        ({"name": "A", "id": "x" * 65}, "id"),
        ({"name": "A", "profile": "okta"}, "profile"),
        ({"name": ""}, "name"),
        ({}, "name"),
        ({"name": "A", "colour": "red"}, "colour"),
        ({"name": 5}, "name"),
    ],
)
def test_create_refuses_invalid_bodies_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    """An invalid id, profile or name, or an unknown field, is a 422 naming it."""
    response = client.post("/v1/products", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_request"
    assert response.json()["field"] == field


def test_only_the_operator_creates_and_deletes_products(client: TestClient) -> None:
    """A product's API key may not create or delete products: 403."""
    product = create_product(client, id="acme")
    key = bearer(product["api_key"])
    created = client.post("/v1/products", json={"name": "Mine"}, headers=key)
    assert created.status_code == 403
    assert created.json()["error"] == "forbidden"
    assert client.delete("/v1/products/acme", headers=key).status_code == 403
    assert client.get("/v1/products/acme", headers=key).status_code == 200


def test_management_calls_need_a_credential(client: TestClient) -> None:
    """No or a wrong credential: 401 with a WWW-Authenticate header, whatever the route."""
    create_product(client, id="acme")
    for headers in ({}, bearer("adm_wrong"), bearer("pk_0123456789abcdef_nope")):
        for method, path in (("GET", "/v1/products"), ("GET", "/v1/products/acme")):
            response = client.request(method, path, headers=headers)
            assert response.status_code == 401
            assert response.json()["error"] == "unauthenticated"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_list_shows_the_operator_everything_and_a_key_its_own_product(client: TestClient) -> None:
    """GET /v1/products: every product for the operator, one for a product's API key."""
    a = create_product(client, id="alpha")
    create_product(client, id="bravo")
    assert [p["id"] for p in client.get("/v1/products", headers=ADMIN).json()] == [
        "alpha",
        "bravo",
    ]
    own = client.get("/v1/products", headers=bearer(a["api_key"])).json()
    assert [p["id"] for p in own] == ["alpha"]


def test_delete_removes_the_product_and_its_tokens_stop_verifying(client: TestClient) -> None:
    """After DELETE the product is gone (404) and its tokens name an unknown product."""
    product = create_product(client, id="acme")
    token = _token(product)
    assert verify(client, token).status_code == 200
    assert client.delete("/v1/products/acme", headers=ADMIN).status_code == 204
    assert client.get("/v1/products/acme", headers=ADMIN).status_code == 404
    response = verify(client, token)
    assert response.status_code == 401
    assert response.json()["error"] == "unknown_product"
    assert client.delete("/v1/products/acme", headers=ADMIN).status_code == 404


# --- settings ------------------------------------------------------------------------------


def test_settings_have_documented_defaults(client: TestClient) -> None:
    """A new product: one day of max token age, 30 s leeway, unpublished, no issuer/audience."""
    create_product(client, id="acme")
    body = client.get("/v1/products/acme", headers=ADMIN).json()
    assert body["max_token_age_seconds"] == 86_400
    assert body["leeway_seconds"] == 30
    assert body["published"] is False
    assert body["issuer"] is None
    assert body["audience"] is None
    assert body["required_claims"] == []
    assert body["max_lifetime_seconds"] is None
    assert body["token_type"] is None
    assert body["allowed_origins"] == []
    assert body["referral_landing_url"] is None
    assert body["user_id_claim"] is None


def test_every_setting_is_written_and_read_back(client: TestClient) -> None:
    """PATCH changes each documented setting; GET reads back what was written."""
    product = create_product(client, id="acme")
    changes = {
        "name": "Acme Inc",
        "issuer": "tenant-1",
        "audience": "acme-app",
        "required_claims": ["email"],
        "leeway_seconds": 5,
        "max_token_age_seconds": 3600,
        "max_lifetime_seconds": 7200,
        "token_type": "JWT",
        "published": True,
        "allowed_origins": ["https://app.example.com/", "http://localhost:3000"],
        "referral_landing_url": "https://example.com/join",
        "user_id_claim": "uid",
    }
    response = client.patch("/v1/products/acme", json=changes, headers=bearer(product["api_key"]))
    assert response.status_code == 200, response.text
    body = client.get("/v1/products/acme", headers=ADMIN).json()
    for name, value in changes.items():
        if name == "allowed_origins":
            assert body[name] == ["https://app.example.com", "http://localhost:3000"]
        else:
            assert body[name] == value, name
    cleared = client.patch(
        "/v1/products/acme",
        json={"issuer": None, "max_token_age_seconds": None, "user_id_claim": None},
        headers=ADMIN,
    )
    assert cleared.status_code == 200
    assert cleared.json()["issuer"] is None
    assert cleared.json()["max_token_age_seconds"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"leeway_seconds": -1}, "leeway_seconds"),
        ({"leeway_seconds": "soon"}, "leeway_seconds"),
        ({"leeway_seconds": None}, "leeway_seconds"),
        ({"max_token_age_seconds": 0}, "max_token_age_seconds"),
        ({"published": [1]}, "published"),
        ({"published": None}, "published"),
        ({"required_claims": "email"}, "required_claims"),
        ({"required_claims": [""]}, "required_claims"),
        ({"required_claims": None}, "required_claims"),
        ({"allowed_origins": ["https://app.example.com/path"]}, "allowed_origins"),
        ({"allowed_origins": ["javascript:alert(1)"]}, "allowed_origins"),
        ({"referral_landing_url": "ftp://example.com"}, "referral_landing_url"),
        ({"profile": "okta"}, "profile"),
        ({"name": None}, "name"),
        ({"user_id_claim": ""}, "user_id_claim"),
        ({"id": "renamed"}, "id"),
    ],
)
def test_unknown_or_invalid_settings_are_refused_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str
) -> None:
    """An unknown or invalid setting is a 422 whose body names the field; nothing changes."""
    create_product(client, id="acme")
    before = client.get("/v1/products/acme", headers=ADMIN).json()
    response = client.patch("/v1/products/acme", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_request"
    assert response.json()["field"] == field
    assert field in response.json()["message"]
    assert client.get("/v1/products/acme", headers=ADMIN).json() == before


def test_issuer_and_audience_settings_are_enforced(client: TestClient) -> None:
    """With issuer and audience set, a token of another iss or aud is refused precisely."""
    product = create_product(client, id="acme")
    client.patch(
        "/v1/products/acme", json={"issuer": "tenant-1", "audience": "acme-app"}, headers=ADMIN
    )
    good = _token(product, aud="acme-app")
    assert verify(client, good).status_code == 200  # routed by its aud: the configured audience
    wrong_iss = verify(client, _token(product, iss="tenant-2", aud="acme-app"))
    assert wrong_iss.json()["error"] == "invalid_issuer"
    wrong_aud = verify(client, _token(product), **product_header("acme"))
    assert wrong_aud.json()["error"] == "invalid_audience"


def test_required_claims_setting_is_enforced(client: TestClient) -> None:
    """A claim the product requires, missing from the token, is missing_required_claim."""
    product = create_product(client, id="acme")
    client.patch("/v1/products/acme", json={"required_claims": ["email"]}, headers=ADMIN)
    response = verify(client, _token(product))
    assert response.json()["error"] == "missing_required_claim"
    assert "email" in response.json()["message"]
    assert verify(client, _token(product, email="a@example.com")).status_code == 200


def test_leeway_and_max_lifetime_settings_are_enforced(client: TestClient, clock: Clock) -> None:
    """leeway_seconds forgives clock skew; max_lifetime_seconds bounds exp - iat."""
    product = create_product(client, id="acme")
    token = _token(product)
    clock.advance(3600 + 10)  # ten seconds past exp, inside the default 30 s leeway
    assert verify(client, token).status_code == 200
    client.patch("/v1/products/acme", json={"leeway_seconds": 0}, headers=ADMIN)
    assert verify(client, token).json()["error"] == "token_expired"
    clock.now = NOW
    client.patch("/v1/products/acme", json={"max_lifetime_seconds": 600}, headers=ADMIN)
    assert verify(client, token).json()["error"] == "token_lifetime_too_long"


def test_max_token_age_setting_bounds_tokens_by_their_iat(client: TestClient, clock: Clock) -> None:
    """max_token_age_seconds refuses a token issued longer ago, whatever its exp."""
    product = create_product(client, id="acme")
    client.patch("/v1/products/acme", json={"max_token_age_seconds": 60}, headers=ADMIN)
    token = _token(product)
    clock.advance(100)
    response = verify(client, token)
    assert response.json()["error"] == "token_expired"
    assert "old" in response.json()["message"]


def test_token_type_setting_is_enforced(client: TestClient) -> None:
    """token_type requires that typ header; PyJWT's default 'JWT' matches 'JWT'."""
    product = create_product(client, id="acme")
    client.patch("/v1/products/acme", json={"token_type": "at+jwt"}, headers=ADMIN)
    assert verify(client, _token(product)).json()["error"] == "invalid_token_type"
    client.patch("/v1/products/acme", json={"token_type": "JWT"}, headers=ADMIN)
    assert verify(client, _token(product)).status_code == 200


def test_user_id_claim_setting_moves_the_user_id(client: TestClient) -> None:
    """user_id_claim reads the user id from another claim, which then becomes required."""
    product = create_product(client, id="acme")
    client.patch("/v1/products/acme", json={"user_id_claim": "uid"}, headers=ADMIN)
    response = verify(client, _token(product, uid="u-77"))
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == "u-77"
    assert verify(client, _token(product)).json()["error"] == "missing_required_claim"


def test_a_setting_change_applies_to_a_token_verified_before(client: TestClient) -> None:
    """A token answered from memory is judged again by the new settings."""
    product = create_product(client, id="acme")
    token = _token(product)
    assert verify(client, token).status_code == 200
    assert verify(client, token).status_code == 200
    client.patch("/v1/products/acme", json={"issuer": "someone-else"}, headers=ADMIN)
    assert verify(client, token).json()["error"] == "invalid_issuer"


def test_unknown_product_is_404_for_every_management_route(client: TestClient) -> None:
    """A product that does not exist is 404 not_found, never a 500."""
    for method, path, body in (
        ("GET", "/v1/products/ghost", None),
        ("PATCH", "/v1/products/ghost", {"published": True}),
        ("GET", "/v1/products/ghost/secrets", None),
        ("POST", "/v1/products/ghost/secrets", {}),
        ("GET", "/v1/products/ghost/keys", None),
        ("GET", "/v1/products/ghost/users", None),
        ("GET", "/v1/products/ghost/users/u1", None),
        ("GET", "/v1/products/ghost/api-keys", None),
        ("POST", "/v1/products/ghost/revocations", {"jti": "x"}),
        ("GET", "/v1/products/ghost/auth-failures", None),
        ("GET", "/v1/products/ghost/jwks-sources", None),
    ):
        response = client.request(method, path, json=body, headers=ADMIN)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"] == "not_found"


def test_the_product_row_is_the_one_the_api_reports(client: TestClient, db: Database) -> None:
    """What PATCH answers is what is stored."""
    create_product(client, id="acme")
    client.patch("/v1/products/acme", json={"audience": "aud-1"}, headers=ADMIN)
    with db.session() as session:
        product = session.get(Product, "acme")
        assert product is not None
        assert product.audience == "aud-1"
