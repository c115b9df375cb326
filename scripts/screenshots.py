"""Screenshots of the console's main pages for docs/ and the README, from a real Plaudit.

    .venv/bin/python scripts/screenshots.py [--chromium /usr/bin/chromium]

Starts Plaudit on a free loopback port with a throwaway data dir, fills it through the API
(a loyalty product with a public key, published, with users and a refused token), signs in to
the console in Debian's Chromium (driven by Playwright; nothing downloads a browser) and writes
docs/images/console-*.png.
"""

from __future__ import annotations

import argparse
import http.server
import json
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import uvicorn
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import sync_playwright

from plaudit.app import create_app
from plaudit.auth.signing import SigningKey, generate_private_key, private_pem
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.store.migrate import upgrade

IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"
ADMIN_TOKEN = "adm_screenshots_" + "x" * 32
PRODUCT = "acme-loyalty"
VIEWPORT = {"width": 1280, "height": 860}


def serve(data_dir: Path) -> tuple[str, uvicorn.Server]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        data_dir=data_dir,
        admin_token=ADMIN_TOKEN,
        master_key=Fernet.generate_key().decode(),
        public_url=url,
        allow_private_urls=True,  # the JWKS source below is served from this machine
    )
    db = Database(settings.resolved_database_url)
    upgrade(db.engine)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db=db), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("Plaudit did not start within 10 s")
        time.sleep(0.05)
    return url, server


def serve_jwks(public_pem: str) -> str:
    """A JSON Web Key Set on a loopback port, as an identity provider publishes one."""
    key = jwt.algorithms.RSAAlgorithm.to_jwk(
        serialization.load_pem_public_key(public_pem.encode()), as_dict=True
    )
    body = json.dumps({"keys": [{**key, "kid": "idp-2026-11", "use": "sig"}]}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"


def seed_more(url: str, call: Any, public: str) -> None:
    """What the API keys, JWKS sources, revocations and leaderboards pages show."""
    base = f"/v1/products/{PRODUCT}"
    call("POST", base + "/api-keys", json={"name": "billing-service"})
    revoked = call("POST", base + "/api-keys", json={"name": "old laptop"}).json()
    call("DELETE", f"{base}/api-keys/{revoked['id']}")
    call("POST", base + "/jwks-sources", json={"url": serve_jwks(public)})
    call("POST", base + "/revocations", json={"jti": "9f1c2e7a", "reason": "token leaked in a log"})
    call(
        "POST",
        base + "/revocations",
        json={"user_id": "user_88424", "reason": "signed out everywhere"},
    )
    for user_id, points in (
        ("user_88421", 1240),
        ("user_88422", 980),
        ("user_88423", 610),
        ("user_88424", 150),
    ):
        call("POST", f"{base}/users/{user_id}/points", json={"amount": points, "reason": "welcome"})
    call("POST", base + "/leaderboards/refresh")


def seed(url: str) -> tuple[str, str]:
    """A loyalty product as the guide sets it up; returns its private key and an expired token."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def call(method: str, path: str, **kwargs: object) -> httpx.Response:
        answer = httpx.request(method, url + path, headers=admin, timeout=10, **kwargs)  # type: ignore[arg-type]
        answer.raise_for_status()
        return answer

    for name, product_id, profile in (
        ("Acme Loyalty", PRODUCT, "xtremepush"),
        ("Acme Referrals", "acme-referrals", "reditus"),
        ("Gamification sandbox", "sandbox", "standard"),
    ):
        call("POST", "/v1/products", json={"name": name, "id": product_id, "profile": profile})
    private = private_pem(generate_private_key("rsa"))
    public = SigningKey.from_pem(private, "RS256").public_pem()
    call(
        "POST",
        f"/v1/products/{PRODUCT}/keys",
        json={"public_key": public, "kid": "primary", "description": "Production signing key"},
    )
    call(
        "PATCH",
        f"/v1/products/{PRODUCT}",
        json={"published": True, "allowed_origins": ["https://app.acme.example"]},
    )
    now = int(time.time())
    people = [
        ("user_88421", "ada@acme.example", "Ada", "Lovelace"),
        ("user_88422", "grace@acme.example", "Grace", "Hopper"),
        ("user_88423", "alan@acme.example", "Alan", "Turing"),
        ("user_88424", "katherine@acme.example", "Katherine", "Johnson"),
    ]
    for user_id, email, first, last in people:
        token = jwt.encode(
            {
                "sub": user_id,
                "exp": now + 3600,
                "email": email,
                "given_name": first,
                "family_name": last,
            },
            private,
            algorithm="RS256",
            headers={"kid": "primary"},
        )
        answer = httpx.get(
            url + "/v1/auth/verify",
            headers={"Authorization": f"Bearer {token}", "X-Plaudit-Product": PRODUCT},
            timeout=10,
        )
        answer.raise_for_status()
    expired = jwt.encode(
        {"sub": "user_88421", "exp": now - 2 * 3600},
        private,
        algorithm="RS256",
        headers={"kid": "primary"},
    )
    httpx.get(
        url + "/v1/auth/verify",
        headers={"Authorization": f"Bearer {expired}", "X-Plaudit-Product": PRODUCT},
        timeout=10,
    )
    seed_more(url, call, public)
    # A privacy request, so that the Privacy and Audit log tabs show one.
    call("POST", f"/v1/products/{PRODUCT}/users/user_88424/erase")
    return private, expired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data_dir:
        url, server = serve(Path(data_dir))
        try:
            _private, expired = seed(url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=args.chromium, headless=True, args=["--no-sandbox"]
                )
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(url + "/console/sign-in")
                page.get_by_label("Admin token or API key").fill(ADMIN_TOKEN)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_url("**/console/products")

                def shot(name: str) -> None:
                    page.screenshot(path=IMAGES / f"console-{name}.png", full_page=True)
                    print(f"wrote docs/images/console-{name}.png")

                shot("products")
                base = f"{url}/console/products/{PRODUCT}"
                page.goto(base)
                shot("settings")
                page.goto(base + "/authentication")
                shot("authentication")
                page.get_by_label("Token", exact=True).fill(expired)
                page.get_by_role("button", name="Test token").click()
                page.locator(".explanation").scroll_into_view_if_needed()
                page.locator("#test-heading").evaluate("h => h.closest('section').scrollIntoView()")
                page.locator("#test-heading").locator("xpath=..").screenshot(
                    path=IMAGES / "console-test-token.png"
                )
                print("wrote docs/images/console-test-token.png")
                page.goto(base + "/users")
                shot("users")
                for tab in (
                    "api-keys",
                    "jwks-sources",
                    "revocations",
                    "leaderboards",
                    "audit",
                    "privacy",
                ):
                    page.goto(f"{base}/{tab}")
                    shot(tab)
                browser.close()
        finally:
            server.should_exit = True


if __name__ == "__main__":
    main()
