"""Engines and sessions for SQLite (the embedded default) and PostgreSQL (production, scale-out)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

import structlog
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

#: The execution option a read-only session sets on its connection (``Database.read_session``).
READ_ONLY = "plaudit_read_only"

#: SQLite's ``synchronous`` levels Plaudit accepts. FULL (the default) syncs the WAL at every
#: commit, so an acknowledged write survives power loss; NORMAL syncs only at checkpoints and
#: may lose the last commits on power loss (never on a process crash). See docs/operations.md.
SqliteSynchronous = Literal["FULL", "NORMAL", "EXTRA"]


def make_engine(
    url: str, *, sqlite_synchronous: SqliteSynchronous = "FULL", **kwargs: Any
) -> Engine:
    if sqlite_synchronous not in ("FULL", "NORMAL", "EXTRA"):  # it is put into a PRAGMA
        raise ValueError(f"unknown SQLite synchronous level {sqlite_synchronous!r}")
    if url.startswith("sqlite"):
        if ":///" in url and not url.endswith(":memory:"):
            Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # WAL lets readers run beside the one writer; foreign keys are off by default.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA synchronous={sqlite_synchronous}")
            cursor.close()
            # Let SQLAlchemy, not the driver, begin transactions (SQLAlchemy's pysqlite recipe):
            # SAVEPOINTs then work, and see _begin_immediate.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            # A deferred transaction that reads and then writes cannot wait for a writer that
            # holds the lock: SQLite answers "database is locked" at once. Taking the write lock
            # at BEGIN makes concurrent first sights of one user queue up instead of failing.
            if connection.get_execution_options().get(READ_ONLY):
                # A read that may last (a streamed export): WAL lets it run beside the writer,
                # where the write lock would stop every tenant's writes for as long as it lasts.
                connection.exec_driver_sql("BEGIN")
            else:
                connection.exec_driver_sql("BEGIN IMMEDIATE")

        @event.listens_for(engine, "before_cursor_execute")
        def _refuse_nul(
            _conn: Any, _cursor: Any, _statement: str, parameters: Any, *_rest: Any
        ) -> None:
            # PostgreSQL refuses a NUL in text (a DataError, answered 422); SQLite would store
            # it, and a lookup by that value would then miss. The same input behaves the same
            # on both stores: refused before it is written or compared.
            if _holds_nul(parameters):
                raise sqlite3.DataError("A text value holds a NUL character.")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    return create_engine(url, **kwargs)


#: Values that hold no text: skipped by their exact type, before the slower isinstance tests
#: (a batch of events binds tens of thousands of values a statement).
_NO_TEXT = frozenset({int, float, bool, type(None), dt.datetime, dt.date, bytes})


def _holds_nul(parameters: Any) -> bool:
    if isinstance(parameters, Mapping):
        values: Any = parameters.values()
    elif isinstance(parameters, Sequence) and not isinstance(parameters, str | bytes):
        values = parameters
    else:
        return False
    for value in values:
        kind = type(value)
        if kind is str:
            if "\x00" in value:
                return True
        elif kind in _NO_TEXT:
            continue
        elif isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, Mapping | list | tuple) and _holds_nul(value):
            return True  # executemany: a sequence of parameter sets
    return False


class Database:
    """An engine and its session factory. Services take the session as their first argument."""

    def __init__(
        self, url: str, *, sqlite_synchronous: SqliteSynchronous = "FULL", **engine_kwargs: Any
    ) -> None:
        self.url = url
        self.engine = make_engine(url, sqlite_synchronous=sqlite_synchronous, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A unit of work that only reads, rolled back at the end: on SQLite a deferred
        transaction, which never takes the write lock (a slow reader holds no one's writes)."""
        with self.sessions() as session:
            if self.is_sqlite and isinstance(self.engine, Engine):
                session.connection(execution_options={READ_ONLY: True})
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()


T = TypeVar("T")
_log = structlog.get_logger("plaudit")


def each_product(
    db: Database,
    due: Iterable[tuple[str, T]],
    work: Callable[[Session, str, list[T]], int],
    *,
    failed: set[str],
    failure: str,
) -> int:
    """A background step's work, product by product in id order, each product's items in a
    transaction of their own: a product whose work fails is logged (``failure``, with the
    error's type only) and added to ``failed``, so that the caller leaves it out for the rest of
    its run; one tenant's failure never holds another's work back. The sum of what ``work``
    returns."""
    by_product: dict[str, list[T]] = {}
    for product_id, item in due:
        by_product.setdefault(product_id, []).append(item)
    done = 0
    for product_id, items in sorted(by_product.items()):
        try:
            with db.session() as session:
                done += work(session, product_id, items)
        except Exception as exc:  # logged; the other products go on
            failed.add(product_id)
            _log.warning(failure, product_id=product_id, error_type=type(exc).__name__)
    return done
