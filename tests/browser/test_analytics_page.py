"""The console's Analytics page in headless Chromium: Chart.js, served by Plaudit under the
console's strict CSP, draws each chart; each chart's table opens; nothing scrolls sideways on a
phone; no page error."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import ADMIN_TOKEN, Plaudit, Web
from .pages import until

pytestmark = pytest.mark.browser


def sign_in(web: Web, plaudit: Plaudit) -> None:
    page = web.page
    page.goto(plaudit.url + "/console")
    page.get_by_label("Admin token or API key").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()


def _product_with_points(plaudit: Plaudit) -> str:
    """A product whose users earned points today through the events API."""
    product_id = "an-" + secrets.token_hex(4)
    created = plaudit.call("POST", "/v1/products", json={"id": product_id, "name": "Charts"})
    assert created.status_code == 201, created.text
    rule = plaudit.call(
        "POST",
        f"/v1/products/{product_id}/loyalty/rules",
        json={"name": "Check-in", "event_type": "check_in", "points": 10},
    )
    assert rule.status_code == 201, rule.text
    events = [{"user_id": f"user-{n}", "type": "check_in"} for n in range(5)]
    sent = plaudit.call("POST", f"/v1/products/{product_id}/events", json={"events": events})
    assert sent.status_code in (200, 202), sent.text
    return product_id


@pytest.mark.parametrize("viewport", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_the_analytics_page_draws_its_charts_with_a_table_each(
    open_page: Any, plaudit: Plaudit, viewport: tuple[int, int]
) -> None:
    """Three charts drawn by Chart.js (an instance on each canvas), the points earned today in
    the totals and in the points table, no sideways scroll, no console error."""
    product_id = _product_with_points(plaudit)
    width, height = viewport
    web = open_page(viewport={"width": width, "height": height})
    page = web.page
    sign_in(web, plaudit)
    expect(page).to_have_title(re.compile("Products"))
    page.goto(f"{plaudit.url}/console/products/{product_id}/analytics")
    expect(page.get_by_role("heading", name="Analytics", exact=True)).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("Points earned")
    until(
        page,
        "[...document.querySelectorAll('canvas[data-chart]')]"
        ".every((c) => window.Chart && window.Chart.getChart(c))",
    )
    assert page.locator("canvas[data-chart]").count() == 3
    page.get_by_text("Points by day as a table").click()
    table = page.get_by_role("table").filter(has_text="Points by day (UTC days)")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr").last).to_contain_text("50")
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, f"the page scrolls sideways at {width} px ({scroll})"
    web.assert_no_errors()
