"""A hostile tenant, user and anonymous client against what round 4 added: points lots, holds
and reversals, ``occurred_at`` and ``reverses`` on events, reward code pools and tenant
fulfilment, referral screening and its review queue, tiers held by a rolling window.

Each test is one attack; each asserts the refusal (or that the attack changed nothing), so that
a regression reopens a hole loudly. Where an attack succeeded, the test names the fix.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from plaudit.loyalty import ledger
from plaudit.loyalty.models import LoyaltyAccount
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.users.models import User
from tests.referrals.shop import Shop
from tests.support import factories
from tests.support.service import ADMIN, Clock, bearer
from tests.support.tenant import Tenant

CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def acme(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    return Tenant(client, factories.product(db, settings, id="acme"), clock)


@pytest.fixture
def rival(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    return Tenant(client, factories.product(db, settings, id="rival"), clock)


def _as_rival(rival: Tenant, method: str, path: str, **kwargs: Any) -> Any:
    """A call with the rival's own API key to a path of acme's."""
    return rival.client.request(method, path, headers=bearer(rival.product["api_key"]), **kwargs)


def _server(tenant: Tenant, expect: int = 202, **event: Any) -> Any:
    response = tenant.client.post(
        f"/v1/products/{tenant.id}/events",
        headers=bearer(tenant.product["api_key"]),
        json=event,
    )
    assert response.status_code == expect, response.text
    return response.json()


def _balances_hold(db: Database) -> None:
    """No balance is negative, and each is its ledger's sum (with what is pending)."""
    with db.session() as session:
        for account in session.scalars(select(LoyaltyAccount)):
            user = session.get(User, account.user_pk)
            assert user is not None
            assert account.balance >= 0 and account.pending >= 0
            assert account.balance + account.pending == ledger.ledger_sum(session, user)


# --- 1. reversals and reverses ---------------------------------------------------------------


def test_another_tenants_event_cannot_be_reversed_by_its_id_or_the_senders_id(
    acme: Tenant, rival: Tenant, db: Database
) -> None:
    """The rival's key naming acme's event (Plaudit's evt_ id, or acme's own order id) on its
    own product's route finds nothing (404), and on acme's route is refused: acme's points stay."""
    acme.rule(event_type="purchase", points=100)
    sent = _server(acme, user_id="ann", type="purchase", id="order-1")
    for reference in (sent["id"], "order-1"):
        own = _as_rival(rival, "POST", f"/v1/products/rival/events/{reference}/reversal", json={})
        assert own.status_code == 404, own.text
        theirs = _as_rival(rival, "POST", f"/v1/products/acme/events/{reference}/reversal", json={})
        assert theirs.status_code in (403, 404), theirs.text
    assert acme.balance("ann") == 100


def test_a_rival_server_event_cannot_reverse_another_tenants_event(
    acme: Tenant, rival: Tenant
) -> None:
    """``reverses`` naming acme's event from the rival's product names nothing there: refused,
    nothing written; acme's points stay."""
    acme.rule(event_type="purchase", points=100)
    sent = _server(acme, user_id="ann", type="purchase", id="order-1")
    for reference in (sent["id"], "order-1"):
        refused = _server(rival, 422, user_id="ann", type="refund", reverses=reference)
        assert refused["error"] == "unknown_original_event", refused
    assert acme.balance("ann") == 100


def test_reverses_names_only_an_event_of_the_same_user(acme: Tenant) -> None:
    """A refund event for bob naming ann's order is refused: one user's refund never takes
    another user's points."""
    acme.rule(event_type="purchase", points=100)
    sent = _server(acme, user_id="ann", type="purchase", id="order-1")
    for reference in (sent["id"], "order-1"):
        refused = _server(acme, 422, user_id="bob", type="refund", reverses=reference)
        assert refused["error"] == "unknown_original_event"
    assert acme.balance("ann") == 100


def test_a_user_token_can_neither_send_reverses_nor_call_the_reversal_route(
    acme: Tenant,
) -> None:
    """A browser's event with ``reverses`` is refused as an unknown field, and the user's token
    on the reversal route is not a management credential: nothing reversed."""
    acme.rule(event_type="purchase", points=100)
    sent = _server(acme, user_id="ann", type="purchase", id="order-1")
    refused = acme.user_call(
        "POST", "/v1/events", "ann", json={"type": "refund", "reverses": sent["id"]}
    )
    assert refused.status_code == 422, refused.text
    route = acme.user_call("POST", f"/v1/products/acme/events/{sent['id']}/reversal", "ann", json={})
    assert route.status_code in (401, 403), route.text
    assert acme.balance("ann") == 100


def test_replayed_and_shrinking_reversals_never_take_twice_or_go_negative(
    acme: Tenant, db: Database
) -> None:
    """The same reversal five times, a partial total then a smaller one, then the whole, after
    the points were spent: 100 are taken in all, the rest is unrecovered, never below zero."""
    acme.rule(event_type="purchase", points=100)
    sent = _server(acme, user_id="ann", type="purchase", id="order-1")
    path = f"/events/{sent['id']}/reversal"
    taken = [acme.admin("POST", path, json={"points": 30})["reversed"] for _ in range(5)]
    assert taken == [30, 0, 0, 0, 0]
    assert acme.admin("POST", path, json={"points": 10})["reversed"] == 0
    reward = acme.admin("POST", "/rewards", 201, json={"name": "Mug", "cost": 60})
    assert acme.user_call("POST", f"/v1/rewards/{reward['id']}/redeem", "ann").status_code == 201
    done = acme.admin("POST", path, json={})
    assert (done["reversed"], done["unrecovered"], done["balance"]) == (10, 60, 0)
    again = acme.admin("POST", path, json={})
    assert (again["reversed"], again["unrecovered"], again["entries"]) == (0, 0, [])
    assert acme.balance("ann") == 0
    _balances_hold(db)


def test_a_batch_that_names_one_order_many_times_takes_it_back_once(
    acme: Tenant, db: Database
) -> None:
    """Fifty refund events in one batch, each naming the same order: its points go once."""
    acme.rule(event_type="purchase", points=100)
    _server(acme, user_id="ann", type="purchase", id="order-1")
    acme.admin("POST", "/users/ann/points", 201, json={"amount": 500, "reason": "Start"})
    refunds = [
        {"user_id": "ann", "type": "refund", "id": f"r{i}", "reverses": "order-1"}
        for i in range(50)
    ]
    response = acme.client.post(
        "/v1/products/acme/events",
        headers=bearer(acme.product["api_key"]),
        json={"events": refunds},
    )
    assert response.status_code == 202, response.text
    assert acme.balance("ann") == 500
    _balances_hold(db)


@pytest.mark.parametrize(
    "body",
    [
        {"points": 0},
        {"points": -5},
        {"points": 10**30},
        {"points": 1.5},
        {"reason": ""},
        {"reason": "x" * 501},
        {"user_id": ""},
        {"user_id": "x" * 300},
        {"extra": 1},
    ],
)
def test_a_malformed_reversal_is_a_precise_422(acme: Tenant, body: dict[str, Any]) -> None:
    """Odd ``points``, empty or long reasons, bad user ids, unknown fields: 422, never 500."""
    acme.rule(event_type="purchase", points=100)
    sent = _server(acme, user_id="ann", type="purchase", id="order-1")
    response = acme.client.post(
        f"/v1/products/acme/events/{sent['id']}/reversal", headers=ADMIN, json=body
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]
    assert acme.balance("ann") == 100


@pytest.mark.parametrize(
    "event_id", ["x" * 5000, "%00", "evt_%27%20OR%201%3D1", "..%2F..%2Fadmin", "%E2%80%AE"]
)
def test_a_hostile_event_id_on_the_reversal_route_is_a_404_or_422(
    acme: Tenant, event_id: str
) -> None:
    """Long, NUL, quoted, dotted or bidi ids on the path: a refusal with a code, never a 500."""
    response = acme.client.post(
        f"/v1/products/acme/events/{event_id}/reversal", headers=ADMIN, json={}
    )
    assert response.status_code in (404, 422), response.text
    assert response.json()["error"]


# --- 2. occurred_at -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+14:00",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:59:59Z",
        "2026-13-01T00:00:00Z",
        "2026-12-06T00:00:00",
        "not a time",
        "1e308",
        "99999999999999999999",
    ],
)
def test_an_occurred_at_at_the_calendars_edge_is_refused_never_a_500(
    acme: Tenant, moment: str
) -> None:
    """Moments whose conversion to UTC leaves the calendar, naive or malformed ones: 422 from
    a user token and from the server API alike."""
    acme.rule(event_type="visit", points=1)
    client = acme.user_call("POST", "/v1/events", "ann", json={"type": "visit", "occurred_at": moment})
    assert client.status_code == 422, client.text
    assert client.json()["error"]
    server = _server(acme, 422, user_id="ann", type="visit", occurred_at=moment)
    assert server["error"]
