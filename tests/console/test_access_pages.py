"""The console's API keys, JWKS sources, revocations and leaderboards pages: each action goes
through the management API's own services, answers POST-redirect-GET, and shows what the API
would answer."""

from __future__ import annotations

import re
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import JwksServer

from .conftest import (
    ADMIN,
    NOW,
    ConsoleClient,
    RsaPair,
    create_product,
    field_error,
    text_of,
)

BASE = "/console/products/acme"


def _followed(console: ConsoleClient, answer: Any) -> Any:
    assert answer.status_code == 303, answer.text
    return console.get(answer.headers["location"])


# --- API keys -----------------------------------------------------------------------------


def test_an_api_key_is_shown_once_and_works_until_revoked(console: ConsoleClient) -> None:
    create_product(console.http, id="acme")
    created = console.post(BASE + "/api-keys", {"name": "billing-service"})
    assert created.status_code == 303
    shown = console.get(created.headers["location"])
    assert "shown this once" in text_of(shown)
    value = re.search(r'id="created-api-key" type="text" readonly value="([^"]+)"', shown.text)
    assert value
    api_key = value.group(1)
    bearer = {"Authorization": f"Bearer {api_key}"}
    assert console.http.get("/v1/products/acme", headers=bearer).status_code == 200
    again = console.get(BASE + "/api-keys")
    assert api_key not in again.text
    assert "billing-service" in text_of(again)

    listed = console.http.get("/v1/products/acme/api-keys", headers=ADMIN).json()
    key_id = next(k["id"] for k in listed if k["name"] == "billing-service")
    revoked = _followed(console, console.post(BASE + "/api-keys/revoke", {"id": key_id}))
    assert "API key revoked" in text_of(revoked)
    assert console.http.get("/v1/products/acme", headers=bearer).status_code == 401
    assert "revoked" in text_of(revoked)


def test_an_api_key_needs_a_name(console: ConsoleClient) -> None:
    create_product(console.http, id="acme")
    refused = console.post(BASE + "/api-keys", {"name": ""})
    assert refused.status_code == 422
    assert field_error(refused, "api-key-name")
    assert '<a href="#api-key-name">Name</a>' in refused.text


def test_revoking_the_key_signed_in_with_ends_the_session(client: TestClient) -> None:
    """Signed in with an API key, revoking that key asks to sign in again."""
    product = create_product(client, id="acme")
    console = ConsoleClient(client)
    assert console.sign_in(product["api_key"]).status_code == 303
    page = console.get(BASE + "/api-keys")
    assert "this session" in text_of(page)
    key_id = product["api_key"].split("_")[1]
    revoked = console.post(BASE + "/api-keys/revoke", {"id": key_id})
    assert revoked.status_code == 303
    after = console.get(revoked.headers["location"], follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/console/sign-in")


def test_another_products_key_cannot_be_revoked_from_here(console: ConsoleClient) -> None:
    create_product(console.http, id="acme")
    other = create_product(console.http, id="other")
    key_id = other["api_key"].split("_")[1]
    refused = console.post(BASE + "/api-keys/revoke", {"id": key_id})
    assert refused.status_code == 404
    bearer = {"Authorization": f"Bearer {other['api_key']}"}
    assert console.http.get("/v1/products/other", headers=bearer).status_code == 200


# --- JWKS sources -------------------------------------------------------------------------


def _jwk(pair: RsaPair, kid: str) -> dict[str, Any]:
    public = serialization.load_pem_public_key(pair.public_pem.encode())
    jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def test_a_jwks_source_is_added_shown_with_its_status_and_removed(
    console: ConsoleClient, jwks_server: JwksServer, rsa_pair: RsaPair
) -> None:
    create_product(console.http, id="acme", profile="xtremepush")
    url = jwks_server.serve("/jwks.json", {"keys": [_jwk(rsa_pair, "idp-1")]})
    page = _followed(console, console.post(BASE + "/jwks-sources", {"url": url}))
    shown = text_of(page)
    assert "JWKS source added" in shown
    assert url in shown
    assert "idp-1" in shown
    assert "ok" in shown
    token = jwt.encode(
        {"sub": "u1", "exp": int(NOW) + 3600},
        rsa_pair.private_pem,
        algorithm="RS256",
        headers={"kid": "idp-1"},
    )
    verified = console.http.get(
        "/v1/auth/verify",
        headers={"Authorization": f"Bearer {token}", "X-Plaudit-Product": "acme"},
    )
    assert verified.status_code == 200, verified.text

    taken = console.post(BASE + "/jwks-sources", {"url": url})
    assert taken.status_code == 409
    assert "registered already" in (field_error(taken, "jwks-url") or "")

    source_id = console.http.get("/v1/products/acme/jwks-sources", headers=ADMIN).json()[0]["id"]
    removed = _followed(console, console.post(BASE + "/jwks-sources/delete", {"id": source_id}))
    assert "JWKS source removed" in text_of(removed)
    assert console.http.get("/v1/products/acme/jwks-sources", headers=ADMIN).json() == []


def test_a_jwks_url_that_does_not_answer_is_refused_beside_the_field(
    console: ConsoleClient, jwks_server: JwksServer
) -> None:
    """The API's own message and hint (the fetch happens before anything is stored)."""
    create_product(console.http, id="acme", profile="xtremepush")
    missing = jwks_server.base + "/nothing.json"
    page = console.post(BASE + "/jwks-sources", {"url": missing})
    api = console.http.post(
        "/v1/products/acme/jwks-sources", json={"url": missing}, headers=ADMIN
    ).json()
    assert page.status_code == 422
    assert field_error(page, "jwks-url") == f"{api['message']} {api['hint']}"
    assert missing in page.text  # a URL is no secret: it stays in the box to fix
    bad = console.post(BASE + "/jwks-sources", {"url": missing, "refresh_seconds": "5"})
    assert bad.status_code == 422
    assert field_error(bad, "jwks-refresh_seconds")


def test_fetch_all_now_shows_new_keys_and_a_source_that_stopped_answering(
    console: ConsoleClient, jwks_server: JwksServer, rsa_pair: RsaPair
) -> None:
    """Fetch all now picks up a rotated key set; a source that then stops answering is marked
    failing, with the reason, and the keys it last served still show (and verify)."""
    create_product(console.http, id="acme", profile="xtremepush")
    url = jwks_server.serve("/jwks.json", {"keys": [_jwk(rsa_pair, "idp-1")]})
    _followed(console, console.post(BASE + "/jwks-sources", {"url": url}))
    jwks_server.serve("/jwks.json", {"keys": [_jwk(rsa_pair, "idp-2")]})
    rotated = text_of(_followed(console, console.post(BASE + "/jwks-sources/refresh")))
    assert "Fetched again." in rotated
    assert "idp-2" in rotated
    assert "failing" not in rotated

    jwks_server.serve("/jwks.json", b"gone", status=500)
    failing = text_of(_followed(console, console.post(BASE + "/jwks-sources/refresh")))
    status = console.http.get("/v1/products/acme/jwks-sources", headers=ADMIN).json()[0]
    assert status["last_error"]
    assert "Not fetched again" in failing
    assert "failing" in failing
    assert status["last_error"] in failing
    assert "idp-2" in failing


def test_a_bad_row_id_is_refused_with_a_page(console: ConsoleClient) -> None:
    create_product(console.http, id="acme")
    for path in ("/jwks-sources/delete", "/revocations/delete"):
        for value in ("x", "0", "99999999999", "١"):
            refused = console.post(BASE + path, {"id": value})
            assert refused.status_code == 422, (path, value)
        assert console.post(BASE + path, {"id": "12"}).status_code == 404


# --- revocations --------------------------------------------------------------------------


def _verify(console: ConsoleClient, secret: str, **claims: Any) -> int:
    token = jwt.encode(
        {"sub": "ada", "iss": "t", "aud": "acme", "iat": int(NOW) - 10, "exp": int(NOW) + 60}
        | claims,
        secret,
        "HS256",
    )
    return console.http.get(
        "/v1/auth/verify", headers={"Authorization": f"Bearer {token}"}
    ).status_code


def test_revoking_a_token_and_a_user_and_undoing_it(console: ConsoleClient) -> None:
    product = create_product(console.http, id="acme")
    secret = product["secret"]["value"]
    assert _verify(console, secret, jti="t-1") == 200

    page = _followed(console, console.post(BASE + "/revocations", {"jti": "t-1", "reason": "x"}))
    assert "Revoked" in text_of(page)
    assert "jti=t-1" in text_of(page)
    assert _verify(console, secret, jti="t-1") == 401
    assert _verify(console, secret, jti="t-2") == 200

    _followed(console, console.post(BASE + "/revocations", {"user_id": "ada"}))
    assert _verify(console, secret, jti="t-2") == 401
    listed = console.http.get("/v1/products/acme/revocations", headers=ADMIN).json()
    assert [(r["jti"], r["user_id"]) for r in listed] == [("t-1", None), (None, "ada")]

    for revocation in listed:
        removed = console.post(BASE + "/revocations/delete", {"id": revocation["id"]})
        assert "Revocation removed" in text_of(_followed(console, removed))
    assert _verify(console, secret, jti="t-1") == 200


def test_a_revocation_needs_one_target_in_the_apis_words(console: ConsoleClient) -> None:
    create_product(console.http, id="acme")
    neither = console.post(BASE + "/revocations", {"reason": "x"})
    api = console.http.post(
        "/v1/products/acme/revocations", json={"reason": "x"}, headers=ADMIN
    ).json()
    assert neither.status_code == 422
    assert api["message"] in text_of(neither)
    both = console.post(BASE + "/revocations", {"jti": "a", "issued_before": "2026-01-01T00:00"})
    assert both.status_code == 422
    assert 'value="a"' in both.text
    dated = _followed(
        console,
        console.post(
            BASE + "/revocations", {"user_id": "bob", "issued_before": "2026-01-02T03:04"}
        ),
    )
    assert "issued before 2026-01-02 03:04 UTC" in text_of(dated)


# --- leaderboards -------------------------------------------------------------------------


def test_leaderboards_show_the_top_with_user_ids_after_re_ranking(
    console: ConsoleClient, db: Database, settings: Settings
) -> None:
    factories.product(db, settings, id="acme", published=True)
    factories.users(
        db, "acme", [("ada", {"first_name": "Ada", "last_name": "Lovelace"}), ("bob", {})]
    )
    for user, amount in (("ada", 30), ("bob", 10)):
        earned = console.http.post(
            f"/v1/products/acme/users/{user}/points",
            json={"amount": amount, "reason": "test"},
            headers=ADMIN,
        )
        assert earned.status_code in (200, 201), earned.text
    assert "Not ranked yet" in text_of(console.get(BASE + "/leaderboards"))
    shown = text_of(_followed(console, console.post(BASE + "/leaderboards/refresh")))
    assert "Re-ranked now." in shown
    assert re.search(r"1\s+Ada L\.\s+ada\s+30", shown)
    assert re.search(r"2\s+A player\s+bob\s+10", shown)
    for board in ("week", "month"):
        assert "Ada L." in text_of(console.get(f"{BASE}/leaderboards?board={board}"))
    assert console.get(BASE + "/leaderboards?board=decade").status_code == 404
