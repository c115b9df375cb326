"""Signing in and out: the cookie, server-side sessions, CSRF and the sign-in rate limit."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from plaudit.app import create_app
from plaudit.settings import Settings
from plaudit.store.db import Database

from .conftest import ADMIN, ADMIN_TOKEN, Clock, ConsoleClient, create_product, csrf_of, text_of

PAGES = (
    "/console/products",
    "/console/products/acme",
    "/console/products/acme/authentication",
    "/console/products/acme/api-keys",
    "/console/products/acme/jwks-sources",
    "/console/products/acme/revocations",
    "/console/products/acme/leaderboards",
    "/console/products/acme/created",
    "/console/products/acme/users",
    "/console/products/acme/programs",
    "/console/products/acme/health",
    "/console/products/acme/start",
)


def test_every_page_needs_a_session_and_sends_the_security_headers(client: TestClient) -> None:
    """Without a session each page redirects to sign-in; every answer is unframeable, uncached
    and under a CSP that allows no inline script or style."""
    for path in (*PAGES, "/console/sign-in", "/console/no-such-page"):
        answer = client.get(path, follow_redirects=False)
        if path != "/console/sign-in":
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/console/sign-in?next=")
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["referrer-policy"] == "no-referrer"


def test_no_console_page_holds_inline_script_or_style(console: ConsoleClient) -> None:
    """The strict CSP would block them: there must be none to block."""
    create_product(console.http, id="acme")
    for path in PAGES:
        page = console.get(path)
        assert page.status_code == 200, path
        assert re.search(r"<script(?![^>]*\bsrc=)", page.text) is None, path
        assert "<style" not in page.text, path
        assert " style=" not in page.text, path
        assert re.search(r"\son[a-z]+=", page.text) is None, path  # no inline event handlers


def test_the_admin_token_signs_in_with_a_strict_http_only_cookie(client: TestClient) -> None:
    """The session cookie is HttpOnly, SameSite=Strict, scoped to /console, and holds no
    credential (a random value, not the admin token)."""
    answer = ConsoleClient(client).sign_in(ADMIN_TOKEN)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/products"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("plaudit_console=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/console" in cookie
    assert "Secure" not in cookie  # plain http in this test
    assert ADMIN_TOKEN not in cookie


def test_the_cookie_is_secure_behind_https(settings: Settings, db: Database, clock: Clock) -> None:
    """A request that came over HTTPS gets a Secure cookie."""
    app = create_app(settings, db=db, clock=clock, background=False)
    with TestClient(app, base_url="https://plaudit.test") as https:
        answer = ConsoleClient(https).sign_in(ADMIN_TOKEN)
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("plaudit_console=")
    )
    assert "Secure" in cookie


def test_a_wrong_credential_is_refused_with_its_code(client: TestClient) -> None:
    """Neither the admin token nor a live key: 401 and the page says why."""
    answer = ConsoleClient(client).sign_in("adm_wrong")
    assert answer.status_code == 401
    assert "neither the admin token nor a live API key" in text_of(answer)
    assert "plaudit_console=" not in answer.headers.get("set-cookie", "")


def test_sign_in_attempts_are_rate_limited_per_address(client: TestClient, clock: Clock) -> None:
    """After five failures in five minutes even the right token waits; then it works again."""
    browser = ConsoleClient(client)
    for _ in range(5):
        assert browser.sign_in("adm_guess").status_code == 401
    throttled = browser.sign_in(ADMIN_TOKEN)
    assert throttled.status_code == 429
    assert 1 <= int(throttled.headers["retry-after"]) <= 300
    assert "Too many failed sign-ins" in text_of(throttled)
    clock.advance(301)
    assert browser.sign_in(ADMIN_TOKEN).status_code == 303


def test_the_sign_in_form_needs_its_csrf_token(client: TestClient) -> None:
    """A sign-in posted from elsewhere (no token matching the sign-in cookie) is refused."""
    client.get("/console/sign-in")
    answer = client.post(
        "/console/sign-in", data={"credential": ADMIN_TOKEN, "csrf_token": "forged"}
    )
    assert answer.status_code == 403
    assert "csrf_failed" in answer.text


def test_a_form_without_its_csrf_token_is_refused(console: ConsoleClient) -> None:
    """Every POST needs the session's token: missing or another session's is a 403 page, and
    nothing changes."""
    missing = console.http.post("/console/products", data={"name": "Forged", "id": "forged"})
    assert missing.status_code == 403
    assert "csrf_failed" in missing.text
    assert "anti-forgery token" in text_of(missing)
    other = ConsoleClient(TestClient(console.http.app))
    other.sign_in(ADMIN_TOKEN)
    stolen = console.http.post(
        "/console/products", data={"name": "Forged", "id": "forged", "csrf_token": other.csrf}
    )
    assert stolen.status_code == 403
    assert console.http.get("/v1/products/forged", headers=ADMIN).status_code == 404


def test_signing_out_ends_the_session_on_the_server(console: ConsoleClient) -> None:
    """A copy of the cookie is worthless after sign-out: the session is gone from the store."""
    cookie = console.http.cookies.get("plaudit_console")
    assert console.post("/console/sign-out").headers["location"] == "/console/sign-in?signed_out=1"
    replay = TestClient(console.http.app)
    replay.cookies.set("plaudit_console", cookie or "", path="/console")
    answer = replay.get("/console/products", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/sign-in")


def test_a_session_ends_after_two_idle_hours(console: ConsoleClient, clock: Clock) -> None:
    """Idle sessions end; an active one lives on."""
    clock.advance(3600)
    assert console.get("/console/products").status_code == 200
    clock.advance(2 * 3600 + 1)
    assert console.get("/console/products", follow_redirects=False).status_code == 303


def test_revoking_an_api_key_ends_its_sessions(client: TestClient) -> None:
    """A session opened with an API key lasts only as long as the key does."""
    product = create_product(client, id="acme")
    browser = ConsoleClient(client)
    assert browser.sign_in(product["api_key"]).headers["location"] == "/console/products/acme"
    assert browser.get("/console/products/acme").status_code == 200
    key_id = client.get("/v1/products/acme/api-keys", headers=ADMIN).json()[0]["id"]
    client.delete(f"/v1/products/acme/api-keys/{key_id}", headers=ADMIN)
    answer = browser.get("/console/products/acme", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/console/sign-in")


def test_changing_the_admin_token_ends_operator_sessions(
    console: ConsoleClient, settings: Settings, db: Database, clock: Clock
) -> None:
    """A server restarted with a new PLAUDIT_ADMIN_TOKEN honours no session of the old one."""
    rotated = settings.model_copy(update={"admin_token": "adm_rotated_" + "y" * 32})
    app = create_app(rotated, db=db, clock=clock, background=False)
    with TestClient(app) as restarted:
        restarted.cookies.set(
            "plaudit_console", console.http.cookies.get("plaudit_console") or "", path="/console"
        )
        assert restarted.get("/console/products", follow_redirects=False).status_code == 303


def test_sign_in_returns_to_the_page_asked_for_but_never_elsewhere(client: TestClient) -> None:
    """next= may name a console page only: no open redirect."""
    create_product(client, id="acme")
    browser = ConsoleClient(client)
    asked = browser.sign_in(ADMIN_TOKEN, next="/console/products/acme/users")
    assert asked.headers["location"] == "/console/products/acme/users"
    for hostile in ("https://evil.example", "//evil.example/console/", "/console\\..\\x"):
        other = ConsoleClient(TestClient(client.app))
        assert other.sign_in(ADMIN_TOKEN, next=hostile).headers["location"] == "/console/products"


def test_the_sign_in_page_is_labelled(client: TestClient) -> None:
    """The credential field has a label and a hint tied to it, and a token for its form."""
    page = client.get("/console/sign-in")
    assert '<label for="credential">' in page.text
    assert 'aria-describedby="credential-hint"' in page.text
    assert csrf_of(page)
