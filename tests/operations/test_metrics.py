"""/metrics: who may scrape it, and that each figure counts what its name says, with labels
that never name a tenant."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient
from jwt.algorithms import ECAlgorithm
from prometheus_client import REGISTRY

from plaudit.app import create_app
from plaudit.gamification import leaderboards
from plaudit.metrics import counters
from plaudit.operations import store_gauges
from plaudit.products import jwks
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.webhooks import service as webhooks
from plaudit.webhooks import worker
from tests.support import factories
from tests.support.local_http import LocalServer
from tests.support.service import ADMIN, NOW, Clock, bearer, standard_claims, verify

METRICS_TOKEN = "metrics-" + "m" * 32


@pytest.fixture
def scraped(settings: Settings, db: Database, clock: Clock) -> Iterator[TestClient]:
    """The app with a metrics token set."""
    app = create_app(
        settings.model_copy(update={"metrics_token": METRICS_TOKEN}),
        db=db,
        clock=clock,
        background=False,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def acme(db: Database, settings: Settings) -> dict[str, Any]:
    return factories.product(db, settings, id="acme")


def scrape(client: TestClient) -> str:
    response = client.get("/metrics", headers=bearer(METRICS_TOKEN))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return response.text


def sample(text: str, name: str) -> float:
    """The value of the one sample named exactly ``name`` (labels included) in ``text``."""
    values = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.startswith(name + " ")]
    assert len(values) == 1, f"{name} in {text}"
    return float(values[0])


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _token(product: dict[str, Any], **claims: Any) -> str:
    return jwt.encode(
        {**standard_claims("acme"), **claims}, product["secret"]["value"], algorithm="HS256"
    )


# --- who may scrape -------------------------------------------------------------------------


def test_metrics_are_off_without_a_token_and_say_how_to_turn_them_on(client: TestClient) -> None:
    """Unset PLAUDIT_METRICS_TOKEN: /metrics is a 404 whose hint names the setting."""
    response = client.get("/metrics", headers=ADMIN)
    assert response.status_code == 404
    assert "PLAUDIT_METRICS_TOKEN" in response.json()["hint"]


def test_metrics_need_their_own_token_not_the_admin_token(scraped: TestClient) -> None:
    """No credentials, a wrong one, or the admin token: 401; the metrics token: 200."""
    assert scraped.get("/metrics").status_code == 401
    assert scraped.get("/metrics", headers=bearer(METRICS_TOKEN + "x")).status_code == 401
    assert scraped.get("/metrics", headers=ADMIN).status_code == 401
    assert scraped.get("/metrics", headers=bearer(METRICS_TOKEN)).status_code == 200


def test_metrics_are_not_part_of_the_api_document(scraped: TestClient) -> None:
    """/metrics is an operator's scrape, left out of /openapi.json; /healthz and /readyz are in."""
    paths = scraped.get("/openapi.json").json()["paths"]
    assert "/metrics" not in paths
    assert {"/healthz", "/readyz"} <= set(paths)


@pytest.mark.parametrize("token", ["short", "a" * 32])
def test_production_refuses_a_short_metrics_token_or_the_admin_token(
    settings: Settings, token: str
) -> None:
    """In production a metrics token has at least 24 characters and is not the admin token."""
    with pytest.raises(ValueError, match="PLAUDIT_METRICS_TOKEN"):
        Settings(
            environment="production",
            admin_token="a" * 32,
            master_key=settings.master_key,
            database_url="sqlite://",
            metrics_token=token,
        )


# --- what is counted ------------------------------------------------------------------------


def test_requests_are_counted_by_route_template_never_by_tenant(
    scraped: TestClient, acme: dict[str, Any]
) -> None:
    """A product's path counts under its template: no product id in any label."""
    before = value(
        "plaudit_http_requests_total",
        route="/v1/products/{product_id}",
        method="GET",
        status="200",
    )
    assert scraped.get("/v1/products/acme", headers=ADMIN).status_code == 200
    assert scraped.get("/no/such/path").status_code == 404
    text = scrape(scraped)
    assert (
        sample(
            text,
            'plaudit_http_requests_total{method="GET",route="/v1/products/{product_id}",'
            'status="200"}',
        )
        == before + 1
    )
    assert 'route="unmatched"' in text
    assert "acme" not in text
    assert "/no/such/path" not in text


def test_an_unusual_method_is_counted_as_other(scraped: TestClient) -> None:
    """A made-up method cannot mint a series of its own."""
    before = value("plaudit_http_requests_total", route="unmatched", method="other", status="404")
    scraped.request("BREW", "/nowhere")
    assert value(
        "plaudit_http_requests_total", route="unmatched", method="other", status="404"
    ) == (before + 1)


def test_the_hot_path_is_counted_under_its_route(scraped: TestClient, acme: dict[str, Any]) -> None:
    """GET /v1/auth/verify, answered ahead of FastAPI, counts and times like any route."""
    labels = {"route": "/v1/auth/verify", "method": "GET", "status": "200"}
    before = value("plaudit_http_requests_total", **labels)
    timed = value("plaudit_http_request_duration_seconds_count", route="/v1/auth/verify")
    assert verify(scraped, _token(acme)).status_code == 200
    assert value("plaudit_http_requests_total", **labels) == before + 1
    assert value("plaudit_http_request_duration_seconds_count", route="/v1/auth/verify") == (
        timed + 1
    )


def test_the_hot_event_route_is_counted_under_its_route(
    scraped: TestClient, acme: dict[str, Any]
) -> None:
    """POST /v1/events, answered ahead of FastAPI, and a request of it FastAPI answers (a body
    the hot handler declines) count under the same route."""
    labels = {"route": "/v1/events", "method": "POST"}
    accepted = value("plaudit_http_requests_total", **labels, status="202")
    refused = value("plaudit_http_requests_total", **labels, status="422")
    headers = bearer(_token(acme))
    assert scraped.post("/v1/events", json={"type": "level_up"}, headers=headers).status_code == 202
    assert scraped.post("/v1/events", json={"type": ""}, headers=headers).status_code == 422
    assert value("plaudit_http_requests_total", **labels, status="202") == accepted + 1
    assert value("plaudit_http_requests_total", **labels, status="422") == refused + 1


def test_verifications_are_counted_by_outcome_code(
    scraped: TestClient, acme: dict[str, Any], clock: Clock
) -> None:
    """ok for a good token (first sight and from the cache alike), the error code otherwise."""
    ok = value("plaudit_verifications_total", outcome="ok")
    expired = value("plaudit_verifications_total", outcome="token_expired")
    token = _token(acme)
    assert verify(scraped, token).status_code == 200
    assert verify(scraped, token).status_code == 200
    old = _token(acme, iat=int(NOW) - 7200, exp=int(NOW) - 3600)
    response = verify(scraped, old)
    assert response.json()["error"] == "token_expired"
    assert value("plaudit_verifications_total", outcome="ok") == ok + 2
    assert value("plaudit_verifications_total", outcome="token_expired") == expired + 1


def test_events_are_counted_and_their_ingest_timed(
    scraped: TestClient, acme: dict[str, Any]
) -> None:
    """A batch of three server events adds three events and one timed batch."""
    events = value("plaudit_events_ingested_total", source="server")
    batches = value("plaudit_event_ingest_duration_seconds_count", source="server")
    body = {"events": [{"user_id": f"u{i}", "type": "signed_up"} for i in range(3)]}
    response = scraped.post("/v1/products/acme/events", json=body, headers=ADMIN)
    assert response.status_code == 202, response.text
    assert value("plaudit_events_ingested_total", source="server") == events + 3
    assert value("plaudit_event_ingest_duration_seconds_count", source="server") == batches + 1


def test_a_users_single_event_is_counted_as_a_group_of_one_when_it_comes_alone(
    scraped: TestClient, acme: dict[str, Any]
) -> None:
    """Group commit's figures: one group more, of one event; no split."""
    groups = value("plaudit_event_group_size_count")
    grouped = value("plaudit_event_group_size_sum")
    splits = value("plaudit_event_group_splits_total")
    response = scraped.post("/v1/events", json={"type": "signed_up"}, headers=bearer(_token(acme)))
    assert response.status_code == 202, response.text
    assert value("plaudit_event_group_size_count") == groups + 1
    assert value("plaudit_event_group_size_sum") == grouped + 1
    assert value("plaudit_event_group_splits_total") == splits
    assert value("plaudit_events_ingested_total", source="client") >= 1


def test_outbox_depth_and_oldest_age_are_read_from_the_store_at_scrape_time(
    scraped: TestClient, acme: dict[str, Any], db: Database
) -> None:
    """Two pending deliveries, the older queued 90 s before the scrape: depth 2, age 90."""
    endpoint = scraped.post(
        "/v1/products/acme/webhooks",
        headers=ADMIN,
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["points.earned"]},
    )
    assert endpoint.status_code == 201, endpoint.text
    text = scrape(scraped)
    assert sample(text, "plaudit_outbox_pending") == 0
    assert sample(text, "plaudit_outbox_oldest_pending_age_seconds") == 0
    with db.session() as session:
        for seconds_ago in (90, 30):
            webhooks.enqueue(
                session,
                product_id="acme",
                event_type="points.earned",
                data={},
                user_id=None,
                now=factories.at(NOW - seconds_ago),
            )
    text = scrape(scraped)
    assert sample(text, "plaudit_store_gauges_up") == 1
    assert sample(text, "plaudit_outbox_pending") == 2
    assert sample(text, "plaudit_outbox_oldest_pending_age_seconds") == 90


def test_leaderboard_staleness_is_the_age_of_the_oldest_unranked_entry(
    scraped: TestClient, acme: dict[str, Any], db: Database, clock: Clock
) -> None:
    """Ranked boards: 0; points earned since, and 45 s passed: 45; ranked again: 0."""
    rule = scraped.post(
        "/v1/products/acme/loyalty/rules",
        headers=ADMIN,
        json={"name": "Sign up", "event_type": "signed_up", "points": 10},
    )
    assert rule.status_code == 201, rule.text

    def earn(user: str) -> None:
        response = scraped.post(
            "/v1/products/acme/events", json={"user_id": user, "type": "signed_up"}, headers=ADMIN
        )
        assert response.status_code == 202, response.text

    earn("u1")
    leaderboards.refresh_product(db, "acme", now=factories.at(clock.now))
    assert sample(scrape(scraped), "plaudit_leaderboard_staleness_seconds") == 0
    earn("u2")
    clock.advance(45)
    assert sample(scrape(scraped), "plaudit_leaderboard_staleness_seconds") == 45
    leaderboards.refresh_product(db, "acme", now=factories.at(clock.now), force=True)
    assert sample(scrape(scraped), "plaudit_leaderboard_staleness_seconds") == 0


class _Answers(LocalServer):
    def __init__(self, status: int, body: bytes) -> None:
        self.reply = (status, body)
        super().__init__()

    def answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        return self.reply


def test_webhook_deliveries_are_counted_by_outcome(
    scraped: TestClient, acme: dict[str, Any], db: Database
) -> None:
    """A 200 counts delivered; a 500 counts retrying."""
    receiver = _Answers(200, b"ok")
    try:
        response = scraped.post(
            "/v1/products/acme/webhooks",
            headers=ADMIN,
            json={"url": receiver.base + "/hook", "event_types": ["points.earned"]},
        )
        assert response.status_code == 201, response.text
        state = scraped.app.state.plaudit  # type: ignore[attr-defined]
        delivered = value("plaudit_webhook_deliveries_total", outcome="delivered")
        retrying = value("plaudit_webhook_deliveries_total", outcome="retrying")
        with httpx.Client() as http:
            for status in (200, 500):
                receiver.reply = (status, b"answer")
                with db.session() as session:
                    webhooks.enqueue(
                        session,
                        product_id="acme",
                        event_type="points.earned",
                        data={},
                        user_id=None,
                        now=factories.at(NOW),
                    )
                worker.deliver_due(
                    db, client=http, box=state.box, now=factories.at(NOW), allow_private=True
                )
        assert value("plaudit_webhook_deliveries_total", outcome="delivered") == delivered + 1
        assert value("plaudit_webhook_deliveries_total", outcome="retrying") == retrying + 1
    finally:
        receiver.close()


def test_jwks_fetches_are_counted_by_outcome() -> None:
    """A usable key set counts ok; a document that is not one, or an error status,
    invalid_document; a host that does not answer, fetch_failed; a private address where
    none is allowed, unsafe_url."""
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    key = {**json.loads(ECAlgorithm.to_jwk(public)), "kid": "k1"}
    outcomes = ("ok", "invalid_document", "fetch_failed", "unsafe_url")
    before = {outcome: value("plaudit_jwks_fetches_total", outcome=outcome) for outcome in outcomes}
    host = _Answers(200, json.dumps({"keys": [key]}).encode())
    try:
        with httpx.Client() as http:
            assert jwks.download(host.base + "/jwks", client=http, allow_private=True)[0]
            host.reply = (200, b"not json")
            assert jwks.download(host.base + "/jwks", client=http, allow_private=True)[1]
            host.reply = (503, b"")
            assert jwks.download(host.base + "/jwks", client=http, allow_private=True)[1]
            assert jwks.download(host.base + "/jwks", client=http, allow_private=False)[1]
            closed = "http://127.0.0.1:9/jwks"  # the discard port: nothing listens there
            assert jwks.download(closed, client=http, allow_private=True)[1]
    finally:
        host.close()
    after = {outcome: value("plaudit_jwks_fetches_total", outcome=outcome) for outcome in outcomes}
    assert after["ok"] == before["ok"] + 1
    assert after["invalid_document"] == before["invalid_document"] + 2
    assert after["unsafe_url"] == before["unsafe_url"] + 1
    assert after["fetch_failed"] == before["fetch_failed"] + 1


def test_a_store_slower_than_the_deadline_leaves_its_gauges_out(
    scraped: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scrape answers within the deadline with plaudit_store_gauges_up 0, and without
    gauges it could not read, rather than hang on the store."""
    release = threading.Event()

    def slow(db: Database, now: dt.datetime) -> store_gauges.StoreFigures:
        release.wait(10)  # bounded: released at the end of the test
        raise RuntimeError("late")

    monkeypatch.setattr(store_gauges, "DEADLINE_SECONDS", 0.2)
    monkeypatch.setattr(store_gauges, "read", slow)
    app: Any = scraped.app
    app.state.store_gauges = store_gauges.store_gauges(app.state.plaudit.db, app.state.plaudit.now)
    try:
        text = scrape(scraped)
    finally:
        release.set()
        app.state.store_gauges.close()
    assert sample(text, "plaudit_store_gauges_up") == 0
    assert "plaudit_outbox_pending" not in text
    assert "plaudit_http_requests_total" in text  # the process's own counters are all there


def test_a_request_looks_its_children_up_once_built() -> None:
    """The per-request hook reuses its labelled children: the second call builds nothing."""
    counters.record_request("/test/{id}", "GET", 200, 0.001)
    built = len(counters._requests)
    counters.record_request("/test/{id}", "GET", 200, 0.001)
    assert len(counters._requests) == built


@pytest.mark.parametrize("path", ["/v1/auth/verify", "/v1/events"])
def test_a_preflight_of_a_hot_route_is_counted_under_its_route(
    scraped: TestClient, acme: dict[str, Any], path: str
) -> None:
    """A browser's preflight of a hot route, answered before any routing, counts under that
    route (not with the scanners' unmatched paths), whichever method the route serves."""
    headers = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    response = scraped.options(path, headers=headers)
    labels = {"route": path, "method": "OPTIONS", "status": str(response.status_code)}
    before = value("plaudit_http_requests_total", **labels)
    assert scraped.options(path, headers=headers).status_code == response.status_code
    assert value("plaudit_http_requests_total", **labels) == before + 1
