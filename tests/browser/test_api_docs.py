"""/docs in Chromium: Swagger UI renders the API from Plaudit's own files under its strict CSP,
and the page asks no other origin for anything."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import Plaudit

pytestmark = pytest.mark.browser


def test_swagger_ui_renders_from_this_origin_only(open_page: Any, plaudit: Plaudit) -> None:
    web = open_page(viewport={"width": 1280, "height": 900})
    asked: list[str] = []
    web.page.on("request", lambda request: asked.append(request.url))
    web.page.goto(plaudit.url + "/docs")
    # The first /openapi.json builds the document (seconds on a busy machine); later ones reuse it.
    expect(web.page.locator(".swagger-ui .info .title")).to_contain_text("Plaudit", timeout=60_000)
    expect(web.page.locator(".opblock-summary-path").first).to_be_visible()
    assert web.page.locator(".opblock").count() > 20
    others = [url for url in asked if not url.startswith((plaudit.url + "/", "data:"))]
    assert others == []
    assert plaudit.url + "/openapi.json" in asked
    web.assert_no_errors()  # a CSP refusal would show as a console error
