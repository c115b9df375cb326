"""A hostile tenant, and the store's other writers, against the product a group of single
events reads by its stamp (``products/current.py``): the row this process built is taken
only while its stamp is the store's, is never attached to a session nor changed by the events
that read it, and a group's lock timeout (set first) bounds that read and ends with its transaction. Every test
runs on SQLite and PostgreSQL, except the lock timeout's (PostgreSQL's own)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text, update

from plaudit.pipeline import client_events
from plaudit.products import current
from plaudit.products.current import current_product
from plaudit.products.models import Product
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.grouping import SECONDS
from tests.support.service import Clock, create_product
from tests.support.tenant import Tenant


def _kept(product_id: str) -> Product:
    return current._kept[product_id][1]


def test_a_product_deleted_and_made_again_with_its_id_is_read_afresh(
    client: TestClient, acme: Tenant, clock: Clock
) -> None:
    """acme, holding points 3 days, is deleted and made again under the same id without a
    hold: the new product's first event earns available points, not the old one's pending."""
    acme.admin("PATCH", "", json={"points_hold_days": 3})
    acme.rule(event_type="purchase", points=10)
    acme.send("ann", "purchase")
    assert acme.me("ann")["points"]["pending"] == 10
    acme.admin("DELETE", "", 204)
    again = Tenant(client, create_product(client, id="acme"), clock)
    again.rule(event_type="purchase", points=10)
    again.send("ann", "purchase")
    points = again.me("ann")["points"]
    assert (points["balance"], points["pending"]) == (10, 0)


@pytest.mark.committed  # the other writer is another engine: it sees only what was committed
def test_a_change_made_by_another_process_is_read_by_the_next_event(
    acme: Tenant, db: Database
) -> None:
    """The CLI or another worker changes the hold (through the ORM) and the zone (a Core
    UPDATE, as ``programs_changed`` writes): this process's next event obeys both."""
    acme.rule(event_type="purchase", points=10)
    acme.send("ann", "purchase")  # acme is kept
    other = Database(db.url)
    try:
        with other.session() as session:
            product = session.get(Product, "acme")
            assert product is not None
            product.points_hold_days = 3
        with other.session() as session:
            session.execute(
                update(Product).where(Product.id == "acme").values(time_zone="Asia/Tokyo")
            )
    finally:
        other.dispose()
    acme.send("ann", "purchase")
    assert acme.me("ann")["points"]["pending"] == 10
    assert (_kept("acme").points_hold_days, _kept("acme").time_zone) == (3, "Asia/Tokyo")


def test_the_kept_product_is_no_sessions_and_no_event_changes_it(
    client: TestClient, acme: Tenant, db: Database, settings: Settings, clock: Clock
) -> None:
    """Events through rules, a badge, tiers, a hold and expiring lots, of two tenants: each
    tenant's kept row is its own, detached, unchanged, and equal to the store's."""
    rival = Tenant(client, factories.product(db, settings, id="rival"), clock)
    for tenant in (acme, rival):
        tenant.admin("PATCH", "", json={"points_hold_days": 2, "points_lot_expiry_days": 30})
        tenant.rule(event_type="purchase", points=10)
        tenant.admin(
            "POST",
            "/badges",
            201,
            json={
                "name": "First",
                "criteria": {"kind": "event_count", "event_type": "purchase", "count": 1},
            },
        )
        for sub in ("ann", "bob", "cat"):
            tenant.send(sub, "purchase", properties={"amount": 5})
    for tenant in (acme, rival):
        kept = _kept(tenant.id)
        state = inspect(kept)
        assert state.detached
        assert not state.modified
        assert not state.expired_attributes
        with db.session() as session:
            stored = session.get(Product, tenant.id)
            assert stored is not None
            assert stored is not kept
            columns = [c.key for c in inspect(Product).column_attrs]
            assert {c: getattr(kept, c) for c in columns} == {
                c: getattr(stored, c) for c in columns
            }
    assert _kept("acme").id == "acme"
    assert _kept("rival").id == "rival"


@pytest.mark.committed  # readers and the writer each their own connection
def test_a_reader_never_gets_a_setting_older_than_the_last_committed_one(
    db: Database, settings: Settings
) -> None:
    """Four threads read the product over and over while another commits twenty changes of
    its hold: no transaction begun after a change was committed is given the product from
    before it."""
    factories.product(db, settings, id="acme")
    committed = 0
    done = threading.Event()
    stale: list[tuple[int, Any]] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            while not done.is_set():
                floor = committed
                with db.session() as session:
                    held = current_product(session, "acme").points_hold_days or 0
                if held < floor:
                    stale.append((floor, held))
        except BaseException as error:  # reported by the test
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for days in range(1, 21):
            with db.session() as session:
                product = session.get(Product, "acme")
                assert product is not None
                product.points_hold_days = days
            committed = days
    finally:
        done.set()
        for thread in threads:
            thread.join(SECONDS)
    assert not errors
    assert not stale
    with db.session() as session:
        assert current_product(session, "acme").points_hold_days == 20


# --- PostgreSQL's lock timeout ----------------------------------------------------------------


def _postgres(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("lock_timeout: PostgreSQL only (SQLite has one writer for everything)")


def _idle_lock_timeouts(db: Database) -> list[str]:
    """``lock_timeout`` on every connection the pool holds idle, all checked out at once."""
    pool: Any = db.engine.pool
    connections = [db.engine.connect() for _ in range(max(pool.checkedin(), 1))]
    try:
        return [str(c.execute(text("SHOW lock_timeout")).scalar_one()) for c in connections]
    finally:
        for connection in connections:
            connection.close()


class Failing:
    """The pipeline fails while ``on`` (after the product, and its lock timeout, were read),
    in a group and again alone."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.on = True
        self.failed = 0
        real = client_events.run

        def run(*args: Any, **kwargs: Any) -> Any:
            if self.on:
                self.failed += 1
                raise RuntimeError("the pipeline failed")
            return real(*args, **kwargs)

        monkeypatch.setattr(client_events, "run", run)


@pytest.mark.committed  # each group its own transaction on a pooled connection
def test_the_lock_timeout_of_a_group_never_stays_on_a_pooled_connection(
    acme: Tenant, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After groups that failed (rolled back) and groups that were stored (committed), every
    connection the pool keeps waits for locks as long as the server's default says."""
    _postgres(db)
    failing = Failing(monkeypatch)
    failed = acme.client.post(
        "/v1/events",
        json={"type": "level_completed"},
        headers={"Authorization": f"Bearer {acme.token('ann')}"},
    )
    assert failed.status_code == 500, failed.text
    assert failing.failed >= 1
    failing.on = False
    for sub in ("ann", "bob", "cat"):
        acme.send(sub, "level_completed")
    assert set(_idle_lock_timeouts(db)) == {"0"}


@pytest.mark.committed
def test_a_locked_products_table_makes_a_single_event_answer_user_busy_not_hang(
    acme: Tenant, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the products table locked by another transaction (as a migration locks it), a
    user's event waits for it no longer than its lock timeouts (shortened here to 100 and
    200 ms), then answers 503 user_busy; before the fix the group's first read was not bounded
    by the lock timeout, which its own statement set. The test holds the lock for at most
    SECONDS (10 s)."""
    _postgres(db)
    monkeypatch.setattr(client_events, "LOCK_PATIENCE_MS", 100)
    monkeypatch.setattr(client_events, "PATIENT_LOCK_MS", 200)
    token = acme.token("ann")  # verified and mapped before the table is locked
    assert acme.client.get(
        "/v1/auth/verify", headers={"Authorization": f"Bearer {token}"}
    ).is_success
    answers: list[Any] = []

    def send() -> None:
        answers.append(
            acme.client.post(
                "/v1/events",
                json={"type": "level_completed"},
                headers={"Authorization": f"Bearer {token}"},
            )
        )

    with db.engine.connect() as locker:
        locker.execute(text("LOCK TABLE products IN ACCESS EXCLUSIVE MODE"))
        thread = threading.Thread(target=send)
        thread.start()
        thread.join(SECONDS)
        answered = not thread.is_alive()
        locker.rollback()  # the lock released: a request still waiting goes on
    thread.join(SECONDS)
    assert answered
    assert answers[0].status_code == 503, answers[0].text
    assert answers[0].json()["error"] == "user_busy"
