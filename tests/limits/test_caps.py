"""Caps on what one product may hold or make the server do: keys per product, the size of an
RSA key, and the keys a token without a kid is tried against."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from plaudit.auth import KeySet, Verifier, key_from_jwk
from plaudit.auth.errors import KeyTooLarge, KidRequired
from plaudit.auth.explain import explain
from plaudit.auth.keys import MAX_RSA_BITS
from tests.support.service import ADMIN, NOW, MakeClient, create_product, standard_claims


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _huge_rsa_jwk(bits: int) -> dict[str, str]:
    """An RSA public key of ``bits`` bits: an odd modulus of that size is all a public key is
    (generating a real one this large takes minutes)."""
    modulus = secrets.randbits(bits) | (1 << (bits - 1)) | 1
    return {"kty": "RSA", "n": _b64(modulus), "e": "AQAB"}


def _ec_jwk(private: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    jwk = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "alg": "ES256"}


def test_a_product_holds_at_most_the_configured_number_of_keys(make_client: MakeClient) -> None:
    """With PLAUDIT_MAX_KEYS_PER_PRODUCT=3, the product's first secret and two more keys fit;
    a fourth secret or key is 409 too_many_keys, until one is deleted."""
    client = make_client(max_keys_per_product=3)
    create_product(client, id="acme")  # holds its first secret
    assert client.post("/v1/products/acme/secrets", json={}, headers=ADMIN).status_code == 201
    key = _ec_jwk(ec.generate_private_key(ec.SECP256R1()), "ec-1")
    assert (
        client.post("/v1/products/acme/keys", json={"jwk": key}, headers=ADMIN).status_code == 201
    )
    another = _ec_jwk(ec.generate_private_key(ec.SECP256R1()), "ec-2")
    for refused in (
        client.post("/v1/products/acme/keys", json={"jwk": another}, headers=ADMIN),
        client.post("/v1/products/acme/secrets", json={}, headers=ADMIN),
    ):
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"] == "too_many_keys"
        assert "3" in refused.json()["message"]
    assert client.delete("/v1/products/acme/keys/ec-1", headers=ADMIN).status_code == 204
    assert (
        client.post("/v1/products/acme/keys", json={"jwk": another}, headers=ADMIN).status_code
        == 201
    )


@pytest.mark.parametrize("form", ["jwk", "pem"])
def test_an_rsa_key_over_8192_bits_is_refused_with_a_clear_422(
    client: TestClient, form: str
) -> None:
    """A 8200-bit RSA public key, as a JWK or a PEM, is 422 key_too_large naming the bound."""
    create_product(client, id="acme")
    jwk = _huge_rsa_jwk(MAX_RSA_BITS + 8)
    if form == "jwk":
        body: dict[str, Any] = {"jwk": jwk}
    else:
        public = rsa.RSAPublicNumbers(
            65537, int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=="))
        )
        pem = public.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        body = {"public_key": pem.decode()}
    refused = client.post("/v1/products/acme/keys", json=body, headers=ADMIN)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "key_too_large"
    assert "8192" in refused.json()["message"]


def test_an_8192_bit_rsa_key_is_still_accepted() -> None:
    """The bound itself is allowed: only larger keys are refused."""
    key = key_from_jwk(_huge_rsa_jwk(MAX_RSA_BITS))
    assert key.kty == "RSA"
    with pytest.raises(KeyTooLarge):
        key_from_jwk(_huge_rsa_jwk(MAX_RSA_BITS + 1))


def test_a_token_without_kid_is_tried_against_a_bounded_number_of_keys(
    make_client: MakeClient,
) -> None:
    """With 3 ES256 keys and PLAUDIT_MAX_KEYS_TRIED_WITHOUT_KID=2, a kid-less token is 401
    kid_required with a hint to put a kid in the header; the same token with its kid verifies."""
    client = make_client(max_keys_tried_without_kid=2)
    create_product(client, id="acme")
    privates = [ec.generate_private_key(ec.SECP256R1()) for _ in range(3)]
    for n, private in enumerate(privates):
        added = client.post(
            "/v1/products/acme/keys", json={"jwk": _ec_jwk(private, f"ec-{n}")}, headers=ADMIN
        )
        assert added.status_code == 201, added.text
    claims = standard_claims("acme")
    kidless = jwt.encode(claims, privates[2], algorithm="ES256")
    refused = client.get("/v1/auth/verify", headers={"Authorization": f"Bearer {kidless}"})
    assert refused.status_code == 401
    assert refused.json()["error"] == "kid_required"
    assert "'kid'" in refused.json()["hint"]
    with_kid = jwt.encode(claims, privates[2], algorithm="ES256", headers={"kid": "ec-2"})
    assert (
        client.get("/v1/auth/verify", headers={"Authorization": f"Bearer {with_kid}"}).status_code
        == 200
    )
    # Disabling a key no longer used brings the kid-less token back within the bound.
    assert client.patch(
        "/v1/products/acme/keys/ec-0", json={"enabled": False}, headers=ADMIN
    ).is_success
    assert (
        client.get("/v1/auth/verify", headers={"Authorization": f"Bearer {kidless}"}).status_code
        == 200
    )


def test_the_core_refuses_to_try_more_keys_than_its_bound() -> None:
    """KeySet.candidates: a kid-less token with more candidates than max_kidless is refused
    before any signature is checked; with a kid it is one key, however many there are."""
    keys = [
        key_from_jwk(_ec_jwk(ec.generate_private_key(ec.SECP256R1()), f"k{n}")) for n in range(4)
    ]
    bounded = KeySet(keys, max_kidless=3)
    with pytest.raises(KidRequired, match="4 usable ES256 keys"):
        bounded.candidates("ES256", None, NOW)
    assert [k.kid for k in bounded.candidates("ES256", "k3", NOW)] == ["k3"]
    assert len(KeySet(keys, max_kidless=4).candidates("ES256", None, NOW)) == 4


def test_the_explainer_names_kid_required_as_the_verifier_does() -> None:
    """explain(): a kid-less token of a product with more keys than it is tried against gets the
    key finding kid_required with the verifier's hint, and the verdict kid_required."""
    private = [ec.generate_private_key(ec.SECP256R1()) for _ in range(4)]
    keys = KeySet([key_from_jwk(_ec_jwk(p, f"k{n}")) for n, p in enumerate(private)], max_kidless=3)
    token = jwt.encode(standard_claims("acme"), private[0], algorithm="ES256")
    explanation = explain(token, now=NOW, verifier=Verifier(keys))
    assert explanation.verification is not None
    assert explanation.verification["error"] == "kid_required"
    (finding,) = [f for f in explanation.findings if f.field == "key"]
    assert (finding.status, finding.code, finding.hint) == (
        "error",
        "kid_required",
        KidRequired.hint,
    )
