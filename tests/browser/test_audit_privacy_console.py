"""The console's Audit log and Privacy tabs in headless Chromium, under the console's CSP: a
change made in the console shows in the log; a user is erased through the confirmed form;
both pages fit a phone's width."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from .conftest import ADMIN_TOKEN, Plaudit
from .test_console import create_product, sign_in

pytestmark = pytest.mark.browser


def test_the_audit_log_and_an_erasure_through_the_console(open_page: Any, plaudit: Plaudit) -> None:
    web = open_page()
    page = web.page
    sign_in(web, plaudit)
    product_id, _ = create_product(web, plaudit, "Audited", "standard")
    events = httpx.post(
        f"{plaudit.url}/v1/products/{product_id}/events",
        json={"user_id": "ada", "type": "signup"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=5,
    )
    assert events.status_code in (200, 202), events.text
    page.goto(f"{plaudit.url}/console/products/{product_id}/audit")
    expect(page.get_by_role("link", name="Audit log", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_role("cell", name="product.create")).to_be_visible()
    page.get_by_label("Action").fill("api_key")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("cell", name="api_key.create")).to_be_visible()
    expect(page.get_by_role("cell", name="product.create")).to_have_count(0)

    page.goto(f"{plaudit.url}/console/products/{product_id}/privacy")
    page.get_by_label("User id", exact=True).last.fill("ada")
    page.get_by_label("Type the user id again").fill("ada")
    page.get_by_role("button", name="Erase this user").click()
    expect(page.get_by_role("status")).to_contain_text("The user was erased")
    expect(page.get_by_role("cell", name="erase", exact=True)).to_be_visible()
    web.assert_no_errors()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_audit_and_privacy_pages_need_no_sideways_scrolling(
    open_page: Any, plaudit: Plaudit, width: int
) -> None:
    web = open_page(viewport={"width": width, "height": 800})
    page = web.page
    sign_in(web, plaudit)
    product_id, _ = create_product(web, plaudit, "Narrow", "standard")
    for tab in ("audit", "privacy"):
        page.goto(f"{plaudit.url}/console/products/{product_id}/{tab}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, tab
    web.assert_no_errors()
