"""Events from the tenant's servers: one or a batch of up to 1,000 per call, named users,
idempotent on ids, all-or-nothing per call, and durable once acknowledged."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from plaudit.events.models import Event
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.served import Server
from tests.support.service import ADMIN, ADMIN_TOKEN, Clock, bearer, create_product
from tests.support.tenant import Tenant

URL = "/v1/products/acme/events"


@pytest.fixture
def acme(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    tenant = Tenant(client, factories.product(db, settings, id="acme"), clock)
    tenant.rule(event_type="purchase", property="amount", rate=1)
    return tenant


def _stored(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


def _post(client: TestClient, body: Any, headers: dict[str, str] = ADMIN) -> Any:
    return client.post(URL, headers=headers, json=body)


def test_one_event_names_its_user_who_is_created_on_first_sight(
    acme: Tenant, client: TestClient
) -> None:
    """The API key sends an event for a user Plaudit has not seen: the user appears, earns."""
    key = bearer(acme.product["api_key"])
    response = _post(
        client, {"user_id": "u-77", "type": "purchase", "properties": {"amount": 12}}, key
    )
    assert response.status_code == 202, response.text
    assert response.json()["points_earned"] == 12
    assert client.get("/v1/products/acme/users/u-77", headers=ADMIN).status_code == 200
    assert acme.balance("u-77") == 12


def test_a_batch_of_1000_is_stored_and_applied_in_order(
    acme: Tenant, client: TestClient, db: Database
) -> None:
    """1,000 events for 10 users in one call: one result each, in order, points per user."""
    events = [
        {"user_id": f"u{i % 10}", "type": "purchase", "id": f"o{i}", "properties": {"amount": 1}}
        for i in range(1000)
    ]
    response = _post(client, {"events": events})
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (1000, 0)
    assert len(body["events"]) == 1000
    assert all(r["points_earned"] == 1 for r in body["events"])
    assert _stored(db) == 1000
    assert acme.balance("u3") == 100


def test_a_resent_batch_is_counted_once(acme: Tenant, client: TestClient, db: Database) -> None:
    """A retried batch (the answer was lost) stores and earns nothing again; an id repeated
    inside one batch counts once too."""
    events = [
        {"user_id": "ann", "type": "purchase", "id": "o1", "properties": {"amount": 5}},
        {"user_id": "ann", "type": "purchase", "id": "o2", "properties": {"amount": 7}},
        {"user_id": "ann", "type": "purchase", "id": "o1", "properties": {"amount": 5}},
    ]
    first = _post(client, {"events": events}).json()
    assert (first["accepted"], first["duplicates"]) == (2, 1)
    again = _post(client, {"events": events}).json()
    assert (again["accepted"], again["duplicates"]) == (0, 3)
    assert [r["id"] for r in again["events"]] == [r["id"] for r in first["events"]]
    assert _stored(db) == 2
    assert acme.balance("ann") == 12


def test_a_batch_over_1000_or_with_one_bad_event_is_refused_whole(
    acme: Tenant, client: TestClient, db: Database
) -> None:
    """1,001 events, or one event without a type: 422 naming the field, nothing stored."""
    many = [{"user_id": "ann", "type": "tap"}] * 1001
    too_many = _post(client, {"events": many})
    assert too_many.status_code == 422
    # The field names the shape that was sent (a batch), then its field.
    assert too_many.json()["field"] == "batch.events"
    one_bad = _post(client, {"events": [{"user_id": "ann", "type": "tap"}, {"user_id": "ann"}]})
    assert one_bad.status_code == 422
    assert one_bad.json()["field"] == "batch.events.1.type"
    assert _post(client, {"events": []}).status_code == 422
    single = _post(client, {"user_id": "ann"})
    assert (single.status_code, single.json()["field"]) == (422, "event.type")
    assert _stored(db) == 0


def test_another_products_key_cannot_send_events_here(acme: Tenant, client: TestClient) -> None:
    """A product's API key sends events to its own product only."""
    other = create_product(client, id="other")
    response = _post(client, {"user_id": "ann", "type": "tap"}, bearer(other["api_key"]))
    assert response.status_code == 404
    assert client.post(URL, json={"user_id": "ann", "type": "tap"}).status_code == 401


@pytest.mark.committed
@pytest.mark.slow
def test_an_acknowledged_event_survives_the_process_being_killed(
    settings: Settings, db: Database, tmp_path: Path
) -> None:
    """Batches are acknowledged and the server is SIGKILLed at once: every event it
    answered 202 for is in the store."""
    env = {
        **os.environ,
        "PLAUDIT_DATABASE_URL": settings.resolved_database_url,
        "PLAUDIT_MASTER_KEY": settings.master_key or "",
        "PLAUDIT_ADMIN_TOKEN": ADMIN_TOKEN,
        "PLAUDIT_DATA_DIR": str(tmp_path),
        "PLAUDIT_LOG_LEVEL": "warning",
    }
    server = Server(env, tmp_path / "serve.log")
    acknowledged = 0
    try:
        server.wait_ready(__import__("time").monotonic() + 30)
        with httpx.Client(base_url=server.base, headers=ADMIN, timeout=10) as api:
            assert api.post("/v1/products", json={"name": "A", "id": "acme"}).status_code == 201
            for batch in range(3):
                events = [
                    {"user_id": f"u{i}", "type": "tap", "id": f"b{batch}-{i}"} for i in range(200)
                ]
                response = api.post(URL, json={"events": events})
                assert response.status_code == 202
                acknowledged += response.json()["accepted"]
            os.kill(server.process.pid, signal.SIGKILL)
    finally:
        server.kill() if server.process.poll() is None else None
        server.stop()
    assert acknowledged == 600
    assert _stored(db) == 600
