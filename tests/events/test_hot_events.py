"""``POST /v1/events`` is served ahead of FastAPI (web/hotpath.py), and answers every request
exactly as FastAPI answers it: the same status, headers and body, for any body, content type,
query and token. A request the hot handler does not take as it is (a body FastAPI would refuse,
a content type it reads otherwise, a query, a streamed body) is declined and served by FastAPI
whole, so the plain case is the only one the hot path answers itself."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import Response as StarletteResponse

from plaudit.app import create_app
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support.service import NOW, Clock, create_product, standard_claims

HOT = ("POST", "/v1/events")
MOMENT = dt.datetime.fromtimestamp(NOW, dt.UTC)


@pytest.fixture
def settings_(settings: Settings) -> Settings:
    # Limits that no run of examples reaches by itself, except the one user's events rate
    # ("limited" below): each example's users send one request each.
    return settings.model_copy(
        update={
            "rate_limit_failed_verifications_per_address": "1000000/minute",
            "rate_limit_failed_verifications_per_product": "1000000/minute",
            "rate_limit_client_events_per_user": "1/minute",
        }
    )


@pytest.fixture
def hot_client(settings_: Settings, db: Database, clock: Clock) -> Iterator[TestClient]:
    app = create_app(settings_, db=db, clock=clock, background=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


class Both:
    """Sends a request by the hot path and by FastAPI (the hot route taken out), as two users
    of one product, so that neither request's event is the other's duplicate."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.product = create_product(client, id="acme")
        self.secret = self.product["secret"]["value"]
        self.serial = itertools.count()
        self.served: list[bool] = []  # whether each hot request was answered by the hot handler
        handler = client.app.hot_routes[HOT]  # type: ignore[attr-defined]

        async def recording(request: Request) -> StarletteResponse | None:
            try:
                response = await handler(request)
            except Exception:  # a refusal the hot path renders
                self.served.append(True)
                raise
            self.served.append(response is not None)
            return response

        self.handler = recording
        limited = self.token("write", "limited")
        first = client.post("/v1/events", json={"type": "a"}, headers={"Authorization": limited})
        assert first.status_code == 202, first.text

    def token(self, kind: str, sub: str) -> str | None:
        claims = standard_claims("acme", sub=sub, iat=NOW)
        if kind == "none":
            return None
        if kind == "garbage":
            return "Bearer not.a.token"
        if kind == "read":
            claims["scope"] = ["read"]
        if kind == "expired":
            claims["exp"] = int(NOW) - 3600
        if kind == "other product":
            claims["aud"] = "elsewhere"
        return "Bearer " + jwt.encode(claims, self.secret, algorithm="HS256")

    def send(
        self, *, hot: bool, token: str, content_type: str | None, query: str, body: bytes
    ) -> Response:
        app = self.client.app
        if hot:
            app.hot_routes[HOT] = self.handler  # type: ignore[attr-defined]
        else:
            app.hot_routes.pop(HOT)  # type: ignore[attr-defined]
        headers: dict[str, str] = {}
        kind, _, sub = token.partition(":")
        credential = self.token(kind, sub)
        if credential is not None:
            headers["Authorization"] = credential
        if content_type is not None:
            headers["Content-Type"] = content_type
        return self.client.post("/v1/events" + query, content=body, headers=headers)


@pytest.fixture
def both(hot_client: TestClient) -> Iterator[Both]:
    sender = Both(hot_client)
    yield sender
    hot_client.app.hot_routes[HOT] = sender.handler  # type: ignore[attr-defined]


def _answer(response: Response, sub: str) -> tuple[int, dict[str, str], Any]:
    """The response with what differs between the two users taken out: the user's id, and the
    ids Plaudit gave the stored events."""
    headers = {k: v for k, v in response.headers.items() if k not in ("x-request-id",)}
    text = response.text.replace(sub, "USER")
    text = re.sub(r"evt_[A-Za-z0-9_-]+", "evt_ID", text)
    headers.pop("content-length", None)
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    return response.status_code, headers, body


def _iso(seconds: float, suffix: str) -> str:
    return (MOMENT + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S") + suffix


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
MOMENTS = st.builds(
    _iso,
    st.sampled_from([-8 * 86400, -86400, 0, 240, 360]),
    st.sampled_from(["Z", "+00:00", "+02:00", ""]),
)
EVENTS = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["level_completed", "purchase", "", "a b", "x" * 129])
        | st.text(max_size=6)
    },
    optional={
        "properties": JSON,
        "id": st.text(max_size=8) | st.integers() | st.none(),
        "occurred_at": MOMENTS | JSON,
        "other": JSON,
    },
)
#: Events FastAPI takes: the hot handler's own.
VALID = st.fixed_dictionaries(
    {"type": st.sampled_from(["level_completed", "purchase"])},
    optional={
        "properties": st.dictionaries(st.text(max_size=6), JSON, max_size=3),
        "id": st.text(min_size=1, max_size=8),
        "occurred_at": MOMENTS,
    },
)
BODIES = st.one_of(
    EVENTS.map(lambda event: json.dumps(event).encode()),
    EVENTS.map(lambda event: json.dumps(event).encode("utf-16")),
    JSON.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=24),
    st.sampled_from(
        [b"", b"   ", b'{"type": "level_completed"', b"\xff\xfe{}", b'{"type": "\xe9"}', b"NaN"]
    ),
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        " application/json ",
        "application/json;",
        "application/vnd.api+json",
        "text/plain",
        "text/json",
        "multipart/form-data; boundary=x",
        "application/json/x",
        "",
    ]
)
TOKENS = st.sampled_from(
    ["write", "read", "none", "garbage", "expired", "other product", "limited"]
)
QUERIES = st.sampled_from(["", "", "", "?a=1", "?x=%00"])


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    request=st.one_of(
        st.tuples(BODIES, CONTENT_TYPES, TOKENS, QUERIES),
        # Half near the plain case, which the hot handler answers itself.
        st.tuples(
            VALID.map(lambda event: json.dumps(event).encode()) | BODIES,
            st.sampled_from(["application/json", "application/json; charset=utf-8"]),
            st.sampled_from(["write", "write", "write", "read", "garbage", "limited"]),
            st.just(""),
        ),
    )
)
def test_the_hot_path_answers_every_request_as_fastapi_does(
    both: Both, request: tuple[bytes, str | None, str, str]
) -> None:
    body, content_type, token, query = request
    n = next(both.serial)
    subs = {True: f"user-{n}-hot", False: f"user-{n}-framework"}
    answers = {}
    for hot in (False, True):
        sub = "limited" if token == "limited" else subs[hot]
        kind = "write" if token == "limited" else token
        response = both.send(
            hot=hot, token=f"{kind}:{sub}", content_type=content_type, query=query, body=body
        )
        answers[hot] = _answer(response, sub)
    # Shown by --hypothesis-show-statistics: what the examples reached, and who answered.
    event(f"{answers[True][0]} {'hot' if both.served[-1:] == [True] else 'FastAPI'}")
    assert answers[True] == answers[False]


def test_a_plain_event_is_answered_by_the_hot_path_and_the_rest_declined(both: Both) -> None:
    """The differential above would pass with a hot path that declined everything: this shows
    that it serves the plain case itself, refusals of the token included."""
    plain = json.dumps({"type": "level_completed"}).encode()
    cases: list[tuple[str, str | None, str, bytes, bool, int]] = [
        ("write:ann", "application/json", "", plain, True, 202),
        ("write:bob", "application/json; charset=utf-8", "", plain, True, 202),
        ("garbage:x", "application/json", "", plain, True, 401),
        ("read:cat", "application/json", "", plain, True, 403),
        ("write:limited", "application/json", "", plain, True, 429),
        ("write:dan", "text/plain", "", plain, False, 422),
        ("write:eve", "application/json", "?a=1", plain, False, 202),
        ("write:fay", "application/json", "", b"{", False, 422),
        ("write:gus", "application/json", "", b"\xff", False, 400),
        ("write:hal", "application/json", "", b'{"type": ""}', False, 422),
        ("garbage:x", "application/json", "", b'{"type": ""}', False, 401),
    ]
    for token, content_type, query, body, served, status in cases:
        both.served.clear()
        response = both.send(
            hot=True, token=token, content_type=content_type, query=query, body=body
        )
        assert (both.served, response.status_code) == ([served], status), (token, body)


def test_a_streamed_body_is_declined_and_read_once_by_fastapi(both: Both) -> None:
    """Chunked: counted by the body limits as it streams in, then FastAPI's to read."""
    both.client.app.hot_routes[HOT] = both.handler  # type: ignore[attr-defined]

    def chunks() -> Iterator[bytes]:
        yield b'{"type": '
        yield b'"level_completed"}'

    token = both.token("write", "zoe")
    assert token is not None
    response = both.client.post(
        "/v1/events",
        content=chunks(),
        headers={"Authorization": token, "Content-Type": "application/json"},
    )
    assert (both.served, response.status_code) == ([False], 202), response.text
