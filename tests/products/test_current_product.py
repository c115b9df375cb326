"""A user's events read their product by its stamp (``products/current.py``): the row built once
per change of it, never a change late. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from plaudit.errors import NotFound
from plaudit.products.current import current_product
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import Clock
from tests.support.tenant import Tenant


@pytest.fixture
def acme(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    return Tenant(client, factories.product(db, settings, id="acme"), clock)


def _read(db: Database) -> tuple[Any, list[str]]:
    """The product as a new transaction reads it, and the statements it took."""
    statements: list[str] = []

    def seen(*args: Any) -> None:
        if not args[2].startswith(("SAVEPOINT", "RELEASE")):  # the test's isolation
            statements.append(args[2])

    with db.session() as session:
        event.listen(session.get_bind(), "before_cursor_execute", seen)
        try:
            return current_product(session, "acme"), statements
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", seen)


def test_an_unchanged_product_is_read_by_its_stamp_alone(acme: Tenant, db: Database) -> None:
    first, _ = _read(db)
    again, statements = _read(db)
    assert again is first
    assert len(statements) == 1
    assert "updated_at" in statements[0]
    assert "time_zone" not in statements[0]


def test_a_change_of_the_product_is_read_by_the_next_transaction(
    acme: Tenant, db: Database
) -> None:
    before, _ = _read(db)
    acme.admin("PATCH", "", json={"time_zone": "Europe/Paris", "points_hold_days": 3})
    after, _ = _read(db)
    assert (before.time_zone, before.points_hold_days) == ("UTC", None)
    assert (after.time_zone, after.points_hold_days) == ("Europe/Paris", 3)


def test_a_change_of_its_programs_is_read_by_the_next_transaction(
    acme: Tenant, db: Database
) -> None:
    before, _ = _read(db)
    acme.rule(event_type="purchase", points=5)
    after, _ = _read(db)
    assert after.programs_version != before.programs_version


def test_events_earn_by_the_settings_in_force_when_they_are_stored(acme: Tenant) -> None:
    """Through the API: a hold set between two events holds the second event's points only."""
    acme.rule(event_type="purchase", points=10)
    acme.send("ann", "purchase")
    acme.admin("PATCH", "", json={"points_hold_days": 3})
    acme.send("ann", "purchase")
    points = acme.me("ann")["points"]
    assert (points["balance"], points["pending"]) == (10, 10)


def test_a_missing_product_is_not_found(db: Database) -> None:
    for product_id in ("nobody", "nul\x00id"):
        with pytest.raises(NotFound), db.session() as session:
            current_product(session, product_id)
