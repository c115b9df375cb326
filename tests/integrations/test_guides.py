"""The four integration guides, end to end: a tenant who follows one, changing only host names,
secrets and ids, gets verified users. Each token here is made exactly as the guide's code makes
it (PyJWT stands in for jose, ruby-jwt, jsonwebtoken, Firebase JWT and Nimbus)."""

from __future__ import annotations

import base64

import jwt
from fastapi.testclient import TestClient

from tests.support.service import (
    ADMIN,
    NOW,
    Clock,
    RsaPair,
    bearer,
    create_product,
    product_header,
    verify,
)

# --- the referral widget guide: HS512 {ProductId, UserId, iat}, no exp ---------------------


def test_referral_widget_guide_token_verifies_routed_by_its_product_id(
    client: TestClient,
) -> None:
    """The widget guide's HS512 token, with no exp and no product header, verifies by ProductId."""
    product = create_product(client, name="Acme referrals", id="acme-referrals", profile="reditus")
    SECRET = product["secret"]["value"]
    PRODUCT_ID = product["id"]
    assert product["secret"]["algorithm"] == "HS512"
    assert len(SECRET.encode()) >= 64  # HS512 needs 64 bytes (RFC 7518 section 3.2)

    user_id = "42"
    payload = {"ProductId": PRODUCT_ID, "UserId": user_id, "iat": int(NOW)}
    token = jwt.encode(payload, SECRET, algorithm="HS512")

    response = client.get("/v1/auth/verify", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["product"] == "acme-referrals"
    assert body["user"]["id"] == "42"
    assert body["key_id"] == product["secret"]["kid"]
    assert body["expires_at"] is not None  # no exp: the product's max token age bounds it


def test_referral_widget_guide_token_ages_out_after_the_max_token_age(
    client: TestClient, clock: Clock
) -> None:
    """A widget token without exp stops verifying once older than max_token_age_seconds."""
    product = create_product(client, id="acme-referrals", profile="reditus")
    token = jwt.encode(
        {"ProductId": "acme-referrals", "UserId": "42", "iat": int(NOW)},
        product["secret"]["value"],
        algorithm="HS512",
    )
    assert verify(client, token).status_code == 200
    clock.advance(86_400 + 31)  # one day, plus the default leeway
    response = verify(client, token)
    assert response.status_code == 401
    assert response.json()["error"] == "token_expired"


def test_referral_widget_guide_token_signed_with_hs256_is_refused(client: TestClient) -> None:
    """The widget profile's secret is pinned to HS512, the algorithm the guide signs with."""
    product = create_product(client, id="acme-referrals", profile="reditus")
    token = jwt.encode(
        {"ProductId": "acme-referrals", "UserId": "42", "iat": int(NOW)},
        product["secret"]["value"],
        algorithm="HS256",
    )
    response = verify(client, token)
    assert response.status_code == 401
    assert response.json()["error"] == "algorithm_not_allowed"


# --- the loyalty widget guide: RS256 key pairs uploaded in the Authentication tab ----------


def test_loyalty_widget_guide_rs256_keys_with_kid_rotation_and_disable(
    client: TestClient, rsa_pair: RsaPair, rsa_pair_2: RsaPair
) -> None:
    """Upload a public key as "primary", verify {sub, exp} tokens, rotate, disable: key_disabled."""
    create_product(client, name="Acme loyalty", id="acme-loyalty", profile="xtremepush")
    # Add Key: a description, the public key, the enabled toggle on.
    added = client.post(
        "/v1/products/acme-loyalty/keys",
        json={
            "public_key": rsa_pair.public_pem,
            "description": "Production backend",
            "kid": "primary",
            "enabled": True,
        },
        headers=ADMIN,
    )
    assert added.status_code == 201, added.text
    assert added.json()["kid"] == "primary"
    assert "RS256" in added.json()["algorithms"]

    exp = int(NOW) + 3600
    standard = jwt.encode(
        {"sub": "user_88421", "exp": exp}, rsa_pair.private_pem, algorithm="RS256"
    )
    with_kid = jwt.encode(
        {"sub": "user_88421", "exp": exp},
        rsa_pair.private_pem,
        algorithm="RS256",
        headers={"kid": "primary"},
    )
    for token in (standard, with_kid):
        response = verify(client, token, **product_header("acme-loyalty"))
        assert response.status_code == 200, response.text
        assert response.json()["user"]["id"] == "user_88421"
        assert response.json()["key_id"] == "primary"

    # Key rotation: upload a second key; tokens name the key that signed them.
    assert (
        client.post(
            "/v1/products/acme-loyalty/keys",
            json={"public_key": rsa_pair_2.public_pem, "description": "Next", "kid": "secondary"},
            headers=ADMIN,
        ).status_code
        == 201
    )
    rotated = jwt.encode(
        {"sub": "user_88421", "exp": exp},
        rsa_pair_2.private_pem,
        algorithm="RS256",
        headers={"kid": "secondary"},
    )
    assert verify(client, rotated, **product_header("acme-loyalty")).json()["key_id"] == "secondary"
    assert verify(client, with_kid, **product_header("acme-loyalty")).status_code == 200

    # Turn the enabled toggle off: the key's tokens are refused, even ones verified before.
    patched = client.patch(
        "/v1/products/acme-loyalty/keys/primary", json={"enabled": False}, headers=ADMIN
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["enabled"] is False
    refused = verify(client, with_kid, **product_header("acme-loyalty"))
    assert refused.status_code == 401
    assert refused.json()["error"] == "key_disabled"
    assert refused.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert verify(client, standard, **product_header("acme-loyalty")).status_code == 401
    assert verify(client, rotated, **product_header("acme-loyalty")).status_code == 200


def test_loyalty_widget_guide_users_join_all_users_once_published(
    client: TestClient, rsa_pair: RsaPair
) -> None:
    """A verified user is kept but listed in All Users only once the widget is public."""
    create_product(client, id="acme-loyalty", profile="xtremepush")
    client.post(
        "/v1/products/acme-loyalty/keys",
        json={"public_key": rsa_pair.public_pem, "kid": "primary"},
        headers=ADMIN,
    )
    token = jwt.encode(
        {"sub": "user_88421", "exp": int(NOW) + 3600},
        rsa_pair.private_pem,
        algorithm="RS256",
        headers={"kid": "primary"},
    )
    assert verify(client, token, **product_header("acme-loyalty")).status_code == 200
    assert client.get("/v1/products/acme-loyalty/users", headers=ADMIN).json()["total"] == 0

    published = client.patch("/v1/products/acme-loyalty", json={"published": True}, headers=ADMIN)
    assert published.status_code == 200
    assert verify(client, token, **product_header("acme-loyalty")).status_code == 200
    page = client.get("/v1/products/acme-loyalty/users", headers=ADMIN).json()
    assert page["total"] == 1
    assert page["users"][0]["id"] == "user_88421"
    one = client.get("/v1/products/acme-loyalty/users/user_88421", headers=ADMIN)
    assert one.status_code == 200
    assert one.json()["listed"] is True


# --- the referral platform guide: a user object, HS256 with the tenant's API key ----------

TENANT_ALIAS = "test_a8b41jotf8a1v"
TENANT_API_KEY = "TEST_" + "Fv8kq1Zr0uTg3Hc7Lw2Yp9Xs4Bn6Md5J"  # the vendor's key format, 37 bytes


def _referral_platform_product(client: TestClient) -> dict[str, object]:
    product = create_product(client, name="Acme platform", id=TENANT_ALIAS, profile="saasquatch")
    imported = client.post(
        f"/v1/products/{TENANT_ALIAS}/secrets", json={"value": TENANT_API_KEY}, headers=ADMIN
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["value"] == TENANT_API_KEY
    return product


def build_jwt_python(
    secret: str,
    userId: str,
    accountId: str,
    email: str,
    firstName: str,
    lastName: str,
    locale: str,
    referralCode: str,
    expiryDate: int,
) -> str:
    """The guide's Python buildJWT, verbatim but for its layout."""
    return jwt.encode(
        {
            "user": {
                "id": userId,
                "accountId": accountId,
                "firstName": firstName,
                "lastName": lastName,
                "email": email,
                "locale": locale,
                "referralCode": referralCode,
            },
            "exp": expiryDate,
        },
        secret,
        algorithm="HS256",
    )


def build_jwt_php(
    secret: str,
    userId: str,
    accountId: str,
    email: str,
    firstName: str,
    lastName: str,
    locale: str,
    referralCode: str,
    expiryDate: int,
) -> str:
    """The guide's PHP buildJWT: the account id spelt "account", the encoder's default HS256."""
    return jwt.encode(
        {
            "user": {
                "id": userId,
                "account": accountId,
                "firstName": firstName,
                "lastName": lastName,
                "email": email,
                "locale": locale,
                "referralCode": referralCode,
            },
            "exp": expiryDate,
        },
        secret,
        algorithm="HS256",
    )


OPEN_BODY = {
    "id": "7558cc3cf3dc01375d24f7c1070abb01cd979956",
    "accountId": "7558cc3cf3dc01375d24f7c1070abb01cd979956",
    "email": "joe@example.com",
    "firstName": "Joe",
    "lastName": "Testerson",
    "locale": "en_US",
    "referralCode": "JOETESTERSON",
}
OPEN_PATH = (
    f"/api/v1/{TENANT_ALIAS}/open/account/7558cc3cf3dc01375d24f7c1070abb01cd979956"
    "/user/7558cc3cf3dc01375d24f7c1070abb01cd979956"
)


def test_referral_platform_guide_open_endpoint_with_the_user_token(client: TestClient) -> None:
    """The guide's curl call, token in X-SaaSquatch-User-Token, signed over the same data object
    as the body (the guide's steps 1 and 2), upserts the user; a body that says otherwise than
    the token is 403 claims_mismatch."""
    _referral_platform_product(client)
    token = build_jwt_python(
        TENANT_API_KEY,
        OPEN_BODY["id"],
        OPEN_BODY["accountId"],
        OPEN_BODY["email"],
        OPEN_BODY["firstName"],
        OPEN_BODY["lastName"],
        OPEN_BODY["locale"],
        OPEN_BODY["referralCode"],
        int(NOW) + 3600,
    )
    headers = {"X-SaaSquatch-User-Token": token, "Content-Type": "application/json"}
    response = client.post(OPEN_PATH, headers=headers, json=OPEN_BODY)
    assert response.status_code == 200, response.text
    user = response.json()
    assert user["id"] == OPEN_BODY["id"]
    assert user["account_id"] == OPEN_BODY["accountId"]
    assert user["email"] == "joe@example.com"
    assert user["first_name"] == "Joe"
    assert user["referral_code"] == "JOETESTERSON"
    rewritten = client.post(
        OPEN_PATH, headers=headers, json={**OPEN_BODY, "email": "someone.else@example.com"}
    )
    assert rewritten.status_code == 403, rewritten.text
    assert rewritten.json()["error"] == "claims_mismatch"


def test_referral_platform_guide_token_with_the_account_spelling_verifies(
    client: TestClient,
) -> None:
    """The PHP example's "account" spelling carries the account id just as "accountId" does."""
    _referral_platform_product(client)
    token = build_jwt_php(
        TENANT_API_KEY,
        "u-1",
        "acct-1",
        "john@example.com",
        "John",
        "Doe",
        "en_US",
        "JOHNDOE",
        int(NOW) + 3600,
    )
    response = client.get(
        "/v1/auth/verify",
        headers={"X-SaaSquatch-User-Token": token, **product_header(TENANT_ALIAS)},
    )
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert user["id"] == "u-1"
    assert user["account_id"] == "acct-1"
    assert user["email"] == "john@example.com"
    assert user["referral_code"] == "JOHNDOE"
    written = client.post(
        f"/api/v1/{TENANT_ALIAS}/open/account/acct-1/user/u-1",
        headers={"X-SaaSquatch-User-Token": token},
        json={"firstName": "John"},
    )
    assert written.status_code == 200, written.text
    assert written.json()["account_id"] == "acct-1"


def test_referral_platform_guide_token_without_exp_verifies(client: TestClient) -> None:
    """The Java example's token, a user object and no exp ("not having an expiry works"), verifies."""
    _referral_platform_product(client)
    token = jwt.encode(
        {"user": {"id": "REPLACEME", "accountId": "REPLACEME", "email": "r@example.com"}},
        TENANT_API_KEY,
        algorithm="HS256",
    )
    response = client.get(
        "/v1/auth/verify",
        headers={"X-SaaSquatch-User-Token": token, **product_header(TENANT_ALIAS)},
    )
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == "REPLACEME"


def test_referral_platform_guide_user_token_writes_only_its_own_user(client: TestClient) -> None:
    """A user token may not upsert another user or another account: 403."""
    _referral_platform_product(client)
    token = build_jwt_python(
        TENANT_API_KEY, "u-1", "acct-1", "a@example.com", "A", "B", "en_US", "AB", int(NOW) + 60
    )
    other_user = client.post(
        f"/api/v1/{TENANT_ALIAS}/open/account/acct-1/user/u-2",
        headers={"X-SaaSquatch-User-Token": token},
        json={},
    )
    assert other_user.status_code == 403
    assert other_user.json()["error"] == "insufficient_permissions"
    other_account = client.post(
        f"/api/v1/{TENANT_ALIAS}/open/account/acct-2/user/u-1",
        headers={"X-SaaSquatch-User-Token": token},
        json={},
    )
    assert other_account.status_code == 403


def test_referral_platform_guide_server_calls_use_the_api_key(client: TestClient) -> None:
    """From a server the product's API key (Bearer, or Basic as password) may write any user."""
    product = _referral_platform_product(client)
    api_key = str(product["api_key"])
    by_bearer = client.post(
        f"/api/v1/{TENANT_ALIAS}/open/account/acct-9/user/u-9",
        headers=bearer(api_key),
        json={"email": "nine@example.com"},
    )
    assert by_bearer.status_code == 200, by_bearer.text
    assert by_bearer.json()["email"] == "nine@example.com"
    for user_part in ("", TENANT_ALIAS):
        basic = base64.b64encode(f"{user_part}:{api_key}".encode()).decode()
        by_basic = client.post(
            f"/api/v1/{TENANT_ALIAS}/open/account/acct-9/user/u-9",
            headers={"Authorization": f"Basic {basic}"},
            json={"firstName": "Nina"},
        )
        assert by_basic.status_code == 200, by_basic.text
        assert by_basic.json()["first_name"] == "Nina"
        assert by_basic.json()["email"] == "nine@example.com"
    wrong = base64.b64encode(b":pk_0000000000000000_nope").decode()
    refused = client.post(
        f"/api/v1/{TENANT_ALIAS}/open/account/acct-9/user/u-9",
        headers={"Authorization": f"Basic {wrong}"},
        json={},
    )
    assert refused.status_code == 401
    assert TENANT_API_KEY not in refused.text


# --- the gamification guide: HS256 with sub/iss/aud/iat/exp/scope --------------------------

TENANT_ID = "tenant-7f3a"
APPLICATION_ID = "app-5c1e9"


def _gamification_product(client: TestClient) -> str:
    product = create_product(client, name="Acme game", id=APPLICATION_ID)
    patched = client.patch(
        f"/v1/products/{APPLICATION_ID}", json={"issuer": TENANT_ID}, headers=ADMIN
    )
    assert patched.status_code == 200, patched.text
    return str(product["secret"]["value"])


def _gamification_token(API_SECRET: str, now: int = int(NOW), **changes: object) -> str:
    # jsonwebtoken's jwt.sign(payload, secret) signs HS256 by default.
    payload: dict[str, object] = {
        "sub": "user_123",
        "iss": TENANT_ID,
        "aud": APPLICATION_ID,
        "iat": now,
        "exp": now + 60 * 60,
        "scope": ["read", "write"],
    }
    for name, value in changes.items():
        if value is None:
            payload.pop(name, None)
        else:
            payload[name] = value
    return jwt.encode(payload, API_SECRET, algorithm="HS256")


def test_gamification_guide_token_verifies_and_sends_an_event(client: TestClient) -> None:
    """The guide's token verifies at /v1/auth/verify and may POST /v1/events (scope write)."""
    API_SECRET = _gamification_product(client)
    token = _gamification_token(API_SECRET)
    response = verify(client, token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["product"] == APPLICATION_ID
    assert body["user"]["id"] == "user_123"
    assert body["scopes"] == ["read", "write"]
    assert body["expires_at"].startswith("2025-11-24T17:00:00")
    event = client.post(
        "/v1/events",
        headers={**bearer(token), "Content-Type": "application/json"},
        json={"type": "level_completed", "properties": {"level": 3}},
    )
    assert event.status_code == 202, event.text
    assert event.json()["id"].startswith("evt_")


def test_gamification_guide_invalid_token(client: TestClient) -> None:
    """invalid_token: the JWT is malformed or cannot be parsed."""
    API_SECRET = _gamification_product(client)
    token = _gamification_token(API_SECRET)
    for garbled in ("not-a-jwt", token.split(".", 1)[1], token[:-300] + "!" * 4):
        response = verify(client, garbled)
        assert response.status_code == 401, garbled
        assert response.json()["error"] == "invalid_token"
        assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_gamification_guide_token_expired(client: TestClient, clock: Clock) -> None:
    """token_expired: the JWT has expired (an hour after the guide's iat)."""
    API_SECRET = _gamification_product(client)
    token = _gamification_token(API_SECRET)
    assert verify(client, token).status_code == 200
    clock.advance(3600 + 31)
    response = verify(client, token)
    assert response.status_code == 401
    assert response.json()["error"] == "token_expired"
    assert response.json()["hint"]


def test_gamification_guide_invalid_signature(client: TestClient) -> None:
    """invalid_signature: signed with something other than the product's API secret."""
    _gamification_product(client)
    token = _gamification_token("your-api-secret-" + "0" * 32)
    response = verify(client, token)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"


def test_gamification_guide_missing_required_claim(client: TestClient) -> None:
    """missing_required_claim: each of sub, iss, iat and exp left out is named."""
    API_SECRET = _gamification_product(client)
    for claim in ("sub", "iss", "iat", "exp"):
        response = verify(client, _gamification_token(API_SECRET, **{claim: None}))
        assert response.status_code == 401, claim
        body = response.json()
        assert body["error"] == "missing_required_claim", (claim, body)
        assert claim in body["message"]


def test_gamification_guide_insufficient_permissions(client: TestClient) -> None:
    """insufficient_permissions: a token with scope ["read"] may not send events (403)."""
    API_SECRET = _gamification_product(client)
    token = _gamification_token(API_SECRET, scope=["read"])
    assert verify(client, token).status_code == 200  # reading is allowed
    response = client.post("/v1/events", headers=bearer(token), json={"type": "level_completed"})
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "insufficient_permissions"
    assert "write" in body["message"]
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="insufficient_scope"')
