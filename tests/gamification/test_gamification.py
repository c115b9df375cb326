"""Gamification: badges awarded once by their rules, streaks counted in the product's local
days, and leaderboards ranked by points over all time, this week and this month."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from plaudit.gamification import leaderboards
from plaudit.gamification.models import LeaderboardRank
from plaudit.loyalty import ledger
from plaudit.products.models import Product
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.users.models import User
from tests.support import factories
from tests.support.service import ADMIN, Clock, bearer, create_product
from tests.support.tenant import Tenant


@pytest.fixture
def acme(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    return Tenant(client, factories.product(db, settings, id="acme"), clock)


def _badge(acme: Tenant, name: str, **criteria: Any) -> dict[str, Any]:
    result: dict[str, Any] = acme.admin(
        "POST", "/badges", 201, json={"name": name, "icon": "*", "criteria": criteria}
    )
    return result


def _earned(acme: Tenant, sub: str) -> list[str]:
    return [b["name"] for b in acme.me(sub)["badges"] if b["awarded_at"]]


# --- badges -------------------------------------------------------------------------------


def test_an_event_count_badge_is_awarded_at_the_nth_event_once(acme: Tenant) -> None:
    """'Five reviews' arrives with the fifth review, and never again."""
    _badge(acme, "Critic", kind="event_count", event_type="review", count=5)
    results = [acme.send("ann", "review")["badges_awarded"] for _ in range(7)]
    assert results == [[], [], [], [], ["Critic"], [], []]
    assert _earned(acme, "ann") == ["Critic"]


def test_a_points_total_badge_counts_lifetime_points_from_any_source(acme: Tenant) -> None:
    """1,000 lifetime points: earned by events and by a manual adjustment alike; spending
    never takes it back."""
    _badge(acme, "Big spender", kind="points_total", points=1000)
    acme.rule(event_type="purchase", property="amount", rate=1)
    assert acme.send("ann", "purchase", properties={"amount": 600})["badges_awarded"] == []
    acme.admin("POST", "/users/ann/points", 201, json={"amount": 400, "reason": "Bonus"})
    assert _earned(acme, "ann") == ["Big spender"]
    assert acme.send("ann", "purchase", properties={"amount": 5})["badges_awarded"] == []


def test_a_streak_badge_needs_consecutive_days(acme: Tenant, clock: Clock) -> None:
    """Three days in a row; a missed day starts the count again."""
    _badge(acme, "On fire", kind="streak", event_type="workout", days=3)
    awarded = []
    for gap in (0, 1, 2, 1, 1):  # days 1, 2, (skip), 4, 5, 6
        clock.advance(gap * 86_400)
        awarded.append(acme.send("ann", "workout")["badges_awarded"])
    assert awarded == [[], [], [], [], ["On fire"]]


def test_a_disabled_badge_is_not_awarded_but_holders_keep_theirs(acme: Tenant) -> None:
    """Switching a badge off stops new awards; those who hold it still see it."""
    badge = _badge(acme, "Hello", kind="event_count", event_type="hello", count=1)
    acme.send("ann", "hello")
    acme.admin("PATCH", f"/badges/{badge['id']}", json={"enabled": False})
    acme.send("bob", "hello")
    assert _earned(acme, "ann") == ["Hello"]
    assert _earned(acme, "bob") == []
    assert acme.me("bob")["badges"] == []


def test_badges_are_managed_and_validated(acme: Tenant) -> None:
    """Listed with their criteria; a criteria of an unknown kind names its field."""
    badge = _badge(acme, "Critic", kind="event_count", event_type="review", count=5)
    assert badge["criteria"] == {"kind": "event_count", "event_type": "review", "count": 5}
    renamed = acme.admin("PATCH", f"/badges/{badge['id']}", json={"name": "Reviewer"})
    assert renamed["name"] == "Reviewer"
    assert [b["name"] for b in acme.admin("GET", "/badges")] == ["Reviewer"]
    bad = acme.client.post(
        "/v1/products/acme/badges",
        headers=ADMIN,
        json={"name": "X", "criteria": {"kind": "moon_phase"}},
    )
    assert bad.status_code == 422
    assert bad.json()["field"].startswith("criteria")
    acme.admin("DELETE", f"/badges/{badge['id']}", 204)
    assert acme.admin("GET", "/badges") == []


# --- streaks ------------------------------------------------------------------------------


def test_streaks_count_local_days_in_the_products_time_zone(acme: Tenant, clock: Clock) -> None:
    """In America/New_York, 23:30 and 00:30 local are two days (one UTC day); 01:00 and
    23:00 UTC of one UTC day can be two local days too."""
    acme.admin("PATCH", "", json={"time_zone": "America/New_York"})
    clock.now = dt.datetime(2026, 6, 1, 3, 30, tzinfo=dt.UTC).timestamp()  # 31 May 23:30 EDT
    acme.send("ann", "read")
    clock.advance(3600)  # 1 June 00:30 EDT
    acme.send("ann", "read")
    streak = acme.me("ann")["streaks"][0]
    assert (streak["current"], streak["best"], streak["last_day"]) == (2, 2, "2026-06-01")


def test_a_streak_breaks_after_a_missed_day_and_keeps_its_best(acme: Tenant, clock: Clock) -> None:
    """Current drops to 0 once a whole day passes without the event; best stays."""
    for _ in range(4):
        acme.send("ann", "read")
        clock.advance(86_400)
    assert acme.me("ann")["streaks"][0]["current"] == 4  # yesterday counted: still alive
    clock.advance(86_400)
    streak = acme.me("ann")["streaks"][0]
    assert (streak["current"], streak["best"]) == (0, 4)
    acme.send("ann", "read")
    streak = acme.me("ann")["streaks"][0]
    assert (streak["current"], streak["best"]) == (1, 4)


def test_several_events_on_one_day_count_that_day_once(acme: Tenant) -> None:
    """A streak is days, not events."""
    for _ in range(5):
        acme.send("ann", "read")
    assert acme.me("ann")["streaks"][0]["current"] == 1


# --- leaderboards -------------------------------------------------------------------------


def _refresh(acme: Tenant) -> None:
    acme.admin("POST", "/leaderboards/refresh")


def _board(acme: Tenant, sub: str, name: str = "all-time", **params: Any) -> dict[str, Any]:
    response = acme.client.get(
        f"/v1/leaderboards/{name}", headers=bearer(acme.token(sub)), params=params
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _earn(acme: Tenant, sub: str, points: int, **profile: Any) -> None:
    response = acme.client.post(
        "/v1/events",
        headers=bearer(acme.token(sub, **profile)),
        json={"type": "purchase", "properties": {"amount": points}},
    )
    assert response.status_code == 202, response.text


@pytest.fixture
def players(acme: Tenant) -> Tenant:
    acme.rule(event_type="purchase", property="amount", rate=1)
    _earn(acme, "ann", 300, given_name="Ann", family_name="Lee")
    _earn(acme, "bob", 500, given_name="Bob")
    _earn(acme, "cat", 300, name="Cat Stevens")
    _earn(acme, "dan", 100)
    return acme


def test_the_board_ranks_by_points_with_ties_sharing_a_rank(players: Tenant) -> None:
    """Standard competition ranking (1, 2, 2, 4); the reader sees their own row marked
    and their rank; others appear by first name and initial, never by id."""
    _refresh(players)
    board = _board(players, "dan")
    assert [(e["rank"], e["points"]) for e in board["entries"]] == [
        (1, 500),
        (2, 300),
        (2, 300),
        (4, 100),
    ]
    names = {e["display_name"] for e in board["entries"]}
    assert names == {"Bob", "Ann L.", "Cat S.", "A player"}
    assert [e["me"] for e in board["entries"]] == [False, False, False, True]
    assert board["me"] == {"rank": 4, "points": 100}
    assert "ann" not in str(board)
    assert board["as_of"] is not None


def test_top_n_is_limited_and_the_readers_rank_is_there_beyond_it(players: Tenant) -> None:
    """limit=2 shows the top two; the fourth-placed reader still learns their rank."""
    _refresh(players)
    board = _board(players, "dan", limit=2)
    assert len(board["entries"]) == 2
    assert board["me"] == {"rank": 4, "points": 100}


def test_a_new_player_has_no_rank_until_they_earn(players: Tenant) -> None:
    """Zero points: no rank, zero points shown."""
    _refresh(players)
    assert _board(players, "eve")["me"] == {"rank": None, "points": 0}


def test_ranks_change_with_the_next_refresh_not_before(players: Tenant, db: Database) -> None:
    """Reads come from the last snapshot; the background refresh (or the refresh call)
    brings new points in, and does nothing when nothing changed."""
    _refresh(players)
    _earn(players, "dan", 1000)
    assert _board(players, "dan")["me"]["rank"] == 4
    now = dt.datetime.fromtimestamp(players.clock.now, dt.UTC)
    step = leaderboards.Refresher(db)
    assert step(now) == 3
    assert step(now) == 0
    assert _board(players, "dan")["me"] == {"rank": 1, "points": 1100}


def test_the_background_step_refreshes_only_boards_that_moved_or_turned(
    players: Tenant, client: TestClient, db: Database, clock: Clock
) -> None:
    """Points in one product refresh that product's boards only; a new week refreshes the
    weekly board of a product where nothing moved (it is empty now)."""
    other = Tenant(client, create_product(client, id="other"), clock)
    other.rule(event_type="purchase", property="amount", rate=1)
    _earn(other, "zed", 10)
    step = leaderboards.Refresher(db)
    now = dt.datetime.fromtimestamp(clock.now, dt.UTC)
    assert step(now) == 6  # both products, three boards each
    _earn(other, "zed", 5)
    assert step(now) == 3  # only the other product's
    assert step(now) == 0
    clock.advance(7 * 86_400)  # from Monday 24 November 2025 to Monday 1 December
    assert step(dt.datetime.fromtimestamp(clock.now, dt.UTC)) == 4  # both weeks and months
    week = _board(players, "ann", "week")
    assert (week["entries"], week["period"]) == ([], "week:2025-W49")
    assert week["as_of"] is not None  # a fresh, empty snapshot, not a stale one
    assert _board(players, "ann", "all-time")["me"]["rank"] == 2


def test_week_and_month_boards_count_only_their_period(players: Tenant, clock: Clock) -> None:
    """A week later (Monday 24 November 2025 to Monday 1 December) the weekly and the monthly
    boards hold only the new period's points; all time keeps everything."""
    clock.advance(7 * 86_400)
    _earn(players, "dan", 50)
    _refresh(players)
    week = _board(players, "dan", "week")
    assert [(e["display_name"], e["points"]) for e in week["entries"]] == [("A player", 50)]
    assert week["period"].startswith("week:")
    all_time = _board(players, "dan", "all-time")
    assert all_time["me"] == {"rank": 4, "points": 150}
    month = _board(players, "dan", "month")
    assert len(month["entries"]) == 1


def test_an_unknown_board_is_404_and_admins_see_user_ids(players: Tenant) -> None:
    """Only all-time, week and month exist; the management view names users by id."""
    response = players.client.get("/v1/leaderboards/yearly", headers=bearer(players.token("ann")))
    assert response.status_code == 404
    _refresh(players)
    board = players.admin("GET", "/leaderboards/all-time", params={"limit": 1})
    assert board["entries"][0]["user_id"] == "bob"
    assert board["me"] is None


def test_one_products_board_never_shows_another_products_users(
    players: Tenant, client: TestClient, clock: Clock
) -> None:
    """Boards are per product."""
    other = Tenant(client, create_product(client, id="other"), clock)
    other.rule(event_type="purchase", property="amount", rate=1)
    _earn(other, "zed", 9999)
    _refresh(players)
    _refresh(other)
    assert 9999 not in [e["points"] for e in _board(players, "ann")["entries"]]
    assert [e["points"] for e in _board(other, "zed")["entries"]] == [9999]


def test_deleting_a_product_deletes_its_leaderboard_ranks(players: Tenant, db: Database) -> None:
    """Ranks carry no foreign key (refresh speed); the product's deletion still takes them."""
    _refresh(players)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(LeaderboardRank)) == 12
    assert players.client.delete("/v1/products/acme", headers=ADMIN).status_code == 204
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(LeaderboardRank)) == 0


def test_points_committed_late_with_an_older_ledger_id_still_reach_the_board(
    players: Tenant, db: Database, store: Database
) -> None:
    """On PostgreSQL a credit can take ledger id N, and commit after the credit with id N+1
    was ranked: the next background step still ranks it (the newest id alone would say
    'fresh'). SQLite runs one writer at a time, so this cannot happen there."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("needs two concurrent writers: PostgreSQL only")
    now = dt.datetime.fromtimestamp(players.clock.now, dt.UTC)
    step = leaderboards.Refresher(db)
    step(now)

    def credit(session: Any, external_id: str, points: int) -> None:
        product = session.get(Product, "acme")
        user = session.scalar(select(User).where(User.external_id == external_id))
        ledger.credit(session, product, user, points=points, kind="earn", reason="x", now=now)

    late = db.sessions()
    try:
        late.begin()
        credit(late, "dan", 10_000)  # takes the older id, not committed yet
        with db.session() as session:
            credit(session, "cat", 1)  # the newer id, committed first
        later = now + dt.timedelta(seconds=10)
        step(later)  # ranks cat's point; dan's points are not visible yet
        late.commit()
    finally:
        late.close()
    step(later + dt.timedelta(seconds=10))
    board = _board(players, "dan")
    assert board["me"] == {"rank": 1, "points": 10_100}
