"""The analytics API counts a product's referral funnel, points, active users and top rewards
and rules per UTC day over a period, from its own rows only. Every test runs on both stores."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.activity import known_history
from tests.support.service import ADMIN, Clock, bearer
from tests.support.tenant import Tenant

PERIOD = {"from": "2026-03-01", "to": "2026-03-03"}
DAYS = ["2026-03-01", "2026-03-02", "2026-03-03"]


@pytest.fixture
def acme(db: Database, settings: Settings) -> dict[str, Any]:
    """acme and beta, each with the same known history: acme's figures are its own."""
    acme = factories.product(db, settings, id="acme")
    beta = factories.product(db, settings, id="beta")
    with db.session() as session:
        known_history(session, "acme")
        known_history(session, "beta", suffix="_beta")
    return {**acme, "beta_api_key": beta["api_key"]}


def _get(client: TestClient, path: str, expect: int = 200, **params: str) -> Any:
    response = client.get(f"/v1/products/acme/analytics{path}", headers=ADMIN, params=params)
    assert response.status_code == expect, response.text
    return response.json()


def test_the_dashboard_counts_a_known_history_day_by_day(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """Clicks, signups, conversions and rewards; points earned, redeemed, expired and adjusted;
    active users per day and distinct; top rewards and rules (a deleted rule without a name),
    each per UTC day (23:30 is still the same day)."""
    board = _get(client, "", **PERIOD)
    assert board["period"] == {"from": "2026-03-01", "to": "2026-03-03", "time_zone": "UTC"}
    assert board["funnel"] == {
        "days": DAYS,
        "series": {
            "clicks": [2, 1, 0],
            "signups": [1, 1, 0],
            "conversions": [0, 1, 0],
            "rewards": [0, 1, 0],
        },
        "totals": {"clicks": 3, "signups": 2, "conversions": 1, "rewards": 1},
    }
    assert board["points"] == {
        "days": DAYS,
        "series": {
            "earned": [80, 0, 0],
            "redeemed": [0, 30, 10],
            "expired": [0, 0, 5],
            "adjusted": [0, -5, 0],
        },
        "totals": {"earned": 80, "redeemed": 40, "expired": 5, "adjusted": -5},
    }
    assert board["active_users"] == {"days": DAYS, "series": {"active": [2, 2, 0]}, "total": 3}
    assert board["top_rewards"] == [
        {"reward_id": "rwd_mug", "name": "Mug", "redemptions": 2, "points": 40}
    ]
    assert board["top_rules"] == [
        {
            "rule_id": "rul_purchase",
            "name": "Purchase",
            "event_type": "purchase",
            "earns": 1,
            "points": 50,
        },
        {
            "rule_id": "rul_checkin",
            "name": "Daily check-in",
            "event_type": "check_in",
            "earns": 2,
            "points": 20,
        },
        {"rule_id": "rul_gone", "name": None, "event_type": None, "earns": 1, "points": 10},
    ]


def test_each_part_answers_what_the_dashboard_holds(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """/funnel, /points, /active-users, /top-rewards and /top-rules are the dashboard's parts."""
    board = _get(client, "", **PERIOD)
    assert _get(client, "/funnel", **PERIOD) == board["funnel"]
    assert _get(client, "/points", **PERIOD) == board["points"]
    assert _get(client, "/active-users", **PERIOD) == board["active_users"]
    assert _get(client, "/top-rewards", **PERIOD) == board["top_rewards"]
    assert _get(client, "/top-rules", **PERIOD) == board["top_rules"]
    assert _get(client, "/top-rules", limit="1", **PERIOD) == board["top_rules"][:1]


def test_rows_outside_the_period_are_not_counted(client: TestClient, acme: dict[str, Any]) -> None:
    """A one-day period counts that day's rows only."""
    board = _get(client, "", **{"from": "2026-03-02", "to": "2026-03-02"})
    assert board["funnel"]["totals"] == {"clicks": 1, "signups": 1, "conversions": 1, "rewards": 1}
    assert board["points"]["totals"] == {"earned": 0, "redeemed": 30, "expired": 0, "adjusted": -5}
    assert board["active_users"]["total"] == 2
    assert board["top_rules"] == []


def test_the_default_period_is_the_30_days_ending_today(
    client: TestClient, acme: dict[str, Any], clock: Clock
) -> None:
    """Without from and to: 30 days ending with the clock's day; with to alone, ending then."""
    today = factories.at(clock.now).date()
    board = _get(client, "")
    assert board["period"]["to"] == today.isoformat()
    assert len(board["funnel"]["days"]) == 30
    assert board["funnel"]["days"][-1] == today.isoformat()
    ending = _get(client, "/points", to="2026-03-03")
    assert ending["days"][0] == "2026-02-02"
    assert ending["totals"]["earned"] == 80


@pytest.mark.parametrize(
    ("params", "field", "says"),
    [
        ({"from": "2026-03-05", "to": "2026-03-01"}, "from", "after to"),
        ({"from": "2025-01-01", "to": "2026-03-01"}, "from", "at most 366"),
        ({"from": "1969-12-31"}, "from", "outside"),
        ({"to": "9999-12-31"}, "to", "outside"),
        ({"from": "March"}, "from", "date"),
        ({"to": "2026-02-30"}, "to", "date"),
    ],
)
def test_a_bad_period_is_refused_naming_its_parameter(
    client: TestClient, acme: dict[str, Any], params: dict[str, str], field: str, says: str
) -> None:
    """Backwards, longer than 366 days, out of range or not a date: 422 naming the parameter."""
    body = _get(client, "", 422, **params)
    assert body["error"] == "invalid_request"
    assert body["field"] == field
    assert says in body["message"]
    assert body["hint"]


def test_a_product_api_key_reads_its_own_analytics_only(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """acme's API key reads acme's dashboard; to beta's, acme does not exist; no credential
    is a 401."""
    path = "/v1/products/acme/analytics"
    assert client.get(path, headers=bearer(acme["api_key"]), params=PERIOD).status_code == 200
    refused = client.get(path, headers=bearer(acme["beta_api_key"]), params=PERIOD)
    assert refused.status_code == 404, refused.text  # another product does not exist for it
    assert refused.json()["error"] == "not_found"
    assert client.get(path, params=PERIOD).json()["error"] == "unauthenticated"


def test_points_earned_through_the_event_api_are_counted(
    client: TestClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """The rows the write path stores are what the dashboard counts: two check-ins of 10."""
    shop = Tenant(client, factories.product(db, settings, id="shop"), clock)
    shop.rule(name="Check-in", event_type="check_in", points=10)
    shop.send("ann", "check_in")
    shop.send("bob", "check_in")
    response = client.get("/v1/products/shop/analytics", headers=ADMIN)
    board = response.json()
    assert board["points"]["totals"]["earned"] == 20
    assert board["points"]["series"]["earned"][-1] == 20
    assert board["active_users"]["total"] == 2
    assert [(r["name"], r["earns"], r["points"]) for r in board["top_rules"]] == [
        ("Check-in", 2, 20)
    ]
