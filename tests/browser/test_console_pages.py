"""Every console page in Chromium at a desktop width and two phone widths: nothing scrolls
sideways, and axe-core finds no serious or critical accessibility violation.

The walk is driven by the console's own navigation: the product tabs are read from the page,
so a page added to the tab bar is checked here without a change to this file.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from plaudit.auth.signing import SigningKey, generate_private_key, private_pem

from .axe import blocking, run_axe
from .conftest import ADMIN_TOKEN, Plaudit, Product, _create_product

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": 1280, "phone": 390, "small phone": 320}
#: PLAUDIT_TEST_SCREENSHOTS=<folder>: the walk also photographs each page at desktop width.
SCREENSHOTS = os.environ.get("PLAUDIT_TEST_SCREENSHOTS")


@dataclass(frozen=True)
class Showcase:
    """A product with something on every page: keys, secrets, API keys, revocations, rules,
    rewards, badges, users with points on the leaderboards."""

    product: Product
    storage: dict[str, Any]

    @property
    def base(self) -> str:
        return f"/console/products/{self.product.id}"


def _seed(plaudit: Plaudit) -> Product:
    product = _create_product(plaudit, "walk-" + secrets.token_hex(3), "Walkthrough Notes")
    pid = product.id
    pem = private_pem(generate_private_key("rsa"))
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("PATCH", f"/v1/products/{pid}", {"published": True}),
        (
            "POST",
            f"/v1/products/{pid}/keys",
            {
                "public_key": SigningKey.from_pem(pem, "RS256").public_pem(),
                "kid": "primary",
                "description": "Production signing key",
            },
        ),
        ("POST", f"/v1/products/{pid}/api-keys", {"name": "billing-service"}),
        ("POST", f"/v1/products/{pid}/revocations", {"jti": "tok-1", "reason": "leaked"}),
        ("POST", f"/v1/products/{pid}/revocations", {"user_id": "mallory"}),
        (
            "POST",
            f"/v1/products/{pid}/loyalty/rules",
            {"name": "Complete a lesson", "event_type": "lesson_completed", "points": 10},
        ),
        ("POST", f"/v1/products/{pid}/rewards", {"name": "Sticker pack", "cost": 100}),
        (
            "POST",
            f"/v1/products/{pid}/badges",
            {"name": "First steps", "criteria": {"kind": "points_total", "points": 10}},
        ),
    ]
    for method, path, body in calls:
        answer = plaudit.call(method, path, json=body)
        assert answer.status_code in (200, 201), (path, answer.text)
    for user, points in (("ada", 120), ("grace", 80), ("alan", 40)):
        seen = httpx.get(
            plaudit.url + "/v1/auth/verify",
            headers={"Authorization": f"Bearer {product.token(user)}"},
            timeout=5,
        )
        assert seen.status_code == 200, seen.text
        earned = plaudit.call(
            "POST",
            f"/v1/products/{pid}/users/{user}/points",
            json={"amount": points, "reason": "x"},
        )
        assert earned.status_code in (200, 201), earned.text
    assert plaudit.call("POST", f"/v1/products/{pid}/leaderboards/refresh").status_code == 200
    return product


@pytest.fixture(scope="module")
def showcase(browser: Any, plaudit: Plaudit) -> Showcase:
    product = _seed(plaudit)
    context = browser.new_context()
    page = context.new_page()
    page.goto(plaudit.url + "/console/sign-in")
    page.get_by_label("Admin token or API key").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/console/products$"))
    storage = context.storage_state()
    context.close()
    return Showcase(product=product, storage=storage)


def _tabs(page: Any) -> list[str]:
    hrefs: list[str] = page.locator("nav.tabs a").evaluate_all("links => links.map(a => a.href)")
    return hrefs


def _overflow(page: Any) -> int:
    """How far the page scrolls sideways, in CSS pixels (0: it does not)."""
    return int(
        page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    )


def _check(web: Any, url: str, width: int, problems: list[str], *, status: int = 200) -> None:
    page = web.page
    if page.url != url:
        answer = page.goto(url)
        assert answer is not None
        if answer.status != status:
            problems.append(f"{url}: answered {answer.status}")
            return
    where = f"{url.split('/console', 1)[-1] or '/'} at {width} px"
    if (overflow := _overflow(page)) > 0:
        wide = page.evaluate(
            """() => [...document.querySelectorAll("body *")]
                .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
                .filter(e => !e.closest(".table-wrap, .tabs ul, pre"))
                .slice(0, 3).map(e => e.tagName + "." + e.className)"""
        )
        problems.append(f"{where}: scrolls sideways by {overflow} px ({wide})")
    problems.extend(f"{where}: {v}" for v in blocking(run_axe(page)))
    if SCREENSHOTS and width == WIDTHS["desktop"]:
        name = re.sub(r"[^a-z0-9]+", "-", url.split("/console", 1)[-1].lower()).strip("-")
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=folder / f"console-{name or 'home'}.png", full_page=True)


@pytest.mark.parametrize("width", WIDTHS.values(), ids=WIDTHS.keys())
def test_every_console_page_fits_the_screen_and_passes_axe(
    open_page: Any, plaudit: Plaudit, showcase: Showcase, width: int
) -> None:
    """Sign-in, products, every tab the navigation lists, a user, the created page, a refused
    form and the not-found page: no sideways scroll, no serious or critical axe finding."""
    viewport = {"width": width, "height": 900}
    problems: list[str] = []

    anonymous = open_page(viewport=viewport)
    _check(anonymous, plaudit.url + "/console/sign-in", width, problems)

    web = open_page(viewport=viewport, storage_state=showcase.storage)
    web.allow(re.compile(r"status of 404"))
    web.allow(re.compile(r"status of 422"))
    base = plaudit.url + showcase.base
    web.page.goto(base)
    tabs = _tabs(web.page)
    assert base + "/authentication" in tabs, tabs
    assert len(tabs) >= 10, tabs
    pages = [
        plaudit.url + "/console/products",
        *tabs,
        base + "/user?id=ada",
        base + "/created",
    ]
    for url in pages:
        _check(web, url, width, problems)

    # A refused form: the error summary and the fields marked invalid.
    web.page.goto(base + "/authentication")
    form = web.page.locator("details.add-key")
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    web.page.get_by_label("Public key", exact=True).fill("not a key")
    web.page.get_by_role("button", name="Add key").click()
    web.page.locator(".error-summary").wait_for()
    _check(web, web.page.url, width, problems)

    _check(web, plaudit.url + "/console/no-such-page", width, problems, status=404)
    assert problems == [], "\n".join(problems)
    web.assert_no_errors()
