"""A request that lost to another over the same rows (rolled back whole: nothing of it stored)
answers 503 store_contended with Retry-After, so that a tenant's server knows to send it again;
any other failure of the store stays a 500 that names nothing of it."""

from __future__ import annotations

import json
import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from plaudit.web.errors import response_for


class _PostgresError(Exception):
    """What psycopg raises: the SQLSTATE on the exception."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _answer(orig: Exception) -> tuple[int, str, str | None]:
    response = response_for(OperationalError("INSERT INTO loyalty_accounts", {}, orig))
    return (
        response.status_code,
        json.loads(response.body)["error"],
        response.headers.get("retry-after"),
    )


@pytest.mark.parametrize(
    "orig",
    [
        _PostgresError("40P01"),  # deadlock_detected
        _PostgresError("40001"),  # serialization_failure
        _PostgresError("55P03"),  # lock_not_available (lock_timeout)
        sqlite3.OperationalError("database is locked"),
    ],
    ids=["deadlock", "serialization", "lock timeout", "sqlite locked"],
)
def test_a_transaction_that_lost_to_another_is_503_store_contended_with_retry_after(
    orig: Exception,
) -> None:
    assert _answer(orig) == (503, "store_contended", "1")


@pytest.mark.parametrize(
    "orig",
    [
        _PostgresError("08006"),  # connection_failure
        _PostgresError("53300"),  # too_many_connections
        sqlite3.OperationalError("disk I/O error"),
        Exception("database is locked"),  # not SQLite's own error: not known to be contention
    ],
    ids=["connection lost", "too many connections", "sqlite disk", "foreign"],
)
def test_other_failures_of_the_store_stay_internal_errors(orig: Exception) -> None:
    assert _answer(orig) == (500, "internal_error", None)
