"""Reward codes and tenant fulfilment: a reward hands out a unique code from a pool the tenant
uploads, or waits for the tenant's server to fulfil it (a failure refunds the points). Every
test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from plaudit.audit.models import AuditEntry
from plaudit.limits.body import RouteClass, route_class
from plaudit.loyalty import ledger
from plaudit.loyalty.models import LoyaltyAccount, RewardCode
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.users.models import User
from plaudit.webhooks.models import WebhookMessage
from tests.limits.conftest import call_asgi
from tests.support import factories
from tests.support.service import ADMIN, Clock, MakeClient, bearer, create_product
from tests.support.tenant import Tenant

CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def acme(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    return Tenant(client, factories.product(db, settings, id="acme"), clock)


def _member(acme: Tenant, sub: str, points: int = 1000) -> None:
    acme.send(sub, "hello")
    acme.admin("POST", f"/users/{sub}/points", 201, json={"amount": points, "reason": "Start"})


def _code_reward(acme: Tenant, **body: Any) -> dict[str, Any]:
    body = {"name": "Gift card", "cost": 100, "fulfilment": "code", **body}
    result: dict[str, Any] = acme.admin("POST", "/rewards", 201, json=body)
    return result


def _upload(acme: Tenant, reward_id: str, text: str | bytes, expect: int = 200) -> Any:
    content = text.encode() if isinstance(text, str) else text
    path = f"/v1/products/{acme.id}/rewards/{reward_id}/codes"
    response = acme.client.post(path, content=content, headers={**ADMIN, **CSV})
    assert response.status_code == expect, response.text
    return response.json()


def _redeem(acme: Tenant, sub: str, reward_id: str) -> Any:
    return acme.user_call("POST", f"/v1/rewards/{reward_id}/redeem", sub)


def _listen(acme: Tenant, *types: str) -> None:
    acme.admin(
        "POST", "/webhooks", 201, json={"url": "http://127.0.0.1:9/hook", "event_types": [*types]}
    )


def _messages(db: Database, event_type: str) -> list[dict[str, Any]]:
    with db.session() as session:
        rows = session.scalars(
            select(WebhookMessage.payload)
            .where(WebhookMessage.event_type == event_type)
            .order_by(WebhookMessage.created_at, WebhookMessage.id)
        )
        return [dict(payload["data"]) for payload in rows]


def _ledger_matches_accounts(db: Database) -> None:
    with db.session() as session:
        for account in session.scalars(select(LoyaltyAccount)):
            user = session.get(User, account.user_pk)
            assert user is not None
            assert account.balance == ledger.ledger_sum(session, user) >= 0


# --- uploads ------------------------------------------------------------------------------


def test_an_upload_adds_codes_skips_duplicates_and_refuses_bad_lines_by_number(
    acme: Tenant,
) -> None:
    """A CSV with a header: blank lines are skipped, duplicates (in the file and in the pool)
    counted, bad lines refused by their number without their content."""
    reward = _code_reward(acme)
    long = "X" * 201
    text = f'code,value\nAAA-1,5\n\nBBB-2,5\nAAA-1,5\n" ",5\n{long},5\nCC\x01C,5\nDDD-4,5'
    answer = _upload(acme, reward["id"], text)
    assert answer["added"] == 3
    assert answer["duplicates"] == 1
    assert answer["refused_count"] == 3
    assert [r["line"] for r in answer["refused"]] == [6, 7, 8]
    assert answer["refused"][1]["error"] == "Line 7 has a code longer than 200 characters."
    assert long not in json.dumps(answer)
    assert answer["remaining"] == 3
    again = _upload(acme, reward["id"], "BBB-2\nEEE-5\n")  # no header: the first column
    assert (again["added"], again["duplicates"], again["remaining"]) == (1, 1, 4)
    not_utf8 = _upload(acme, reward["id"], b"FFF-6\n\xff\xfe\n")
    assert not_utf8["refused"] == [{"line": 2, "error": "Line 2 is not UTF-8 text."}]
    pool = acme.admin("GET", f"/rewards/{reward['id']}/codes")
    assert pool == {
        "reward_id": reward["id"],
        "remaining": 5,
        "handed_out": 0,
        "low_codes_at": None,
    }
    assert acme.admin("GET", "/rewards")[0]["codes_remaining"] == 5


def test_codes_go_only_to_a_reward_that_hands_out_codes(acme: Tenant) -> None:
    """An instant reward refuses an upload (409), and an unknown reward is 404."""
    instant = acme.admin("POST", "/rewards", 201, json={"name": "Sticker", "cost": 1})
    refused = _upload(acme, instant["id"], "AAA\n", expect=409)
    assert "not from codes" in refused["message"]
    _upload(acme, "rwd_nope", "AAA\n", expect=404)


def test_unused_codes_can_be_discarded_and_handed_out_ones_stay(acme: Tenant) -> None:
    """DELETE .../codes removes the free codes only."""
    _member(acme, "ann")
    reward = _code_reward(acme)
    _upload(acme, reward["id"], "A1\nA2\nA3\n")
    assert _redeem(acme, "ann", reward["id"]).status_code == 201
    assert acme.admin("DELETE", f"/rewards/{reward['id']}/codes") == {"discarded": 2}
    pool = acme.admin("GET", f"/rewards/{reward['id']}/codes")
    assert (pool["remaining"], pool["handed_out"]) == (0, 1)


# --- redemptions of a code reward ---------------------------------------------------------


def test_each_redemption_takes_a_different_code_shown_in_the_answer_and_history(
    acme: Tenant, db: Database
) -> None:
    """Codes go out in upload order, one per redemption; the user sees theirs in the redeem
    answer and in /v1/me/history, another user sees only their own."""
    _member(acme, "ann")
    _member(acme, "bob")
    reward = _code_reward(acme)
    _upload(acme, reward["id"], "FIRST\nSECOND\n")
    first = _redeem(acme, "ann", reward["id"])
    assert first.status_code == 201, first.text
    assert first.json()["redemption"]["code"] == "FIRST"
    assert first.json()["redemption"]["status"] == "delivered"
    assert first.json()["balance"] == 900
    assert _redeem(acme, "bob", reward["id"]).json()["redemption"]["code"] == "SECOND"
    ann_top = acme.history("ann")["entries"][0]
    assert (ann_top["kind"], ann_top["reward_code"], ann_top["redemption_status"]) == (
        "redeem",
        "FIRST",
        "delivered",
    )
    assert acme.history("ann")["entries"][1]["reward_code"] is None  # not a redemption
    assert "FIRST" not in json.dumps(acme.history("bob"))
    assert "FIRST" not in json.dumps(acme.user_call("GET", "/v1/me", "bob").json())
    _ledger_matches_accounts(db)


def test_an_empty_pool_makes_the_reward_unavailable_and_debits_nothing(acme: Tenant) -> None:
    """No code left: the catalog says unavailable, redeeming is reward_out_of_codes (409) and
    the balance stays; an upload makes it available again."""
    _member(acme, "ann")
    reward = _code_reward(acme)
    assert acme.user_call("GET", "/v1/rewards", "ann").json()["rewards"][0]["available"] is False
    refused = _redeem(acme, "ann", reward["id"])
    assert (refused.status_code, refused.json()["error"]) == (409, "reward_out_of_codes")
    assert acme.balance("ann") == 1000
    assert [e["kind"] for e in acme.history("ann")["entries"]] == ["adjust"]
    _upload(acme, reward["id"], "ONLY\n")
    item = acme.user_call("GET", "/v1/rewards", "ann").json()["rewards"][0]
    assert (item["available"], item["fulfilment"]) == (True, "code")
    assert "codes_remaining" not in item  # the pool's size is the tenant's business
    assert _redeem(acme, "ann", reward["id"]).status_code == 201
    assert _redeem(acme, "ann", reward["id"]).json()["error"] == "reward_out_of_codes"
    assert acme.balance("ann") == 900


def test_a_user_without_the_points_leaves_the_code_in_the_pool(acme: Tenant) -> None:
    """insufficient_points rolls the taken code back: the next user gets it."""
    _member(acme, "ann", points=10)
    _member(acme, "bob")
    reward = _code_reward(acme)
    _upload(acme, reward["id"], "ONE\n")
    assert _redeem(acme, "ann", reward["id"]).json()["error"] == "insufficient_points"
    assert acme.admin("GET", f"/rewards/{reward['id']}/codes")["remaining"] == 1
    assert _redeem(acme, "bob", reward["id"]).json()["redemption"]["code"] == "ONE"


def test_the_low_codes_webhook_fires_once_per_fall_and_rearms_on_upload(
    acme: Tenant, db: Database
) -> None:
    """low_codes_at 1: reward_codes.low once when the second of three codes goes, not again
    for the third; an upload above the mark re-arms it."""
    _member(acme, "ann")
    _listen(acme, "reward_codes.low")
    reward = _code_reward(acme, cost=1, low_codes_at=1)
    _upload(acme, reward["id"], "A\nB\nC\n")
    _redeem(acme, "ann", reward["id"])
    assert _messages(db, "reward_codes.low") == []
    _redeem(acme, "ann", reward["id"])
    _redeem(acme, "ann", reward["id"])
    assert _messages(db, "reward_codes.low") == [
        {
            "product_id": "acme",
            "user_id": None,
            "reward": {"id": reward["id"], "name": "Gift card"},
            "remaining": 1,
            "low_codes_at": 1,
        }
    ]
    _upload(acme, reward["id"], "D\nE\n")
    _redeem(acme, "ann", reward["id"])
    assert [m["remaining"] for m in _messages(db, "reward_codes.low")] == [1, 1]
    changed = acme.admin("PATCH", f"/rewards/{reward['id']}", json={"low_codes_at": None})
    assert changed["low_codes_at"] is None  # no alert any more
    _upload(acme, reward["id"], "F\nG\n")
    _redeem(acme, "ann", reward["id"])
    _redeem(acme, "ann", reward["id"])
    assert len(_messages(db, "reward_codes.low")) == 2


def test_codes_stay_out_of_logs_the_audit_log_and_webhooks(
    acme: Tenant, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """Uploading and redeeming log no code; the audit log records the upload's counts only;
    points.redeemed carries the status, not the code."""
    _member(acme, "ann")
    _listen(acme, "points.redeemed")
    reward = _code_reward(acme)
    with caplog.at_level(logging.DEBUG):
        _upload(acme, reward["id"], "SECRET-CODE-1\n\x01bad\n")
        assert _redeem(acme, "ann", reward["id"]).status_code == 201
        acme.history("ann")
    assert "SECRET-CODE-1" not in caplog.text
    with db.session() as session:
        entries = session.scalars(select(AuditEntry)).all()
        upload = [e for e in entries if e.action == "reward.codes_upload"]
        text = json.dumps([e.changes for e in entries], default=str)
    assert [e.changes for e in upload] == [
        {"codes_added": {"after": 1}, "duplicates": {"after": 0}}
    ]
    assert "SECRET-CODE-1" not in text
    (redeemed,) = _messages(db, "points.redeemed")
    assert redeemed["status"] == "delivered"
    assert "SECRET-CODE-1" not in json.dumps(redeemed)


# --- tenant fulfilment --------------------------------------------------------------------


def _tenant_reward(acme: Tenant) -> dict[str, Any]:
    result: dict[str, Any] = acme.admin(
        "POST", "/rewards", 201, json={"name": "Hoodie", "cost": 300, "fulfilment": "tenant"}
    )
    return result


def _settle(acme: Tenant, redemption_id: str, expect: int = 200, **body: Any) -> Any:
    return acme.admin("POST", f"/redemptions/{redemption_id}/fulfilment", expect, json=body)


def test_a_tenant_fulfilled_redemption_waits_then_is_fulfilled_once(
    acme: Tenant, db: Database
) -> None:
    """pending_fulfilment until the tenant's server marks it; listed while pending; fulfilled
    with a code the user then sees; the same call again answers the same; failing it then
    is redemption_settled."""
    _member(acme, "ann")
    _listen(acme, "redemption.fulfilled", "redemption.failed")
    reward = _tenant_reward(acme)
    redeemed = _redeem(acme, "ann", reward["id"]).json()["redemption"]
    assert (redeemed["status"], redeemed["code"]) == ("pending_fulfilment", None)
    pending = acme.admin("GET", "/redemptions")
    assert [(p["id"], p["user_id"], p["status"]) for p in pending] == [
        (redeemed["id"], "ann", "pending_fulfilment")
    ]
    assert acme.history("ann")["entries"][0]["redemption_status"] == "pending_fulfilment"
    done = _settle(acme, redeemed["id"], outcome="fulfilled", code="GIFT-42")
    assert (done["status"], done["code"], done["settled_at"]) == (
        "fulfilled",
        "GIFT-42",
        done["settled_at"],
    )
    assert done["settled_at"] is not None
    assert _settle(acme, redeemed["id"], outcome="fulfilled") == done
    refused = _settle(acme, redeemed["id"], 409, outcome="failed", reason="Out of hoodies")
    assert refused["error"] == "redemption_settled"
    assert acme.admin("GET", "/redemptions") == []
    assert [r["id"] for r in acme.admin("GET", "/redemptions?status=fulfilled")] == [redeemed["id"]]
    top = acme.history("ann")["entries"][0]
    assert (top["reward_code"], top["redemption_status"]) == ("GIFT-42", "fulfilled")
    assert acme.balance("ann") == 700
    (fulfilled,) = _messages(db, "redemption.fulfilled")
    assert fulfilled["redemption_id"] == redeemed["id"]
    assert fulfilled["user_id"] == "ann"
    assert _messages(db, "redemption.failed") == []


def test_a_failed_fulfilment_refunds_the_points_once_without_earning(
    acme: Tenant, db: Database
) -> None:
    """failed: the cost comes back as a refund entry (lifetime points unchanged), the webhook
    says why; failing again refunds nothing more; fulfilling it then is redemption_settled."""
    _member(acme, "ann")
    _listen(acme, "redemption.failed")
    reward = _tenant_reward(acme)
    redeemed = _redeem(acme, "ann", reward["id"]).json()["redemption"]
    assert acme.balance("ann") == 700
    failed = _settle(acme, redeemed["id"], outcome="failed", reason="Out of hoodies")
    assert (failed["status"], failed["failure_reason"]) == ("failed", "Out of hoodies")
    assert _settle(acme, redeemed["id"], outcome="failed", reason="Again") == failed
    assert _settle(acme, redeemed["id"], 409, outcome="fulfilled")["error"] == (
        "redemption_settled"
    )
    points = acme.me("ann")["points"]
    assert (points["balance"], points["lifetime"], points["pending"]) == (1000, 1000, 0)
    entries = acme.history("ann")["entries"]
    assert [(e["kind"], e["delta"]) for e in entries] == [
        ("refund", 300),
        ("redeem", -300),
        ("adjust", 1000),
    ]
    assert entries[1]["redemption_status"] == "failed"
    assert entries[0]["redemption_status"] is None  # only redeem entries carry it
    (message,) = _messages(db, "redemption.failed")
    assert (message["reason"], message["points"], message["balance"]) == (
        "Out of hoodies",
        300,
        1000,
    )
    _ledger_matches_accounts(db)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "shipped"}, "outcome"),
        ({"outcome": "fulfilled", "reason": "x"}, None),
        ({"outcome": "failed", "code": "x"}, None),
    ],
)
def test_a_fulfilment_that_makes_no_sense_is_refused(
    acme: Tenant, body: dict[str, Any], field: str | None
) -> None:
    """An unknown outcome, a reason with success or a code with failure: 422."""
    _member(acme, "ann")
    redeemed = _redeem(acme, "ann", _tenant_reward(acme)["id"]).json()["redemption"]
    refused = _settle(acme, redeemed["id"], 422, **body)
    assert refused["error"] == "invalid_request"
    if field:
        assert refused["field"] == field


def test_only_a_pending_redemption_can_be_settled(acme: Tenant) -> None:
    """A delivered (instant) redemption is redemption_settled; an unknown one 404."""
    _member(acme, "ann")
    instant = acme.admin("POST", "/rewards", 201, json={"name": "Sticker", "cost": 1})
    redeemed = _redeem(acme, "ann", instant["id"]).json()["redemption"]
    assert redeemed["status"] == "delivered"
    assert _settle(acme, redeemed["id"], 409, outcome="failed")["error"] == "redemption_settled"
    _settle(acme, "red_nope", 404, outcome="fulfilled")
    assert acme.balance("ann") == 999


# --- the hostile view ---------------------------------------------------------------------


def test_a_user_token_cannot_upload_codes_or_settle_redemptions(
    acme: Tenant, client: TestClient
) -> None:
    """The management routes refuse a user's token: no upload, no pool, no fulfilment."""
    _member(acme, "ann")
    code_reward = _code_reward(acme)
    redeemed = _redeem(acme, "ann", _tenant_reward(acme)["id"]).json()["redemption"]
    user = bearer(acme.token("ann", scope="read write"))
    base = "/v1/products/acme"
    upload = client.post(
        f"{base}/rewards/{code_reward['id']}/codes", content=b"MINE\n", headers={**user, **CSV}
    )
    assert upload.status_code in (401, 403)
    assert client.get(f"{base}/rewards/{code_reward['id']}/codes", headers=user).status_code in (
        401,
        403,
    )
    settle = client.post(
        f"{base}/redemptions/{redeemed['id']}/fulfilment",
        json={"outcome": "failed"},
        headers=user,
    )
    assert settle.status_code in (401, 403)
    assert acme.admin("GET", f"/rewards/{code_reward['id']}/codes")["remaining"] == 0
    assert acme.admin("GET", "/redemptions")[0]["status"] == "pending_fulfilment"


def test_one_tenant_cannot_touch_anothers_pool_or_redemptions(
    acme: Tenant, client: TestClient, clock: Clock
) -> None:
    """With its own API key, another product's pool and redemptions do not exist (404), even
    named under its own product's path."""
    _member(acme, "ann")
    code_reward = _code_reward(acme)
    _upload(acme, code_reward["id"], "ACME-1\n")
    redeemed = _redeem(acme, "ann", _tenant_reward(acme)["id"]).json()["redemption"]
    other = Tenant(client, create_product(client, id="other"), clock)
    key = bearer(other.product["api_key"])
    csv = {"headers": {**key, **CSV}}
    for base in ("/v1/products/acme", "/v1/products/other"):
        paths = [
            ("POST", f"{base}/rewards/{code_reward['id']}/codes", {"content": b"X\n", **csv}),
            ("GET", f"{base}/rewards/{code_reward['id']}/codes", {}),
            ("DELETE", f"{base}/rewards/{code_reward['id']}/codes", {}),
            (
                "POST",
                f"{base}/redemptions/{redeemed['id']}/fulfilment",
                {"json": {"outcome": "failed"}},
            ),
        ]
        for method, path, extra in paths:
            response = client.request(method, path, **{"headers": key, **extra})
            assert response.status_code == 404, (method, path, response.text)
    assert client.get("/v1/products/other/redemptions", headers=key).json() == []
    assert acme.admin("GET", f"/rewards/{code_reward['id']}/codes")["remaining"] == 1
    assert acme.admin("GET", "/redemptions")[0]["status"] == "pending_fulfilment"


def test_a_huge_csv_is_refused_with_413_before_it_is_read(
    acme: Tenant, make_client: MakeClient, db: Database
) -> None:
    """Past PLAUDIT_BODY_LIMIT_CODES_BYTES: announced by Content-Length it is refused unread;
    streamed in chunks it is refused at the limit, the rest never read; nothing is added."""
    reward = _code_reward(acme)
    small = make_client(body_limit_codes_bytes=4096)
    path = f"/v1/products/acme/rewards/{reward['id']}/codes"
    announced = small.post(path, content=b"A\n" * 5000, headers={**ADMIN, **CSV})
    assert (announced.status_code, announced.json()["error"]) == (413, "body_too_large")
    chunks = [b"CODE-%06d\n" % n for n in range(100_000)]  # 1.2 MB, were it all read
    headers = [
        (b"transfer-encoding", b"chunked"),
        (b"content-type", b"text/csv"),
        (b"authorization", ADMIN["Authorization"].encode()),
    ]
    status, body, asked = call_asgi(small.app, "POST", path, headers, chunks)
    assert (status, body["error"]) == (413, "body_too_large")
    assert asked <= 4096 // 12 + 1  # not one chunk past the limit was asked for
    assert route_class(path) is RouteClass.CODES
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(RewardCode)) == 0
    ok = small.post(path, content=b"A\nB\n", headers={**ADMIN, **CSV})
    assert (ok.status_code, ok.json()["added"]) == (200, 2)
