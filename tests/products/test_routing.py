"""Routing no tenant can steer: a token routed by its own claims (aud, ProductId) reaches the
one product that answers to the value, and no tenant can make a value answer to two."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from plaudit.products.models import Product
from plaudit.store.db import Database
from tests.console.conftest import ConsoleClient, field_error
from tests.support.service import (
    ADMIN,
    NOW,
    Run,
    bearer,
    cli_error_line,
    cli_json,
    create_product,
    standard_claims,
    verify,
)


@pytest.fixture
def charlie(client: TestClient) -> dict[str, Any]:
    return create_product(client, id="charlie", name="Charlie")


@pytest.fixture
def bravo(client: TestClient) -> dict[str, Any]:
    return create_product(client, id="bravo", name="Bravo")


def _routed_token(product: dict[str, Any], aud: str) -> str:
    """A token with no product header: only its aud says where it goes."""
    return jwt.encode(standard_claims(aud, iat=NOW), product["secret"]["value"], algorithm="HS256")


def _patch(client: TestClient, product: dict[str, Any], **body: Any) -> Any:
    return client.patch(
        f"/v1/products/{product['id']}", json=body, headers=bearer(product["api_key"])
    )


def test_an_audience_naming_another_product_is_refused_and_its_tokens_keep_routing(
    client: TestClient, charlie: dict[str, Any], bravo: dict[str, Any]
) -> None:
    """Bravo's API key cannot set Bravo's audience to Charlie's id (409 routing_conflict), so
    Charlie's tokens routed by their own aud keep verifying."""
    token = _routed_token(charlie, "charlie")
    assert verify(client, token).status_code == 200
    refused = _patch(client, bravo, audience="charlie")
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "routing_conflict"
    assert refused.json()["field"] == "audience"
    assert "bravo" not in refused.json()["message"]
    assert client.get("/v1/products/bravo", headers=ADMIN).json()["audience"] is None
    assert verify(client, token).status_code == 200


def test_no_routing_value_answers_to_two_products(
    client: TestClient, charlie: dict[str, Any], bravo: dict[str, Any]
) -> None:
    """An audience or issuer that is another product's id or audience is 409; an audience of
    one's own id, a cleared value, and an issuer shared with another product are allowed."""
    assert _patch(client, charlie, audience="https://api.charlie.example").status_code == 200
    for body in (
        {"audience": "https://api.charlie.example"},  # Charlie routes by it
        {"issuer": "https://api.charlie.example"},
        {"issuer": "charlie"},  # Charlie's id
    ):
        refused = _patch(client, bravo, **body)
        assert refused.status_code == 409, (body, refused.text)
        assert refused.json()["error"] == "routing_conflict"
    # Charlie's tokens, routed by its audience, reach Charlie alone.
    token = _routed_token(charlie, "https://api.charlie.example")
    assert verify(client, token).json()["product"] == "charlie"
    assert _patch(client, bravo, audience="bravo").status_code == 200
    assert _patch(client, bravo, audience=None).status_code == 200
    assert _patch(client, charlie, issuer="https://idp.example").status_code == 200
    assert _patch(client, bravo, issuer="https://idp.example").status_code == 200


def test_a_new_product_cannot_take_an_id_another_product_routes_by(
    client: TestClient, charlie: dict[str, Any], cli: Run
) -> None:
    """POST /v1/products and `plaudit products create` refuse an id that is another product's
    audience (its claim-routed tokens would stop routing): 409 routing_conflict."""
    assert _patch(client, charlie, audience="delta").status_code == 200
    refused = client.post("/v1/products", json={"name": "Delta", "id": "delta"}, headers=ADMIN)
    assert refused.status_code == 409
    assert refused.json()["error"] == "routing_conflict"
    assert refused.json()["field"] == "id"
    cli_error_line(
        cli("products", "create", "Delta", "--id", "delta", exit_code=1), "routing_conflict"
    )
    assert verify(client, _routed_token(charlie, "delta")).status_code == 200


def test_the_console_refuses_a_conflicting_audience_beside_the_field(
    client: TestClient, charlie: dict[str, Any], bravo: dict[str, Any]
) -> None:
    """The console's settings form saves through the same service: the refusal is shown
    beside the audience field and nothing is saved."""
    console = ConsoleClient(client)
    assert console.sign_in(bravo["api_key"], next="/console/products/bravo").status_code == 303
    page = console.post(
        "/console/products/bravo",
        {"name": "Bravo", "profile": "standard", "audience": "charlie", "leeway_seconds": "30"},
    )
    assert page.status_code == 422
    assert "another product has this id" in (field_error(page, "audience") or "")
    assert client.get("/v1/products/bravo", headers=ADMIN).json()["audience"] is None


def _store_conflict(db: Database) -> None:
    """A conflict as a store made before this rule would hold it."""
    with db.session() as session:
        product = session.get(Product, "bravo")
        assert product is not None
        product.audience = "charlie"


def test_check_routing_lists_conflicts_already_stored(
    client: TestClient, charlie: dict[str, Any], bravo: dict[str, Any], db: Database, cli: Run
) -> None:
    """`plaudit products check-routing` says all is well (exit 0), or lists each value two
    products answer to in a table (exit 1); --json for scripts."""
    assert "No routing conflicts" in cli("products", "check-routing").stdout
    _store_conflict(db)
    table = cli("products", "check-routing", exit_code=1).stdout
    assert "Routing conflicts" in table
    assert "charlie (id), bravo (audience)" in table
    found = cli_json(cli("products", "check-routing", "--json", exit_code=1))
    assert found == [
        {"value": "charlie", "products": ["charlie", "bravo"], "uses": ["id", "audience"]}
    ]


def test_a_stored_conflict_never_stops_a_tenant_saving_its_other_settings(
    client: TestClient, charlie: dict[str, Any], bravo: dict[str, Any], db: Database
) -> None:
    """Only values that change are checked: a product holding a stored conflict still saves
    its name (and the same audience again), and can clear the conflict."""
    _store_conflict(db)
    assert _patch(client, bravo, name="Bravo 2", audience="charlie").status_code == 200
    assert _patch(client, bravo, audience=None).status_code == 200
    assert verify(client, _routed_token(charlie, "charlie")).status_code == 200
