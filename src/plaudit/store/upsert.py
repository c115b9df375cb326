"""Insert-or-ignore and insert-or-add statements for counters, written once for both stores.

Counters (balances, tallies, streaks) change by one statement each, never read-then-write, so
that concurrent requests on PostgreSQL cannot lose an update. The statements are built once per
table and column set, with bind parameters: building a SQLAlchemy statement costs more than
running it on SQLite, and events run several per event (see bench/events.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def dialect_insert(dialect: str, table: Table) -> Any:
    """INSERT with the dialect's ON CONFLICT clauses (SQLite and PostgreSQL spell them alike)."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


@lru_cache(maxsize=64)
def _ignore(dialect: str, table: Table, columns: tuple[str, ...]) -> Any:
    values = {name: bindparam(name, type_=table.c[name].type) for name in columns}
    # RETURNING tells an insert from a skipped one: psycopg reports no rowcount (-1) here.
    first_key = next(iter(table.primary_key.columns))
    return (
        dialect_insert(dialect, table).values(values).on_conflict_do_nothing().returning(first_key)
    )


@lru_cache(maxsize=64)
def _add(dialect: str, table: Table, columns: tuple[str, ...], added: tuple[str, ...]) -> Any:
    values = {name: bindparam(name, type_=table.c[name].type) for name in columns + added}
    statement = dialect_insert(dialect, table).values(values)
    keys = [column.name for column in table.primary_key.columns]
    return statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: table.c[name] + statement.excluded[name] for name in added},
    )


def insert_ignore(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert the row unless it conflicts with an existing one; True if it was inserted."""
    statement = _ignore(dialect_of(session), table, tuple(values))
    return session.connection().execute(statement, values).first() is not None


def insert_or_add(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], *, add: tuple[str, ...]
) -> None:
    """Insert each row, or add its ``add`` columns' amounts to the existing row's."""
    if not rows:
        return
    columns = tuple(name for name in rows[0] if name not in add)
    statement = _add(dialect_of(session), table, columns, add)
    session.connection().execute(statement, list(rows))
