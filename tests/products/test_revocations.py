"""Revocations: a token by its jti, or a user's tokens issued before a moment, stop verifying."""

from __future__ import annotations

import datetime as dt
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
    Clock,
    RsaPair,
    Run,
    bearer,
    cli_json,
    create_product,
    product_header,
    standard_claims,
    verify,
)


@pytest.fixture
def product(db: Database, settings: Settings) -> dict[str, Any]:
    return factories.product(db, settings, id="acme")


def _sign(product: dict[str, Any], *, sub: str = "u-1", iat: float = NOW, **extra: Any) -> str:
    return jwt.encode(
        standard_claims("acme", sub=sub, iat=iat, **extra),
        product["secret"]["value"],
        algorithm="HS256",
    )


def _revoke(client: TestClient, body: dict[str, Any], headers: dict[str, str] = ADMIN) -> Any:
    return client.post("/v1/products/acme/revocations", json=body, headers=headers)


def test_a_revoked_jti_is_refused_even_after_it_verified(
    client: TestClient, product: dict[str, Any]
) -> None:
    """POST .../revocations {jti}: that token is token_revoked; other tokens are not."""
    token = _sign(product, jti="session-1")
    assert verify(client, token).status_code == 200
    created = _revoke(client, {"jti": "session-1", "reason": "logged out"})
    assert created.status_code == 201, created.text
    assert created.json()["jti"] == "session-1"
    refused = verify(client, token)
    assert refused.status_code == 401
    assert refused.json()["error"] == "token_revoked"
    assert refused.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert verify(client, _sign(product, jti="session-2")).status_code == 200
    events = client.post("/v1/events", headers=bearer(token), json={"type": "x"})
    assert events.json()["error"] == "token_revoked"


def test_revoking_a_user_refuses_their_tokens_issued_before_now(
    client: TestClient, product: dict[str, Any], clock: Clock
) -> None:
    """{user_id} alone revokes that user's tokens issued until now; fresh ones verify."""
    old = _sign(product, iat=NOW - 60)
    assert verify(client, old).status_code == 200
    created = _revoke(client, {"user_id": "u-1"}, headers=bearer(product["api_key"]))
    assert created.status_code == 201
    assert created.json()["issued_before"].startswith("2025-11-24T16:00:00")
    assert verify(client, old).json()["error"] == "token_revoked"
    assert verify(client, _sign(product, sub="u-2", iat=NOW - 60)).status_code == 200
    clock.advance(10)
    assert verify(client, _sign(product, iat=NOW + 5)).status_code == 200


def test_revoking_a_user_before_a_given_moment(client: TestClient, product: dict[str, Any]) -> None:
    """{user_id, issued_before}: tokens issued before it are refused, later ones verify."""
    moment = dt.datetime.fromtimestamp(NOW - 100, dt.UTC)
    for issued_before in (moment.isoformat(), moment.replace(tzinfo=None).isoformat()):
        response = _revoke(client, {"user_id": "u-1", "issued_before": issued_before})
        assert response.status_code == 201, response.text
    assert verify(client, _sign(product, iat=NOW - 200)).json()["error"] == "token_revoked"
    assert verify(client, _sign(product, iat=NOW - 50)).status_code == 200
    listed = client.get("/v1/products/acme/revocations", headers=ADMIN).json()
    assert len(listed) == 2
    assert {r["user_id"] for r in listed} == {"u-1"}


def test_a_revoked_users_token_without_iat_is_refused(
    client: TestClient, rsa_pair: RsaPair
) -> None:
    """A token that does not say when it was issued (the loyalty guide's) cannot predate it."""
    create_product(client, id="acme", profile="xtremepush")
    client.post(
        "/v1/products/acme/keys",
        json={"public_key": rsa_pair.public_pem, "kid": "k"},
        headers=ADMIN,
    )
    token = jwt.encode(
        {"sub": "u-1", "exp": int(NOW) + 600}, rsa_pair.private_pem, algorithm="RS256"
    )
    assert verify(client, token, **product_header("acme")).status_code == 200
    _revoke(client, {"user_id": "u-1"})
    assert verify(client, token, **product_header("acme")).json()["error"] == "token_revoked"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"jti": "a", "user_id": "b"},
        {"jti": "a", "issued_before": "2025-01-01T00:00:00Z"},
        {"user_id": "b", "issued_before": "yesterday"},
        {"jti": ""},
        {"jti": "a", "everything": True},
    ],
)
def test_invalid_revocations_are_422(
    client: TestClient, product: dict[str, Any], body: dict[str, Any]
) -> None:
    """A revocation names a jti, or a user with an optional moment: anything else is 422."""
    response = _revoke(client, body)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_request"
    assert response.json()["message"]
    assert client.get("/v1/products/acme/revocations", headers=ADMIN).json() == []


def test_revocations_are_per_product(client: TestClient, product: dict[str, Any]) -> None:
    """Revoking a jti or a user at one product leaves another product's tokens alone."""
    other = create_product(client, id="other")
    token = jwt.encode(
        standard_claims("other", sub="u-1", jti="session-1"),
        other["secret"]["value"],
        algorithm="HS256",
    )
    _revoke(client, {"jti": "session-1"})
    _revoke(client, {"user_id": "u-1"})
    assert verify(client, token).status_code == 200


def test_an_iat_less_users_revocation_is_listed_and_undone_by_deleting_it(
    client: TestClient, rsa_pair: RsaPair
) -> None:
    """A token without iat cannot show it was issued after a user's revocation, so it stays
    refused while the revocation stands: GET lists it, DELETE undoes it and access returns."""
    created = create_product(client, id="acme", profile="xtremepush")
    client.post(
        "/v1/products/acme/keys",
        json={"public_key": rsa_pair.public_pem, "kid": "k"},
        headers=ADMIN,
    )
    token = jwt.encode(
        {"sub": "u-1", "exp": int(NOW) + 600}, rsa_pair.private_pem, algorithm="RS256"
    )
    revoked = _revoke(client, {"user_id": "u-1", "reason": "lost laptop"}).json()
    assert verify(client, token, **product_header("acme")).json()["error"] == "token_revoked"
    listed = client.get("/v1/products/acme/revocations", headers=bearer(created["api_key"]))
    assert [(r["id"], r["user_id"], r["reason"]) for r in listed.json()] == [
        (revoked["id"], "u-1", "lost laptop")
    ]
    path = f"/v1/products/acme/revocations/{revoked['id']}"
    deleted = client.delete(path, headers=bearer(created["api_key"]))
    assert deleted.status_code == 204, deleted.text
    assert verify(client, token, **product_header("acme")).status_code == 200
    assert client.get("/v1/products/acme/revocations", headers=ADMIN).json() == []
    again = client.delete(path, headers=ADMIN)
    assert again.status_code == 404
    assert again.json()["error"] == "not_found"


def test_a_revocation_is_deleted_only_through_its_own_product(
    client: TestClient, product: dict[str, Any]
) -> None:
    """Another product's API key, or another product's path, finds no such revocation."""
    other = create_product(client, id="other")
    revoked = _revoke(client, {"jti": "j"}).json()
    for path, headers in (
        (f"/v1/products/acme/revocations/{revoked['id']}", bearer(other["api_key"])),
        (f"/v1/products/other/revocations/{revoked['id']}", bearer(other["api_key"])),
        ("/v1/products/acme/revocations/0", ADMIN),
        ("/v1/products/acme/revocations/99999999999", ADMIN),
    ):
        response = client.delete(path, headers=headers)
        assert response.status_code in (404, 422), (path, response.text)
    assert len(client.get("/v1/products/acme/revocations", headers=ADMIN).json()) == 1


def test_the_cli_adds_lists_and_deletes_revocations(
    client: TestClient, product: dict[str, Any], cli: Run
) -> None:
    """`plaudit revocations add|list|delete`: the same services; a deleted revocation's token
    verifies again."""
    token = _sign(product, jti="session-9")
    added = cli_json(cli("revocations", "add", "acme", "--jti", "session-9", "--json"))
    client.app.state.verification.keystore.refresh()  # type: ignore[attr-defined]  # one poll
    assert verify(client, token).json()["error"] == "token_revoked"
    table = cli("revocations", "list", "acme").stdout
    assert "session-9" in table
    cli("revocations", "delete", "acme", str(added["id"]))
    client.app.state.verification.keystore.refresh()  # type: ignore[attr-defined]
    assert verify(client, token).status_code == 200
    assert cli_json(cli("revocations", "list", "acme", "--json")) == []
    cli("revocations", "delete", "acme", str(added["id"]), exit_code=1)
