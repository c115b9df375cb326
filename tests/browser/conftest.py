"""The browser suite's world: Debian's Chromium, a real Plaudit server, and a host page elsewhere.

Plaudit runs with uvicorn in a thread on ``http://127.0.0.1:<port>`` with a fresh SQLite data
dir; host pages come from a stdlib server on ``http://localhost:<other port>``: another origin,
so every widget call is a real cross-origin request that CORS has to let through. Host pages are
served under a strict CSP (nonces, no ``'unsafe-inline'``) so a widget that needs more fails here.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.fernet import Fernet

from plaudit.app import create_app
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.store.migrate import upgrade
from tests.conftest import missing_backend

#: Every wait in this suite is bounded by this: a bound, never a measure. 15 s, since the first
#: request to a server just started in a worker that ran many other tests (under `-n 2` on two
#: cores) twice took more than 5 s in CI.
WAIT_MS = 15_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ADMIN_TOKEN = "adm_browser_" + "x" * 32
NONCE = "plaudit-test-nonce"


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("PLAUDIT_TEST_CHROMIUM") or "/usr/bin/chromium"
    if not Path(path).is_file() or not os.access(path, os.X_OK):
        missing_backend("browser", f"no Chromium at {path} (set PLAUDIT_TEST_CHROMIUM)")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra installs it
        missing_backend("browser", "playwright is not installed (pip install -e '.[dev]')")
    from playwright.sync_api import expect

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


# --- Plaudit, for real --------------------------------------------------------------------------


def _bound_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Plaudit:
    url: str
    admin: dict[str, str] = field(
        default_factory=lambda: {"Authorization": f"Bearer {ADMIN_TOKEN}"}, repr=False
    )
    #: Seconds the server's clock runs ahead (negative: behind); see ``days_ago``.
    offset: float = 0.0

    def clock(self) -> float:
        return time.time() + self.offset

    @contextlib.contextmanager
    def days_ago(self, days: int) -> Iterator[None]:
        """The server lives ``days`` days back meanwhile: what is sent then counts on that day."""
        self.offset = -86_400.0 * days
        try:
            yield
        finally:
            self.offset = 0.0

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, self.url + path, headers=self.admin, timeout=WAIT_MS / 1000, **kwargs
        )


@pytest.fixture(scope="session")
def plaudit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plaudit]:
    import uvicorn

    sock = _bound_socket()
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    data_dir = tmp_path_factory.mktemp("plaudit-browser")
    settings = Settings(
        data_dir=data_dir,
        admin_token=ADMIN_TOKEN,
        master_key=Fernet.generate_key().decode(),
        public_url=url,
        host="127.0.0.1",
        port=port,
        demo=True,
        keystore_refresh_seconds=0.5,
        # The programs loop (holds, expiry, referral rewards, rolling tiers) within a second.
        leaderboard_refresh_seconds=1.0,
    )
    db = Database(settings.resolved_database_url)
    upgrade(db.engine)
    found = Plaudit(url)
    app = create_app(settings, db=db, clock=found.clock)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("Plaudit did not answer /healthz within 10 s", pytrace=False)
        time.sleep(0.05)
    yield found
    server.should_exit = True
    thread.join(10)
    sock.close()
    db.dispose()


# --- the host app, on another origin ------------------------------------------------------------


class HostServer:
    """Serves pages registered by tests, under a strict CSP, from ``http://localhost:<port>``."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[str, dict[str, str]]] = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                html, headers = pages.get(path, ("<!doctype html><title>landed</title>", {}))
                body = html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Cache-Control", "no-store")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, html: str, *, csp: str | None = None) -> str:
        path = f"/page/{secrets.token_hex(6)}"
        self.pages[path] = (html, {"Content-Security-Policy": csp} if csp else {})
        return self.origin + path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def host() -> Iterator[HostServer]:
    server = HostServer()
    yield server
    server.close()


# --- a product whose users get tokens the way the referral widget guide signs them -------------


@dataclass
class Product:
    id: str
    secret: str = field(repr=False)  # never in a failure report
    algorithm: str

    def token(self, user_id: str, *, expired: bool = False, product_claim: bool = True) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"UserId": user_id, "iat": now}
        if product_claim:
            claims["ProductId"] = self.id
        if expired:
            claims.update(iat=now - 7200, exp=now - 3600)
        return jwt.encode(claims, self.secret, algorithm=self.algorithm)


def _create_product(plaudit: Plaudit, product_id: str, name: str, **settings: Any) -> Product:
    created = plaudit.call(
        "POST", "/v1/products", json={"id": product_id, "name": name, "profile": "reditus"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    if settings:
        patched = plaudit.call("PATCH", f"/v1/products/{product_id}", json=settings)
        assert patched.status_code == 200, patched.text
    return Product(
        id=product_id,
        secret=body["secret"]["value"],
        algorithm=body["secret"]["algorithm"] or "HS512",
    )


@pytest.fixture(scope="session")
def product(plaudit: Plaudit, host: HostServer) -> Product:
    """'acme': embeddable from the host origin; its share links land on the host's /landing."""
    return _create_product(
        plaudit,
        "acme",
        "Acme Notes",
        allowed_origins=[host.origin],
        referral_landing_url=host.origin + "/landing",
        published=True,
    )


@pytest.fixture(scope="session")
def demo_product(plaudit: Plaudit) -> Product:
    """'demo': the product the /demo page's own token route signs for."""
    return _create_product(plaudit, "demo", "Demo product", allowed_origins=[plaudit.url])


# --- pages that remember every error ------------------------------------------------------------

# Chromium logs a refused request as a console error; tests that expect one allow it by name.
HTTP_401 = re.compile(r"Failed to load resource: the server responded with a status of 401")


@dataclass
class Web:
    page: Any
    context: Any
    errors: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: re.Pattern[str]) -> None:
        self.allowed.append(pattern)

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]

    def assert_no_errors(self) -> None:
        assert self.unexpected() == [], "page errors or console errors"


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Web]]:
    """Open a page in a fresh context; every page error and console error is kept."""
    opened: list[Web] = []

    def make(**context_options: Any) -> Web:
        context = browser.new_context(**context_options)
        context.set_default_timeout(WAIT_MS)
        page = context.new_page()
        web = Web(page=page, context=context)

        def on_console(message: Any) -> None:
            web.messages.append(message.text)
            if message.type == "error":
                web.errors.append(f"console: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: web.errors.append(f"pageerror: {error}"))
        opened.append(web)
        return web

    yield make
    leftover = [error for web in opened for error in web.unexpected()]
    for web in opened:
        web.context.close()
    assert leftover == [], "errors after the test's own check"
