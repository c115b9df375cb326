"""A hostile tenant and an anonymous client, tried against the bulkheads of issue 12.

Each test is one family of attack, parametrised over its variants; each asserts the refusal
(or that the attack changed nothing), so that a regression reopens a hole loudly.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from plaudit.errors import UnsafeUrl
from plaudit.outbound.policy import check_url
from plaudit.settings import Settings
from tests.limits.conftest import call_asgi
from tests.support.served import Server
from tests.support.service import (
    ADMIN,
    ADMIN_TOKEN,
    NOW,
    MakeClient,
    bearer,
    create_product,
    product_header,
    standard_claims,
    verify,
)

Product = dict[str, Any]


@pytest.fixture
def alpha(client: TestClient) -> Product:
    return create_product(client, id="alpha", name="Alpha")


@pytest.fixture
def bravo(client: TestClient) -> Product:
    return create_product(client, id="bravo", name="Bravo Industries")


def _token(product: Product, **claims: Any) -> str:
    payload = standard_claims(product["id"], iat=NOW)
    payload.update(claims)
    return jwt.encode(payload, product["secret"]["value"], algorithm="HS256")


# --- cross-tenant ---------------------------------------------------------------------------

#: Bravo's id as a hostile tenant might spell it in a path: case, space, full width, encoded.
BRAVO_SPELLINGS = [
    "bravo",
    "BRAVO",
    "Bravo",
    "bravo%20",
    "%20bravo",
    "bravo.",
    "%EF%BD%82%EF%BD%92%EF%BD%81%EF%BD%96%EF%BD%8F",  # full-width letters
    "%62%72%61%76%6f",  # percent-encoded ASCII
    "bravo%2F..%2Fbravo",
    "bravo%00",
]

#: One route of each family, with bravo's id where ``{p}`` is.
ROUTE_FAMILIES = [
    ("GET", "/v1/products/{p}", None),
    ("PATCH", "/v1/products/{p}", {"audience": "alpha-owned"}),
    ("GET", "/v1/products/{p}/api-keys", None),
    ("POST", "/v1/products/{p}/secrets", {}),
    ("GET", "/v1/products/{p}/keys", None),
    ("GET", "/v1/products/{p}/jwks-sources", None),
    ("GET", "/v1/products/{p}/revocations", None),
    ("POST", "/v1/products/{p}/revocations", {"user_id": "u-1"}),
    ("GET", "/v1/products/{p}/users", None),
    ("GET", "/v1/products/{p}/users/u-1", None),
    ("GET", "/v1/products/{p}/referrals", None),
    ("GET", "/v1/products/{p}/loyalty/rules", None),
    ("POST", "/v1/products/{p}/loyalty/rules", {"name": "x", "event_type": "e", "points": 1}),
    ("GET", "/v1/products/{p}/rewards", None),
    ("GET", "/v1/products/{p}/badges", None),
    ("GET", "/v1/products/{p}/webhooks", None),
    ("POST", "/v1/products/{p}/events", {"events": [{"type": "e", "user_id": "u-1"}]}),
    ("GET", "/v1/products/{p}/auth-failures", None),
]


@pytest.mark.parametrize("spelling", BRAVO_SPELLINGS)
def test_another_products_id_in_any_spelling_opens_none_of_its_routes(
    client: TestClient, alpha: Product, bravo: Product, spelling: str
) -> None:
    """Alpha's API key sent to every route family under any spelling of Bravo's id is never
    answered 2xx, never a 500, and leaves Bravo as it was."""
    before = client.get("/v1/products/bravo", headers=ADMIN).json()
    for method, template, body in ROUTE_FAMILIES:
        path = template.format(p=spelling)
        answer = client.request(method, path, json=body, headers=bearer(alpha["api_key"]))
        assert answer.status_code in (400, 403, 404, 405, 422), (method, path, answer.text)
        assert "Bravo Industries" not in answer.text, answer.text
        assert bravo["secret"]["kid"] not in answer.text, answer.text
    assert client.get("/v1/products/bravo", headers=ADMIN).json() == before
    assert client.get("/v1/products/bravo/revocations", headers=ADMIN).json() == []
    assert client.get("/v1/products/bravo/loyalty/rules", headers=ADMIN).json() == []


@pytest.mark.parametrize(
    ("method", "path", "body", "query"),
    [
        ("GET", "/v1/products/alpha/users", None, {"product_id": "bravo"}),
        ("GET", "/v1/products/alpha/revocations", None, {"product": "bravo"}),
        ("POST", "/v1/products/alpha/revocations", {"user_id": "u-1", "product_id": "bravo"}, {}),
        (
            "POST",
            "/v1/products/alpha/events",
            {"events": [{"type": "e", "user_id": "u-1", "product_id": "bravo"}]},
            {"product_id": "bravo"},
        ),
        ("PATCH", "/v1/products/alpha", {"id": "bravo", "name": "Taken"}, {}),
    ],
)
def test_another_products_id_in_a_body_query_or_header_touches_only_ones_own(
    client: TestClient,
    alpha: Product,
    bravo: Product,
    method: str,
    path: str,
    body: Any,
    query: dict[str, str],
) -> None:
    """Bravo's id in a body, query parameter or X-Plaudit-Product header of a call on Alpha's
    path changes nothing of Bravo's."""
    before = client.get("/v1/products/bravo", headers=ADMIN).json()
    headers = {**bearer(alpha["api_key"]), **product_header("bravo")}
    answer = client.request(method, path, json=body, params=query, headers=headers)
    assert answer.status_code < 500, answer.text
    assert client.get("/v1/products/bravo", headers=ADMIN).json() == before
    assert client.get("/v1/products/bravo/revocations", headers=ADMIN).json() == []
    assert client.get("/v1/products/bravo/users/u-1", headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    "route",
    ["header", "path", "claims_aud", "claims_product_id", "claims_aud_list"],
)
def test_a_user_token_of_alpha_never_acts_at_bravo(
    client: TestClient, alpha: Product, bravo: Product, route: str
) -> None:
    """A token signed with Alpha's secret and sent to Bravo by header, path or its own claims is
    refused, and no user of Bravo appears."""
    if route == "header":
        token = _token(alpha)
        answer = verify(client, token, **product_header("bravo"))
    elif route == "path":
        token = _token(alpha, sub="u-1")
        answer = client.post(
            "/api/v1/bravo/open/account/a/user/u-1", json={}, headers=bearer(token)
        )
    elif route == "claims_aud":
        answer = verify(client, _token(alpha, aud="bravo"))
    elif route == "claims_product_id":
        answer = verify(client, _token(alpha, aud="bravo", ProductId="bravo"))
    else:
        answer = verify(client, _token(alpha, aud=["bravo", "alpha"]))
    assert answer.status_code in (401, 403), answer.text
    events = client.post(
        "/v1/events",
        json={"type": "signed_up"},
        headers={**bearer(_token(alpha, aud="bravo", sub="u-1")), **product_header("bravo")},
    )
    assert events.status_code in (401, 403), events.text
    assert client.get("/v1/products/bravo/users/u-1", headers=ADMIN).status_code == 404


def test_an_object_id_of_bravo_under_alphas_path_is_not_found(
    client: TestClient, alpha: Product, bravo: Product
) -> None:
    """Bravo's rule, reward, revocation and API key ids used on Alpha's path, with Alpha's key,
    are 404 (or refused) and Bravo's objects are left as they were."""
    admin_b = "/v1/products/bravo"
    rule = client.post(
        f"{admin_b}/loyalty/rules",
        json={"name": "B rule", "event_type": "e", "points": 5},
        headers=ADMIN,
    )
    assert rule.status_code == 201, rule.text
    reward = client.post(f"{admin_b}/rewards", json={"name": "B reward", "cost": 10}, headers=ADMIN)
    assert reward.status_code == 201, reward.text
    revocation = client.post(f"{admin_b}/revocations", json={"user_id": "u-9"}, headers=ADMIN)
    assert revocation.status_code in (200, 201), revocation.text
    key_id = client.get(f"{admin_b}/api-keys", headers=ADMIN).json()[0]["id"]
    kid = bravo["secret"]["kid"]
    attempts = [
        ("PATCH", f"/loyalty/rules/{rule.json()['id']}", {"points": 1_000_000}),
        ("DELETE", f"/loyalty/rules/{rule.json()['id']}", None),
        ("PATCH", f"/rewards/{reward.json()['id']}", {"cost": 0}),
        ("DELETE", f"/rewards/{reward.json()['id']}", None),
        ("DELETE", f"/revocations/{revocation.json()['id']}", None),
        ("DELETE", f"/api-keys/{key_id}", None),
        ("POST", f"/secrets/{kid}/disable", None),
        ("DELETE", f"/keys/{kid}", None),
        ("GET", "/webhooks/1/deliveries", None),
        ("DELETE", "/webhooks/1", None),
        ("DELETE", "/jwks-sources/1", None),
    ]
    for method, tail, body in attempts:
        answer = client.request(
            method, f"/v1/products/alpha{tail}", json=body, headers=bearer(alpha["api_key"])
        )
        assert answer.status_code in (404, 405, 422), (method, tail, answer.text)
    rules = client.get(f"{admin_b}/loyalty/rules", headers=ADMIN).json()
    assert [r["points"] for r in rules] == [5]
    assert [r["cost"] for r in client.get(f"{admin_b}/rewards", headers=ADMIN).json()] == [10]
    assert len(client.get(f"{admin_b}/revocations", headers=ADMIN).json()) == 1
    assert verify(client, _token(bravo)).status_code == 200


# --- routing steering -----------------------------------------------------------------------

STEERING = [
    ("audience", "bravo"),
    ("audience", "BRAVO"),
    ("audience", "bravo "),
    ("audience", " bravo"),
    ("audience", "\uff42\uff52\uff41\uff56\uff4f"),  # full-width
    ("audience", "bravo\u200b"),  # a zero-width space
    ("audience", "https://bravo.example"),  # bravo's own audience
    ("audience", "HTTPS://BRAVO.EXAMPLE"),
    ("audience", ["bravo"]),
    ("audience", ["https://bravo.example", "alpha"]),
    ("issuer", "bravo"),
    ("issuer", ["bravo"]),
]


@pytest.mark.parametrize(("setting", "value"), STEERING)
def test_no_spelling_of_another_products_id_or_audience_steers_its_tokens(
    client: TestClient, alpha: Product, bravo: Product, setting: str, value: Any
) -> None:
    """Alpha setting its audience or issuer to Bravo's id or audience, in any case, spacing,
    width or as a list, is refused (409/422) or harmless: Bravo's tokens routed by their own
    aud, whether its id or its audience, still verify."""
    set_audience = client.patch(
        "/v1/products/bravo", json={"audience": "https://bravo.example"}, headers=ADMIN
    )
    assert set_audience.status_code == 200, set_audience.text
    answer = client.patch(
        "/v1/products/alpha", json={setting: value}, headers=bearer(alpha["api_key"])
    )
    assert answer.status_code in (200, 409, 422), answer.text
    if value in ("bravo", "https://bravo.example"):
        assert (answer.status_code, answer.json()["error"]) == (409, "routing_conflict")
    by_audience = verify(client, _token(bravo, aud="https://bravo.example", sub="after"))
    assert (by_audience.status_code, by_audience.json().get("product")) == (200, "bravo")
    by_id = verify(client, _token(bravo, aud="bravo", sub="after"))  # routed, then judged
    assert by_id.json()["error"] == "invalid_audience", by_id.text


@pytest.mark.parametrize("claims", ["aud_list", "product_id_and_aud"])
def test_a_value_beside_another_products_id_in_its_tokens_does_not_steer_them(
    client: TestClient, alpha: Product, bravo: Product, claims: str
) -> None:
    """Alpha taking as its audience a value Bravo's tokens carry beside Bravo's own id leaves
    those tokens routed to Bravo."""
    shared = "https://idp.shared.example"

    def token(sub: str) -> str:
        if claims == "aud_list":
            return _token(bravo, aud=["bravo", shared], sub=sub)
        return _token(bravo, aud=shared, ProductId="bravo", sub=sub)

    assert verify(client, token("before")).json()["product"] == "bravo"
    taken = client.patch(
        "/v1/products/alpha", json={"audience": shared}, headers=bearer(alpha["api_key"])
    )
    if taken.status_code == 409:
        return  # refused: nothing was steered
    assert taken.status_code == 200, taken.text
    after = verify(client, token("after"))  # a new token: the verify cache holds the old one
    assert (after.status_code, after.json().get("product")) == (200, "bravo"), after.text


# --- limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "method", "path"),
    [
        ("chunked_and_small_content_length", "POST", "/v1/events"),
        ("chunked_and_small_content_length", "GET", "/v1/auth/verify"),
        ("content_length_not_a_number", "POST", "/v1/events"),
        ("content_length_negative", "POST", "/v1/events"),
        ("chunked_only", "GET", "/v1/auth/verify"),
        ("chunked_only", "POST", "/v1/products/alpha/events"),
    ],
)
def test_a_body_past_the_limit_is_refused_however_its_length_is_told(
    client: TestClient, alpha: Product, settings: Settings, variant: str, method: str, path: str
) -> None:
    """A body over its route's limit, announced chunked and with a small Content-Length, or
    with a Content-Length that is not a number, is counted as it streams and refused 413 (the
    hot path, which reads no body, answers without taking a chunk of it)."""
    big = b'{"type":"signed_up","properties":{"pad":"' + b"x" * (3 * 1024 * 1024) + b'"}}'
    chunks = [big[i : i + 65536] for i in range(0, len(big), 65536)]
    headers = [(b"content-type", b"application/json"), *_auth(_token(alpha))]
    if variant == "chunked_and_small_content_length":
        headers += [(b"transfer-encoding", b"chunked"), (b"content-length", b"10")]
    elif variant == "content_length_not_a_number":
        headers += [(b"content-length", b"1e3")]
    elif variant == "content_length_negative":
        headers += [(b"transfer-encoding", b"chunked"), (b"content-length", b"-1")]
    else:
        headers += [(b"transfer-encoding", b"chunked")]
    status, body, asked = call_asgi(client.app, method, path, headers, chunks)
    if method == "GET":  # the hot path never reads a body: not one chunk of it is taken
        assert (status, asked) == (200, 0), body
    else:
        assert (status, body.get("error")) == (413, "body_too_large"), body
        assert asked <= settings.body_limit_events_bytes // 65536 + 1
        assert client.get("/v1/products/alpha/users/user_123", headers=ADMIN).status_code == 404


def _auth(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", f"Bearer {token}".encode())]


def test_a_compressed_body_is_neither_expanded_nor_stored(
    client: TestClient, alpha: Product, settings: Settings
) -> None:
    """A gzip body under the client limit that would expand past it is never decompressed:
    it is refused as the bytes it is, and no event is stored."""
    event = json.dumps({"type": "signed_up", "properties": {"pad": "x" * (4 * 1024 * 1024)}})
    packed = gzip.compress(event.encode())
    assert len(packed) < settings.body_limit_client_bytes
    answer = client.post(
        "/v1/events",
        content=packed,
        headers={
            **bearer(_token(alpha)),
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        },
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert client.get("/v1/products/alpha/users/user_123", headers=ADMIN).status_code == 404


@pytest.mark.parametrize("header", ["X-Forwarded-For", "X-Real-IP", "Forwarded", "True-Client-IP"])
def test_rotating_a_forwarding_header_does_not_reset_the_failed_verification_limit(
    make_client: MakeClient, client: TestClient, alpha: Product, header: str
) -> None:
    """With no trusted proxy, a client that names a new address in a forwarding header on
    every bad token is still limited by its own address: the 4th failure in a minute is 429."""
    limited = make_client(
        rate_limit_failed_verifications_per_address="3/minute",
        rate_limit_failed_verifications_per_product="1000/minute",
    )
    statuses = []
    for n in range(5):
        value = f"for=198.51.100.{n}" if header == "Forwarded" else f"198.51.100.{n}"
        answer = limited.get(
            "/v1/auth/verify",
            headers={**bearer("not.a.token"), **product_header("alpha"), header: value},
        )
        statuses.append(answer.status_code)
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]


# --- outbound address policy ----------------------------------------------------------------

SLIPPERY_URLS = [
    "https://2130706433/",  # decimal IPv4
    "https://0x7f.1/",  # hex, short form
    "https://0x7f000001/",
    "https://0177.0.0.1/",  # octal
    "https://017700000001/",
    "https://127.1/",
    "https://0/",
    "https://[::ffff:7f00:1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://[0:0:0:0:0:ffff:a9fe:a9fe]/",
    "https://[::127.0.0.1]/",
    "https://[64:ff9b::7f00:1]/",
    "https://[2002:7f00:1::]/",
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "https://[fe80::1%25eth0]/",  # IPv6 zone id
    "https://[::1%25lo]/",
    "https://[::]/",
    "https://good@127.0.0.1/",
    "https://good:pw@example.com/",
    "https://127.0.0.1./",
    "https://localhost/",
    "https://localhost./",
    "https://169.254.169.254./latest/meta-data",
    "https://%31%32%37.0.0.1/",
    "https://\uff11\uff12\uff17.0.0.1/",  # full-width digits
    "https://127\u30020\u30020\u30021/",  # ideographic full stops
    "http://example.com/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/",
    "https://[::1/",
    "https://127.0.0.1:99999/",
]


@pytest.mark.parametrize("url", SLIPPERY_URLS)
def test_every_disguise_of_a_private_address_is_refused_before_connecting(url: str) -> None:
    """With private URLs not allowed, a URL naming a private address in any numeric form,
    embedding, zone, userinfo, trailing dot or encoding is refused by the policy itself."""
    with pytest.raises(UnsafeUrl):
        check_url(url, allow_private=False)


@pytest.mark.parametrize("url", ["https://2130706433/jwks", "https://[::ffff:7f00:1]/jwks"])
def test_a_jwks_source_at_a_disguised_private_address_is_refused_by_the_api(
    make_client: MakeClient, client: TestClient, alpha: Product, url: str
) -> None:
    """Registering a JWKS source at a disguised loopback address answers 4xx with a code and
    stores no source."""
    strict = make_client(allow_private_urls=False)
    answer = strict.post(
        "/v1/products/alpha/jwks-sources", json={"url": url}, headers=bearer(alpha["api_key"])
    )
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["error"] == "unsafe_url"
    assert strict.get("/v1/products/alpha/jwks-sources", headers=ADMIN).json() == []


# --- hostile text in headers ----------------------------------------------------------------

HOSTILE = ["\u2603", "a\r\nSet-Cookie: stolen=1", "\u0100\u00ff", '"\\', "\x00", "x" * 5000]


def _forged(header: dict[str, Any]) -> str:
    def part(value: Any) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(standard_claims('alpha', iat=NOW))}.c2ln"


@pytest.mark.parametrize("field", ["kid", "alg", "typ", "crit"])
@pytest.mark.parametrize("text", HOSTILE)
def test_attacker_text_in_a_token_header_never_reaches_a_response_header(
    client: TestClient, alpha: Product, field: str, text: str
) -> None:
    """A token header whose kid, alg, typ or crit holds non-Latin-1 text, CR/LF, quotes or a
    NUL is a 401 on every client route, with a WWW-Authenticate of printable ASCII only."""
    token = _forged({"alg": "HS256", "typ": "JWT", field: text if field != "crit" else [text]})
    for method, path in [("GET", "/v1/auth/verify"), ("GET", "/v1/me"), ("POST", "/v1/events")]:
        answer = client.request(
            method,
            path,
            json={"type": "x"} if method == "POST" else None,
            headers={**bearer(token), **product_header("alpha")},
        )
        assert answer.status_code == 401, (path, answer.text)
        challenge = answer.headers["www-authenticate"]
        assert all(" " <= c <= "~" for c in challenge), challenge
        assert "Set-Cookie" not in answer.headers


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("X-Plaudit-Product", "bravo\u2603".encode()),
        ("X-Plaudit-Product", b"alpha\xff"),
        ("Origin", "https://\u2603.example".encode()),
        ("Origin", b"https://a.example\xff"),
    ],
)
def test_raw_bytes_in_a_routing_or_origin_header_are_a_4xx(
    client: TestClient, alpha: Product, name: str, value: bytes
) -> None:
    """A product header or Origin holding bytes outside ASCII is refused as a client error,
    never a 500, and no allow-origin is granted for it."""
    answer = client.get("/v1/auth/verify", headers={**bearer(_token(alpha)), name: value})
    assert 400 <= answer.status_code < 500 or (name == "Origin" and answer.status_code == 200), (
        answer.text
    )
    assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize(
    "code",
    ["ABC%0D%0ASet-Cookie:%20x=1", "%E2%98%83", "abc%00", "%0A", "A%22%3E%3Cscript%3E"],
)
def test_a_share_link_with_hostile_text_lands_on_a_clean_location(
    client: TestClient, alpha: Product, code: str
) -> None:
    """A /r/ link whose code holds CR/LF, non-Latin-1 text or a NUL redirects with a Location of
    printable ASCII only and sets no header of the attacker's."""
    answer = client.get(f"/r/{code}", follow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert all(" " < c <= "~" for c in location), location
    assert "set-cookie" not in answer.headers


# --- framing, through a served process ------------------------------------------------------

FOUR_MB_CHUNK = b"400000\r\n" + b"x" * 0x400000 + b"\r\n0\r\n\r\n"


@pytest.mark.committed
@pytest.mark.parametrize(
    ("variant", "raw"),
    [
        (
            "chunked_and_content_length",
            b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n" + FOUR_MB_CHUNK,
        ),
        (
            "chunked_with_a_huge_chunk",
            b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n" + FOUR_MB_CHUNK,
        ),
        (
            "two_content_lengths",
            b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\nContent-Length: 4194304\r\n\r\n{}",
        ),
        (
            "content_length_with_a_sign",
            b"POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: +4194304\r\n\r\n{}",
        ),
    ],
)
def test_a_served_process_refuses_an_oversized_or_ambiguously_framed_body(
    settings: Settings, tmp_path: Path, variant: str, raw: bytes
) -> None:
    """Through uvicorn, a body framed by both Transfer-Encoding and Content-Length, by two
    Content-Lengths, a signed length or one 4 MB chunk is answered 400 or 413 within 10 s, and
    never 2xx."""
    env = {
        **os.environ,
        "PLAUDIT_DATABASE_URL": settings.resolved_database_url,
        "PLAUDIT_MASTER_KEY": settings.master_key or "",
        "PLAUDIT_ADMIN_TOKEN": ADMIN_TOKEN,
        "PLAUDIT_DATA_DIR": str(tmp_path),
        "PLAUDIT_LOG_LEVEL": "warning",
    }
    server = Server(env, tmp_path / "serve.log")
    try:
        server.wait_ready(time.monotonic() + 60)
        answer = b""
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            with contextlib.suppress(OSError):  # the server may close before all is sent
                sock.sendall(raw)
            with contextlib.suppress(OSError):
                while chunk := sock.recv(65536):  # until the server closes the connection
                    answer += chunk
        status = answer[:12]
        assert status in (b"HTTP/1.1 400", b"HTTP/1.1 413"), answer[:300]
    finally:
        server.stop()
