"""A hostile browser and anonymous client against ``POST /v1/events`` served ahead of FastAPI
(``web/hotpath.py``, ``web/fast_body.py``, ``pipeline/routes.py``): each request is sent once by
the hot path and once by FastAPI (the hot route taken out), by two users of one product, and
both answers must be alike; what the hot path guards (tokens, tenants, limits) holds. Requests
the test client cannot make (a body cut short, odd framing headers) are sent as raw ASGI calls.
Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from plaudit.events.models import Event
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import ADMIN, Clock, MakeClient, bearer
from tests.support.tenant import Tenant

HOT = ("POST", "/v1/events")
JSON = {"Content-Type": "application/json"}
PLAIN = b'{"type": "level_completed"}'


class Answer:
    """What a caller sees of a response, with the user's id and the stored event's id made
    alike between the two users that sent it."""

    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def shape(self, sub: str) -> tuple[int, list[tuple[str, str]], Any]:
        headers = sorted(
            (k.lower(), v) for k, v in self.headers if k.lower() not in ("x-request-id",)
        )
        headers = [(k, v) for k, v in headers if k != "content-length"]
        text = re.sub(r"evt_[A-Za-z0-9_-]+", "evt_ID", self.body.decode("utf-8", "replace"))
        text = text.replace(sub, "USER")
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        return self.status, headers, body

    @classmethod
    def of(cls, response: Response) -> Answer:
        return cls(response.status_code, list(response.headers.multi_items()), response.content)

    def json(self) -> Any:
        return json.loads(self.body)


class Twice:
    """Sends a request by the hot path, then by FastAPI alone (the hot route taken out)."""

    def __init__(self, client: TestClient, tenant: Tenant) -> None:
        self.client = client
        self.tenant = tenant
        self.handler = client.app.hot_routes[HOT]  # type: ignore[attr-defined]
        self.taken: list[bool] = []
        handler = self.handler

        async def recording(request: Any) -> Any:
            try:
                response = await handler(request)
            except Exception:
                self.taken.append(True)
                raise
            self.taken.append(response is not None)
            return response

        self.recording = recording

    def _route(self, hot: bool) -> None:
        routes = self.client.app.hot_routes  # type: ignore[attr-defined]
        if hot:
            routes[HOT] = self.recording
        else:
            routes.pop(HOT, None)

    def post(self, hot: bool, sub: str | None, **kwargs: Any) -> Answer:
        self._route(hot)
        headers = dict(kwargs.pop("headers", {}))
        if sub is not None:
            headers.update(bearer(self.tenant.token(sub)))
        try:
            return Answer.of(self.client.post("/v1/events", headers=headers, **kwargs))
        finally:
            self._route(True)

    def asgi(
        self,
        hot: bool,
        sub: str | None,
        headers: list[tuple[bytes, bytes]],
        messages: list[dict[str, Any]],
        query: bytes = b"",
    ) -> Answer:
        """The request as raw ASGI messages, on the app's own event loop (its lifespan ran)."""
        self._route(hot)
        if sub is not None:
            headers = [(b"authorization", b"Bearer " + self.tenant.token(sub).encode()), *headers]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/events",
            "raw_path": b"/v1/events",
            "root_path": "",
            "query_string": query,
            "headers": [(b"host", b"plaudit.test"), *headers],
            "client": ("203.0.113.9", 50000),
            "server": ("plaudit.test", 80),
            "state": {},
        }
        pending = list(messages)
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if pending:
                return pending.pop(0)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        async def call() -> None:
            await self.client.app(scope, receive, send)

        try:
            portal = self.client.portal
            assert portal is not None
            portal.call(call)
        finally:
            self._route(True)
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        decoded = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
        return Answer(start["status"], decoded, body)

    def both(self, name: str, send: Any) -> tuple[Answer, Answer]:
        """``send(hot, sub)`` by each path, as ``name``-hot and ``name``-framework."""
        hot = send(True, f"{name}-hot")
        framework = send(False, f"{name}-framework")
        return hot, framework


@pytest.fixture
def twice(client: TestClient, acme: Tenant) -> Twice:
    return Twice(client, acme)


def _alike(name: str, answers: tuple[Answer, Answer]) -> None:
    hot, framework = answers
    assert hot.shape(f"{name}-hot") == framework.shape(f"{name}-framework")


def _events(db: Database, product_id: str | None = None) -> int:
    with db.session() as session:
        query = select(func.count()).select_from(Event)
        if product_id is not None:
            query = query.where(Event.product_id == product_id)
        return int(session.scalar(query) or 0)


# --- bodies the parser cannot follow ----------------------------------------------------------


@pytest.mark.parametrize("token", [False, True])
@pytest.mark.parametrize(
    "body",
    [b"[" * 20_000, b'{"a":' * 5_000, b'{"type": "x", "properties": {"p": ' + b"[" * 20_000],
    ids=["arrays", "objects", "in-properties"],
)
def test_a_body_nested_past_the_parsers_depth_is_fastapis_400_never_a_500(
    twice: Twice, token: bool, body: bytes
) -> None:
    """JSON nested deeper than Python's parser follows raises RecursionError (not a
    ValueError): FastAPI answers 400 ``invalid_request``, with or without a token, and so
    must the hot path, rather than a 500 with a logged traceback for any anonymous caller."""
    answers = twice.both(
        "deep",
        lambda hot, sub: twice.post(hot, sub if token else None, content=body, headers=JSON),
    )
    assert answers[1].status == 400, answers[1].body
    _alike("deep", answers)


def test_a_body_nested_near_the_parsers_depth_is_answered_alike(twice: Twice) -> None:
    """How deep the parser follows depends on how deep the stack already is where it runs,
    and the hot path parses from a shallower stack than FastAPI: properties nested in
    between (about 955 to 970 levels here) were stored (202) by the hot path and refused
    (400) by FastAPI. Every depth up to past the parser's limit is answered alike."""
    for depth in [256, 257, *range(900, 1010, 2)]:
        body = (
            b'{"type": "level_completed", "properties": {"p": '
            + b"[" * depth
            + b"]" * depth
            + b"}}"
        )
        answers = twice.both(
            f"nested{depth}",
            lambda hot, sub, body=body: twice.post(hot, sub, content=body, headers=JSON),
        )
        assert (depth, answers[0].status) == (depth, answers[1].status)
        _alike(f"nested{depth}", answers)


ODD_BODIES = {
    "utf-8 bom": b"\xef\xbb\xbf" + PLAIN,
    "utf-16-le": PLAIN.decode().encode("utf-16-le"),
    "utf-32": PLAIN.decode().encode("utf-32"),
    "nan": b'{"type": "level_completed", "properties": {"x": NaN}}',
    "overflowing float": b'{"type": "level_completed", "properties": {"x": 1e400}}',
    "huge int": b'{"type": "level_completed", "properties": {"x": ' + b"9" * 4000 + b"}}",
    "too many digits": b'{"type": "level_completed", "properties": {"x": ' + b"9" * 5000 + b"}}",
    "last key wins": b'{"type": "", "type": "level_completed"}',
    "last key loses": b'{"type": "level_completed", "type": ""}',
    "lone surrogate": b'{"type": "level_completed", "properties": {"\\ud800": 1}}',
    "surrogate id": b'{"type": "level_completed", "id": "\\udfff"}',
    "nul id": b'{"type": "level_completed", "id": "a\\u0000b"}',
    "int id": b'{"type": "level_completed", "id": 7}',
    "trailing data": PLAIN + b" {}",
    "whitespace": b"\n\t " + PLAIN + b"\r\n",
    "array of one": b"[" + PLAIN + b"]",
}


@pytest.mark.parametrize("token", [False, True])
@pytest.mark.parametrize("name", list(ODD_BODIES))
def test_odd_json_is_answered_as_fastapi_answers_it(twice: Twice, token: bool, name: str) -> None:
    """BOMs, UTF-16 and UTF-32, NaN, 1e400, numbers past Python's digit limit, repeated keys,
    lone surrogates and NULs, trailing data: the same answer by either path, never a 500."""
    body = ODD_BODIES[name]
    answers = twice.both(
        "odd", lambda hot, sub: twice.post(hot, sub if token else None, content=body, headers=JSON)
    )
    assert answers[0].status < 500, answers[0].body
    _alike("odd", answers)


# --- framing the test client does not send ----------------------------------------------------


def _framing_cases() -> list[tuple[str, list[tuple[bytes, bytes]], list[dict[str, Any]]]]:
    ct = (b"content-type", b"application/json")

    def length(n: int | bytes) -> tuple[bytes, bytes]:
        return (b"content-length", str(n).encode() if isinstance(n, int) else n)

    def body(data: bytes, more: bool = False) -> dict[str, Any]:
        return {"type": "http.request", "body": data, "more_body": more}

    half = len(PLAIN) // 2
    padded = PLAIN[:-1] + b" " * 40_000 + b"}"  # past the client limit (32 KiB)
    return [
        ("whole", [ct, length(len(PLAIN))], [body(PLAIN)]),
        ("chunks", [ct, length(len(PLAIN))], [body(PLAIN[:half], True), body(PLAIN[half:])]),
        ("empty chunks", [ct, length(len(PLAIN))], [body(b"", True), body(PLAIN), body(b"")]),
        ("cut short", [ct, length(len(PLAIN) + 10)], [body(PLAIN[:half], True)]),
        ("nothing", [ct, length(len(PLAIN))], []),
        ("bad length", [ct, length(b"abc")], [body(PLAIN)]),
        (
            "bad length, too long",
            [ct, length(b"abc")],
            [body(padded[:20_000], True), body(padded[20_000:])],
        ),
        ("two lengths", [ct, length(len(PLAIN)), length(len(PLAIN))], [body(PLAIN)]),
        (
            "length and chunked",
            [ct, length(len(PLAIN)), (b"transfer-encoding", b"chunked")],
            [body(PLAIN)],
        ),
        ("two types", [ct, (b"content-type", b"text/plain"), length(len(PLAIN))], [body(PLAIN)]),
        (
            "text then json",
            [(b"content-type", b"text/plain"), ct, length(len(PLAIN))],
            [body(PLAIN)],
        ),
        ("expect", [ct, length(len(PLAIN)), (b"expect", b"100-continue")], [body(PLAIN)]),
        (
            "nbsp type",
            [(b"content-type", b"\xa0application/json\xa0"), length(len(PLAIN))],
            [body(PLAIN)],
        ),
        (
            "quoted type",
            [(b"content-type", b'"application/json"'), length(len(PLAIN))],
            [body(PLAIN)],
        ),
    ]


#: The framings the hot path answers itself (a body cut short or never sent: its 400, as FastAPI's).
TAKEN = {
    "whole",
    "chunks",
    "empty chunks",
    "cut short",
    "two lengths",
    "two types",
    "expect",
    "nbsp type",
    "bad length",
    "bad length, too long",
    "nothing",
}


@pytest.mark.parametrize("token", [False, True])
@pytest.mark.parametrize(
    ("name", "headers", "messages"), _framing_cases(), ids=[c[0] for c in _framing_cases()]
)
def test_framing_the_test_client_cannot_send_is_answered_as_fastapi_answers_it(
    twice: Twice,
    token: bool,
    name: str,
    headers: list[tuple[bytes, bytes]],
    messages: list[dict[str, Any]],
) -> None:
    """A body in chunks, cut short by a disconnect, never sent; odd or repeated Content-Length,
    Content-Type and Transfer-Encoding headers; Expect: 100-continue. (The plain ones are
    the hot path's own: the comparison is not between two FastAPI answers.)"""
    answers = twice.both(
        "framed",
        lambda hot, sub: twice.asgi(hot, sub if token else None, headers, list(messages)),
    )
    _alike("framed", answers)
    assert twice.taken == [name in TAKEN]


# --- what the hot path guards -----------------------------------------------------------------


def test_a_token_for_one_product_never_writes_to_another_named_by_header(
    twice: Twice, client: TestClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """acme's token with ``X-Plaudit-Product: rival`` (and with rival's id as its audience but
    acme's key) stores nothing in rival, and both paths refuse it alike."""
    rival = Tenant(client, factories.product(db, settings, id="rival"), clock)
    answers = twice.both(
        "cross",
        lambda hot, sub: twice.post(
            hot, sub, content=PLAIN, headers={**JSON, "X-Plaudit-Product": "rival"}
        ),
    )
    assert answers[0].status in (401, 403), answers[0].body
    _alike("cross", answers)
    forged = twice.tenant.token("mallory", aud="rival")
    response = client.post("/v1/events", content=PLAIN, headers={**JSON, **bearer(forged)})
    assert response.status_code == 401, response.text
    assert _events(db, rival.id) == 0


def test_a_revoked_token_is_refused_by_the_hot_path(twice: Twice, client: TestClient) -> None:
    """A user's tokens revoked: the next event by the hot path is 401 ``token_revoked``, as
    FastAPI answers it."""
    for sub in ("gone-hot", "gone-framework"):
        twice.tenant.send(sub, "level_completed")  # the token is known (cached) first
        revoked = client.post(
            f"/v1/products/{twice.tenant.id}/revocations",
            headers=ADMIN,
            json={
                "user_id": sub,
                "issued_before": (
                    dt.datetime.fromtimestamp(twice.tenant.clock.now, dt.UTC)
                    + dt.timedelta(seconds=1)
                ).isoformat(),
            },
        )
        assert revoked.status_code == 201, revoked.text
    answers = twice.both("gone", lambda hot, sub: twice.post(hot, sub, content=PLAIN, headers=JSON))
    assert answers[0].status == 401, answers[0].body
    assert answers[0].json()["error"] == "token_revoked"
    _alike("gone", answers)


def test_failed_verifications_by_the_hot_path_count_toward_the_address_limit(
    make_client: MakeClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """Bad tokens with a valid body (the hot path's own refusals) use up the address's
    failed-verification allowance: past it, 429."""
    client = make_client(rate_limit_failed_verifications_per_address="3/minute")
    factories.product(db, settings, id="acme")
    statuses = [
        client.post(
            "/v1/events", content=PLAIN, headers={**JSON, "Authorization": "Bearer not.a.token"}
        ).status_code
        for _ in range(5)
    ]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]


def test_the_users_rate_counts_each_request_once_whoever_serves_it(
    make_client: MakeClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """A declined request (served by FastAPI) and a taken one each count once toward the
    user's event rate: two events a minute allow one refused body and one event, no more."""
    client = make_client(rate_limit_client_events_per_user="2/minute")
    acme = Tenant(client, factories.product(db, settings, id="acme"), clock)
    headers = {**JSON, **bearer(acme.token("ann"))}
    declined = client.post("/v1/events", content=b'{"type": ""}', headers=headers)
    taken = client.post("/v1/events", content=PLAIN, headers=headers)
    past = client.post("/v1/events", content=PLAIN, headers=headers)
    assert (declined.status_code, taken.status_code, past.status_code) == (422, 202, 429)
    assert past.headers["retry-after"]


def test_a_body_past_the_client_limit_is_413_unread_by_the_hot_path(
    make_client: MakeClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """A valid event padded past PLAUDIT_BODY_LIMIT_CLIENT_BYTES is 413 before its token is
    looked at (a bad one is not even counted)."""
    client = make_client(body_limit_client_bytes=1024)
    factories.product(db, settings, id="acme")
    body = json.dumps({"type": "level_completed", "properties": {"pad": "x" * 2000}}).encode()
    response = client.post(
        "/v1/events", content=body, headers={**JSON, "Authorization": "Bearer not.a.token"}
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "body_too_large"


def test_an_origin_the_product_does_not_allow_is_refused_alike(
    twice: Twice, client: TestClient
) -> None:
    """A browser on a site the product does not allow: 403 by either path, no CORS headers;
    on an allowed site, the CORS headers by either path."""
    twice.tenant.admin("PATCH", "", json={"allowed_origins": ["https://shop.example"]})
    for origin in ("https://evil.example", "https://shop.example", "https://SHOP.example"):
        answers = twice.both(
            "site",
            lambda hot, sub, origin=origin: twice.post(
                hot, sub, content=PLAIN, headers={**JSON, "Origin": origin}
            ),
        )
        _alike("site", answers)
        allowed = dict(answers[0].headers).get("access-control-allow-origin")
        assert (answers[0].status, allowed) == (
            (403, None) if "evil" in origin else (202, origin)
        ), origin


@pytest.mark.parametrize(
    "header",
    ["acme\x00", "acme\x1b[31m", "ACME", " acme", "acme" * 100, "rival"],
    ids=["nul", "escape", "case", "space", "long", "unknown"],
)
def test_a_hostile_product_header_is_answered_alike(twice: Twice, header: str) -> None:
    """``X-Plaudit-Product`` with control characters, another case, padding or no product:
    the same refusal (or answer) by either path, never a 500."""
    answers = twice.both(
        "named",
        lambda hot, sub: twice.asgi(
            hot,
            sub,
            [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(PLAIN)).encode()),
                (b"x-plaudit-product", header.encode("latin-1")),
            ],
            [{"type": "http.request", "body": PLAIN}],
        ),
    )
    assert answers[0].status < 500, answers[0].body
    _alike("named", answers)
