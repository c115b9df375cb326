"""Insert-or-add statements for counters, written once for both stores.

Counters (balances, tallies, streaks) are changed by one statement each, never read-then-write,
so that concurrent requests on PostgreSQL cannot lose an update.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def _insert(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def insert_ignore(session: Session, table: Table, values: dict[str, Any]) -> bool:
    """Insert the row unless its primary key exists already; True if it was inserted."""
    result = session.execute(_insert(session, table).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)  # type: ignore[attr-defined]


def insert_or_add(
    session: Session, table: Table, values: dict[str, Any], *, add: dict[str, int]
) -> None:
    """Insert the row, or add ``add``'s amounts to the existing row's columns."""
    statement = _insert(session, table).values(**values, **add)
    keys = [column.name for column in table.primary_key.columns]
    session.execute(
        statement.on_conflict_do_update(
            index_elements=keys,
            set_={name: table.c[name] + statement.excluded[name] for name in add},
        )
    )
