"""Events: a user's token with the write scope sends them; the same event id is stored once."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from plaudit.events.models import Event
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import ADMIN, NOW, bearer, create_product, standard_claims


@pytest.fixture
def token(db: Database, settings: Settings) -> str:
    product = factories.product(db, settings, id="acme")
    return jwt.encode(standard_claims("acme"), product["secret"]["value"], algorithm="HS256")


def _count(db: Database, product_id: str = "acme") -> int:
    with db.session() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Event).where(Event.product_id == product_id)
            )
            or 0
        )


def test_an_event_is_accepted_with_its_stored_id(
    client: TestClient, token: str, db: Database
) -> None:
    """POST /v1/events answers 202 with the id it stored, and maps the token's user."""
    response = client.post(
        "/v1/events",
        headers=bearer(token),
        json={"type": "level_completed", "properties": {"n": 1}},
    )
    assert response.status_code == 202, response.text
    assert response.json()["id"].startswith("evt_")
    assert response.json()["duplicate"] is False
    assert _count(db) == 1
    user = client.get("/v1/products/acme/users/user_123", headers=ADMIN)
    assert user.status_code == 200


def test_the_same_event_id_twice_is_stored_once(
    client: TestClient, token: str, db: Database
) -> None:
    """A retried event (same id) answers the stored event and is not stored again."""
    body = {"type": "purchase", "id": "order-1001", "properties": {"total": 30}}
    first = client.post("/v1/events", headers=bearer(token), json=body)
    second = client.post("/v1/events", headers=bearer(token), json=body)
    assert first.status_code == second.status_code == 202
    assert second.json() == {
        "id": first.json()["id"],
        "duplicate": True,
        "points_earned": 0,
        "badges_awarded": [],
    }
    assert _count(db) == 1
    other = client.post("/v1/events", headers=bearer(token), json={**body, "id": "order-1002"})
    assert other.json()["id"] != first.json()["id"]
    assert _count(db) == 2


def test_event_ids_are_per_product(client: TestClient, token: str, db: Database) -> None:
    """Two products may use the same event id without either shadowing the other."""
    other = create_product(client, id="other")
    other_token = jwt.encode(standard_claims("other"), other["secret"]["value"], algorithm="HS256")
    body = {"type": "signup", "id": "evt-1"}
    a = client.post("/v1/events", headers=bearer(token), json=body)
    b = client.post("/v1/events", headers=bearer(other_token), json=body)
    assert a.json()["id"] != b.json()["id"]
    assert b.json()["duplicate"] is False
    assert _count(db, "acme") == _count(db, "other") == 1


def test_event_ids_are_per_user(client: TestClient, db: Database) -> None:
    """Another user's event with the same id is its own event, never the first user's echo."""
    secret = create_product(client, id="acme")["secret"]["value"]
    ann = jwt.encode({**standard_claims("acme"), "sub": "ann"}, secret, algorithm="HS256")
    bob = jwt.encode({**standard_claims("acme"), "sub": "bob"}, secret, algorithm="HS256")
    body = {"type": "signup", "id": "e1"}
    first = client.post("/v1/events", headers=bearer(ann), json=body)
    second = client.post("/v1/events", headers=bearer(bob), json=body)
    assert second.status_code == 202, second.text
    assert second.json()["duplicate"] is False
    assert second.json()["id"] != first.json()["id"]
    assert _count(db, "acme") == 2


def test_tokens_without_a_scope_claim_may_send_events(client: TestClient) -> None:
    """The widget guides' tokens carry no scope: they get read and write."""
    product = create_product(client, id="widget", profile="reditus")
    token = jwt.encode(
        {"ProductId": "widget", "UserId": "42", "iat": int(NOW)},
        product["secret"]["value"],
        algorithm="HS512",
    )
    response = client.post("/v1/events", headers=bearer(token), json={"type": "share"})
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "type"),
        ({"type": ""}, "type"),
        ({"type": "has spaces"}, "type"),
        ({"type": "x" * 129}, "type"),
        ({"type": "ok", "properties": [1, 2]}, "properties"),
        ({"type": "ok", "id": ""}, "id"),
        ({"type": "ok", "user_id": "someone-else"}, "user_id"),
    ],
)
def test_invalid_events_are_422_naming_the_field(
    client: TestClient, token: str, body: dict[str, Any], field: str
) -> None:
    """A bad event is refused by field; a token cannot name another user."""
    response = client.post("/v1/events", headers=bearer(token), json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_an_event_without_a_token_is_401(client: TestClient, token: str) -> None:
    """No token: missing_token, with the RFC 6750 header."""
    response = client.post("/v1/events", json={"type": "ok"})
    assert response.status_code == 401
    assert response.json()["error"] == "missing_token"
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_request"')
