"""A hostile tenant, user and anonymous client against what round 4 added: points lots, holds
and reversals, ``occurred_at`` and ``reverses`` on events, reward code pools and tenant
fulfilment, referral screening and its review queue, tiers held by a rolling window.

Each test is one attack; each asserts the refusal (or that the attack changed nothing), so that
a regression reopens a hole loudly. Where an attack succeeded, the test names the fix.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from plaudit.loyalty import ledger, settling
from plaudit.loyalty.models import LoyaltyAccount
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.users.models import User
from tests.referrals.shop import Shop
from tests.support.service import ADMIN, Clock, bearer
from tests.support.tenant import Tenant

CSV = {"Content-Type": "text/csv"}


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
            assert account.balance >= 0
            assert account.pending >= 0
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
    route = acme.user_call(
        "POST", f"/v1/products/acme/events/{sent['id']}/reversal", "ann", json={}
    )
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
    client = acme.user_call(
        "POST", "/v1/events", "ann", json={"type": "visit", "occurred_at": moment}
    )
    assert client.status_code == 422, client.text
    assert client.json()["error"]
    server = _server(acme, 422, user_id="ann", type="visit", occurred_at=moment)
    assert server["error"]


def _ago(tenant: Tenant, **delta: float) -> str:
    moment = dt.datetime.fromtimestamp(tenant.clock.now, dt.UTC) - dt.timedelta(**delta)
    return moment.isoformat()


def test_a_browser_cannot_backfill_past_days_or_shorten_a_hold(acme: Tenant, db: Database) -> None:
    """A user's token may not date an event more than 5 minutes back (clock skew): yesterday's
    daily allowance, a week of streak days and a shortened hold are all out of its reach. Within
    the skew, a 7-day hold still runs 7 days from when the event arrived. (Found by this review:
    a 7-day bound let a browser claim a week of allowances and counted the hold from its date.)"""
    acme.admin("PATCH", "", json={"points_hold_days": 7})
    acme.rule(name="Daily", event_type="check_in", points=1, limit_per_day=1)
    for back in ({"days": 1}, {"days": 6, "hours": 23}, {"minutes": 6}):
        refused = acme.send("ann", "check_in", expect=422, occurred_at=_ago(acme, **back))
        assert refused["error"] == "occurred_at_out_of_range"
        assert "5 minutes" in refused["message"]
    assert acme.send("ann", "check_in", occurred_at=_ago(acme, minutes=4))["points_earned"] == 1
    points = acme.me("ann")["points"]
    assert (points["balance"], points["pending"]) == (0, 1)
    released = dt.datetime.fromisoformat(points["next_release"]["at"])
    assert released == dt.datetime.fromtimestamp(acme.clock.now, dt.UTC) + dt.timedelta(days=7)
    # The tenant's server may send last week's check-ins: it vouches for when they happened.
    for day in range(1, 7):
        _server(acme, 202, user_id="ann", type="check_in", occurred_at=_ago(acme, days=day))
    assert acme.me("ann")["points"]["pending"] == 7
    _balances_hold(db)


# --- 3. reward code pools and tenant fulfilment ---------------------------------------------


def _member(tenant: Tenant, sub: str, points: int = 1000) -> None:
    tenant.send(sub, "hello")
    tenant.admin("POST", f"/users/{sub}/points", 201, json={"amount": points, "reason": "Start"})


def _reward(tenant: Tenant, fulfilment: str, cost: int = 100) -> str:
    body = {"name": "Gift card", "cost": cost, "fulfilment": fulfilment}
    return str(tenant.admin("POST", "/rewards", 201, json=body)["id"])


def _redeem(tenant: Tenant, sub: str, reward_id: str) -> dict[str, Any]:
    response = tenant.user_call("POST", f"/v1/rewards/{reward_id}/redeem", sub)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()["redemption"]
    return result


def _upload(tenant: Tenant, reward_id: str, text: str, headers: dict[str, str]) -> Any:
    path = f"/v1/products/{tenant.id}/rewards/{reward_id}/codes"
    return tenant.client.post(path, content=text.encode(), headers={**headers, **CSV})


def test_another_tenants_pool_and_redemptions_do_not_exist_for_a_key(
    acme: Tenant, rival: Tenant
) -> None:
    """The rival's key can neither upload to, read, nor empty acme's pool, nor list or settle
    acme's redemptions, on acme's path or its own: the code stays acme's user's, unrefunded."""
    pool = _reward(acme, "code")
    assert _upload(acme, pool, "code\nSECRET-1\nSECRET-2\n", ADMIN).status_code == 200
    held = _reward(acme, "tenant")
    _member(acme, "ann")
    redemption = _redeem(acme, "ann", held)
    rival_key = bearer(rival.product["api_key"])
    for product in ("acme", "rival"):
        base = f"/v1/products/{product}"
        upload = rival.client.post(
            f"{base}/rewards/{pool}/codes", content=b"MINE\n", headers={**rival_key, **CSV}
        )
        assert upload.status_code in (403, 404), upload.text
        for method in ("GET", "DELETE"):
            seen = _as_rival(rival, method, f"{base}/rewards/{pool}/codes")
            assert seen.status_code in (403, 404), seen.text
        settle = _as_rival(
            rival,
            "POST",
            f"{base}/redemptions/{redemption['id']}/fulfilment",
            json={"outcome": "failed", "reason": "x"},
        )
        assert settle.status_code in (403, 404), settle.text
        listed = _as_rival(rival, "GET", f"{base}/redemptions")
        assert listed.status_code in (403, 404) or listed.json() == [], listed.text
    assert acme.admin("GET", f"/rewards/{pool}/codes")["remaining"] == 2
    assert acme.balance("ann") == 900


def test_a_user_token_can_neither_upload_codes_nor_settle_its_own_redemption(
    acme: Tenant,
) -> None:
    """A browser holding a valid user token cannot reach the pool or the fulfilment route: it
    cannot mark its own redemption failed to get its points back and keep the goods."""
    pool = _reward(acme, "code")
    held = _reward(acme, "tenant")
    _member(acme, "ann")
    redemption = _redeem(acme, "ann", held)
    token = bearer(acme.token("ann"))
    assert _upload(acme, pool, "FREE\n", token).status_code in (401, 403)
    settle = acme.client.post(
        f"/v1/products/acme/redemptions/{redemption['id']}/fulfilment",
        headers=token,
        json={"outcome": "failed"},
    )
    assert settle.status_code in (401, 403), settle.text
    assert acme.balance("ann") == 900


def test_a_failed_redemption_is_refunded_once_however_often_or_late_it_is_sent(
    acme: Tenant, db: Database
) -> None:
    """failed five times refunds once; fulfilled after failed is refused (409), as failed after
    fulfilled is: the points come back exactly once."""
    held = _reward(acme, "tenant")
    _member(acme, "ann")
    first = _redeem(acme, "ann", held)
    second = _redeem(acme, "ann", held)
    path = "/redemptions/{}/fulfilment"
    for _ in range(5):
        acme.admin("POST", path.format(first["id"]), json={"outcome": "failed"})
    assert acme.balance("ann") == 900
    refused = acme.admin("POST", path.format(first["id"]), 409, json={"outcome": "fulfilled"})
    assert refused["error"] == "redemption_settled"
    acme.admin("POST", path.format(second["id"]), json={"outcome": "fulfilled", "code": "G-1"})
    refused = acme.admin("POST", path.format(second["id"]), 409, json={"outcome": "failed"})
    assert refused["error"] == "redemption_settled"
    assert acme.balance("ann") == 900
    _balances_hold(db)


def test_a_code_is_seen_only_by_its_user_and_never_in_the_audit_log(
    acme: Tenant, db: Database
) -> None:
    """ann's code is in ann's history and privacy export only: bob's history, bob's export,
    the catalog and the audit log of the upload carry counts, never a code."""
    pool = _reward(acme, "code")
    assert _upload(acme, pool, "ONLY-ANN-7\nSPARE-8\n", ADMIN).status_code == 200
    _member(acme, "ann")
    _member(acme, "bob")
    code = _redeem(acme, "ann", pool)["code"]
    spare = "SPARE-8" if code == "ONLY-ANN-7" else "ONLY-ANN-7"
    assert code in str(acme.history("ann"))
    assert code in acme.admin("GET", "/users/ann/export").__repr__()
    seen = [
        str(acme.history("bob")),
        str(acme.admin("GET", "/users/bob/export")),
        acme.user_call("GET", "/v1/rewards", "bob").text,
        acme.user_call("GET", "/v1/me", "bob").text,
        str(acme.admin("GET", "/audit")),
        str(acme.admin("GET", f"/rewards/{pool}/codes")),
    ]
    for text in seen:
        assert code not in text
        assert spare not in text


@pytest.mark.parametrize(
    "text",
    [
        "\x00\x01\x02\n",
        "code\n" + "A" * 5000 + "\n",
        '"unterminated\n',
        "\ufeffcode,other\n,\n",
        '=HYPERLINK("http://evil")\n',
        "\u202eEVIL\n",
        "\xff\xfe",
    ],
)
def test_a_malicious_codes_file_is_answered_line_by_line_never_a_500(
    acme: Tenant, text: str
) -> None:
    """NUL and control bytes, over-long lines, broken quoting, a header with an empty code,
    a formula, bidi overrides, bad UTF-8: a 200 naming each refused line, or a precise 4xx."""
    pool = _reward(acme, "code")
    path = f"/v1/products/acme/rewards/{pool}/codes"
    response = acme.client.post(
        path, content=text.encode("utf-8", "surrogateescape"), headers={**ADMIN, **CSV}
    )
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        answer = response.json()
        assert answer["added"] + answer["duplicates"] + answer["refused_count"] >= 0
        assert answer["added"] <= 1


# --- 4. referral screening and review -------------------------------------------------------


@pytest.fixture
def shop(client: TestClient, db: Database, settings: Settings, clock: Clock) -> Shop:
    shop = Shop(client, db, settings, clock)
    shop.users(("alice", {"email": "alice@example.com"}))
    return shop


def _flagged(shop: Shop, referred: str = "bob") -> None:
    answer = shop.signup(referred, referred_email="ALICE@example.com")
    assert answer["review"]["status"] == "flagged", answer


def test_another_tenant_can_neither_see_nor_decide_a_flagged_referral(
    shop: Shop, rival: Tenant
) -> None:
    """The rival's key on shop's review queue, rules and decisions: 403/404 on shop's path,
    an empty queue and 404 on its own; bob's reward stays held."""
    _flagged(shop)
    for product in ("shop", "rival"):
        base = f"/v1/products/{product}"
        calls = [
            ("POST", "/referrals/bob/approval", {}),
            ("POST", "/referrals/bob/rejection", {"reason": "x"}),
        ]
        if product == "shop":  # its own rules are the rival's to switch
            calls.append(("PATCH", "/referral-rules/self_referral", {"enabled": False}))
        for method, path, body in calls:
            response = _as_rival(rival, method, base + path, json=body)
            assert response.status_code in (403, 404), (product, path, response.text)
        queue = _as_rival(rival, "GET", f"{base}/referral-reviews")
        assert queue.status_code in (403, 404) or queue.json()["total"] == 0, queue.text
    page = shop.call("GET", "/referral-reviews").json()
    assert [r["reward"]["status"] for r in page["referrals"]] == ["held"]
    assert shop.balance("alice") == 0


def test_a_user_token_reaches_no_review_route(shop: Shop) -> None:
    """alice's own valid user token cannot approve her held referral, switch a screening rule
    off, or read the queue: none of them is a browser's route."""
    _flagged(shop)
    token = shop.client.post("/v1/products/shop/referrals", json={}, headers=bearer("not-a-key"))
    assert token.status_code == 401
    alice = Tenant(shop.client, shop.product, shop.clock)
    for method, path, body in (
        ("POST", "/v1/products/shop/referrals/bob/approval", {}),
        ("PATCH", "/v1/products/shop/referral-rules/self_referral", {"enabled": False}),
        ("GET", "/v1/products/shop/referral-reviews", None),
    ):
        response = alice.user_call(method, path, "alice", json=body)
        assert response.status_code in (401, 403), (path, response.text)
    assert shop.balance("alice") == 0


@pytest.mark.parametrize(
    "facts",
    [
        {"client_ip": "999.1.1.1"},
        {"client_ip": "1.2.3.4; DROP TABLE"},
        {"client_ip": "x" * 46},
        {"client_ip": 12},
        {"device_id": ""},
        {"device_id": "d" * 256},
        {"referred_email": "a" * 400 + "@x.com"},
    ],
)
def test_malformed_signup_facts_are_a_precise_422(shop: Shop, facts: dict[str, Any]) -> None:
    """A server call with a bad address, device id or email is refused by field, never 500,
    and records no referral."""
    response = shop.call(
        "POST", "/referrals", json={"referred_user_id": "bob", "referrer_user_id": "alice", **facts}
    )
    assert response.status_code == 422, response.text
    assert shop.call("GET", "/referrals").json()["total"] == 0


def test_the_queue_and_the_referral_list_are_bounded_at_any_offset(shop: Shop) -> None:
    """The largest page and offset answer at once; a page past them is a 422, not a scan."""
    _flagged(shop)
    for path in ("/referral-reviews", "/referrals"):
        far = shop.call("GET", path, params={"limit": 200, "offset": 1_000_000_000})
        assert far.status_code == 200, far.text
        assert far.json()["referrals"] == []
        for params in ({"limit": 201}, {"offset": -1}, {"offset": 10**10}, {"limit": "x"}):
            assert shop.call("GET", path, params=params).status_code == 422


@pytest.mark.parametrize(
    "cookie", ["short", "a" * 65, "x" * 4000, "../../etc", "a" * 30 + "!", "%C3%A9" * 10]
)
def test_a_device_cookie_of_the_wrong_shape_is_replaced_never_stored(
    shop: Shop, make_client: Any, cookie: str
) -> None:
    """A share-link visitor sending a device cookie that is not Plaudit's shape gets a fresh
    random one (and the redirect): a client cannot choose what its clicks are counted as."""
    alice = Tenant(shop.client, shop.product, shop.clock)
    code = alice.user_call("GET", "/v1/referrals/me", "alice").json()["code"]
    visitor = make_client(address="192.0.2.44")
    response = visitor.get(
        f"/r/{code}",
        headers={"Cookie": f"plaudit_device={cookie}"},
        follow_redirects=False,
    )
    assert response.status_code == 302
    fresh = response.cookies.get("plaudit_device")
    assert fresh is not None
    assert fresh != cookie
    assert 22 <= len(fresh) <= 64


# --- 5. background steps: bounded, oldest first, isolated per product ------------------------


def _now(tenant: Tenant) -> dt.datetime:
    return dt.datetime.fromtimestamp(tenant.clock.now, dt.UTC)


def test_one_products_failing_settlement_never_holds_back_another_products_points(
    acme: Tenant, rival: Tenant, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both products' held points fall due; settling acme's fails (whatever the cause): the
    rival's are released all the same, in their own transaction, and acme's wait for a run
    that succeeds. (Found by this review: one transaction for every product's batch, so one
    failure rolled back all of them, run after run; fixed in loyalty/ledger.py settle_due.)"""
    for tenant in (acme, rival):
        tenant.admin("PATCH", "", json={"points_hold_days": 1})
        tenant.rule(event_type="review", points=40)
        tenant.send("ann", "review")
    acme.clock.advance(2 * 86_400)
    settle = settling.settle

    def failing(session: Any, product_id: str, users: Any, **kwargs: Any) -> int:
        if product_id == "acme":
            raise RuntimeError("a poisoned row")
        return settle(session, product_id, users, **kwargs)

    monkeypatch.setattr(settling, "settle", failing)
    assert settling.settle_due(db, now=_now(acme)) == 1
    with db.session() as session:
        held = dict(
            session.execute(
                select(User.product_id, LoyaltyAccount.pending).join(
                    User, User.id == LoyaltyAccount.user_pk
                )
            ).all()
        )
    assert held == {"acme": 40, "rival": 0}
    monkeypatch.setattr(settling, "settle", settle)
    assert settling.settle_due(db, now=_now(acme)) == 1
    _balances_hold(db)


def test_due_lots_are_settled_oldest_first_so_a_large_backlog_cannot_starve_a_small_tenant(
    acme: Tenant, rival: Tenant, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one user per batch and one batch per run, the lot that fell due first is settled
    first, whichever product it is in: acme's five later lots wait behind the rival's one."""
    monkeypatch.setattr(settling, "SETTLE_BATCH", 1)
    monkeypatch.setattr(settling, "MAX_BATCHES", 1)
    rival.admin("PATCH", "", json={"points_hold_days": 1})
    rival.rule(event_type="review", points=40)
    rival.send("zoe", "review")
    acme.clock.advance(60)
    acme.admin("PATCH", "", json={"points_hold_days": 1})
    acme.rule(event_type="review", points=40)
    for sub in ("a1", "a2", "a3", "a4", "a5"):
        acme.send(sub, "review")
    acme.clock.advance(2 * 86_400)
    assert settling.settle_due(db, now=_now(acme)) == 1
    assert rival.me("zoe")["points"]["balance"] == 40


def test_one_products_failing_tier_pass_never_holds_back_another_products_tiers(
    acme: Tenant, rival: Tenant, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both products hold tiers by a rolling window; acme's pass fails: the rival's users
    still move up in the same step. (Found by this review: requalify_all stopped at the first
    failing product; fixed in loyalty/requalify.py.)"""
    from plaudit.loyalty import requalify

    ladder = [{"name": "Silver", "threshold": 100}]
    for tenant in (acme, rival):
        tenant.rule(name="Spend", event_type="purchase", points=150)
        body = {"tiers": ladder, "held_by": "rolling", "window_days": 30, "grace_days": 0}
        tenant.admin("PUT", "/loyalty/tiers", json=body)
        tenant.send("ann", "purchase")
    real = requalify.requalify

    def failing(session: Any, product: Any, **kwargs: Any) -> Any:
        if product.id == "acme":
            raise RuntimeError("a crafted policy")
        return real(session, product, **kwargs)

    monkeypatch.setattr(requalify, "requalify", failing)
    acme.clock.advance(120)
    assert requalify.requalify_all(db, now=_now(acme)) == 1
    assert rival.me("ann")["tier"]["name"] == "Silver"
    assert acme.me("ann")["tier"] is None


@pytest.mark.parametrize(
    "policy",
    [
        {"held_by": "rolling", "window_days": 0},
        {"held_by": "rolling", "window_days": 10**9},
        {"held_by": "rolling", "window_days": 30, "grace_days": 10**9},
        {"held_by": "rolling", "window_days": 30, "grace_days": -1},
        {"held_by": "rolling", "window_days": "x"},
        {"held_by": "sometimes", "window_days": 30},
        {"held_by": "lifetime", "window_days": 30},
    ],
)
def test_a_crafted_tier_policy_is_a_precise_422(acme: Tenant, policy: dict[str, Any]) -> None:
    """Windows of 0 or a billion days, a billion days' grace, unknown ways of holding, a window
    on lifetime tiers: refused by field, never stored, never a 500 in the background step."""
    body = {"tiers": [{"name": "Silver", "threshold": 100}], **policy}
    response = acme.client.put("/v1/products/acme/loyalty/tiers", headers=ADMIN, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]


def test_the_longest_window_and_grace_run_at_the_calendars_edge_without_error(
    acme: Tenant, db: Database
) -> None:
    """The largest window and grace allowed (3650 days each) at a clock near the end of the
    calendar: the step and /v1/me answer, never an overflow."""
    from plaudit.loyalty import requalify

    body = {
        "tiers": [{"name": "Silver", "threshold": 10}],
        "held_by": "rolling",
        "window_days": 3650,
        "grace_days": 3650,
    }
    acme.admin("PUT", "/loyalty/tiers", json=body)
    acme.rule(event_type="purchase", points=20)
    acme.send("ann", "purchase")
    acme.clock.advance(120)
    assert requalify.requalify_all(db, now=_now(acme)) == 1
    assert acme.me("ann")["tier_status"]["window_days"] == 3650


@pytest.mark.parametrize("code", ["x" * 5000, "%00", "%27%20OR%201%3D1", "%E2%80%AE", "A" * 64])
def test_a_hostile_share_code_lands_the_visitor_and_stores_nothing(
    shop: Shop, make_client: Any, code: str
) -> None:
    """Long, NUL, dotted or bidi codes on /r/: the redirect to the landing page, no cookie (no
    real code), no click recorded."""
    response = make_client(address="192.0.2.45").get(f"/r/{code}", follow_redirects=False)
    assert response.status_code == 302, response.text
    assert "plaudit_device" not in response.cookies
    with shop.db.session() as session:
        from plaudit.referrals.models import ReferralClick

        assert session.scalars(select(ReferralClick)).all() == []


@pytest.mark.parametrize("code", ["G-1\n=cmd()", "\u202eEVIL", "a\x00b", "\t"])
def test_a_fulfilment_code_the_user_would_see_is_printable_like_a_pool_code(
    acme: Tenant, code: str
) -> None:
    """The code a tenant's server hands over on fulfilment is refused (422) if it carries a
    control character or a line break, as an uploaded pool code is: the widget and the history
    show one clean line. (Found by this review; fixed in loyalty/schemas.py.)"""
    held = _reward(acme, "tenant")
    _member(acme, "ann")
    redemption = _redeem(acme, "ann", held)
    response = acme.client.post(
        f"/v1/products/acme/redemptions/{redemption['id']}/fulfilment",
        headers=ADMIN,
        json={"outcome": "fulfilled", "code": code},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_request"
    assert acme.history("ann")["entries"][0]["redemption_status"] == "pending_fulfilment"


@pytest.mark.committed
def test_failures_racing_on_one_redemption_refund_it_once(acme: Tenant, db: Database) -> None:
    """Four ``failed`` and two ``fulfilled`` sent at once for one pending redemption, each in
    its own transaction: one outcome wins, the points come back at most once, and the
    balance stays its ledger's sum."""
    import threading

    from plaudit.errors import ServiceError
    from plaudit.loyalty import fulfilment
    from plaudit.products.models import Product

    held = _reward(acme, "tenant")
    _member(acme, "ann")
    redemption = _redeem(acme, "ann", held)
    outcomes = ["failed", "fulfilled", "failed", "failed", "fulfilled", "failed"]
    barrier = threading.Barrier(len(outcomes))
    results: list[object] = [None] * len(outcomes)

    def run(index: int) -> None:
        barrier.wait(timeout=10)
        try:
            with db.session() as session:
                product = session.get(Product, "acme")
                found = fulfilment.settle(
                    session,
                    product,
                    redemption["id"],
                    outcome=outcomes[index],  # type: ignore[arg-type]
                    now=_now(acme),
                )
                results[index] = found.status
        except ServiceError as exc:
            results[index] = exc.code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(outcomes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    won = {r for r in results if r in ("failed", "fulfilled")}
    assert len(won) == 1, results
    assert set(results) - won <= {"redemption_settled"}
    assert acme.balance("ann") == (1000 if won == {"failed"} else 900)
    _balances_hold(db)
