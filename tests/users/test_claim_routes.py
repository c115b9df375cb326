"""A repeated token routed by its own claims (no X-Plaudit-Product) is routed once and then
served like a header-routed one, until a product changes here or in another process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from plaudit.app import create_app
from plaudit.products.keystore import Keystore
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support.service import ADMIN, NOW, Clock, create_product, standard_claims, verify


@pytest.fixture
def acme(client: TestClient) -> dict[str, Any]:
    return create_product(client, id="acme")


def _routed_token(product: dict[str, Any], jti: str = "1") -> str:
    """No product header will come with it: only its aud says where it goes."""
    return jwt.encode(
        standard_claims(product["id"], iat=NOW, jti=jti),
        product["secret"]["value"],
        algorithm="HS256",
    )


def _keystore(client: TestClient) -> Keystore:
    keystore: Keystore = client.app.state.verification.keystore  # type: ignore[attr-defined]
    return keystore


@pytest.fixture
def routings(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Each routing decision the client's keystore makes from a token's claims."""
    return _count_routes(_keystore(client), monkeypatch)


def _count_routes(keystore: Keystore, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    made: list[Any] = []
    route: Callable[..., Any] = keystore.route

    def counted(claims: Any) -> Any:
        made.append(claims.get("aud"))
        return route(claims)

    monkeypatch.setattr(keystore, "route", counted)
    return made


def test_a_repeated_claim_routed_token_is_routed_once(
    client: TestClient, acme: dict[str, Any], routings: list[Any]
) -> None:
    """Three calls with the same token, no header: one routing decision, three answers."""
    token = _routed_token(acme)
    for _ in range(3):
        answer = verify(client, token)
        assert answer.status_code == 200, answer.text
        assert answer.json()["product"] == "acme"
    assert routings == ["acme"]


def test_a_token_first_seen_with_the_header_is_routed_once_without_it(
    client: TestClient, acme: dict[str, Any], routings: list[Any]
) -> None:
    """Verified (and cached) through the header first, the token's first claim-routed call
    routes it and the next ones do not."""
    token = _routed_token(acme)
    assert verify(client, token, **{"X-Plaudit-Product": "acme"}).status_code == 200
    assert verify(client, token).status_code == 200
    assert verify(client, token).status_code == 200
    assert routings == ["acme"]


def test_a_change_to_a_product_routes_remembered_tokens_again(
    client: TestClient, acme: dict[str, Any], routings: list[Any]
) -> None:
    """A product saved through this process forgets the routes remembered before."""
    token = _routed_token(acme)
    verify(client, token)
    patched = client.patch("/v1/products/acme", json={"leeway_seconds": 5}, headers=ADMIN)
    assert patched.status_code == 200, patched.text
    assert verify(client, token).status_code == 200
    assert routings == ["acme", "acme"]


def test_a_deleted_product_no_longer_gets_its_remembered_tokens(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """The route was remembered; the product goes; the same token now routes nowhere."""
    token = _routed_token(acme)
    assert verify(client, token).status_code == 200
    assert client.delete("/v1/products/acme", headers=ADMIN).status_code == 204
    refused = verify(client, token)
    assert refused.status_code == 401
    assert refused.json()["error"] == "unknown_product"


@pytest.fixture
def two_apps(
    settings: Settings, db: Database, clock: Clock
) -> Iterator[tuple[TestClient, TestClient]]:
    """Two apps on one store, each with its own memory, as two processes would have."""
    first = TestClient(create_app(settings, db=db, clock=clock, background=False))
    second = TestClient(create_app(settings, db=db, clock=clock, background=False))
    with first, second:
        yield first, second


def test_a_change_made_by_another_process_routes_remembered_tokens_again(
    two_apps: tuple[TestClient, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second app remembers a route; the first changes the product; after the second's
    next poll of the products' versions it routes the token again."""
    first, second = two_apps
    acme = create_product(first, id="acme")
    token = _routed_token(acme)
    routings = _count_routes(_keystore(second), monkeypatch)
    assert verify(second, token).status_code == 200
    assert verify(second, token).status_code == 200
    assert routings == ["acme"]
    first.patch("/v1/products/acme", json={"leeway_seconds": 5}, headers=ADMIN)
    assert _keystore(second).refresh() == ["acme"]
    assert verify(second, token).status_code == 200
    assert routings == ["acme", "acme"]
