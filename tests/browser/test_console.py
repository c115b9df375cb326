"""The admin console in headless Chromium against a real Plaudit: the loyalty guide's flow from
sign-in to a user in All Users, the test box, isolation of API keys, and CSRF refusal.

Every page runs under the console's strict CSP; every test ends by asserting that no page raised
an error or logged one it did not expect (refused requests are expected by name).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import httpx
import jwt
import pytest
from playwright.sync_api import expect

from plaudit.auth.signing import SigningKey, generate_private_key, private_pem

from .conftest import ADMIN_TOKEN, Plaudit, Web

pytestmark = pytest.mark.browser


def status_error(code: int) -> re.Pattern[str]:
    return re.compile(rf"Failed to load resource: the server responded with a status of {code}")


def sign_in(web: Web, plaudit: Plaudit, credential: str = ADMIN_TOKEN) -> None:
    page = web.page
    page.goto(plaudit.url + "/console")
    expect(page).to_have_title(re.compile("Sign in"))
    page.get_by_label("Admin token or API key").fill(credential)
    page.get_by_role("button", name="Sign in").click()


def create_product(web: Web, plaudit: Plaudit, name: str, profile: str) -> tuple[str, str]:
    """Create a product through the form; returns its id and the API key shown once."""
    page = web.page
    product_id = "c-" + secrets.token_hex(4)
    page.goto(plaudit.url + "/console/products")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Id (optional)").fill(product_id)
    page.get_by_label("Token profile").select_option(profile)
    page.get_by_role("button", name="Create product").click()
    expect(page.get_by_role("heading", name=f"{name} is created")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("shown this once")
    api_key = page.locator("#created-api-key").input_value()
    assert api_key.startswith("pk_")
    return product_id, api_key


def rsa_key_pair() -> tuple[str, str]:
    private = private_pem(generate_private_key("rsa"))
    public = SigningKey.from_pem(private, "RS256").public_pem()
    return private, public


def verify(plaudit: Plaudit, product_id: str, token: str) -> httpx.Response:
    return httpx.get(
        plaudit.url + "/v1/auth/verify",
        headers={"Authorization": f"Bearer {token}", "X-Plaudit-Product": product_id},
        timeout=5,
    )


def loyalty_token(private_pem: str, user_id: str, **claims: Any) -> str:
    """As the loyalty guide's backend signs it: {sub, exp}, RS256, kid in the header."""
    body = {"sub": user_id, "exp": int(time.time()) + 3600, **claims}
    return jwt.encode(body, private_pem, algorithm="RS256", headers={"kid": "primary"})


def test_the_loyalty_guide_from_sign_in_to_all_users(open_page: Any, plaudit: Plaudit) -> None:
    """Sign in; create a product; Add Key as the guide says; a signed user shows in All Users
    only once the product is published."""
    web = open_page()
    web.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=plaudit.url)
    page = web.page
    sign_in(web, plaudit)
    expect(page.get_by_role("heading", name="Products", exact=True)).to_be_visible()
    product_id, _api_key = create_product(web, plaudit, "Loyalty Hub", "xtremepush")
    page.get_by_role("button", name="Copy").first.click()
    expect(page.locator('[data-copy-status="created-api-key"]')).to_have_text("Copied.")

    # "go to the Authentication tab ... Click Add Key, enter a description, paste your public
    # key and turn on the enabled toggle"
    private_pem, public_pem = rsa_key_pair()
    page.get_by_role("link", name="Go to Authentication").click()
    expect(page.get_by_role("link", name="Authentication")).to_have_attribute(
        "aria-current", "page"
    )
    add_key = page.locator("details.add-key")
    if add_key.get_attribute("open") is None:
        page.get_by_text("Add Key", exact=True).click()
    page.get_by_label("Description", exact=True).fill("Production signing key")
    page.get_by_label("Public key", exact=True).fill(public_pem)
    page.get_by_label("Key id (kid)").fill("primary")
    expect(page.get_by_role("switch", name="Enabled")).to_be_checked()  # as the API defaults
    page.get_by_role("button", name="Add key").click()
    expect(page.get_by_role("status").first).to_have_text("Key added.")
    row = page.get_by_role("row", name=re.compile("primary"))
    expect(row).to_contain_text("Production signing key")
    expect(row).to_contain_text("enabled")

    # The user's token verifies at once, but All Users lists nobody until the product is public.
    assert verify(plaudit, product_id, loyalty_token(private_pem, "user_88421")).status_code == 200
    page.get_by_role("link", name="All Users").click()
    expect(page.get_by_role("heading", name="0 users")).to_be_visible()
    expect(page.get_by_text("This product is not published")).to_be_visible()

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("switch", name="Published").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status").first).to_contain_text("Settings saved")

    # Published (this process applied the change as it saved it): the next sight lists the user.
    assert verify(plaudit, product_id, loyalty_token(private_pem, "user_88421")).status_code == 200
    page.get_by_role("link", name="All Users").click()
    expect(page.get_by_role("heading", name="1 user")).to_be_visible()
    page.get_by_role("link", name="user_88421").click()
    expect(page.get_by_role("heading", name="User user_88421")).to_be_visible()
    web.assert_no_errors()


def test_the_test_box_explains_an_expired_token(open_page: Any, plaudit: Plaudit) -> None:
    """Paste an expired token: the box says it is refused, since when, and how to fix it."""
    web = open_page()
    page = web.page
    sign_in(web, plaudit)
    product_id, _ = create_product(web, plaudit, "Expiry", "xtremepush")
    private_pem, public_pem = rsa_key_pair()
    added = plaudit.call(
        "POST",
        f"/v1/products/{product_id}/keys",
        json={"public_key": public_pem, "kid": "primary", "description": "test"},
    )
    assert added.status_code == 201
    expired = loyalty_token(private_pem, "user_1", exp=int(time.time()) - 2 * 3600)
    page.goto(f"{plaudit.url}/console/products/{product_id}/authentication")
    page.get_by_label("Token", exact=True).fill(expired)
    page.get_by_role("button", name="Test token").click()
    verdict = page.locator(".verdict")
    expect(verdict).to_contain_text("Refused")
    expect(verdict).to_contain_text("token_expired")
    expect(page.locator(".explanation")).to_contain_text("2.0 hours ago")
    expect(page.locator(".explanation")).to_contain_text(
        "Generate a new token with a future expiration time"
    )
    expect(page.locator(".finding.ok").first).to_contain_text("Passes")
    web.assert_no_errors()


def test_an_api_key_cannot_open_another_products_pages(open_page: Any, plaudit: Plaudit) -> None:
    """Signed in with one product's key, another product does not exist."""
    admin = open_page()
    sign_in(admin, plaudit)
    mine, api_key = create_product(admin, plaudit, "Mine", "standard")
    theirs, _ = create_product(admin, plaudit, "Theirs", "standard")

    web = open_page()
    web.allow(status_error(404))
    page = web.page
    sign_in(web, plaudit, api_key)
    expect(page).to_have_url(f"{plaudit.url}/console/products/{mine}")
    expect(page.get_by_text(f"API key · {mine}")).to_be_visible()
    for path in ("", "/authentication", "/users"):
        answer = page.goto(f"{plaudit.url}/console/products/{theirs}{path}")
        assert answer is not None
        assert answer.status == 404
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text(f"No product has the id '{theirs}'")
    page.goto(f"{plaudit.url}/console/products")
    expect(page).to_have_url(f"{plaudit.url}/console/products/{mine}")
    web.assert_no_errors()


def test_a_form_posted_without_its_csrf_token_is_refused(open_page: Any, plaudit: Plaudit) -> None:
    """The settings form with its hidden token removed: a 403 page, and nothing saved."""
    web = open_page()
    web.allow(status_error(403))
    page = web.page
    sign_in(web, plaudit)
    product_id, _ = create_product(web, plaudit, "Guarded", "standard")
    page.goto(f"{plaudit.url}/console/products/{product_id}")
    page.get_by_label("Name", exact=True).fill("Renamed by a forged form")
    form = page.locator(f'form[action="/console/products/{product_id}"]')
    form.locator('input[name="csrf_token"]').evaluate("input => input.remove()")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("heading", name="Refused")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("anti-forgery token")
    expect(page.get_by_role("alert")).to_contain_text("csrf_failed")
    name = plaudit.call("GET", f"/v1/products/{product_id}").json()["name"]
    assert name == "Guarded"
    web.assert_no_errors()


def test_the_console_is_usable_by_keyboard_on_a_phone(open_page: Any, plaudit: Plaudit) -> None:
    """At 375 px wide: sign-in works from the keyboard alone (the field has focus), the skip
    link is the first stop on a page, and nothing needs horizontal scrolling."""
    web = open_page(viewport={"width": 375, "height": 740})
    page = web.page
    page.goto(plaudit.url + "/console/sign-in")
    expect(page.get_by_label("Admin token or API key")).to_be_focused()
    page.keyboard.type(ADMIN_TOKEN)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Products", exact=True)).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    web.assert_no_errors()
