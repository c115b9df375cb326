"""The referral widget in a real browser, against a real Plaudit, embedded from another origin.

Every host page is served under a strict CSP (script and style nonces, no 'unsafe-inline'), and
every test ends by asserting that the page raised no error and logged no console error.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import HTTP_401, HostServer, Plaudit, Product, Web
from .pages import EN_AUTH, EN_EXPIRED, FOCUS, GR_STUB, js, new_user, part, serve, until

pytestmark = pytest.mark.browser


def link_pattern(plaudit: Plaudit) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(plaudit.url)}/r/[A-Z0-9_-]{{3,32}}$")


def summary_requests(web: Web) -> list[Any]:
    seen: list[Any] = []
    web.page.on(
        "request",
        lambda request: (
            seen.append(request)
            if request.url.endswith("/v1/referrals/me") and request.method == "GET"
            else None
        ),
    )
    return seen


def test_snippet_keeps_early_calls_and_opens_an_isolated_accessible_modal(
    plaudit: Plaudit, host: HostServer, product: Product, open_page: Any
) -> None:
    """Calls queued before widget.js arrives run once it does; the data comes cross-origin; the
    modal is a labelled dialog with focus inside, and the page's hostile CSS cannot reach in."""
    token = product.token(new_user())
    url = serve(
        host,
        plaudit,
        setup=f"""
plaudit("on", "open", () => seen.push("open"));
plaudit("on", "ready", (data) => seen.push("ready:" + data.code));
plaudit("loadReferralWidget", {{auth_token: {js(token)}}});
plaudit("showReferralWidget");
window.queuedBeforeLoad = plaudit.q.length;
""",
    )
    web = open_page()
    requests = summary_requests(web)
    web.page.goto(url)

    dialog = web.page.locator("plaudit-modal [role=dialog]")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "true")
    title_id = dialog.get_attribute("aria-labelledby")
    expect(web.page.locator(f"plaudit-modal #{title_id}")).to_have_text(
        "Invite friends to Acme Notes"
    )
    expect(part(web, "link")).to_have_value(link_pattern(plaudit))
    link = part(web, "link").input_value()
    code = link.rsplit("/", 1)[1]
    expect(part(web, "reward")).to_have_text(
        "Give friends your link to Acme Notes, get 10 credit when they become customers."
    )
    for key in ("clicks", "signups", "conversions"):
        expect(part(web, f"stat-{key}")).to_have_text("0")
    expect(part(web, "rewards-empty")).to_be_visible()
    shown = dialog.inner_text()
    assert "null" not in shown
    assert "undefined" not in shown
    assert "{" not in shown

    until(web.page, "window.seen.length >= 2")
    assert web.page.evaluate("window.seen") == ["open", f"ready:{code}"]
    assert web.page.evaluate("window.queuedBeforeLoad") == 4
    assert web.page.evaluate("window.plaudit.__plaudit === true && !window.plaudit.q")
    assert web.page.evaluate(FOCUS) == "dialog"

    # The token names its product: no product header; the token goes only in Authorization.
    headers = requests[0].all_headers()
    sent_token = headers["authorization"] == f"Bearer {token}"  # compared here: never printed
    assert sent_token
    assert "x-plaudit-product" not in headers
    assert token not in requests[0].url

    shares = {
        "email": "mailto:?subject=",
        "x": "https://twitter.com/intent/tweet?text=",
        "linkedin": "https://www.linkedin.com/sharing/share-offsite/?url=",
        "whatsapp": "https://wa.me/?text=",
    }
    for key, prefix in shares.items():
        anchor = part(web, f"share-{key}")
        href = anchor.get_attribute("href") or ""
        assert href.startswith(prefix), key
        assert code in href, key
        assert "noopener" in (anchor.get_attribute("rel") or "")
        if key != "email":
            assert anchor.get_attribute("target") == "_blank"

    # Isolation both ways: the page's `button`/`input`/`h2` rules stop at the shadow root, and
    # the widget's styles do not touch the page.
    copy_style = part(web, "copy").evaluate(
        "el => [getComputedStyle(el).backgroundColor, getComputedStyle(el).fontSize]"
    )
    assert copy_style == ["rgb(79, 70, 229)", "15px"]
    expect(part(web, "title")).to_be_visible()
    expect(part(web, "link")).to_be_visible()
    assert web.page.evaluate("getComputedStyle(document.querySelector('h1')).fontSize") == "32px"
    assert (
        web.page.evaluate(
            "getComputedStyle(document.querySelector('plaudit-modal'))"
            ".getPropertyValue('--plaudit-primary').trim()"
        )
        == "#4f46e5"
    )
    web.assert_no_errors()


def test_copy_puts_the_link_on_the_clipboard_and_a_followed_link_counts_a_click(
    plaudit: Plaudit, host: HostServer, product: Product, open_page: Any
) -> None:
    """Copy writes the link to the clipboard and says so for 2 s; following the link lands on
    the product's page with ?ref=CODE and the widget shows the click when it opens again."""
    token = product.token(new_user())
    url = serve(host, plaudit, setup=f"plaudit('loadReferralWidget', {{auth_token: {js(token)}}});")
    web = open_page()
    web.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=host.origin)
    web.page.goto(url)
    web.page.click("#opener")

    expect(part(web, "link")).to_have_value(link_pattern(plaudit))
    link = part(web, "link").input_value()
    copy = part(web, "copy")
    copy.click()
    expect(copy).to_have_text("Copied!")
    expect(part(web, "copy-status")).to_have_text("Copied!")
    assert web.page.evaluate("navigator.clipboard.readText()") == link
    expect(copy).to_have_text("Copy")  # after 2 s

    visitor = web.context.new_page()
    visitor.goto(link)
    assert visitor.url == f"{host.origin}/landing?ref={link.rsplit('/', 1)[1]}"
    visitor.close()

    web.page.keyboard.press("Escape")
    expect(web.page.locator("plaudit-modal [role=dialog]")).to_be_hidden()
    web.page.click("#opener")
    expect(part(web, "stat-clicks")).to_have_text("1")
    web.assert_no_errors()


def test_focus_is_trapped_and_escape_close_button_and_backdrop_close_and_restore_focus(
    plaudit: Plaudit, host: HostServer, product: Product, open_page: Any
) -> None:
    """Tab and Shift+Tab cycle inside the dialog; Esc, the close button and a backdrop click
    each close it and give focus back to the button that opened it."""
    token = product.token(new_user())
    url = serve(
        host,
        plaudit,
        setup=f"""
plaudit("on", "close", () => seen.push("close"));
plaudit("loadReferralWidget", {{auth_token: {js(token)}}});
""",
    )
    web = open_page()
    page = web.page
    page.goto(url)
    dialog = page.locator("plaudit-modal [role=dialog]")

    page.focus("#opener")
    page.keyboard.press("Enter")
    expect(part(web, "link")).to_be_visible()
    assert page.evaluate(FOCUS) == "dialog"
    order = []
    for _ in range(8):
        page.keyboard.press("Tab")
        order.append(page.evaluate(FOCUS))
    ring = ["close", "link", "copy", "share-email", "share-x", "share-linkedin", "share-whatsapp"]
    assert order == [*ring, "close"]
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUS) == "share-whatsapp"
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUS) == "share-linkedin"

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "opener"
    assert page.evaluate("document.documentElement.style.overflow") == ""

    page.click("#opener")
    expect(dialog).to_be_visible()
    part(web, "close").click()
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "opener"

    page.click("#opener")
    expect(dialog).to_be_visible()
    page.mouse.click(5, 5)  # the backdrop, outside the centred dialog
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.activeElement.id") == "opener"
    assert page.evaluate("window.seen") == ["close", "close", "close"]
    web.assert_no_errors()


def test_a_page_written_for_the_guides_gr_global_works_with_only_the_script_url_changed(
    plaudit: Plaudit, host: HostServer, product: Product, open_page: Any
) -> None:
    """gr(...) calls queued before load run; afterwards gr and plaudit are the same function;
    a product_id sends the product header; api_base is honoured."""
    token = product.token(new_user())
    url = serve(
        host,
        plaudit,
        stub=GR_STUB,
        setup=f"""
gr("loadReferralWidget", {{product_id: "acme", auth_token: {js(token)}, api_base: {js(plaudit.url + "/")}}});
gr("showReferralWidget");
""",
    )
    web = open_page()
    requests = summary_requests(web)
    web.page.goto(url)
    dialog = web.page.locator("plaudit-modal [role=dialog]")
    expect(part(web, "link")).to_have_value(link_pattern(plaudit))
    assert web.page.evaluate("window.gr === window.plaudit && typeof window.plaudit === 'function'")
    assert requests[0].all_headers()["x-plaudit-product"] == "acme"

    web.page.evaluate("gr('hideReferralWidget')")
    expect(dialog).to_be_hidden()
    web.page.evaluate("plaudit('showReferralWidget')")
    expect(dialog).to_be_visible()
    web.assert_no_errors()


def test_an_expired_token_is_refreshed_once_through_the_callback(
    plaudit: Plaudit, host: HostServer, product: Product, open_page: Any
) -> None:
    """token_expired calls refresh_token() once, keeps the new token and shows the panel."""
    user = new_user()
    expired, fresh = product.token(user, expired=True), product.token(user)
    url = serve(
        host,
        plaudit,
        setup=f"""
window.refreshCalls = 0;
plaudit("on", "error", (detail) => seen.push("error:" + detail.code));
plaudit("on", "ready", () => seen.push("ready"));
plaudit("loadReferralWidget", {{
  auth_token: {js(expired)},
  refresh_token: () => {{
    window.refreshCalls += 1;
    return new Promise((resolve) => setTimeout(() => resolve({js(fresh)}), 20));
  }},
}});
""",
    )
    web = open_page()
    web.allow(HTTP_401)  # the first, expired attempt
    requests = summary_requests(web)
    web.page.goto(url)
    web.page.click("#opener")
    expect(part(web, "link")).to_have_value(link_pattern(plaudit))
    assert web.page.evaluate("window.refreshCalls") == 1
    assert web.page.evaluate("window.seen") == ["ready"]
    names = {f"Bearer {expired}": "expired", f"Bearer {fresh}": "fresh"}  # no tokens in reports
    sent = [names.get(r.all_headers()["authorization"], "other") for r in requests]
    assert sent[:2] == ["expired", "fresh"]

    # The stored token is the fresh one: opening again needs no second refresh.
    web.page.keyboard.press("Escape")
    web.page.click("#opener")
    until(web.page, "window.seen.length === 1")
    expect(part(web, "link")).to_be_visible()
    web.page.wait_for_timeout(200)
    assert web.page.evaluate("window.refreshCalls") == 1
    assert names.get(requests[-1].all_headers()["authorization"]) == "fresh"
    web.assert_no_errors()


@pytest.mark.parametrize(
    "refresh",
    [None, "() => { window.refreshCalls += 1; return Promise.reject(new Error('signed out')); }"],
    ids=["no-callback", "callback-rejects"],
)
def test_an_expired_token_without_a_working_refresh_shows_a_friendly_message(
    plaudit: Plaudit, host: HostServer, product: Product, open_page: Any, refresh: str | None
) -> None:
    """No callback, or one that rejects: a plain-language message, an `error` event with
    code token_expired, and the token neither on screen nor in the console."""
    expired = product.token(new_user(), expired=True)
    options = f"auth_token: {js(expired)}" + (f", refresh_token: {refresh}" if refresh else "")
    url = serve(
        host,
        plaudit,
        setup=f"""
window.refreshCalls = 0;
plaudit("on", "error", (detail) => seen.push(detail));
plaudit("loadReferralWidget", {{{options}}});
plaudit("showReferralWidget");
""",
    )
    web = open_page()
    web.allow(HTTP_401)
    web.page.goto(url)
    error = part(web, "error")
    expect(error).to_have_text(EN_EXPIRED)
    expect(error).to_have_attribute("role", "alert")
    expect(part(web, "link")).to_have_count(0)
    until(web.page, "window.seen.length === 1")
    detail = web.page.evaluate("window.seen[0]")
    assert detail["code"] == "token_expired"
    assert isinstance(detail["message"], str)
    assert web.page.evaluate("window.refreshCalls") == (1 if refresh else 0)
    shown = web.page.locator("plaudit-modal [role=dialog]").inner_text()
    assert expired not in shown
    assert not any(expired in message for message in web.messages)
    web.assert_no_errors()


def test_an_invalid_token_shows_a_friendly_message(
    plaudit: Plaudit, host: HostServer, product: Product, open_page: Any
) -> None:
    """A token that is not a token: the sign-in message and an `error` event, no raw detail."""
    url = serve(
        host,
        plaudit,
        setup="""
plaudit("on", "error", (detail) => seen.push(detail.code));
plaudit("loadReferralWidget", {product_id: "acme", auth_token: "not-a-token"});
plaudit("showReferralWidget");
""",
    )
    web = open_page()
    web.allow(HTTP_401)
    web.page.goto(url)
    expect(part(web, "error")).to_have_text(EN_AUTH)
    expect(part(web, "retry")).to_have_count(0)  # trying again cannot help
    until(web.page, "window.seen.length === 1")
    assert web.page.evaluate("window.seen") == ["invalid_token"]
    assert "not-a-token" not in web.page.locator("plaudit-modal").inner_text()
    web.assert_no_errors()


def test_the_inline_element_renders_the_same_panel_and_takes_host_theming(
    plaudit: Plaudit, host: HostServer, product: Product, open_page: Any
) -> None:
    """<plaudit-widget> shows the panel in the page (no dialog), fires DOM events, reloads when
    its token changes, and the host page's custom properties beat the product theme."""
    token = product.token(new_user())
    url = serve(
        host,
        plaudit,
        css="plaudit-widget { --plaudit-primary: rgb(1, 2, 3); max-width: 420px; }",
        setup="""
document.addEventListener("plaudit:ready", (e) => seen.push("ready:" + e.target.tagName));
document.addEventListener("plaudit:error", (e) => seen.push("error:" + e.detail.code));
""",
        body=f'<plaudit-widget product="acme" token="{token}" locale="en"></plaudit-widget>',
    )
    web = open_page()
    web.allow(HTTP_401)  # the deliberately bad token at the end
    web.page.goto(url)
    link = part(web, "link", "plaudit-widget")
    expect(link).to_have_value(link_pattern(plaudit))
    expect(part(web, "title", "plaudit-widget")).to_have_text("Invite friends to Acme Notes")
    expect(web.page.locator("plaudit-widget [role=dialog]")).to_have_count(0)
    expect(web.page.locator("plaudit-modal")).to_have_count(0)
    background = part(web, "copy", "plaudit-widget").evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert background == "rgb(1, 2, 3)"
    until(web.page, "window.seen.length === 1")
    assert web.page.evaluate("window.seen") == ["ready:PLAUDIT-WIDGET"]

    web.page.evaluate("document.querySelector('plaudit-widget').setAttribute('token', 'bad')")
    expect(part(web, "error", "plaudit-widget")).to_have_text(EN_AUTH)
    until(web.page, "window.seen.length === 2")
    assert web.page.evaluate("window.seen[1]").startswith("error:")
    web.assert_no_errors()


def test_german_comes_from_the_browser_language_and_formats_numbers_and_dates(
    plaudit: Plaudit, host: HostServer, product: Product, open_page: Any
) -> None:
    """With navigator.language de-DE and no option the modal is German, rewards included; an
    explicit locale attribute still wins on the inline element."""
    user = new_user()
    token = product.token(user)
    url = serve(
        host,
        plaudit,
        setup=f'plaudit("loadReferralWidget", {{auth_token: {js(token)}}});',
        body=f'<plaudit-widget token="{token}" locale="en"></plaudit-widget>',
    )
    web = open_page(locale="de-DE")
    web.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=host.origin)
    web.page.goto(url)
    web.page.click("#opener")
    expect(part(web, "title")).to_have_text("Lade Freunde zu Acme Notes ein")
    expect(part(web, "reward")).to_contain_text("erhalte 10 Guthaben, wenn sie Kunden werden")
    expect(part(web, "rewards-empty")).to_contain_text("Noch keine Prämien")
    expect(web.page.locator('plaudit-modal [data-plaudit="panel"]')).to_have_attribute("lang", "de")
    expect(part(web, "close")).to_have_attribute("aria-label", "Schließen")
    part(web, "copy").click()
    expect(part(web, "copy")).to_have_text("Kopiert!")
    expect(part(web, "title", "plaudit-widget")).to_have_text("Invite friends to Acme Notes")

    # A friend signs up and converts (the tenant's backend tells Plaudit): a reward appears.
    code = part(web, "link").input_value().rsplit("/", 1)[1]
    friend = new_user()
    signup = plaudit.call(
        "POST",
        f"/v1/products/{product.id}/referrals",
        json={"referred_user_id": friend, "code": code},
    )
    assert signup.status_code == 201, signup.text
    converted = plaudit.call("POST", f"/v1/products/{product.id}/referrals/{friend}/conversion")
    assert converted.status_code == 200, converted.text
    web.page.keyboard.press("Escape")
    web.page.click("#opener")
    expect(part(web, "reward-totals")).to_have_text("Gesamt: 10 Guthaben")
    expect(part(web, "stat-conversions")).to_have_text("1")
    item = part(web, "reward-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("+10 Guthaben")
    expect(item).to_contain_text(re.compile(r"\d{2}\.\d{2}\.\d{4}"))
    web.assert_no_errors()


def test_on_a_phone_the_modal_is_a_full_width_sheet(
    plaudit: Plaudit, host: HostServer, product: Product, open_page: Any
) -> None:
    """At 375x667 the dialog spans the width, sits on the bottom edge, scrolls inside itself
    and keeps every control reachable."""
    token = product.token(new_user())
    url = serve(
        host,
        plaudit,
        setup=f"""
plaudit("loadReferralWidget", {{auth_token: {js(token)}}});
plaudit("showReferralWidget");
""",
    )
    web = open_page(
        viewport={"width": 375, "height": 667},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    web.page.goto(url)
    dialog = web.page.locator("plaudit-modal [role=dialog]")
    expect(part(web, "link")).to_be_visible()
    web.page.wait_for_timeout(250)  # the opening animation
    box = dialog.bounding_box()
    assert box is not None
    assert box["x"] == 0
    assert box["width"] == 375
    assert abs(box["y"] + box["height"] - 667) < 1
    assert dialog.evaluate("el => el.scrollWidth <= el.clientWidth")
    panel = part(web, "panel")
    assert panel.evaluate("el => el.scrollWidth <= el.clientWidth")
    for key in ("copy", "share-whatsapp", "stat-conversions", "close"):
        target = part(web, key)
        target.scroll_into_view_if_needed()
        shown = target.bounding_box()
        assert shown is not None
        assert shown["x"] >= 0, key
        assert shown["x"] + shown["width"] <= 375, key
    part(web, "close").tap()
    expect(dialog).to_be_hidden()
    web.assert_no_errors()


def test_the_demo_host_app_signs_in_and_opens_the_widget(
    plaudit: Plaudit, demo_product: Product, open_page: Any
) -> None:
    """/demo: 'Sign in as' a user, 'Invite friends' asks the demo's own token route and opens
    the widget; closing gives focus back to the button."""
    web = open_page()
    web.page.goto(plaudit.url + "/demo")
    web.page.fill("#user-id", new_user())
    web.page.click("#invite")
    expect(part(web, "link")).to_have_value(link_pattern(plaudit))
    expect(part(web, "title")).to_have_text("Invite friends to Demo product")
    web.page.keyboard.press("Escape")
    expect(web.page.locator("plaudit-modal [role=dialog]")).to_be_hidden()
    assert web.page.evaluate("document.activeElement.id") == "invite"
    web.assert_no_errors()
