"""The console through FastAPI's TestClient, on SQLite and PostgreSQL (the shared ``store``
fixtures of tests/support/service.py), signed in the way a browser is: a sign-in form, a cookie,
CSRF tokens."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from plaudit.app import create_app
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support.service import ADMIN, ADMIN_TOKEN, NOW, Clock, RsaPair, create_product

__all__ = ["ADMIN", "ADMIN_TOKEN", "NOW", "Clock", "RsaPair", "create_product"]

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


def field_error(page: httpx.Response, field: str) -> str | None:
    """The error shown beside a form field, as a person reads it."""
    found = re.search(rf'id="{re.escape(field)}-error">(.*?)</p>', page.text, re.S)
    return html.unescape(found.group(1)) if found else None


def text_of(page: httpx.Response) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page.text))


class ConsoleClient:
    """A browser-like console user: signs in through the form and sends each form's token."""

    def __init__(self, client: TestClient) -> None:
        self.http = client
        self.csrf: str | None = None

    def sign_in(self, credential: str, *, next: str = "/console/products") -> httpx.Response:
        page = self.http.get("/console/sign-in")
        answer = self.http.post(
            "/console/sign-in",
            data={"csrf_token": csrf_of(page), "credential": credential, "next": next},
            follow_redirects=False,
        )
        if answer.status_code == 303 and answer.headers["location"] != "/console/sign-in":
            self.csrf = csrf_of(self.http.get("/console/products"))
        return answer

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("follow_redirects", False)
        return self.http.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)


@pytest.fixture
def console(client: TestClient) -> ConsoleClient:
    """Signed in as the operator."""
    signed_in = ConsoleClient(client)
    assert signed_in.sign_in(ADMIN_TOKEN).status_code == 303
    return signed_in


@pytest.fixture
def other_browser(settings: Settings, db: Database, clock: Clock) -> Iterator[ConsoleClient]:
    """A second browser (its own cookies) on the same server and store."""
    app = create_app(settings, db=db, clock=clock, background=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield ConsoleClient(test_client)


@pytest.fixture
def wall_console(clock: Clock, client: TestClient) -> ConsoleClient:
    """Signed in as the operator, with the app's clock at the wall clock's time: for what is
    stamped or signed by real time (the failure log, snippets run as written)."""
    clock.now = time.time()
    signed_in = ConsoleClient(client)
    assert signed_in.sign_in(ADMIN_TOKEN).status_code == 303
    return signed_in
