"""Days that have ended are counted once and kept: later reads give the same figures from the
kept rows, and a day is kept only an hour after it ended. Both stores."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from plaudit.analytics.models import AnalyticsDay
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.activity import DAY2, Activity, known_history
from tests.support.service import ADMIN, Clock

PERIOD = {"from": "2026-03-01", "to": "2026-03-03"}


@pytest.fixture
def acme(db: Database, settings: Settings) -> dict[str, Any]:
    acme = factories.product(db, settings, id="acme")
    with db.session() as session:
        known_history(session, "acme")
    return acme


def _board(client: TestClient) -> Any:
    response = client.get("/v1/products/acme/analytics", headers=ADMIN, params=PERIOD)
    assert response.status_code == 200, response.text
    return response.json()


def _kept_days(db: Database) -> list[dt.date]:
    with db.session() as session:
        return list(
            session.scalars(
                select(AnalyticsDay.day).where(AnalyticsDay.series == "rolled").order_by("day")
            )
        )


def test_ended_days_give_the_same_figures_once_kept(
    client: TestClient, acme: dict[str, Any], db: Database, clock: Clock
) -> None:
    """Read while the days are open, then a month later twice: the same dashboard each time,
    the second and third from the kept rows of the three days."""
    clock.now = dt.datetime(2026, 3, 3, 23, 0, tzinfo=dt.UTC).timestamp()
    live = _board(client)
    clock.now = dt.datetime(2026, 4, 1, tzinfo=dt.UTC).timestamp()
    assert _board(client) == live
    assert _kept_days(db) == [dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)]
    with db.session() as session:
        kept = session.scalar(select(func.count()).select_from(AnalyticsDay))
    assert _board(client) == live
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(AnalyticsDay)) == kept


def test_a_kept_day_is_read_from_its_rows_not_recounted(
    client: TestClient, acme: dict[str, Any], db: Database, clock: Clock
) -> None:
    """A click stored for a kept day afterwards (a backfill) does not change that day: the
    figures are the day's as counted once it had ended."""
    clock.now = dt.datetime(2026, 4, 1, tzinfo=dt.UTC).timestamp()
    before = _board(client)["funnel"]["series"]["clicks"]
    with db.session() as session:
        Activity(session, "acme", users={}).click("late", DAY2)
    assert _board(client)["funnel"]["series"]["clicks"] == before == [2, 1, 0]


def test_a_day_is_kept_only_an_hour_after_it_ended(
    client: TestClient, acme: dict[str, Any], db: Database, clock: Clock
) -> None:
    """At 00:30 on March 4th, March 3rd is still counted from the rows on each read: a write
    begun before midnight may yet commit."""
    clock.now = dt.datetime(2026, 3, 4, 0, 30, tzinfo=dt.UTC).timestamp()
    _board(client)
    assert _kept_days(db) == [dt.date(2026, 3, 1), dt.date(2026, 3, 2)]
