"""Control characters in identifiers are refused alike on both stores: a token's user id is a
401 invalid_user_id, a body, path or query id a 422 invalid_identifier, each time the same.

SQLite used to store a NUL in a user id once and then answer 500 for that id on every call;
PostgreSQL refused it. Now neither store ever sees one.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.support.service import ADMIN, NOW, bearer, create_product, standard_claims

CONTROLS = ["\x00", "\x01", "\n", "\x1f", "\x7f", "\x85"]


@pytest.fixture
def acme(client: TestClient) -> dict[str, Any]:
    return create_product(client, id="acme")


def _user_token(product: dict[str, Any], sub: str) -> str:
    return jwt.encode(standard_claims("acme", sub=sub, iat=NOW), product["secret"]["value"])


@pytest.mark.parametrize("control", CONTROLS, ids=ascii)
def test_a_token_user_id_with_a_control_character_is_401_invalid_user_id_every_time(
    client: TestClient, acme: dict[str, Any], control: str
) -> None:
    """The token is refused for its claim (not stored, then failing): the same answer on the
    first call and every later one, and no user is made."""
    token = _user_token(acme, f"u{control}1")
    for _ in range(3):
        for method, path in (("GET", "/v1/auth/verify"), ("POST", "/v1/events")):
            response = client.request(method, path, headers=bearer(token), json={"type": "login"})
            assert response.status_code == 401, response.text
            assert response.json()["error"] == "invalid_user_id"
    users = client.get("/v1/products/acme/users?include_unlisted=true", headers=ADMIN).json()
    assert users["total"] == 0


@pytest.mark.parametrize("control", CONTROLS, ids=ascii)
def test_body_identifiers_with_a_control_character_are_422_invalid_identifier(
    client: TestClient, acme: dict[str, Any], control: str
) -> None:
    """Event ids and user ids, referral codes, revocation targets, key ids and the open
    endpoint's email and code: each refused by name, and twice the same."""
    key = bearer(acme["api_key"])
    token = _user_token(acme, "u-1")
    bad = f"x{control}y"
    for path, headers, body, field in (
        ("/v1/events", bearer(token), {"type": "login", "id": bad}, "id"),
        ("/v1/products/acme/events", key, {"type": "login", "user_id": bad}, "event.user_id"),
        ("/v1/products/acme/referrals", key, {"referred_user_id": bad, "code": "ABC"}, None),
        ("/v1/products/acme/referrals", key, {"referred_user_id": "n", "code": bad}, "code"),
        ("/v1/products/acme/revocations", key, {"jti": bad}, "jti"),
        ("/v1/products/acme/revocations", key, {"user_id": bad}, "user_id"),
        ("/v1/products/acme/secrets", key, {"kid": bad}, "kid"),
        ("/api/v1/acme/open/account/a/user/u", key, {"email": bad}, "email"),
        ("/api/v1/acme/open/account/a/user/u", key, {"referralCode": bad}, "referralCode"),
    ):
        for _ in range(2):
            response = client.post(path, json=body, headers=headers)
            assert response.status_code == 422, (path, response.text)
            assert response.json()["error"] == "invalid_identifier", (path, response.text)
            if field is not None:
                assert response.json()["field"] == field
    refused = client.patch("/v1/products/acme", json={"audience": bad}, headers=key)
    assert refused.json()["error"] == "invalid_identifier"


@pytest.mark.parametrize("encoded", ["%00", "%01", "%0A", "%7F", "%C2%85"])
def test_path_and_query_ids_with_a_control_character_are_422_before_any_route(
    client: TestClient, acme: dict[str, Any], encoded: str
) -> None:
    """Users, rewards, badges, referrals by path; searches and filters by query: 422
    invalid_identifier on every API route; a share link still lands somewhere (302)."""
    key = bearer(acme["api_key"])
    for method, path in (
        ("GET", f"/v1/products/acme/users/u{encoded}"),
        ("GET", f"/v1/products/acme{encoded}"),
        ("POST", f"/v1/products/acme/referrals/u{encoded}/conversion"),
        ("GET", f"/v1/products/acme/users?q=a{encoded}"),
        ("GET", f"/v1/products/acme/referrals?user_id=u{encoded}"),
        ("POST", f"/api/v1/acme/open/account/a{encoded}/user/u"),
    ):
        response = client.request(method, path, headers=key, json={})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"] == "invalid_identifier"
    link = client.get(f"/r/AB{encoded}C", follow_redirects=False)
    assert link.status_code == 302


def test_a_nul_in_any_text_is_refused_alike_on_both_stores(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """Free text is not an identifier, but a NUL is refused there too on SQLite as PostgreSQL
    refuses it (422), instead of being stored on one store only."""
    key = bearer(acme["api_key"])
    for path, body in (
        ("/v1/products/acme/api-keys", {"name": "a\x00b"}),
        ("/v1/products/acme/loyalty/rules", {"name": "a\x00b", "event_type": "x", "points": 1}),
    ):
        response = client.post(path, json=body, headers=key)
        assert response.status_code == 422, (path, response.text)
    assert len(client.get("/v1/products/acme/api-keys", headers=key).json()) == 1
    assert client.get("/v1/products/acme/loyalty/rules", headers=key).json() == []
