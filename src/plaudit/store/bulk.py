"""Multi-row INSERTs for the event pipeline's batches: one statement for a thousand rows.

SQLAlchemy's own executemany spends more CPU preparing each row's parameters (a dict per row,
then its type processing and compilation bookkeeping) than SQLite spends storing the row; a batch
writes several rows per event. Here a statement's SQL is written once per table, column set and
row count; each row is a tuple in column order, and only the columns whose type needs it (JSON,
timestamps on SQLite) go through SQLAlchemy's own bind processors, so stored values read back
exactly as SQLAlchemy writes them. ``tail`` is the rest of the statement (``ON CONFLICT ...``,
``RETURNING ...``), spelled alike by SQLite and PostgreSQL.

On PostgreSQL the statement is sent with the server's own placeholders (``$1``, ``$2``...)
through psycopg's ``RawCursor``: psycopg rewrites a ``%s`` query into those on every execution
of a query longer than 4 KiB (it caches only shorter ones), and for a thousand rows that rewrite
cost twice what sending the rows did (``bench/events.py``; 34 against 6 µs of client CPU per
row of 15 columns, measured with psycopg 3.3 on this project's machine).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

#: Bound values per statement: SQLite allows 32,766, PostgreSQL 65,535.
MAX_PARAMETERS = 30_000
#: Statements kept made, by table, columns and length: a batch's size varies with its sender.
_KEPT = 256

Processor = Callable[[Any], Any] | None
_UNSEEN = object()


@lru_cache(maxsize=64)
def _processors(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> tuple[Processor, ...]:
    return tuple(
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    )


def _native(dialect: Dialect) -> bool:
    """Whether statements go with the server's numbered placeholders (psycopg's RawCursor)."""
    return dialect.driver == "psycopg"


@lru_cache(maxsize=_KEPT)
def _sql(dialect: Dialect, table: Table, columns: tuple[str, ...], rows: int, tail: str) -> str:
    width = len(columns)
    if _native(dialect):
        groups = ", ".join(
            "(" + ", ".join(f"${row * width + column}" for column in range(1, width + 1)) + ")"
            for row in range(rows)
        )
    else:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        groups = ", ".join(["(" + ", ".join([mark] * width) + ")"] * rows)
    # Only identifiers of our own tables and placeholders: no value is ever written into it.
    head = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "  # noqa: S608
    return head + groups + (f" {tail}" if tail else "")


@contextmanager
def _raw_cursors(driver_connection: Any) -> Iterator[None]:
    """Within: the connection's new cursors are psycopg ``RawCursor``s, so SQLAlchemy still
    runs the statement (its events, its error translation) with numbered placeholders."""
    from psycopg import RawCursor  # noqa: PLC0415  # only with the PostgreSQL extra installed

    before = driver_connection.cursor_factory
    driver_connection.cursor_factory = RawCursor
    try:
        yield
    finally:
        driver_connection.cursor_factory = before


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
        returned.extend(
            _execute(connection, _sql(dialect, table, columns, len(part), tail), tuple(values))
        )
    return returned


def _execute(connection: Connection, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
    """Run a statement of this module's; the rows it returns, if any (as the driver reads them)."""
    if _native(connection.dialect):
        with _raw_cursors(connection.connection.driver_connection):
            result = connection.exec_driver_sql(sql, parameters)
    else:
        result = connection.exec_driver_sql(sql, parameters)
    return list(result.fetchall()) if result.returns_rows else []


def bound(session: Session, table: Table, column: str, values: Sequence[Any]) -> Sequence[Any]:
    """``values`` as SQLAlchemy would bind them to ``table.column`` (for a ``where_in``
    statement, written without SQLAlchemy's types): as they are when its type needs nothing."""
    (process,) = _processors(session.connection().dialect, table, (column,))
    return values if process is None else [process(value) for value in values]


@lru_cache(maxsize=_KEPT)
def _in_sql(dialect: Dialect, statement: str, fixed: int, values: int) -> str:
    # SQLite's ``?`` binds by position: the fixed values' marks must come in their order.
    found = [int(n) for n in re.findall(r"\{(\d+)\}", statement)]
    if found != list(range(fixed)):
        raise ValueError(f"the fixed values' marks {found} are not {{0}}..{{{fixed - 1}}} in order")
    if _native(dialect):
        marks = [f"${n}" for n in range(1, fixed + values + 1)]
    else:
        marks = ["?" if dialect.paramstyle == "qmark" else "%s"] * (fixed + values)
    return statement.format(*marks[:fixed], marks=", ".join(marks[fixed:]))


def where_in(
    session: Session, statement: str, values: Sequence[Any], *, fixed: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    """Run ``statement`` for a long list of ``values``: ``{marks}`` in it stands for one
    placeholder per value (``... IN ({marks})``), ``{0}``, ``{1}``... for the ``fixed`` values
    bound before them, which must appear in the text in that order (SQLite binds its ``?`` by
    position). Once per slice of the list that fits the store's limit on bound values;
    the rows it returns, if any. SQLAlchemy's expanding IN renders and binds each value in
    Python on every execution, which for the thousand users of a batch cost more than reading
    them; here the statement's text is made once per length."""
    if not values:
        return []
    connection = session.connection()
    dialect = connection.dialect
    per_statement = MAX_PARAMETERS - len(fixed)
    returned: list[tuple[Any, ...]] = []
    for start in range(0, len(values), per_statement):
        part = values[start : start + per_statement]
        sql = _in_sql(dialect, statement, len(fixed), len(part))
        returned.extend(_execute(connection, sql, (*fixed, *part)))
    return returned


def random_ids(prefix: str, count: int, *, nbytes: int = 12) -> list[str]:
    """``count`` random row ids (``prefix`` and ``2 * nbytes`` hex digits, as
    ``secrets.token_hex`` makes them), from one draw of the system's randomness for the batch
    instead of one draw an id."""
    pool = secrets.token_bytes(nbytes * count).hex()
    width = 2 * nbytes
    return [prefix + pool[start : start + width] for start in range(0, len(pool), width)]
