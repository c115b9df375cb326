"""Webhooks: endpoints, signed notifications from a durable outbox, retries, order, the log.

A real receiver (a stdlib HTTP server on 127.0.0.1) checks every request it gets with the
`standardwebhooks` package, as a tenant's receiver would. Time is the pinned clock, set to the
present so that what the store stamps and what the worker is told agree; the worker is called
directly, pass by pass, except where the app's own background loop is the point.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from standardwebhooks import Webhook
from typer.testing import CliRunner

from plaudit.app import create_app
from plaudit.cli import app as cli_app
from plaudit.cli.runtime import console as cli_console
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.webhooks import service, worker
from plaudit.webhooks.worker import Report
from tests.support import factories
from tests.support.local_http import LocalServer
from tests.support.service import ADMIN, Clock, bearer, create_product, standard_claims, verify


class Receiver(LocalServer):
    """A tenant's webhook receiver: verifies each signature, counts, answers as scripted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()
        super().__init__()

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        status = self.handle(path, headers, body)
        return status, b"" if status == 204 else b"ok"  # a 204 has no body

    def reset(self) -> None:
        with self.lock:
            self.secrets: dict[str, str] = {}
            #: Per path (or "path#user_id"), the statuses to answer next; then 200.
            self.script: dict[str, list[int]] = {}
            #: Seconds to wait before answering (bounded: a test sets it under the timeout).
            self.delay = 0.0
            #: Cleared, the receiver holds each request open until it is set again (or 10 s).
            self.release = threading.Event()
            self.release.set()
            self.answered = 0
            self.arrived = threading.Event()
            #: (path, webhook-id, verified body) for every request whose signature checked out.
            self.received: list[tuple[str, str, dict[str, Any]]] = []
            self.refused: list[str] = []

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            try:
                payload = Webhook(self.secrets[path]).verify(body, headers)
            except Exception as exc:  # recorded: a test asserts there were none
                self.refused.append(f"{path}: {exc!r}")
                return 400
            self.received.append((path, headers["webhook-id"], payload))
            user = payload["data"].get("user_id")
            script = self.script.get(f"{path}#{user}") or self.script.get(path)
            status = script.pop(0) if script else 200
            delay = self.delay
        self.arrived.set()
        if delay:
            time.sleep(delay)
        self.release.wait(10)
        with self.lock:
            self.answered += 1
        return status

    def on(self, path: str) -> list[dict[str, Any]]:
        """The verified bodies that reached ``path``, in arrival order."""
        assert not self.refused, self.refused
        return [body for p, _, body in self.received if p == path]


@pytest.fixture(scope="session")
def _receiver_httpd() -> Iterator[Receiver]:
    server = Receiver()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def receiver(_receiver_httpd: Receiver) -> Receiver:
    _receiver_httpd.reset()
    return _receiver_httpd


@pytest.fixture(autouse=True)
def _present(clock: Clock) -> None:
    """The pinned clock at the present, to the second: the store stamps real time."""
    clock.now = float(int(time.time()))


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


@pytest.fixture
def acme(db: Database, settings: Settings) -> dict[str, Any]:
    return factories.product(db, settings, id="acme")


def _token(product: dict[str, Any], clock: Clock, sub: str, **claims: Any) -> str:
    return jwt.encode(
        standard_claims(product["id"], sub=sub, iat=clock.now, **claims),
        product["secret"]["value"],
        algorithm="HS256",
    )


def _add(
    client: TestClient,
    receiver: Receiver,
    path: str,
    event_types: list[str],
    product: str = "acme",
) -> dict[str, Any]:
    response = client.post(
        f"/v1/products/{product}/webhooks",
        headers=ADMIN,
        json={"url": receiver.base + path, "event_types": event_types},
    )
    assert response.status_code == 201, response.text
    endpoint = response.json()
    receiver.secrets[path] = endpoint["secret"]
    return endpoint


def _now(clock: Clock) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock.now, dt.UTC)


def _deliver(
    client: TestClient, http: httpx.Client, clock: Clock, *, allow_private: bool = True
) -> Report:
    state = client.app.state.plaudit  # type: ignore[attr-defined]
    return worker.deliver_due(
        state.db,
        client=http,
        box=state.box,
        now=_now(clock),
        allow_private=allow_private,
        limit=100,
    )


def _enqueue(db: Database, user_id: str | None, seq: int, *, now: dt.datetime | None = None) -> str:
    with db.session() as session:
        message_id = service.enqueue(
            session,
            product_id="acme",
            event_type="points.earned",
            data={"seq": seq},
            user_id=user_id,
            now=now,
        )
    assert message_id is not None
    return message_id


def _log(client: TestClient, endpoint: dict[str, Any], **params: Any) -> list[dict[str, Any]]:
    response = client.get(
        f"/v1/products/acme/webhooks/{endpoint['id']}/deliveries", headers=ADMIN, params=params
    )
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["total"] == len(page["deliveries"])
    return list(page["deliveries"])


# --- endpoints ----------------------------------------------------------------------------


def test_endpoints_are_managed_and_their_secret_is_shown_once(
    client: TestClient, acme: dict[str, Any], receiver: Receiver
) -> None:
    """Create answers the whsec_ secret once; list, read, change and delete never show it."""
    key = bearer(acme["api_key"])
    created = client.post(
        "/v1/products/acme/webhooks",
        headers=key,
        json={
            "url": receiver.base + "/crud",
            "event_types": ["reward.granted", "user.created", "user.created"],
            "description": "CRM sync",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    Webhook(body["secret"])  # a secret the standard's own library accepts
    assert body["event_types"] == ["user.created", "reward.granted"]
    assert body["enabled"] is True
    path = f"/v1/products/acme/webhooks/{body['id']}"

    listed = client.get("/v1/products/acme/webhooks", headers=key).json()
    assert [e["id"] for e in listed] == [body["id"]]
    assert all("secret" not in e for e in listed)
    assert "secret" not in client.get(path, headers=key).json()
    assert body["secret"] not in client.get(path, headers=ADMIN).text

    changed = client.patch(
        path, headers=key, json={"enabled": False, "event_types": ["badge.awarded"]}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["enabled"] is False
    assert changed.json()["event_types"] == ["badge.awarded"]
    assert changed.json()["description"] == "CRM sync"

    other = create_product(client, id="other")
    assert client.get(path, headers=bearer(other["api_key"])).status_code == 404
    assert client.get("/v1/products/other/webhooks/" + body["id"], headers=ADMIN).status_code == 404

    assert client.delete(path, headers=key).status_code == 204
    assert client.get(path, headers=key).status_code == 404
    assert client.get("/v1/products/acme/webhooks", headers=key).json() == []


@pytest.mark.parametrize(
    "event_types", [["user.created", "points.spent"], ["webhook.test"], []], ids=str
)
def test_unknown_event_types_are_refused_naming_the_field(
    client: TestClient, acme: dict[str, Any], receiver: Receiver, event_types: list[str]
) -> None:
    """An event type Plaudit does not send (or none at all) is a 422 on 'event_types'."""
    response = client.post(
        "/v1/products/acme/webhooks",
        headers=ADMIN,
        json={"url": receiver.base + "/x", "event_types": event_types},
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == "event_types"
    assert response.json()["error"] == "invalid_request"


def test_private_urls_are_refused_unless_the_operator_allows_them(
    settings: Settings, db: Database, clock: Clock, receiver: Receiver, http: httpx.Client
) -> None:
    """Loopback is refused at registration, on change, and again before each send."""
    strict = settings.model_copy(update={"allow_private_urls": False})
    with TestClient(create_app(strict, db=db, clock=clock, background=False)) as client:
        create_product(client, id="acme")
        response = client.post(
            "/v1/products/acme/webhooks",
            headers=ADMIN,
            json={"url": receiver.base + "/private", "event_types": ["user.created"]},
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "unsafe_url"
        assert response.json()["field"] == "url"
    with TestClient(create_app(settings, db=db, clock=clock, background=False)) as client:
        endpoint = _add(client, receiver, "/private", ["points.earned"])
        _enqueue(db, "u1", 1)
        assert _deliver(client, http, clock, allow_private=False).delivered == 0
        assert receiver.received == []
        [row] = _log(client, endpoint)
        assert row["status"] == "pending"
        assert row["attempts"] == 1
        assert "https" in row["last_error"]
    with TestClient(create_app(strict, db=db, clock=clock, background=False)) as client:
        patched = client.patch(
            f"/v1/products/acme/webhooks/{endpoint['id']}",
            headers=ADMIN,
            json={"url": "http://localhost:9/hook"},
        )
        assert patched.status_code == 422
        assert patched.json()["error"] == "unsafe_url"


# --- what is emitted ----------------------------------------------------------------------


def test_a_tokens_first_sight_sends_user_created(
    client: TestClient, acme: dict[str, Any], clock: Clock, receiver: Receiver, http: httpx.Client
) -> None:
    """user.created goes out once per new user, signed, with the Standard Webhooks body."""
    _add(client, receiver, "/users", ["user.created"])
    token = _token(acme, clock, "u1", email="ada@example.com")
    assert verify(client, token).status_code == 200
    assert verify(client, token).status_code == 200
    assert verify(client, _token(acme, clock, "u2")).status_code == 200
    assert _deliver(client, http, clock).delivered == 2
    assert _deliver(client, http, clock).attempted == 0
    bodies = sorted(receiver.on("/users"), key=lambda b: str(b["data"]["user_id"]))
    assert [b["type"] for b in bodies] == ["user.created", "user.created"]
    first = bodies[0]
    assert first["data"]["product_id"] == "acme"
    assert first["data"]["user_id"] == "u1"
    assert first["data"]["user"]["email"] == "ada@example.com"
    assert dt.datetime.fromisoformat(first["timestamp"]).tzinfo is not None
    ids = [message_id for _, message_id, _ in receiver.received]
    assert len(set(ids)) == 2
    assert all(i.startswith("msg_") for i in ids)


def test_a_conversion_sends_referral_converted_then_reward_granted(
    client: TestClient, acme: dict[str, Any], clock: Clock, receiver: Receiver, http: httpx.Client
) -> None:
    """The referral server API emits both, once each, in order, about the referrer."""
    _add(client, receiver, "/referrals", ["referral.converted", "reward.granted"])
    me = client.get("/v1/referrals/me", headers=bearer(_token(acme, clock, "alice")))
    assert me.status_code == 200, me.text
    server = bearer(acme["api_key"])
    signup = client.post(
        "/v1/products/acme/referrals",
        headers=server,
        json={"referred_user_id": "bob", "code": me.json()["code"]},
    )
    assert signup.status_code == 201, signup.text
    for _ in range(2):
        converted = client.post("/v1/products/acme/referrals/bob/conversion", headers=server)
        assert converted.status_code == 200, converted.text
    while _deliver(client, http, clock).attempted:
        pass
    bodies = receiver.on("/referrals")
    assert [b["type"] for b in bodies] == ["referral.converted", "reward.granted"]
    for body in bodies:
        assert body["data"]["user_id"] == "alice"
        assert body["data"]["referral"]["referrer_user_id"] == "alice"
        assert body["data"]["referral"]["referred_user_id"] == "bob"
        assert body["data"]["referral"]["converted_at"] is not None
    assert bodies[1]["data"]["reward"]["kind"] == "credit"
    assert bodies[1]["data"]["reward"]["amount"] == 10


def test_the_test_endpoint_sends_webhook_test_to_that_endpoint_only(
    client: TestClient, acme: dict[str, Any], clock: Clock, receiver: Receiver, http: httpx.Client
) -> None:
    """POST .../test queues a webhook.test for one endpoint, whatever it subscribes to."""
    one = _add(client, receiver, "/one", ["badge.awarded"])
    _add(client, receiver, "/two", ["badge.awarded"])
    queued = client.post(f"/v1/products/acme/webhooks/{one['id']}/test", headers=ADMIN)
    assert queued.status_code == 202, queued.text
    assert queued.json()["event_type"] == "webhook.test"
    assert queued.json()["status"] == "pending"
    _deliver(client, http, clock)
    [body] = receiver.on("/one")
    assert body["type"] == "webhook.test"
    assert body["data"]["endpoint_id"] == one["id"]
    assert receiver.on("/two") == []


def test_a_disabled_endpoint_gets_nothing_new(
    client: TestClient, acme: dict[str, Any], clock: Clock, receiver: Receiver, http: httpx.Client
) -> None:
    """Disabled endpoints are skipped when messages are queued; unsubscribed types too."""
    off = _add(client, receiver, "/off", ["points.earned"])
    _add(client, receiver, "/other-type", ["badge.awarded"])
    client.patch(f"/v1/products/acme/webhooks/{off['id']}", headers=ADMIN, json={"enabled": False})
    with client.app.state.plaudit.db.session() as session:  # type: ignore[attr-defined]
        assert (
            service.enqueue(
                session, product_id="acme", event_type="points.earned", data={}, user_id="u1"
            )
            is None
        )
    assert _deliver(client, http, clock).attempted == 0
    assert _log(client, off) == []


# --- delivery: order, retries, giving up ---------------------------------------------------


def test_one_users_messages_arrive_in_order_while_others_go_on(
    client: TestClient,
    acme: dict[str, Any],
    db: Database,
    clock: Clock,
    receiver: Receiver,
    http: httpx.Client,
) -> None:
    """A failing message holds back that user's later ones, and nobody else's."""
    _add(client, receiver, "/order", ["points.earned"])
    receiver.script["/order#u1"] = [500]
    for seq in (1, 2, 3):
        _enqueue(db, "u1", seq)
    for seq in (1, 2):
        _enqueue(db, "u2", seq)
    _enqueue(db, None, 0)  # about no user: not ordered

    def seqs(user: str | None) -> list[int]:
        return [b["data"]["seq"] for b in receiver.on("/order") if b["data"]["user_id"] == user]

    first = _deliver(client, http, clock)
    assert first.attempted == 3  # u1's first (refused), u2's first, the unordered one
    assert first.delivered == 2
    assert seqs("u1") == [1]
    clock.advance(4)
    assert _deliver(client, http, clock).attempted == 1  # u2's second; u1 still waits
    clock.advance(1)
    for _ in range(4):
        _deliver(client, http, clock)
    assert seqs("u1") == [1, 1, 2, 3]  # the retry, then the rest in order
    assert seqs("u2") == [1, 2]
    assert seqs(None) == [0]


def test_a_refused_delivery_is_retried_with_exponential_backoff(
    client: TestClient,
    acme: dict[str, Any],
    db: Database,
    clock: Clock,
    receiver: Receiver,
    http: httpx.Client,
) -> None:
    """5 s after the first 500, 10 s after the second; the same webhook-id every time."""
    endpoint = _add(client, receiver, "/flaky", ["points.earned"])
    receiver.script["/flaky"] = [500, 503]
    message_id = _enqueue(db, "u1", 1, now=_now(clock))
    start = clock.now
    assert _deliver(client, http, clock).delivered == 0
    [row] = _log(client, endpoint)
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("pending", 1, 500)
    assert dt.datetime.fromisoformat(row["next_attempt_at"]).timestamp() == start + 5
    clock.advance(4.9)
    assert _deliver(client, http, clock).attempted == 0
    clock.advance(0.1)
    assert _deliver(client, http, clock).attempted == 1
    [row] = _log(client, endpoint)
    assert dt.datetime.fromisoformat(row["next_attempt_at"]).timestamp() == start + 5 + 10
    clock.advance(9)
    assert _deliver(client, http, clock).attempted == 0
    clock.advance(1)
    assert _deliver(client, http, clock).delivered == 1
    [row] = _log(client, endpoint)
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("delivered", 3, 200)
    assert row["delivered_at"] is not None
    assert row["next_attempt_at"] is None
    assert [m for _, m, _ in receiver.received] == [message_id] * 3
    detail = client.get(
        f"/v1/products/acme/webhooks/{endpoint['id']}/deliveries/{row['id']}", headers=ADMIN
    ).json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 503, 200]
    assert detail["attempt_log"][0]["response_excerpt"] == "ok"


def test_the_backoff_doubles_up_to_an_hour() -> None:
    """5, 10, 20, ... seconds, never more than an hour apart."""
    delays = [worker.retry_delay(n).total_seconds() for n in range(1, 15)]
    assert delays[:4] == [5, 10, 20, 40]
    assert max(delays) == 3600
    assert delays == sorted(delays)


def test_a_delivery_gives_up_a_day_after_its_message(
    client: TestClient,
    acme: dict[str, Any],
    db: Database,
    clock: Clock,
    receiver: Receiver,
    http: httpx.Client,
) -> None:
    """Retried until 24 h after the message, the last try on the deadline, then failed; a
    failed message no longer holds the user's next one back."""
    endpoint = _add(client, receiver, "/down", ["points.earned"])
    receiver.script["/down"] = [503] * 1000
    _enqueue(db, "u1", 1, now=_now(clock))
    start = clock.now
    for hour in range(24):
        clock.now = start + hour * 3600
        _deliver(client, http, clock)
    [row] = _log(client, endpoint)
    assert row["status"] == "pending"
    assert dt.datetime.fromisoformat(row["next_attempt_at"]).timestamp() == start + 24 * 3600
    clock.now = start + 24 * 3600
    assert _deliver(client, http, clock).gave_up == 1
    [row] = _log(client, endpoint)
    assert row["status"] == "failed"
    assert row["next_attempt_at"] is None
    assert row["last_status_code"] == 503
    assert 20 < row["attempts"] < 40
    assert _log(client, endpoint, status="failed") == [row]
    clock.advance(3600)
    assert _deliver(client, http, clock).attempted == 0  # given up is final

    receiver.script["/down"] = []
    _enqueue(db, "u1", 2)
    assert _deliver(client, http, clock).delivered == 1
    assert receiver.on("/down")[-1]["data"]["seq"] == 2


@pytest.mark.committed
def test_a_slow_receiver_never_slows_the_api(
    settings: Settings,
    db: Database,
    clock: Clock,
    receiver: Receiver,
) -> None:
    """With the app's own background loop stuck on a receiver that does not answer,
    GET /v1/auth/verify (a first sight, so a write, and a new webhook) is still served: every
    call completes while the delivery is still held open."""
    fast = settings.model_copy(update={"keystore_refresh_seconds": 0.05})
    with TestClient(create_app(fast, db=db, clock=clock, background=True)) as client:
        acme = create_product(client, id="acme")
        _add(client, receiver, "/slow", ["user.created"])
        receiver.release.clear()
        try:
            assert verify(client, _token(acme, clock, "first")).status_code == 200
            assert receiver.arrived.wait(5), "the background loop never delivered"
            for n in range(5):
                assert verify(client, _token(acme, clock, f"next-{n}")).status_code == 200
            assert receiver.answered == 0  # all of that happened while the receiver hung
        finally:
            receiver.release.set()
    assert receiver.on("/slow")[0]["data"]["user_id"] == "first"


# --- durability ---------------------------------------------------------------------------


def test_a_queued_message_survives_a_restart_and_is_delivered_once(
    settings: Settings, db: Database, clock: Clock, receiver: Receiver, http: httpx.Client
) -> None:
    """Queued by one app, delivered by a new app on the same database, exactly once."""
    with TestClient(create_app(settings, db=db, clock=clock, background=False)) as first:
        acme = create_product(first, id="acme")
        _add(first, receiver, "/restart", ["user.created"])
        assert verify(first, _token(acme, clock, "u1")).status_code == 200
    with TestClient(create_app(settings, db=db, clock=clock, background=False)) as second:
        assert _deliver(second, http, clock).delivered == 1
        assert _deliver(second, http, clock).attempted == 0
        clock.advance(3600)
        assert _deliver(second, http, clock).attempted == 0
    assert len(receiver.on("/restart")) == 1


def test_a_delivery_claimed_by_a_process_that_died_goes_out_after_its_lease(
    client: TestClient,
    acme: dict[str, Any],
    db: Database,
    clock: Clock,
    receiver: Receiver,
    http: httpx.Client,
) -> None:
    """Claimed, never sent nor recorded: nobody else sends it until the lease ends, then once."""
    _add(client, receiver, "/lease", ["points.earned"])
    _enqueue(db, "u1", 1)
    box = client.app.state.plaudit.box  # type: ignore[attr-defined]
    assert len(worker.claim(db, box=box, now=_now(clock), limit=10)) == 1  # then "crashes"
    assert _deliver(client, http, clock).attempted == 0
    clock.advance(worker.LEASE.total_seconds())
    assert _deliver(client, http, clock).delivered == 1
    assert len(receiver.on("/lease")) == 1


@pytest.mark.committed
def test_two_workers_racing_send_each_delivery_once(
    client: TestClient,
    acme: dict[str, Any],
    db: Database,
    clock: Clock,
    receiver: Receiver,
) -> None:
    """Two passes at once: their claims split the work (FOR UPDATE SKIP LOCKED on PostgreSQL,
    the write lock taken at BEGIN on SQLite), nothing goes twice, and order holds."""
    _add(client, receiver, "/race", ["points.earned"])
    receiver.delay = 0.01
    users = [f"u{n}" for n in range(8)]
    expected = set()
    for seq in range(4):
        for user in [*users, None]:
            expected.add(_enqueue(db, user, seq))
    box = client.app.state.plaudit.box  # type: ignore[attr-defined]
    rounds = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def work() -> None:
        # Both passes of each round start together, so their claims really overlap.
        with httpx.Client() as http:
            try:
                for _ in range(16):
                    rounds.wait()
                    worker.deliver_due(
                        db, client=http, box=box, now=_now(clock), allow_private=True, limit=3
                    )
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    ids = [message_id for _, message_id, _ in receiver.received]
    assert sorted(ids) == sorted(expected)  # each once, none twice
    for user in users:
        seqs = [b["data"]["seq"] for b in receiver.on("/race") if b["data"]["user_id"] == user]
        assert seqs == [0, 1, 2, 3]


def test_a_message_is_written_with_the_change_or_not_at_all(
    client: TestClient, acme: dict[str, Any], db: Database, receiver: Receiver
) -> None:
    """enqueue joins the caller's transaction: rolled back with it, nothing is queued."""
    endpoint = _add(client, receiver, "/tx", ["points.earned"])

    def a_change_that_fails() -> None:
        with db.session() as session:
            service.enqueue(
                session, product_id="acme", event_type="points.earned", data={}, user_id="u1"
            )
            raise RuntimeError("the change failed")

    with pytest.raises(RuntimeError):
        a_change_that_fails()
    assert _log(client, endpoint) == []
    _enqueue(db, "u1", 1)
    assert len(_log(client, endpoint)) == 1


def test_old_finished_messages_are_pruned_and_pending_ones_kept(
    client: TestClient,
    acme: dict[str, Any],
    db: Database,
    clock: Clock,
    receiver: Receiver,
    http: httpx.Client,
) -> None:
    """After 30 days a delivered message leaves the log; one still pending stays."""
    endpoint = _add(client, receiver, "/prune", ["points.earned"])
    receiver.script["/prune#u2"] = [500]
    _enqueue(db, "u1", 1, now=_now(clock))
    pending = _enqueue(db, "u2", 2, now=_now(clock))
    assert _deliver(client, http, clock).delivered == 1
    assert worker.prune(db, now=_now(clock) + dt.timedelta(days=29)) == 0
    assert worker.prune(db, now=_now(clock) + dt.timedelta(days=31)) == 1
    assert [r["message_id"] for r in _log(client, endpoint)] == [pending]


# --- the log and redelivery ---------------------------------------------------------------


def test_the_log_lists_deliveries_and_redelivery_sends_one_again(
    client: TestClient,
    acme: dict[str, Any],
    db: Database,
    clock: Clock,
    receiver: Receiver,
    http: httpx.Client,
) -> None:
    """Newest first with status, attempts and codes; redeliver re-sends the same message."""
    endpoint = _add(client, receiver, "/log", ["points.earned"])
    receiver.script["/log"] = [204, 500]
    first = _enqueue(db, "u1", 1)
    _deliver(client, http, clock)
    second = _enqueue(db, "u2", 2)
    _deliver(client, http, clock)
    rows = _log(client, endpoint)
    assert [r["message_id"] for r in rows] == [second, first]
    assert [r["status"] for r in rows] == ["pending", "delivered"]
    assert [r["last_status_code"] for r in rows] == [500, 204]
    assert {r["event_type"] for r in rows} == {"points.earned"}
    assert [r["user_id"] for r in rows] == ["u2", "u1"]
    assert all(r["attempts"] == 1 and r["last_attempt_at"] for r in rows)
    assert [r["message_id"] for r in _log(client, endpoint, status="delivered")] == [first]

    base = f"/v1/products/acme/webhooks/{endpoint['id']}/deliveries"
    again = client.post(f"{base}/{rows[1]['id']}/redeliver", headers=bearer(acme["api_key"]))
    assert again.status_code == 202, again.text
    assert again.json()["status"] == "pending"
    assert again.json()["attempts"] == 0
    _deliver(client, http, clock)  # the redelivery goes at once; u2's retry is not due yet
    assert [m for _, m, _ in receiver.received] == [first, second, first]
    assert _log(client, endpoint)[1]["status"] == "delivered"
    assert client.post(f"{base}/999999/redeliver", headers=ADMIN).status_code == 404
    other = create_product(client, id="other")
    assert client.get(base, headers=bearer(other["api_key"])).status_code == 404


@pytest.mark.committed
def test_the_cli_adds_lists_shows_the_log_and_redelivers(
    client: TestClient,
    acme: dict[str, Any],
    db: Database,
    settings: Settings,
    clock: Clock,
    receiver: Receiver,
    http: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`plaudit webhooks add|list|deliveries|redeliver` call the same services."""
    # Tables 200 wide even where the console was made under a narrower COLUMNS (xdist).
    monkeypatch.setattr(cli_console, "_width", 200)
    runner = CliRunner()
    env = {
        "PLAUDIT_DATABASE_URL": db.url,
        "PLAUDIT_DATA_DIR": str(settings.data_dir),
        "PLAUDIT_MASTER_KEY": settings.master_key or "",
        "PLAUDIT_ALLOW_PRIVATE_URLS": "true",
        "COLUMNS": "200",
    }

    def run(*args: str) -> Any:
        result = runner.invoke(cli_app, ["webhooks", *args], env=env)
        assert "Traceback" not in result.output
        return result

    added = run("add", "acme", receiver.base + "/cli", "-e", "points.earned", "--json")
    assert added.exit_code == 0, added.output
    endpoint = json.loads(added.stdout)
    assert endpoint["secret"].startswith("whsec_")
    receiver.secrets["/cli"] = endpoint["secret"]
    listed = run("list", "acme", "--json")
    assert [e["id"] for e in json.loads(listed.stdout)] == [endpoint["id"]]
    assert "secret" not in listed.stdout
    assert "Webhook endpoints" in run("list", "acme").stdout

    message_id = _enqueue(db, "u1", 1)
    _deliver(client, http, clock)
    log = json.loads(run("deliveries", "acme", endpoint["id"], "--json").stdout)
    assert log["total"] == 1
    assert log["deliveries"][0]["message_id"] == message_id
    assert "delivered" in run("deliveries", "acme", endpoint["id"]).stdout
    redelivered = run("redeliver", "acme", endpoint["id"], str(log["deliveries"][0]["id"]))
    assert redelivered.exit_code == 0, redelivered.output
    _deliver(client, http, clock)
    assert len(receiver.on("/cli")) == 2

    bad = run("add", "acme", receiver.base + "/cli", "-e", "points.spent")
    assert bad.exit_code == 1
    assert "points.spent" in bad.output
    assert "invalid_request" in bad.output
    missing = run("deliveries", "acme", "ep_nope")
    assert missing.exit_code == 1
    assert "not_found" in missing.output


def test_loyalty_changes_send_points_tier_and_badge_notifications_in_order(
    client: TestClient, acme: dict[str, Any], clock: Clock, receiver: Receiver, http: httpx.Client
) -> None:
    """One purchase that crosses a tier and wins a badge sends points.earned, tier.changed,
    badge.awarded, in that order, about that user; a redemption sends points.redeemed."""
    _add(
        client,
        receiver,
        "/loyalty",
        ["points.earned", "points.redeemed", "tier.changed", "badge.awarded"],
    )
    admin = {"headers": ADMIN}
    base = "/v1/products/acme"
    client.post(
        f"{base}/loyalty/rules",
        json={"name": "Spend", "event_type": "purchase", "property": "amount", "rate": 1},
        **admin,
    )
    client.put(
        f"{base}/loyalty/tiers", json={"tiers": [{"name": "Gold", "threshold": 100}]}, **admin
    )
    client.post(
        f"{base}/badges",
        json={"name": "Whale", "criteria": {"kind": "points_total", "points": 100}},
        **admin,
    )
    reward = client.post(f"{base}/rewards", json={"name": "Mug", "cost": 30}, **admin).json()
    token = _token(acme, clock, "ann")
    sent = client.post(
        "/v1/events",
        headers=bearer(token),
        json={"type": "purchase", "properties": {"amount": 120}},
    )
    assert sent.json()["badges_awarded"] == ["Whale"]
    redeemed = client.post(f"/v1/rewards/{reward['id']}/redeem", headers=bearer(token))
    assert redeemed.status_code == 201, redeemed.text
    while _deliver(client, http, clock).attempted:
        pass
    bodies = receiver.on("/loyalty")
    assert [b["type"] for b in bodies] == [
        "points.earned",
        "tier.changed",
        "badge.awarded",
        "points.redeemed",
    ]
    assert {b["data"]["user_id"] for b in bodies} == {"ann"}
    earned, tier, badge, spent = (b["data"] for b in bodies)
    assert (earned["points"], earned["balance"], earned["reason"]) == (120, 120, "Spend")
    assert (tier["from"], tier["to"]) == (None, "Gold")
    assert badge["badge"]["name"] == "Whale"
    assert (spent["points"], spent["balance"], spent["reward"]["name"]) == (30, 90, "Mug")
