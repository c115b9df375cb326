"""The auth-failure log: refused tokens counted by code, the recent ones with their header and
claims for debugging, never a signature; and no secret or API key in any body but its creation's."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from plaudit.app import create_app
from plaudit.products.failure_log import MAX_PER_SECOND
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support.service import (
    ADMIN,
    Clock,
    bearer,
    create_product,
    product_header,
    standard_claims,
    verify,
)


def _failures(client: TestClient, product: str = "acme", **params: Any) -> Any:
    response = client.get(f"/v1/products/{product}/auth-failures", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def test_failures_are_counted_by_code(client: TestClient, clock: Clock) -> None:
    """Each refused token counts under its error code; total is their sum."""
    product = create_product(client, id="acme")
    secret = product["secret"]["value"]
    expired = jwt.encode(standard_claims("acme"), secret, algorithm="HS256")
    wrong = jwt.encode(standard_claims("acme"), "w" * 64, algorithm="HS256")
    no_sub = standard_claims("acme")
    del no_sub["sub"]
    verify(client, wrong)
    verify(client, wrong)
    verify(client, jwt.encode(no_sub, secret, algorithm="HS256"))
    clock.advance(7200)
    verify(client, expired)
    report = _failures(client)
    assert report["counts"] == {
        "invalid_signature": 2,
        "missing_required_claim": 1,
        "token_expired": 1,
    }
    assert report["total"] == 4
    assert next(iter(report["counts"])) == "invalid_signature"  # most frequent first
    assert len(report["recent"]) == 4
    assert report["recent"][0]["error"] == "token_expired"  # newest first
    assert len(_failures(client, limit=1)["recent"]) == 1


def test_recent_failures_carry_header_and_claims_but_never_the_signature(
    client: TestClient,
) -> None:
    """A tenant sees what its backend signed (header, claims), never the token's signature."""
    create_product(client, id="acme")
    token = jwt.encode(
        standard_claims("acme", email="ada@example.com"),
        "w" * 64,
        algorithm="HS256",
        headers={"kid": "stale"},
    )
    signature = token.rsplit(".", 1)[1]
    assert verify(client, token).json()["error"] == "unknown_key"
    response = client.get("/v1/products/acme/auth-failures", headers=ADMIN)
    entry = response.json()["recent"][0]
    assert entry["error"] == "unknown_key"
    assert entry["header"] == {"alg": "HS256", "typ": "JWT", "kid": "stale"}
    assert entry["claims"]["sub"] == "user_123"
    assert entry["claims"]["email"] == "ada@example.com"
    assert entry["message"]
    assert signature not in response.text
    assert token not in response.text


def test_unparseable_tokens_are_logged_without_header_or_claims(client: TestClient) -> None:
    """A garbled token named for a product counts as invalid_token, with nothing to show."""
    create_product(client, id="acme")
    verify(client, "garbage.token.here", **product_header("acme"))
    entry = _failures(client)["recent"][0]
    assert entry["error"] == "invalid_token"
    assert entry["header"] is None
    assert entry["claims"] is None


def test_failures_are_per_product(client: TestClient) -> None:
    """One product's refused tokens never show in another's log."""
    create_product(client, id="acme")
    other = create_product(client, id="other")
    verify(client, jwt.encode(standard_claims("acme"), "w" * 64, algorithm="HS256"))
    assert _failures(client, "other")["total"] == 0
    assert (
        client.get("/v1/products/acme/auth-failures", headers=bearer(other["api_key"])).status_code
        == 404
    )


def test_a_flood_of_bad_tokens_is_recorded_at_a_bounded_rate(
    settings: Settings, db: Database, clock: Clock
) -> None:
    """At most 20 failures a second (of the app's clock) a product are written: a flood costs
    the database little, and the next second records again."""
    # The flood comes from one address, far past its limit of refusals (429, tests/limits):
    # here that limit is off, so that every token reaches the failure log.
    unlimited = settings.model_copy(
        update={
            "rate_limit_failed_verifications_per_address": "off",
            "rate_limit_failed_verifications_per_product": "off",
        }
    )
    app = create_app(unlimited, db=db, clock=clock, background=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        _flood(client, clock)


def _flood(client: TestClient, clock: Clock) -> None:
    create_product(client, id="acme")
    bad = jwt.encode(standard_claims("acme"), "w" * 64, algorithm="HS256")
    for _ in range(100):
        assert verify(client, bad).status_code == 401
    assert _failures(client)["total"] == MAX_PER_SECOND
    clock.advance(1)
    for _ in range(100):
        assert verify(client, bad).status_code == 401
    assert _failures(client)["total"] == 2 * MAX_PER_SECOND


def test_secrets_and_api_keys_appear_only_in_their_creation_response(
    client: TestClient, capfd: pytest.CaptureFixture[str]
) -> None:
    """Every management and client answer after creation, and the logs, omit secret and key."""
    product = create_product(client, id="acme")
    secret, api_key = product["secret"]["value"], product["api_key"]
    rotated = client.post("/v1/products/acme/secrets", json={"grace_seconds": 60}, headers=ADMIN)
    new_secret = rotated.json()["value"]
    extra_key = client.post("/v1/products/acme/api-keys", json={}, headers=ADMIN).json()["api_key"]
    good = jwt.encode(standard_claims("acme"), secret, algorithm="HS256")
    forged = jwt.encode(standard_claims("acme"), secret[:-1] + "?", algorithm="HS256")
    key = bearer(api_key)
    bodies = [
        client.get("/v1/products", headers=ADMIN),
        client.get("/v1/products/acme", headers=key),
        client.patch("/v1/products/acme", json={"published": True}, headers=key),
        client.get("/v1/products/acme/secrets", headers=key),
        client.post(f"/v1/products/acme/secrets/{product['secret']['kid']}/disable", headers=key),
        client.get("/v1/products/acme/api-keys", headers=key),
        client.get("/v1/products/acme/keys", headers=key),
        client.get("/v1/products/acme/jwks-sources", headers=key),
        client.get("/v1/products/acme/revocations", headers=key),
        verify(client, good),
        verify(client, forged),
        client.post("/v1/events", headers=bearer(good), json={"type": "x"}),
        client.post("/v1/products/acme/secrets", json={"value": secret[:20]}, headers=key),
        client.post(
            "/v1/products/acme/secrets",
            json={"value": secret, "kid": product["secret"]["kid"]},
            headers=key,
        ),
        client.post("/v1/products/acme/secrets", json={"value": secret, "oops": 1}, headers=key),
        client.post("/v1/products/acme/secrets", content=f'{{"value": "{secret}"', headers=key),
        client.get("/v1/products/acme", headers=bearer(api_key[:-2])),
        client.get("/v1/products/acme/users", headers=key),
        client.get("/v1/products/acme/auth-failures", headers=key),
        client.get("/openapi.json"),
    ]
    for response in bodies:
        assert response.status_code < 500, response.text
        for value in (secret, new_secret, api_key, extra_key, secret[:20], api_key[:-2]):
            assert value not in response.text, response.request.url
    captured = capfd.readouterr()
    for value in (secret, new_secret, api_key, extra_key):
        assert value not in captured.out
        assert value not in captured.err
    assert json.loads(bodies[0].text)[0]["id"] == "acme"
