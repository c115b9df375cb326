"""A product's credentials: HMAC secrets (generated, imported, rotated with grace, disabled),
public keys (the loyalty guide's Authentication tab) and API keys."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from tests.support.service import (
    ADMIN,
    NOW,
    Clock,
    RsaPair,
    bearer,
    create_product,
    product_header,
    standard_claims,
    verify,
)


def _hs256(secret: str, *, kid: str | None = None, product: str = "acme") -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(standard_claims(product), secret, algorithm="HS256", headers=headers)


def _rs256(pair: RsaPair, *, kid: str | None = None, sub: str = "user_1") -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(
        {"sub": sub, "exp": int(NOW) + 3600}, pair.private_pem, algorithm="RS256", headers=headers
    )


def _secrets(client: TestClient, product: str = "acme") -> dict[str, dict[str, Any]]:
    response = client.get(f"/v1/products/{product}/secrets", headers=ADMIN)
    assert response.status_code == 200
    return {s["kid"]: s for s in response.json()}


# --- secrets -------------------------------------------------------------------------------


def test_rotation_keeps_the_old_secret_verifying_until_its_grace_ends(
    client: TestClient, clock: Clock
) -> None:
    """A new secret is active at once; the old one verifies until the grace ends, then not."""
    product = create_product(client, id="acme")
    old_secret, old_kid = product["secret"]["value"], product["secret"]["kid"]
    old_token, old_token_kid = _hs256(old_secret), _hs256(old_secret, kid=old_kid)
    assert verify(client, old_token).status_code == 200

    rotated = client.post("/v1/products/acme/secrets", json={"grace_seconds": 600}, headers=ADMIN)
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["value"] != old_secret
    assert len(new["value"].encode()) >= 64
    states = _secrets(client)
    assert states[old_kid]["state"] == "retiring"
    assert states[new["kid"]]["state"] == "active"

    new_token = _hs256(new["value"])
    assert verify(client, new_token).json()["key_id"] == new["kid"]
    clock.advance(590)
    assert verify(client, old_token).status_code == 200
    assert verify(client, old_token_kid).status_code == 200

    clock.advance(20)  # past the grace
    refused = verify(client, old_token)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_signature"
    named = verify(client, old_token_kid)
    assert named.json()["error"] == "key_disabled"
    assert verify(client, _hs256(new["value"], kid=new["kid"])).status_code == 200


def test_rotation_with_no_grace_retires_the_old_secret_at_once(client: TestClient) -> None:
    """grace_seconds 0: the previous secret stops verifying immediately."""
    product = create_product(client, id="acme")
    old_token = _hs256(product["secret"]["value"])
    assert verify(client, old_token).status_code == 200
    client.post("/v1/products/acme/secrets", json={"grace_seconds": 0}, headers=ADMIN)
    assert verify(client, old_token).status_code == 401


def test_an_imported_secret_verifies_the_tokens_the_backend_already_signs(
    client: TestClient,
) -> None:
    """POST .../secrets {value, algorithm} imports the tenant's own secret, pinned if asked."""
    create_product(client, id="acme")
    mine = "my-backend-has-signed-with-this-for-years-0123456789"
    imported = client.post(
        "/v1/products/acme/secrets",
        json={"value": mine, "algorithm": "HS256", "kid": "legacy"},
        headers=ADMIN,
    )
    assert imported.status_code == 201, imported.text
    assert imported.json() == {"kid": "legacy", "value": mine, "algorithm": "HS256"}
    assert verify(client, _hs256(mine)).json()["key_id"] == "legacy"
    hs384 = jwt.encode(standard_claims("acme"), mine, algorithm="HS384")
    assert verify(client, hs384).json()["error"] == "algorithm_not_allowed"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"value": "too-short"}, "weak_key", None),
        ({"value": "x" * 40, "algorithm": "HS512"}, "weak_key", None),
        (
            {"value": "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----"},
            "invalid_key",
            None,
        ),
        ({"algorithm": "RS256"}, "invalid_request", "algorithm"),
        ({"grace_seconds": -1}, "invalid_request", "grace_seconds"),
        ({"value": 12345678901234567890123456789012345}, "invalid_request", "value"),
        ({"rotate": True}, "invalid_request", "rotate"),
    ],
)
def test_a_secret_that_cannot_be_used_is_refused(
    client: TestClient, body: dict[str, Any], code: str, field: str | None
) -> None:
    """Short secrets, public keys posing as secrets and bad options are 422 with a precise code."""
    product = create_product(client, id="acme")
    response = client.post("/v1/products/acme/secrets", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == code
    if field:
        assert response.json()["field"] == field
    assert verify(client, _hs256(product["secret"]["value"])).status_code == 200  # untouched


def test_a_secret_kid_in_use_is_a_conflict(client: TestClient) -> None:
    """Two secrets of one product cannot share a kid: 409."""
    product = create_product(client, id="acme")
    response = client.post(
        "/v1/products/acme/secrets", json={"kid": product["secret"]["kid"]}, headers=ADMIN
    )
    assert response.status_code == 409
    assert response.json()["field"] == "kid"


def test_disabling_a_secret_refuses_its_tokens_at_once(client: TestClient) -> None:
    """POST .../secrets/{kid}/disable: even a token verified a moment ago is refused."""
    product = create_product(client, id="acme")
    kid = product["secret"]["kid"]
    token = _hs256(product["secret"]["value"], kid=kid)
    assert verify(client, token).status_code == 200
    disabled = client.post(f"/v1/products/acme/secrets/{kid}/disable", headers=ADMIN)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["state"] == "disabled"
    assert verify(client, token).json()["error"] == "key_disabled"
    missing = client.post("/v1/products/acme/secrets/nope/disable", headers=ADMIN)
    assert missing.status_code == 404


def test_secret_lists_never_hold_values(client: TestClient) -> None:
    """GET .../secrets lists kid, algorithm and state, never a value."""
    product = create_product(client, id="acme")
    listing = client.get("/v1/products/acme/secrets", headers=ADMIN)
    assert product["secret"]["value"] not in listing.text
    assert set(listing.json()[0]) == {
        "kid",
        "algorithm",
        "state",
        "enabled",
        "not_after",
        "created_at",
    }


# --- public keys ---------------------------------------------------------------------------


def test_public_keys_are_added_listed_read_changed_and_deleted(
    client: TestClient, rsa_pair: RsaPair
) -> None:
    """The Authentication tab over HTTP: add, list, read one, describe, disable, delete."""
    create_product(client, id="acme", profile="xtremepush")
    added = client.post(
        "/v1/products/acme/keys",
        json={"public_key": rsa_pair.public_pem, "kid": "primary", "description": "Prod"},
        headers=ADMIN,
    )
    assert added.status_code == 201, added.text
    key = added.json()
    assert key["kty"] == "RSA"
    assert key["enabled"] is True
    assert "BEGIN PUBLIC KEY" in key["public_key"]
    assert [k["kid"] for k in client.get("/v1/products/acme/keys", headers=ADMIN).json()] == [
        "primary"
    ]
    one = client.get("/v1/products/acme/keys/primary", headers=ADMIN)
    assert one.status_code == 200
    assert one.json()["description"] == "Prod"

    renamed = client.patch(
        "/v1/products/acme/keys/primary", json={"description": "Production"}, headers=ADMIN
    )
    assert renamed.json()["description"] == "Production"
    assert renamed.json()["enabled"] is True

    token = _rs256(rsa_pair, kid="primary")
    assert verify(client, token, **product_header("acme")).status_code == 200
    assert client.delete("/v1/products/acme/keys/primary", headers=ADMIN).status_code == 204
    gone = verify(client, token, **product_header("acme"))
    assert gone.json()["error"] == "unknown_key"
    assert client.get("/v1/products/acme/keys/primary", headers=ADMIN).status_code == 404
    assert client.delete("/v1/products/acme/keys/primary", headers=ADMIN).status_code == 404


def test_a_key_added_disabled_refuses_until_enabled(client: TestClient, rsa_pair: RsaPair) -> None:
    """enabled: false on upload; the toggle turned on later makes its tokens verify."""
    create_product(client, id="acme", profile="xtremepush")
    client.post(
        "/v1/products/acme/keys",
        json={"public_key": rsa_pair.public_pem, "kid": "primary", "enabled": False},
        headers=ADMIN,
    )
    token = _rs256(rsa_pair, kid="primary")
    assert verify(client, token, **product_header("acme")).json()["error"] == "key_disabled"
    client.patch("/v1/products/acme/keys/primary", json={"enabled": True}, headers=ADMIN)
    assert verify(client, token, **product_header("acme")).status_code == 200


def test_a_key_without_kid_is_named_by_its_thumbprint(
    client: TestClient, rsa_pair: RsaPair
) -> None:
    """Without a kid the key's RFC 7638 thumbprint names it; kid-less tokens still find it."""
    create_product(client, id="acme", profile="xtremepush")
    added = client.post(
        "/v1/products/acme/keys", json={"public_key": rsa_pair.public_pem}, headers=ADMIN
    )
    assert added.status_code == 201
    kid = added.json()["kid"]
    assert len(kid) == 43
    response = verify(client, _rs256(rsa_pair), **product_header("acme"))
    assert response.json()["key_id"] == kid


def test_a_jwk_is_accepted_and_its_alg_pins_the_key(client: TestClient) -> None:
    """An EC public key as a JWK verifies ES256 tokens."""
    create_product(client, id="acme")
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    added = client.post(
        "/v1/products/acme/keys",
        json={"jwk": {**jwk, "kid": "ec-1", "alg": "ES256"}},
        headers=ADMIN,
    )
    assert added.status_code == 201, added.text
    assert added.json()["kid"] == "ec-1"
    assert added.json()["algorithms"] == ["ES256"]
    token = jwt.encode(standard_claims("acme"), private, algorithm="ES256", headers={"kid": "ec-1"})
    assert verify(client, token).status_code == 200


def test_a_private_key_is_refused_with_the_openssl_hint(
    client: TestClient, rsa_pair: RsaPair
) -> None:
    """Pasting private.key instead of public.key: private_key_not_allowed, and how to fix it."""
    create_product(client, id="acme")
    response = client.post(
        "/v1/products/acme/keys", json={"public_key": rsa_pair.private_pem}, headers=ADMIN
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "private_key_not_allowed"
    assert "openssl pkey -in private.key -pubout -out public.key" in body["hint"]
    assert "PRIVATE" not in body["message"] or "BEGIN" not in body["message"]
    assert rsa_pair.private_pem.splitlines()[1] not in response.text
    assert client.get("/v1/products/acme/keys", headers=ADMIN).json() == []


def test_a_private_jwk_is_refused(client: TestClient) -> None:
    """A JWK carrying its private part ('d') is refused as well."""
    create_product(client, id="acme")
    private = ec.generate_private_key(ec.SECP256R1())
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(private, as_dict=True)
    response = client.post("/v1/products/acme/keys", json={"jwk": jwk}, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"] == "private_key_not_allowed"
    assert jwk["d"] not in response.text


def test_a_weak_rsa_key_is_refused(client: TestClient) -> None:
    """An RSA key under 2048 bits: weak_key."""
    create_product(client, id="acme")
    weak = (
        rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505  # on purpose
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    response = client.post("/v1/products/acme/keys", json={"public_key": weak}, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"] == "weak_key"
    assert "2048" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"public_key": "not a key"}, "invalid_key"),
        (
            {"public_key": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"},
            "invalid_key",
        ),
        ({"jwk": {"kty": "oct", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}}, None),
        ({"jwk": {"kty": "RSA"}}, "invalid_key"),
        ({}, "invalid_request"),
        ({"public_key": "x", "jwk": {"kty": "RSA"}}, "invalid_request"),
        ({"public_key": "x", "algorithm": "XS999"}, "invalid_request"),
        ({"public_key": "x", "colour": "red"}, "invalid_request"),
    ],
)
def test_unreadable_keys_are_refused_with_a_code(
    client: TestClient, body: dict[str, Any], code: str | None
) -> None:
    """Garbage PEM, incomplete or secret JWKs and bad options: 422 with a code, never a 500."""
    create_product(client, id="acme")
    response = client.post("/v1/products/acme/keys", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["error"]
    assert response.json()["message"]
    if code:
        assert response.json()["error"] == code


def test_an_algorithm_the_key_cannot_verify_is_refused(
    client: TestClient, rsa_pair: RsaPair
) -> None:
    """Pinning an RSA key to ES256 is refused when it is added."""
    create_product(client, id="acme")
    response = client.post(
        "/v1/products/acme/keys",
        json={"public_key": rsa_pair.public_pem, "algorithm": "ES256"},
        headers=ADMIN,
    )
    assert response.status_code == 422
    assert response.json()["error"] == "unsupported_key"


def test_kid_conflicts_are_409(client: TestClient, rsa_pair: RsaPair, rsa_pair_2: RsaPair) -> None:
    """A kid is unique across a product's keys and secrets."""
    product = create_product(client, id="acme")
    first = client.post(
        "/v1/products/acme/keys",
        json={"public_key": rsa_pair.public_pem, "kid": "k1"},
        headers=ADMIN,
    )
    assert first.status_code == 201
    again = client.post(
        "/v1/products/acme/keys",
        json={"public_key": rsa_pair_2.public_pem, "kid": "k1"},
        headers=ADMIN,
    )
    assert again.status_code == 409
    assert again.json()["error"] == "conflict"
    assert again.json()["field"] == "kid"
    as_secret_kid = client.post(
        "/v1/products/acme/keys",
        json={"public_key": rsa_pair_2.public_pem, "kid": product["secret"]["kid"]},
        headers=ADMIN,
    )
    assert as_secret_kid.status_code == 409
    secret_as_key_kid = client.post("/v1/products/acme/secrets", json={"kid": "k1"}, headers=ADMIN)
    assert secret_as_key_kid.status_code == 409
    same_key_twice = client.post(
        "/v1/products/acme/keys", json={"public_key": rsa_pair.public_pem}, headers=ADMIN
    )
    assert same_key_twice.status_code == 201  # its thumbprint is a kid of its own
    create_product(client, id="other")
    elsewhere = client.post(
        "/v1/products/other/keys",
        json={"public_key": rsa_pair.public_pem, "kid": "k1"},
        headers=ADMIN,
    )
    assert elsewhere.status_code == 201  # kids are per product


def test_key_update_refuses_unknown_fields(client: TestClient, rsa_pair: RsaPair) -> None:
    """PATCH .../keys/{kid} changes enabled and description only."""
    create_product(client, id="acme")
    client.post(
        "/v1/products/acme/keys",
        json={"public_key": rsa_pair.public_pem, "kid": "k1"},
        headers=ADMIN,
    )
    response = client.patch("/v1/products/acme/keys/k1", json={"public_key": "swap"}, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["field"] == "public_key"
    assert client.patch("/v1/products/acme/keys/nope", json={}, headers=ADMIN).status_code == 404


# --- API keys ------------------------------------------------------------------------------


def test_api_keys_are_created_listed_and_revoked(client: TestClient) -> None:
    """A second API key works at once; revoked, it stops working while the first still works."""
    product = create_product(client, id="acme")
    first = bearer(product["api_key"])
    created = client.post("/v1/products/acme/api-keys", json={"name": "ci"}, headers=first)
    assert created.status_code == 201, created.text
    second_value = created.json()["api_key"]
    second_id = created.json()["id"]
    second = bearer(second_value)
    assert client.get("/v1/products/acme", headers=second).status_code == 200

    listing = client.get("/v1/products/acme/api-keys", headers=ADMIN)
    assert {k["name"] for k in listing.json()} == {"default", "ci"}
    assert second_value not in listing.text
    assert product["api_key"] not in listing.text

    revoked = client.delete(f"/v1/products/acme/api-keys/{second_id}", headers=first)
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    refused = client.get("/v1/products/acme", headers=second)
    assert refused.status_code == 401
    assert refused.json()["error"] == "unauthenticated"
    assert client.get("/v1/products/acme", headers=first).status_code == 200
    again = client.delete(f"/v1/products/acme/api-keys/{second_id}", headers=ADMIN)
    assert again.status_code == 200
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert client.delete("/v1/products/acme/api-keys/nope", headers=ADMIN).status_code == 404


def test_a_revoked_api_key_stops_server_calls_to_the_open_endpoint(client: TestClient) -> None:
    """Revoking the key a server uses for the open endpoint refuses that server at once."""
    product = create_product(client, id="acme", profile="saasquatch")
    path = "/api/v1/acme/open/account/a1/user/u1"
    assert client.post(path, headers=bearer(product["api_key"]), json={}).status_code == 200
    key_id = client.get("/v1/products/acme/api-keys", headers=ADMIN).json()[0]["id"]
    client.delete(f"/v1/products/acme/api-keys/{key_id}", headers=ADMIN)
    response = client.post(path, headers=bearer(product["api_key"]), json={})
    assert response.status_code == 401


def test_a_tampered_api_key_is_refused(client: TestClient) -> None:
    """An API key with its id kept but its secret part changed does not authenticate."""
    product = create_product(client, id="acme")
    value = product["api_key"]
    tampered = value[:-4] + ("AAAA" if not value.endswith("AAAA") else "BBBB")
    assert client.get("/v1/products/acme", headers=bearer(tampered)).status_code == 401
    assert client.get("/v1/products/acme", headers=bearer(value + "x")).status_code == 401


def test_the_open_endpoint_checks_the_body_against_the_path_before_the_credentials(
    client: TestClient,
) -> None:
    """A body naming another user or account is a 422 naming the field, even unauthenticated."""
    product = create_product(client, id="acme", profile="saasquatch")
    path = "/api/v1/acme/open/account/a1/user/u1"
    for body, field in (({"id": "u2"}, "id"), ({"accountId": "a2"}, "accountId")):
        for headers in (bearer(product["api_key"]), {}):
            response = client.post(path, headers=headers, json=body)
            assert response.status_code == 422, (body, headers, response.text)
            assert response.json()["field"] == field
    assert client.post(path, json={"id": "u1"}).status_code == 401
