"""The set-wise statements the event pipeline writes and reads with (``plaudit.store.bulk``):
a long list goes in slices that fit the store's limit on bound values, a tenant's read never
sees another tenant's rows, ids are random, and on PostgreSQL (numbered placeholders through
psycopg's RawCursor) a refused value is refused as SQLAlchemy always reported it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import DataError, StatementError

from plaudit.pipeline import ingest
from plaudit.products.models import Product
from plaudit.settings import Settings
from plaudit.store import bulk
from plaudit.store.db import Database
from plaudit.users.models import User
from tests.support import factories

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def two_tenants(db: Database, settings: Settings) -> tuple[str, str]:
    """Two products with users of the same names: acme's u0..u11, rival's u0..u5."""
    for product_id, count in (("acme", 12), ("rival", 6)):
        factories.product(db, settings, id=product_id)
        factories.users(db, product_id, [(f"u{i}", {}) for i in range(count)], listed=False)
    return "acme", "rival"


def test_a_batch_reads_only_its_own_tenants_users_in_as_many_statements_as_the_limit_needs(
    db: Database, two_tenants: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "MAX_PARAMETERS", 4)  # 3 names a statement beside the product
    wanted = [f"u{i}" for i in range(14)]  # u12 and u13 are new to acme
    reads: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if statement.startswith("SELECT id, external_id FROM users"):
            reads.append(statement)

    with db.session() as session:
        acme = session.get(Product, "acme")
        assert acme is not None
        connection = session.connection()
        event.listen(connection, "before_cursor_execute", count)
        try:
            members = ingest.members(session, acme, wanted, now=NOW)
        finally:
            event.remove(connection, "before_cursor_execute", count)
        session.commit()
    assert len(reads) == 5  # 14 names, 3 a statement
    assert sorted(members, key=lambda name: int(name[1:])) == wanted
    with db.session() as session:
        rows = session.execute(
            select(User.product_id, User.external_id, User.id, User.last_seen_at)
        )
        by_key = {(product, name): (pk, seen) for product, name, pk, seen in rows}
    for name, member in members.items():
        assert by_key[("acme", name)][0] == member.id  # never rival's user of that name
        assert member.product_id == "acme"
        assert by_key[("acme", name)][1].replace(tzinfo=dt.UTC) == NOW
    assert all(
        seen.replace(tzinfo=dt.UTC) != NOW for (p, _), (_, seen) in by_key.items() if p == "rival"
    )


def test_a_published_products_known_users_are_listed_by_the_batch_that_names_them(
    db: Database, settings: Settings
) -> None:
    factories.product(db, settings, id="acme")
    factories.users(db, "acme", [("ann", {}), ("bob", {})], listed=False)
    with db.session() as session:
        acme = session.get(Product, "acme")
        assert acme is not None
        acme.published = True
        ingest.members(session, acme, ["ann"], now=NOW)
        session.commit()
    with db.session() as session:
        listed = dict(session.execute(select(User.external_id, User.listed_at)).all())
    assert listed["ann"] is not None
    assert listed["ann"].replace(tzinfo=dt.UTC) == NOW
    assert listed["bob"] is None


def test_fixed_values_out_of_their_order_are_refused_before_anything_runs(db: Database) -> None:
    """SQLite binds ``?`` by position: ``{1}`` before ``{0}`` would bind the wrong values."""
    with db.session() as session, pytest.raises(ValueError, match="in order"):
        bulk.where_in(
            session,
            "UPDATE users SET name = {1} WHERE product_id = {0} AND id IN ({marks})",
            [1],
            fixed=("acme", "x"),
        )


def test_where_in_with_nothing_to_look_for_runs_nothing(db: Database) -> None:
    with db.session() as session:
        assert bulk.where_in(session, "SELECT id FROM users WHERE id IN ({marks})", []) == []


def test_random_ids_are_as_many_distinct_prefixed_hex_ids_as_asked() -> None:
    ids = bulk.random_ids("evt_", 1000)
    assert len(ids) == len(set(ids)) == 1000
    assert all(re.fullmatch(r"evt_[0-9a-f]{24}", one) for one in ids)
    assert bulk.random_ids("ep_", 3, nbytes=8)[0].startswith("ep_")
    assert len(bulk.random_ids("ep_", 3, nbytes=8)[0]) == len("ep_") + 16
    assert bulk.random_ids("x_", 0) == []


def test_a_nul_in_a_multi_row_insert_is_refused_on_either_store_before_it_is_stored(
    db: Database, two_tenants: tuple[str, str]
) -> None:
    users = User.__table__
    with db.session() as session, pytest.raises((DataError, StatementError)):
        bulk.insert_rows(
            session,
            users,  # type: ignore[arg-type]
            ("product_id", "external_id", "extra", "first_seen_at", "last_seen_at"),
            [("acme", "fine", {}, NOW, NOW), ("acme", "bad\x00id", {}, NOW, NOW)],
        )
    with db.session() as session:
        names = set(session.scalars(select(User.external_id).where(User.product_id == "acme")))
    assert "fine" not in names


def test_a_refused_read_is_refused_on_either_store_and_leaves_the_connection_as_it_was(
    db: Database, two_tenants: tuple[str, str]
) -> None:
    """On PostgreSQL the RawCursor is the connection's only for the statement: a failing one
    too (SQLite's guard refuses the NUL before the driver sees it)."""
    with db.session() as session:
        driver = session.connection().connection.driver_connection
        before = getattr(driver, "cursor_factory", None)
        with pytest.raises((DataError, StatementError)):
            bulk.where_in(
                session,
                "SELECT id FROM users WHERE product_id = {0} AND external_id IN ({marks})",
                ["a\x00b"],
                fixed=("acme",),
            )
        assert getattr(driver, "cursor_factory", None) is before
