"""JWKS sources: Plaudit fetches a tenant's published key set itself, caches it, refreshes it in
the background and on an unknown kid, keeps the last good set, and never fetches a URL a token
names or a private address unless the operator allows it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from plaudit.app import create_app
from plaudit.products import jwks
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support.service import (
    ADMIN,
    NOW,
    Clock,
    JwksServer,
    RsaPair,
    create_product,
    product_header,
    verify,
)


def _jwk(pair: RsaPair, kid: str) -> dict[str, Any]:
    public = serialization.load_pem_public_key(pair.public_pem.encode())
    jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
    return {**jwk, "kid": kid, "alg": "RS256", "use": "sig"}


def _token(pair: RsaPair, kid: str, **header: Any) -> str:
    return jwt.encode(
        {"sub": "user_1", "exp": int(NOW) + 3600},
        pair.private_pem,
        algorithm="RS256",
        headers={"kid": kid, **header},
    )


def _register(client: TestClient, url: str, product: str = "acme") -> Any:
    return client.post(f"/v1/products/{product}/jwks-sources", json={"url": url}, headers=ADMIN)


@pytest.fixture
def other_app(settings: Settings, db: Database, clock: Clock) -> Iterator[Any]:
    """A client factory for an app built from changed settings, on the same store."""
    clients: list[TestClient] = []

    def make(**changes: Any) -> TestClient:
        app = create_app(settings.model_copy(update=changes), db=db, clock=clock, background=False)
        test_client = TestClient(app, raise_server_exceptions=False)
        test_client.__enter__()
        clients.append(test_client)
        return test_client

    yield make
    for test_client in clients:
        test_client.__exit__(None, None, None)


def test_a_registered_jwks_is_fetched_and_its_keys_verify(
    client: TestClient, jwks_server: JwksServer, rsa_pair: RsaPair
) -> None:
    """POST .../jwks-sources fetches the set at once; its keys verify tokens by kid."""
    create_product(client, id="acme", profile="xtremepush")
    url = jwks_server.serve("/.well-known/jwks.json", {"keys": [_jwk(rsa_pair, "k1")]})
    response = _register(client, url)
    assert response.status_code == 201, response.text
    source = response.json()
    assert source["url"] == url
    assert source["kids"] == ["k1"]
    assert source["fetched_at"] is not None
    assert source["last_error"] is None
    assert jwks_server.hits["/.well-known/jwks.json"] == 1

    verified = verify(client, _token(rsa_pair, "k1"), **product_header("acme"))
    assert verified.status_code == 200, verified.text
    assert verified.json()["key_id"] == "k1"
    listed = client.get("/v1/products/acme/jwks-sources", headers=ADMIN).json()
    assert [s["url"] for s in listed] == [url]


def test_a_rotated_key_is_picked_up_on_its_unknown_kid(
    client: TestClient, jwks_server: JwksServer, rsa_pair: RsaPair, rsa_pair_2: RsaPair
) -> None:
    """A token naming a kid not yet seen makes Plaudit refetch the set, and then verifies."""
    create_product(client, id="acme", profile="xtremepush")
    url = jwks_server.serve("/jwks", {"keys": [_jwk(rsa_pair, "k1")]})
    assert _register(client, url).status_code == 201
    jwks_server.serve("/jwks", {"keys": [_jwk(rsa_pair, "k1"), _jwk(rsa_pair_2, "k2")]})

    response = verify(client, _token(rsa_pair_2, "k2"), **product_header("acme"))
    assert response.status_code == 200, response.text
    assert response.json()["key_id"] == "k2"
    assert jwks_server.hits["/jwks"] == 2
    assert client.get("/v1/products/acme/jwks-sources", headers=ADMIN).json()[0]["kids"] == [
        "k1",
        "k2",
    ]
    still_unknown = verify(client, _token(rsa_pair_2, "k3"), **product_header("acme"))
    assert still_unknown.json()["error"] == "unknown_key"


def test_refetching_on_unknown_kids_is_rate_limited(
    other_app: Any, jwks_server: JwksServer, rsa_pair: RsaPair
) -> None:
    """Within jwks_min_refetch_seconds, unknown kids do not make Plaudit fetch again."""
    client = other_app(jwks_min_refetch_seconds=3600)
    create_product(client, id="acme", profile="xtremepush")
    url = jwks_server.serve("/jwks", {"keys": [_jwk(rsa_pair, "k1")]})
    assert _register(client, url).status_code == 201
    for n in range(5):
        response = verify(client, _token(rsa_pair, f"made-up-{n}"), **product_header("acme"))
        assert response.json()["error"] == "unknown_key"
    assert jwks_server.hits["/jwks"] == 1


def test_the_background_refresh_picks_up_a_new_key_when_due(
    other_app: Any, db: Database, jwks_server: JwksServer, rsa_pair: RsaPair, rsa_pair_2: RsaPair
) -> None:
    """A due refresh (the background loop's step) fetches the set; the keystore then serves it."""
    client = other_app(jwks_min_refetch_seconds=3600)
    create_product(client, id="acme", profile="xtremepush")
    url = jwks_server.serve("/jwks", {"keys": [_jwk(rsa_pair, "k1")]})
    assert _register(client, url).status_code == 201
    assert verify(client, _token(rsa_pair, "k1"), **product_header("acme")).status_code == 200
    jwks_server.serve("/jwks", {"keys": [_jwk(rsa_pair_2, "k2")]})

    state = client.app.state.plaudit  # type: ignore[attr-defined]
    assert jwks.refresh_due(db, client=state.http, allow_private=True) == 0  # not due
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3601)
    assert jwks.refresh_due(db, client=state.http, allow_private=True, now=later) == 1
    assert client.app.state.verification.keystore.refresh() == ["acme"]  # type: ignore[attr-defined]
    assert verify(client, _token(rsa_pair_2, "k2"), **product_header("acme")).status_code == 200
    assert verify(client, _token(rsa_pair, "k1"), **product_header("acme")).json()["error"] == (
        "unknown_key"
    )


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b"oops"), (200, b"{not json"), (200, b'{"keys": []}'), (200, b'{"keys": "k1"}')],
)
def test_the_last_good_set_is_kept_when_fetching_fails(
    client: TestClient,
    jwks_server: JwksServer,
    rsa_pair: RsaPair,
    rsa_pair_2: RsaPair,
    status: int,
    body: bytes,
) -> None:
    """A failing or garbled JWKS endpoint leaves the keys fetched before in place."""
    create_product(client, id="acme", profile="xtremepush")
    url = jwks_server.serve("/jwks", {"keys": [_jwk(rsa_pair, "k1")]})
    assert _register(client, url).status_code == 201
    jwks_server.serve("/jwks", body, status=status)

    unknown = verify(client, _token(rsa_pair_2, "k2"), **product_header("acme"))
    assert unknown.status_code == 401
    assert unknown.json()["error"] == "unknown_key"
    assert jwks_server.hits["/jwks"] == 2  # it did try
    assert verify(client, _token(rsa_pair, "k1"), **product_header("acme")).status_code == 200
    source = client.get("/v1/products/acme/jwks-sources", headers=ADMIN).json()[0]
    assert source["kids"] == ["k1"]
    assert source["last_error"]


def test_a_url_that_serves_no_key_set_is_refused_at_registration(
    client: TestClient, jwks_server: JwksServer
) -> None:
    """Registering a URL that does not answer a usable JWKS is a 422 naming 'url'."""
    create_product(client, id="acme")
    for path, status, body in (
        ("/missing", 404, b"no"),
        ("/html", 200, b"<html></html>"),
        ("/empty", 200, b'{"keys": []}'),
    ):
        url = jwks_server.serve(path, body, status=status)
        response = _register(client, url)
        assert response.status_code == 422, response.text
        assert response.json()["field"] == "url"
    assert client.get("/v1/products/acme/jwks-sources", headers=ADMIN).json() == []


def test_a_url_registered_twice_is_refused(
    client: TestClient, jwks_server: JwksServer, rsa_pair: RsaPair
) -> None:
    """The same JWKS URL twice for one product is a conflict."""
    create_product(client, id="acme")
    url = jwks_server.serve("/jwks", {"keys": [_jwk(rsa_pair, "k1")]})
    assert _register(client, url).status_code == 201
    again = _register(client, url)
    assert again.status_code == 409
    assert again.json()["field"] == "url"


def test_deleting_a_source_removes_its_keys(
    client: TestClient, jwks_server: JwksServer, rsa_pair: RsaPair
) -> None:
    """DELETE .../jwks-sources/{id}: its keys stop verifying at once."""
    create_product(client, id="acme", profile="xtremepush")
    source = _register(client, jwks_server.serve("/jwks", {"keys": [_jwk(rsa_pair, "k1")]})).json()
    token = _token(rsa_pair, "k1")
    assert verify(client, token, **product_header("acme")).status_code == 200
    deleted = client.delete(f"/v1/products/acme/jwks-sources/{source['id']}", headers=ADMIN)
    assert deleted.status_code == 204
    assert verify(client, token, **product_header("acme")).json()["error"] == "unknown_key"
    again = client.delete(f"/v1/products/acme/jwks-sources/{source['id']}", headers=ADMIN)
    assert again.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/jwks",
        "https://127.0.0.1:{port}/jwks",
        "https://localhost/jwks",
        "https://10.0.0.7/jwks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/jwks",
        "http://example.com/jwks",
        "ftp://example.com/jwks",
        "https://user:pass@example.com/jwks",
        "/relative/jwks",
    ],
)
def test_private_and_unsafe_urls_are_refused_unless_allowed(
    other_app: Any, jwks_server: JwksServer, rsa_pair: RsaPair, url: str
) -> None:
    """Without PLAUDIT_ALLOW_PRIVATE_URLS, loopback, private and non-https URLs are refused."""
    client = other_app(allow_private_urls=False)
    create_product(client, id="acme")
    jwks_server.serve("/jwks", {"keys": [_jwk(rsa_pair, "k1")]})
    port = jwks_server.base.rsplit(":", 1)[1]
    response = _register(client, url.format(port=port))
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "unsafe_url"
    assert response.json()["field"] == "url"
    assert "PLAUDIT_ALLOW_PRIVATE_URLS" in response.json()["hint"]
    assert jwks_server.hits == {}


def test_a_tokens_jku_or_x5u_is_never_fetched(
    client: TestClient, jwks_server: JwksServer, rsa_pair: RsaPair, rsa_pair_2: RsaPair
) -> None:
    """A token pointing at its own key set (jku, x5u) is judged by the product's keys only."""
    create_product(client, id="acme", profile="xtremepush")
    assert (
        _register(client, jwks_server.serve("/jwks", {"keys": [_jwk(rsa_pair, "k1")]})).status_code
        == 201
    )
    evil = jwks_server.serve("/evil.json", {"keys": [_jwk(rsa_pair_2, "evil")]})
    for header in ({"jku": evil}, {"x5u": evil}, {"jku": evil, "jwk": _jwk(rsa_pair_2, "evil")}):
        forged = _token(rsa_pair_2, "evil", **header)
        response = verify(client, forged, **product_header("acme"))
        assert response.status_code == 401
        assert response.json()["error"] in ("unknown_key", "invalid_token")
        forged_k1 = _token(rsa_pair_2, "k1", **header)
        assert verify(client, forged_k1, **product_header("acme")).json()["error"] == (
            "invalid_signature"
        )
    assert "/evil.json" not in jwks_server.hits


def test_a_product_without_a_jwks_source_never_fetches(
    client: TestClient, jwks_server: JwksServer, rsa_pair: RsaPair
) -> None:
    """An unknown kid at a product with no JWKS source is unknown_key, with nothing fetched."""
    create_product(client, id="acme", profile="xtremepush")
    evil = jwks_server.serve("/evil.json", {"keys": [_jwk(rsa_pair, "evil")]})
    response = verify(client, _token(rsa_pair, "evil", jku=evil), **product_header("acme"))
    assert response.json()["error"] == "unknown_key"
    assert jwks_server.hits == {}
