"""Users: mapped from verified tokens, refreshed by later ones, listed in All Users once the
product is published, searchable and paginated."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import ADMIN, bearer, standard_claims, verify


@pytest.fixture
def product(db: Database, settings: Settings) -> dict[str, Any]:
    return factories.product(db, settings, id="acme")


def _sign(product: dict[str, Any], sub: str, **profile: Any) -> str:
    return jwt.encode(
        standard_claims(product["id"], sub=sub, **profile),
        product["secret"]["value"],
        algorithm="HS256",
    )


def _users(client: TestClient, **params: Any) -> Any:
    response = client.get("/v1/products/acme/users", params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def _publish(client: TestClient) -> None:
    assert client.patch("/v1/products/acme", json={"published": True}, headers=ADMIN).is_success


def test_the_first_valid_token_creates_the_profile(
    client: TestClient, product: dict[str, Any]
) -> None:
    """Email, names and locale come from the token's claims into the user's profile."""
    _publish(client)
    token = _sign(
        product,
        "u-1",
        email="ada@example.com",
        given_name="Ada",
        family_name="Lovelace",
        name="Ada Lovelace",
        locale="en_GB",
    )
    verified = verify(client, token).json()
    assert verified["user"] == {
        "id": "u-1",
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "name": "Ada Lovelace",
        "locale": "en_GB",
    }
    user = client.get("/v1/products/acme/users/u-1", headers=ADMIN).json()
    assert user["email"] == "ada@example.com"
    assert user["first_name"] == "Ada"
    assert user["last_name"] == "Lovelace"
    assert user["locale"] == "en_GB"
    assert user["listed"] is True
    assert user["first_seen_at"] == user["last_seen_at"]


def test_later_tokens_refresh_the_profile_and_keep_what_they_leave_out(
    client: TestClient, product: dict[str, Any]
) -> None:
    """A new email replaces the old one; a claim a later token omits is not erased."""
    _publish(client)
    verify(client, _sign(product, "u-1", email="old@example.com", given_name="Ada"))
    verify(client, _sign(product, "u-1", email="new@example.com", jti="second"))
    user = client.get("/v1/products/acme/users/u-1", headers=ADMIN).json()
    assert user["email"] == "new@example.com"
    assert user["first_name"] == "Ada"
    assert user["last_seen_at"] >= user["first_seen_at"]
    assert _users(client)["total"] == 1


def test_a_refused_token_maps_no_user(client: TestClient, product: dict[str, Any]) -> None:
    """A token that fails verification never creates or changes a user."""
    _publish(client)
    forged = jwt.encode(standard_claims("acme", sub="intruder"), "x" * 64, algorithm="HS256")
    assert verify(client, forged).status_code == 401
    assert client.get("/v1/products/acme/users/intruder", headers=ADMIN).status_code == 404
    assert _users(client, include_unlisted=True)["total"] == 0


def test_users_are_listed_only_once_the_product_is_published(
    client: TestClient, product: dict[str, Any]
) -> None:
    """Before publishing tokens verify for testing; their users are kept but not listed."""
    assert verify(client, _sign(product, "tester")).status_code == 200
    assert _users(client)["total"] == 0
    hidden = _users(client, include_unlisted=True)
    assert [u["id"] for u in hidden["users"]] == ["tester"]
    assert hidden["users"][0]["listed"] is False

    _publish(client)
    assert verify(client, _sign(product, "customer")).status_code == 200
    assert [u["id"] for u in _users(client)["users"]] == ["customer"]
    assert verify(client, _sign(product, "tester", jti="again")).status_code == 200
    assert {u["id"] for u in _users(client)["users"]} == {"customer", "tester"}


def test_all_users_is_searchable(client: TestClient, product: dict[str, Any]) -> None:
    """q matches the id, email and names, case-insensitively; % and _ are plain characters."""
    _publish(client)
    people = [
        ("u-ada", {"email": "ada@example.com", "given_name": "Ada", "family_name": "Lovelace"}),
        ("u-alan", {"email": "alan@example.org", "given_name": "Alan", "family_name": "Turing"}),
        ("u_grace", {"email": "grace@navy.mil", "given_name": "Grace", "family_name": "Hopper"}),
    ]
    for sub, profile in people:
        assert verify(client, _sign(product, sub, **profile)).status_code == 200

    def ids(q: str) -> set[str]:
        return {u["id"] for u in _users(client, q=q)["users"]}

    assert ids("LOVELACE") == {"u-ada"}
    assert ids("example") == {"u-ada", "u-alan"}
    assert ids("u-al") == {"u-alan"}
    assert ids("grace@navy") == {"u_grace"}
    assert ids("_") == {"u_grace"}  # not a wildcard
    assert ids("%") == set()
    assert ids("nobody") == set()
    assert _users(client, q="example")["total"] == 2


def test_all_users_is_paginated_newest_first(client: TestClient, product: dict[str, Any]) -> None:
    """limit and offset page through the list; total counts every match."""
    _publish(client)
    for n in range(5):
        assert verify(client, _sign(product, f"user-{n}")).status_code == 200
    pages = [_users(client, limit=2, offset=offset) for offset in (0, 2, 4)]
    assert [[u["id"] for u in page["users"]] for page in pages] == [
        ["user-4", "user-3"],
        ["user-2", "user-1"],
        ["user-0"],
    ]
    assert {page["total"] for page in pages} == {5}
    assert pages[1]["limit"] == 2
    assert pages[1]["offset"] == 2
    assert _users(client, offset=10)["users"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_bad_paging_parameters_are_422(
    client: TestClient, product: dict[str, Any], params: dict[str, Any], field: str
) -> None:
    """Out-of-range or non-numeric paging is a 422 naming the parameter."""
    response = client.get("/v1/products/acme/users", params=params, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_a_products_api_key_reads_its_users(client: TestClient, product: dict[str, Any]) -> None:
    """The product's own API key may read All Users and one user."""
    _publish(client)
    verify(client, _sign(product, "u-1", email="a@example.com"))
    key = bearer(product["api_key"])
    assert client.get("/v1/products/acme/users", headers=key).json()["total"] == 1
    assert client.get("/v1/products/acme/users/u-1", headers=key).json()["email"] == (
        "a@example.com"
    )
    missing = client.get("/v1/products/acme/users/u-404", headers=key)
    assert missing.status_code == 404
    assert missing.json()["error"] == "not_found"


def test_an_integer_user_id_is_mapped_as_text(client: TestClient, product: dict[str, Any]) -> None:
    """A numeric sub (some backends sign their database id) becomes the user id "42"."""
    _publish(client)
    claims = standard_claims("acme")
    claims["sub"] = 42
    token = jwt.encode(claims, product["secret"]["value"], algorithm="HS256")
    response = verify(client, token)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["id"] == "42"
    assert client.get("/v1/products/acme/users/42", headers=ADMIN).status_code == 200
