"""When an event happened (``occurred_at``): bounded, stored, and the day its daily limits and
streaks count on; the ledger is told it (``Credit.at``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from plaudit.events.models import Event
from plaudit.loyalty import ledger
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import ADMIN, Clock, bearer
from tests.support.tenant import Tenant

URL = "/v1/products/acme/events"


@pytest.fixture
def acme(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    clock.now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC).timestamp()
    return Tenant(client, factories.product(db, settings, id="acme"), clock)


def _now(clock: Clock) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock.now, dt.UTC)


def _ago(clock: Clock, **delta: float) -> str:
    return (_now(clock) - dt.timedelta(**delta)).isoformat()


def _server(client: TestClient, *events: dict[str, Any]) -> Any:
    return client.post(URL, headers=ADMIN, json={"events": list(events)})


def _earned(response: Any) -> int:
    assert response.status_code == 202, response.text
    return int(response.json()["events"][0]["points_earned"])


def _stored(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Event)) or 0


def test_an_event_is_stored_with_when_it_happened(acme: Tenant, clock: Clock, db: Database) -> None:
    """occurred_at is stored as sent (in UTC); an event without one happened when received."""
    sent = {"user_id": "ann", "type": "visit", "id": "late"}
    assert _server(acme.client, {**sent, "occurred_at": "2026-03-09T23:30:00+01:00"}).is_success
    acme.send("ann", "visit", id="now")
    with db.session() as session:
        rows = session.execute(select(Event.client_event_id, Event.occurred_at))
        stored = {row[0]: row[1] for row in rows}
    assert stored == {
        "late": dt.datetime(2026, 3, 9, 22, 30, tzinfo=dt.UTC),
        "now": _now(clock),
    }


def test_a_daily_limit_counts_on_the_day_the_event_happened(acme: Tenant, clock: Clock) -> None:
    """limit_per_day=1: an event your server sends today about yesterday uses yesterday's
    allowance, not today's; a second one about yesterday earns nothing."""
    acme.rule(event_type="share", points=3, limit_per_day=1)
    yesterday = {"user_id": "ann", "type": "share", "occurred_at": _ago(clock, days=1)}
    assert _earned(_server(acme.client, yesterday)) == 3
    assert acme.send("ann", "share")["points_earned"] == 3
    assert _earned(_server(acme.client, yesterday)) == 0
    assert acme.send("ann", "share")["points_earned"] == 0


def test_a_batch_spanning_days_counts_each_day_s_limit(acme: Tenant, clock: Clock) -> None:
    """Imported history: two events on one day and one on the next, limit 1 a day."""
    acme.rule(event_type="share", points=3, limit_per_day=1)
    events = [
        {"user_id": "ann", "type": "share", "occurred_at": _ago(clock, days=3)},
        {"user_id": "ann", "type": "share", "occurred_at": _ago(clock, days=3, hours=1)},
        {"user_id": "ann", "type": "share", "occurred_at": _ago(clock, days=2)},
    ]
    response = _server(acme.client, *events)
    assert response.status_code == 202, response.text
    assert [e["points_earned"] for e in response.json()["events"]] == [3, 0, 3]


def test_a_streak_counts_the_days_events_happened_on(acme: Tenant, clock: Clock) -> None:
    """Three days of workouts imported in one batch make a streak of 3 and award its badge."""
    acme.admin(
        "POST",
        "/badges",
        201,
        json={
            "name": "On fire",
            "criteria": {"kind": "streak", "event_type": "workout", "days": 3},
        },
    )
    events = [
        {"user_id": "ann", "type": "workout", "occurred_at": _ago(clock, days=days)}
        for days in (2, 1, 0)
    ]
    response = _server(acme.client, *events)
    assert response.status_code == 202, response.text
    assert [e["badges_awarded"] for e in response.json()["events"]] == [[], [], ["On fire"]]
    streak = acme.me("ann")["streaks"][0]
    assert (streak["current"], streak["best"], streak["last_day"]) == (3, 3, "2026-03-10")


def test_a_late_event_does_not_rebuild_a_streak_s_past(acme: Tenant, clock: Clock) -> None:
    """A streak moves forward only: an event dated before its last day leaves it as it is."""
    acme.send("ann", "workout")
    late = {"user_id": "ann", "type": "workout", "occurred_at": _ago(clock, days=1)}
    assert _server(acme.client, late).is_success
    streak = acme.me("ann")["streaks"][0]
    assert (streak["current"], streak["last_day"]) == (1, "2026-03-10")


@pytest.mark.parametrize(
    ("sent", "code"),
    [
        ({"minutes": -6}, "occurred_at_out_of_range"),  # six minutes ahead
        ({"minutes": 6}, "occurred_at_out_of_range"),  # six minutes old
        ({"days": 1}, "occurred_at_out_of_range"),
    ],
)
def test_a_token_s_event_is_refused_outside_its_bounds(
    acme: Tenant, clock: Clock, db: Database, sent: dict[str, float], code: str
) -> None:
    """From a user's token: at most 5 minutes ahead or old (a browser vouches for no other
    time); refused with a stable code and a hint, and nothing is stored."""
    body = acme.send("ann", "visit", expect=422, occurred_at=_ago(clock, **sent))
    assert body["error"] == code
    assert body["field"] == "occurred_at"
    assert "5 minutes" in body["hint"]
    assert _stored(db) == 0


def test_a_token_s_event_within_the_bounds_is_accepted(acme: Tenant, clock: Clock) -> None:
    """Four minutes ahead (a fast clock) and four minutes old (a slow one) are both fine."""
    acme.send("ann", "visit", occurred_at=_ago(clock, minutes=-4))
    acme.send("ann", "visit", occurred_at=_ago(clock, minutes=4))


def test_servers_may_send_a_year_of_history_and_no_more(
    acme: Tenant, clock: Clock, db: Database
) -> None:
    """With the API key: 364 days old is accepted; 366 days old refuses the whole batch."""
    old = {"user_id": "ann", "type": "visit", "occurred_at": _ago(clock, days=364)}
    assert _server(acme.client, old).status_code == 202
    older = {"user_id": "ann", "type": "visit", "occurred_at": _ago(clock, days=366)}
    response = _server(acme.client, {"user_id": "bob", "type": "visit"}, older)
    assert response.status_code == 422
    assert response.json()["error"] == "occurred_at_out_of_range"
    assert "event 2 of the batch" in response.json()["message"]
    assert _stored(db) == 1  # all or none: bob's event was not stored either


def test_occurred_at_needs_a_time_zone(acme: Tenant) -> None:
    """A time without an offset is ambiguous: refused as invalid, naming the field."""
    body = acme.send("ann", "visit", expect=422, occurred_at="2026-03-10T11:00:00")
    assert (body["error"], body["field"]) == ("invalid_request", "occurred_at")


def test_the_ledger_is_told_when_the_earn_happened(
    acme: Tenant, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each credit of a server event carries its event's moment (``Credit.at``; now when none
    was sent), from which the ledger counts a lot's expiry and hold; a token's event, whose
    occurred_at vouches for nothing, carries now."""
    acme.rule(event_type="purchase", points=5)
    seen: list[ledger.Credit] = []
    credit_many = ledger.credit_many

    def spy(session: Any, product: Any, credits: Any, **kwargs: Any) -> Any:
        seen.extend(credits)
        return credit_many(session, product, credits, **kwargs)

    monkeypatch.setattr(ledger, "credit_many", spy)
    sent = {"user_id": "ann", "type": "purchase", "occurred_at": "2026-03-08T10:00:00Z"}
    assert _server(acme.client, sent).status_code == 202
    acme.send("ann", "purchase")
    acme.send("ann", "purchase", occurred_at=_ago(acme.clock, minutes=3))
    assert [credit.at for credit in seen] == [
        dt.datetime(2026, 3, 8, 10, tzinfo=dt.UTC),
        _now(acme.clock),
        _now(acme.clock),
    ]


def test_a_browser_cannot_send_reverses(acme: Tenant) -> None:
    """Taking points back is the tenant's servers' call: a token's event has no such field."""
    body = acme.send("ann", "refund", expect=422, reverses="order-1")
    assert body["field"] == "reverses"


def test_reversing_an_unknown_event_refuses_the_batch(
    acme: Tenant, client: TestClient, db: Database
) -> None:
    """``reverses`` must name an earlier event of the same user; otherwise the call is
    refused with its own code and nothing of it is stored."""
    acme.rule(event_type="purchase", points=5)
    key = bearer(acme.product["api_key"])
    sent = {"user_id": "ann", "type": "purchase", "id": "order-1"}
    assert client.post(URL, headers=key, json=sent).status_code == 202
    for reverses in ("order-2", "evt_000000000000000000000000"):
        refund = {"user_id": "ann", "type": "refund", "id": "refund-1", "reverses": reverses}
        response = client.post(URL, headers=key, json=refund)
        assert response.status_code == 422, response.text
        assert (response.json()["error"], response.json()["field"]) == (
            "unknown_original_event",
            "reverses",
        )
    # Another user's order is not bob's to refund.
    other = {"user_id": "bob", "type": "refund", "reverses": "order-1"}
    assert client.post(URL, headers=key, json=other).json()["error"] == "unknown_original_event"
    assert _stored(db) == 1


def test_a_reversal_names_its_original_by_either_id(
    acme: Tenant, client: TestClient, db: Database
) -> None:
    """The id the tenant sent with the earlier event, or the id Plaudit answered, both find
    it (for the same user); an event never reverses itself."""
    from plaudit.pipeline.reversals import Reversal, resolve
    from plaudit.products.models import Product
    from plaudit.users.models import User

    key = bearer(acme.product["api_key"])
    stored = client.post(URL, headers=key, json={"user_id": "ann", "type": "buy", "id": "o-1"})
    plaudit_id = stored.json()["id"]
    with db.session() as session:
        product = session.get(Product, "acme")
        assert product is not None
        ann = session.scalars(select(User).where(User.external_id == "ann")).one()
        found = resolve(
            session,
            product,
            [Reversal(ann, "evt_x", "o-1", "refund"), Reversal(ann, "evt_y", plaudit_id, "refund")],
        )
        assert found == [plaudit_id, plaudit_id]
        with pytest.raises(Exception, match="no earlier event"):
            resolve(session, product, [Reversal(ann, plaudit_id, "o-1", "refund")])
