"""Multi-row INSERTs for the event pipeline's batches: one statement for a thousand rows.

SQLAlchemy's own executemany spends more CPU preparing each row's parameters (a dict per row,
then its type processing and compilation bookkeeping) than SQLite spends storing the row; a batch
writes several rows per event. Here a statement's SQL is written once per table, column set and
row count; each row is a tuple in column order, and only the columns whose type needs it (JSON,
timestamps on SQLite) go through SQLAlchemy's own bind processors, so stored values read back
exactly as SQLAlchemy writes them. ``tail`` is the rest of the statement (``ON CONFLICT ...``,
``RETURNING ...``), spelled alike by SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

#: Bound values per statement: SQLite allows 32,766, PostgreSQL 65,535.
MAX_PARAMETERS = 30_000

Processor = Callable[[Any], Any] | None
_UNSEEN = object()


@lru_cache(maxsize=64)
def _processors(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> tuple[Processor, ...]:
    return tuple(
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    )


@lru_cache(maxsize=64)
def _sql(dialect: Dialect, table: Table, columns: tuple[str, ...], rows: int, tail: str) -> str:
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    group = "(" + ", ".join([mark] * len(columns)) + ")"
    # Only identifiers of our own tables and placeholders: no value is ever written into it.
    head = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "  # noqa: S608
    return head + ", ".join([group] * rows) + (f" {tail}" if tail else "")


def insert_rows(
    session: Session,
    table: Table,
    columns: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    *,
    tail: str = "",
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (tuples in the order of ``columns``) in as few statements as the
    store's limit on bound values allows; the rows the statement's RETURNING gives, if any
    (raw: as the driver reads them)."""
    if not rows:
        return []
    connection = session.connection()
    dialect = connection.dialect
    processors = _processors(dialect, table, columns)
    converting = [(i, p) for i, p in enumerate(processors) if p is not None]
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    returned: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        values: list[Any] = []
        if converting:
            # A batch's rows share values (its moment above all): each converted once.
            last: list[tuple[Any, Any]] = [(_UNSEEN, None)] * len(converting)
            for row in part:
                items = list(row)
                for n, (i, process) in enumerate(converting):
                    value = items[i]
                    seen, done = last[n]
                    if value is not seen:
                        done = process(value)
                        last[n] = (value, done)
                    items[i] = done
                values.extend(items)
        else:
            for row in part:
                values.extend(row)
        result = connection.exec_driver_sql(
            _sql(dialect, table, columns, len(part), tail), tuple(values)
        )
        if result.returns_rows:
            returned.extend(tuple(row) for row in result)
    return returned
