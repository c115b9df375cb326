"""The Authentication tab: public keys as the loyalty guide adds them, secrets, and the
"test a token" box, each refused with the API's reason."""

from __future__ import annotations

import json
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .conftest import ADMIN, NOW, ConsoleClient, RsaPair, create_product, field_error, text_of

AUTH = "/console/products/loyal/authentication"


def _loyalty(console: ConsoleClient) -> dict[str, Any]:
    return create_product(console.http, id="loyal", profile="xtremepush")


def _add(console: ConsoleClient, public_key: str, **fields: str) -> Any:
    return console.post(
        AUTH + "/keys",
        {"description": "Production signing key", "public_key": public_key, **fields},
    )


def test_add_key_as_the_loyalty_guide_says(console: ConsoleClient, rsa_pair: RsaPair) -> None:
    """Description, pasted public key, enabled toggle, kid: the key verifies the guide's token."""
    _loyalty(console)
    added = _add(console, rsa_pair.public_pem, kid="primary", enabled="true")
    assert added.status_code == 303
    page = console.get(added.headers["location"])
    assert "Key added." in text_of(page)
    assert "Production signing key" in page.text
    keys = console.http.get("/v1/products/loyal/keys", headers=ADMIN).json()
    assert [(k["kid"], k["enabled"], k["description"]) for k in keys] == [
        ("primary", True, "Production signing key")
    ]
    token = jwt.encode(
        {"sub": "user_88421", "exp": int(NOW) + 3600},
        rsa_pair.private_pem,
        algorithm="RS256",
        headers={"kid": "primary"},
    )
    verified = console.http.get(
        "/v1/auth/verify",
        headers={"Authorization": f"Bearer {token}", "X-Plaudit-Product": "loyal"},
    )
    assert verified.status_code == 200, verified.text


def test_a_key_left_disabled_verifies_nothing_until_enabled(
    console: ConsoleClient, rsa_pair: RsaPair
) -> None:
    """Without the toggle the key is stored disabled; the Enable button turns it on."""
    _loyalty(console)
    assert _add(console, rsa_pair.public_pem, kid="primary").status_code == 303
    assert (
        console.http.get("/v1/products/loyal/keys/primary", headers=ADMIN).json()["enabled"]
        is False
    )
    toggled = console.post(AUTH + "/keys/update", {"kid": "primary", "enabled": "true"})
    assert toggled.status_code == 303
    assert (
        console.http.get("/v1/products/loyal/keys/primary", headers=ADMIN).json()["enabled"] is True
    )
    assert console.post(AUTH + "/keys/delete", {"kid": "primary"}).status_code == 303
    assert console.http.get("/v1/products/loyal/keys", headers=ADMIN).json() == []


def test_a_jwk_is_accepted_too(console: ConsoleClient, rsa_pair: RsaPair) -> None:
    _loyalty(console)
    public = serialization.load_pem_public_key(rsa_pair.public_pem.encode())
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
    assert _add(console, json.dumps({**jwk, "kid": "from-jwk"}), enabled="true").status_code == 303
    assert console.http.get("/v1/products/loyal/keys/from-jwk", headers=ADMIN).status_code == 200


def test_a_private_key_is_refused_with_the_openssl_command(
    console: ConsoleClient, rsa_pair: RsaPair
) -> None:
    """The API's private_key_not_allowed, with the command that extracts the public half."""
    _loyalty(console)
    page = _add(console, rsa_pair.private_pem, kid="primary", enabled="true")
    assert page.status_code == 422
    error = field_error(page, "key-public_key") or ""
    assert "private key" in error
    assert "openssl pkey -in private.key -pubout -out public.key" in error
    assert console.http.get("/v1/products/loyal/keys", headers=ADMIN).json() == []


def test_a_weak_key_is_refused_with_the_reason(console: ConsoleClient) -> None:
    """An RSA key under 2048 bits: the API's weak_key message, beside the field."""
    _loyalty(console)
    weak = (
        rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505  # weak on purpose
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    page = _add(console, weak, enabled="true")
    api = console.http.post(
        "/v1/products/loyal/keys", json={"public_key": weak}, headers=ADMIN
    ).json()
    assert api["error"] == "weak_key"
    assert field_error(page, "key-public_key") == f"{api['message']} {api['hint']}"


def test_key_form_refusals(console: ConsoleClient, rsa_pair: RsaPair) -> None:
    """Nothing pasted, broken JSON, garbage, and a taken kid each say what is wrong."""
    _loyalty(console)
    assert "Paste a public key" in (field_error(_add(console, ""), "key-public_key") or "")
    assert "not valid JSON" in (field_error(_add(console, "{nope"), "key-public_key") or "")
    garbage = _add(console, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
    assert garbage.status_code == 422
    assert field_error(garbage, "key-public_key")
    _add(console, rsa_pair.public_pem, kid="primary")
    taken = _add(console, rsa_pair.public_pem, kid="primary")
    assert taken.status_code == 409
    assert "already has a key or secret with kid 'primary'" in (field_error(taken, "key-kid") or "")


def test_secrets_are_shown_once_and_rotate_with_a_grace_period(console: ConsoleClient) -> None:
    """A generated secret is on the creation answer only; the older one is retiring; disable
    ends one at once."""
    product = create_product(console.http, id="acme")
    first_kid = product["secret"]["kid"]
    made = console.post(
        "/console/products/acme/authentication/secrets", {"grace_seconds": "600", "kid": "second"}
    )
    assert made.status_code == 201
    value = made.text.split('id="new-secret" type="text" readonly value="', 1)[1].split('"')[0]
    assert len(value) >= 64
    assert "shown this once" in text_of(made)
    states = {
        s["kid"]: s["state"]
        for s in console.http.get("/v1/products/acme/secrets", headers=ADMIN).json()
    }
    assert states == {first_kid: "retiring", "second": "active"}
    later = console.get("/console/products/acme/authentication").text
    assert value not in later
    assert product["secret"]["value"] not in later
    token = jwt.encode(
        {"sub": "u", "iss": "t", "aud": "acme", "iat": int(NOW), "exp": int(NOW) + 60},
        value,
        "HS256",
    )
    assert (
        console.http.get(
            "/v1/auth/verify", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    disabled = console.post(
        "/console/products/acme/authentication/secrets/disable", {"kid": "second"}
    )
    assert disabled.status_code == 303
    assert (
        console.http.get(
            "/v1/auth/verify", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )


def test_an_imported_secret_too_short_is_refused_and_not_echoed(console: ConsoleClient) -> None:
    """The API's weak_key reason; the pasted secret is not sent back into the page."""
    create_product(console.http, id="acme", profile="reditus")
    short = "s3cr3t-" + "x" * 20
    page = console.post(
        "/console/products/acme/authentication/secrets", {"value": short, "grace_seconds": "0"}
    )
    assert page.status_code == 422
    api = console.http.post(
        "/v1/products/acme/secrets", json={"value": short, "grace_seconds": 0}, headers=ADMIN
    ).json()
    assert api["error"] == "weak_key"
    assert field_error(page, "secret-value") == f"{api['message']} {api['hint']}"
    assert short not in page.text
    bad_grace = console.post(
        "/console/products/acme/authentication/secrets", {"grace_seconds": "-1"}
    )
    api = console.http.post(
        "/v1/products/acme/secrets", json={"grace_seconds": -1}, headers=ADMIN
    ).json()
    assert api["message"] == f"grace_seconds: {field_error(bad_grace, 'secret-grace_seconds')}"


def _test_box(console: ConsoleClient, product_id: str, token: str) -> Any:
    return console.post(f"/console/products/{product_id}/authentication/test", {"token": token})


def test_the_test_box_explains_an_expired_token(console: ConsoleClient) -> None:
    """Refused, with when it expired and how to fix it; the passing steps are listed too."""
    product = create_product(console.http, id="acme")
    claims = {
        "sub": "u1",
        "iss": "t",
        "aud": "acme",
        "iat": int(NOW) - 7200,
        "exp": int(NOW) - 3600,
    }
    page = _test_box(console, "acme", jwt.encode(claims, product["secret"]["value"], "HS256"))
    text = text_of(page)
    assert "Refused" in text
    assert "token_expired" in text
    assert "The token expired at" in text
    assert "60 minutes ago" in text
    assert "Generate a new token with a future expiration time" in text
    assert "Passes" in text
    assert "The signature holds" in text


def test_the_test_box_says_valid_and_names_the_user(console: ConsoleClient) -> None:
    product = create_product(console.http, id="acme")
    claims = {"sub": "u1", "iss": "t", "aud": "acme", "iat": int(NOW), "exp": int(NOW) + 60}
    text = text_of(
        _test_box(console, "acme", jwt.encode(claims, product["secret"]["value"], "HS256"))
    )
    flat = " ".join(text.split())
    assert "Valid : this product accepts the token for the user u1" in flat
    assert "Refused" not in flat


def test_the_test_box_applies_the_products_own_rules(console: ConsoleClient) -> None:
    """A revoked token is refused in the box exactly as a real call refuses it; no failure and
    no user is recorded by testing."""
    product = create_product(console.http, id="acme")
    claims = {
        "sub": "u1",
        "iss": "t",
        "aud": "acme",
        "iat": int(NOW),
        "exp": int(NOW) + 60,
        "jti": "t-1",
    }
    token = jwt.encode(claims, product["secret"]["value"], "HS256")
    console.http.post("/v1/products/acme/revocations", json={"jti": "t-1"}, headers=ADMIN)
    text = text_of(_test_box(console, "acme", token))
    assert "token_revoked" in text
    assert "has been revoked" in text
    real = console.http.get("/v1/auth/verify", headers={"Authorization": f"Bearer {token}"})
    assert real.json()["error"] == "token_revoked"
    users = console.http.get("/v1/products/acme/users?include_unlisted=true", headers=ADMIN).json()
    assert users["total"] == 0


def test_the_test_box_explains_garbage_and_asks_for_a_token(console: ConsoleClient) -> None:
    create_product(console.http, id="acme")
    assert "Paste a token to test." in text_of(_test_box(console, "acme", "   "))
    text = text_of(_test_box(console, "acme", "not.a.jwt"))
    assert "Refused" in text
    assert "Fails" in text


def test_the_api_explains_a_token_the_same_way(console: ConsoleClient) -> None:
    """POST /v1/products/{id}/token-explanations: the same findings the box shows."""
    product = create_product(console.http, id="acme")
    claims = {
        "sub": "u1",
        "iss": "t",
        "aud": "acme",
        "iat": int(NOW) - 7200,
        "exp": int(NOW) - 3600,
    }
    token = jwt.encode(claims, product["secret"]["value"], "HS256")
    answer = console.http.post(
        "/v1/products/acme/token-explanations", json={"token": token}, headers=ADMIN
    ).json()
    assert answer["verification"]["valid"] is False
    assert answer["verification"]["error"] == "token_expired"
    box = text_of(_test_box(console, "acme", token))
    for finding in answer["findings"]:
        assert " ".join(finding["message"].split()) in " ".join(box.split())
    assert (
        console.http.post(
            "/v1/products/other/token-explanations", json={"token": token}, headers=ADMIN
        ).status_code
        == 404
    )
