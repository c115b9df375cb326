"""What a database error says of the transaction that met it: PostgreSQL's SQLSTATE, and
whether the transaction lost to another over the same rows (rolled back whole; the same work
may pass when tried again). Read by group commit, to tell one event's bad luck from a failing
store, and by the error rendering, to answer a retry rather than a 500."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError

#: PostgreSQL's lock_not_available: a lock waited for past ``lock_timeout``.
LOCK_TIMEOUT = "55P03"


def sqlstate(error: DBAPIError) -> str:
    """PostgreSQL's code for ``error`` ("" for SQLite's, which have none)."""
    return str(getattr(error.orig, "sqlstate", None) or "")


def lost_over_rows(error: DBAPIError) -> bool:
    """PostgreSQL's deadlock, serialization failure (class 40) or lock wait past its timeout."""
    code = sqlstate(error)
    return code.startswith("40") or code == LOCK_TIMEOUT


def contended(error: DBAPIError) -> bool:
    """``lost_over_rows``, or SQLite's one write lock held past its busy timeout."""
    return lost_over_rows(error) or (
        isinstance(error.orig, sqlite3.OperationalError) and "database is locked" in str(error.orig)
    )
