"""The product's programs (rules, badges, tiers, webhook endpoints) are kept in memory per
process: every change of them through Plaudit gives the product a new ``programs_version``,
which every process reads with the product, so the next event sees the change."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from plaudit.products.models import Product
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.webhooks.models import WebhookMessage
from tests.support import factories
from tests.support.service import Clock
from tests.support.tenant import Tenant


@pytest.fixture
def acme(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    return Tenant(client, factories.product(db, settings, id="acme"), clock)


def _version(db: Database) -> str:
    with db.session() as session:
        return str(session.scalar(select(Product.programs_version).where(Product.id == "acme")))


def test_every_change_of_a_program_gives_the_product_a_new_version(
    acme: Tenant, db: Database
) -> None:
    """Creating, changing and deleting a rule, a badge, the tiers and a webhook endpoint each
    move the version another process compares; sending an event does not."""
    seen = [_version(db)]

    def changed(method: str, path: str, expect: int, **kwargs: Any) -> Any:
        answer = acme.admin(method, path, expect, **kwargs)
        seen.append(_version(db))
        assert seen[-1] != seen[-2], f"{method} {path} left the version as it was"
        return answer

    rule = changed(
        "POST", "/loyalty/rules", 201, json={"name": "r", "event_type": "a", "points": 1}
    )
    changed("PATCH", f"/loyalty/rules/{rule['id']}", 200, json={"points": 2})
    changed("DELETE", f"/loyalty/rules/{rule['id']}", 204)
    criteria = {"kind": "event_count", "event_type": "a", "count": 2}
    badge = changed("POST", "/badges", 201, json={"name": "b", "criteria": criteria})
    changed("PATCH", f"/badges/{badge['id']}", 200, json={"enabled": False})
    changed("DELETE", f"/badges/{badge['id']}", 204)
    changed("PUT", "/loyalty/tiers", 200, json={"tiers": [{"name": "Gold", "threshold": 9}]})
    changed("PUT", "/loyalty/tiers", 200, json={"tiers": []})
    hook = changed(
        "POST",
        "/webhooks",
        201,
        json={"url": "http://127.0.0.1:9/h", "event_types": ["points.earned"]},
    )
    changed("PATCH", f"/webhooks/{hook['id']}", 200, json={"enabled": False})
    changed("DELETE", f"/webhooks/{hook['id']}", 204)
    acme.send("ann", "a")
    assert _version(db) == seen[-1]


def test_the_next_event_applies_a_changed_program(acme: Tenant, db: Database) -> None:
    """Rules, badges, tiers and endpoints changed between two events: the second event earns,
    awards, moves tiers and queues by the new ones, not by a kept copy."""
    rule = acme.rule(event_type="visit", points=5)
    assert acme.send("ann", "visit")["points_earned"] == 5
    acme.admin("PATCH", f"/loyalty/rules/{rule['id']}", json={"points": 7})
    assert acme.send("ann", "visit")["points_earned"] == 7
    criteria = {"kind": "event_count", "event_type": "visit", "count": 3}
    acme.admin("POST", "/badges", 201, json={"name": "Regular", "criteria": criteria})
    assert acme.send("ann", "visit")["badges_awarded"] == ["Regular"]
    acme.admin("PUT", "/loyalty/tiers", json={"tiers": [{"name": "Gold", "threshold": 20}]})
    acme.send("ann", "visit")
    assert acme.me("ann")["tier"]["name"] == "Gold"
    hook = {"url": "http://127.0.0.1:9/h", "event_types": ["points.earned"]}
    acme.admin("POST", "/webhooks", 201, json=hook)
    acme.send("ann", "visit")
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(WebhookMessage)) == 1
