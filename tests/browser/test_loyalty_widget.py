"""The loyalty view and the tabs, in a real browser, against a real Plaudit, from another origin.

Points, tiers, rewards and badges are set up through the admin API and earned through events, as
a tenant's backend would; the widget reads them under the same strict CSP as the referral view,
and every test ends by asserting that the page raised no error and logged no console error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import HTTP_401, HostServer, Plaudit, Product, Web, _create_product
from .pages import FOCUS, js, new_user, part, serve, until

pytestmark = pytest.mark.browser

HTTP_409 = re.compile(r"Failed to load resource: the server responded with a status of 409")
RULES = [
    {"name": "Write a review", "event_type": "review", "points": 50},
    {
        "name": "Buy coffee",
        "event_type": "purchase",
        "property": "amount",
        "rate": 2,
        "limit_per_day": 3,
    },
    {"name": "Complete your profile", "event_type": "profile", "points": 25, "once": True},
]
TIERS = [
    {"name": "Bronze", "threshold": 0},
    {"name": "Silver", "threshold": 200},
    {"name": "Gold", "threshold": 1000},
]
REWARDS = [
    {"name": "Free coffee", "description": "Any size, any bean.", "cost": 120, "stock": 50},
    {"name": "Tote bag", "description": "Organic cotton.", "cost": 1000},
    {"name": "Espresso cup", "cost": 10, "stock": 0},
]
BADGES = [
    {
        "name": "First review",
        "description": "Wrote a review.",
        "icon": "⭐",
        "criteria": {"kind": "event_count", "event_type": "review", "count": 1},
    },
    {
        "name": "Big spender",
        "description": "Earned 5,000 points.",
        "icon": "💎",
        "criteria": {"kind": "points_total", "points": 5000},
    },
]


class Program:
    """A product with a loyalty program, and the admin calls a tenant's backend makes."""

    def __init__(self, plaudit: Plaudit, product: Product) -> None:
        self.plaudit = plaudit
        self.product = product
        self.rewards: dict[str, str] = {}

    def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.plaudit.call(method, f"/v1/products/{self.product.id}{path}", **kwargs)
        assert response.status_code in (200, 201, 202), response.text
        return response.json()

    def event(self, user: str, type_: str, **properties: Any) -> None:
        self.admin(
            "POST", "/events", json={"user_id": user, "type": type_, "properties": properties}
        )

    def grant(self, user: str, amount: int, reason: str) -> None:
        self.admin("POST", f"/users/{user}/points", json={"amount": amount, "reason": reason})

    def balance(self, user: str) -> int:
        return int(self.admin("GET", f"/users/{user}/loyalty")["points"]["balance"])

    def history(self, user: str) -> list[dict[str, Any]]:
        return list(self.admin("GET", f"/users/{user}/history?limit=100")["entries"])


def make_program(plaudit: Plaudit, host: HostServer, product_id: str, name: str) -> Program:
    product = _create_product(
        plaudit, product_id, name, allowed_origins=[host.origin], published=True
    )
    program = Program(plaudit, product)
    for rule in RULES:
        program.admin("POST", "/loyalty/rules", json=rule)
    program.admin("PUT", "/loyalty/tiers", json={"tiers": TIERS})
    for reward in REWARDS:
        program.rewards[reward["name"]] = program.admin("POST", "/rewards", json=reward)["id"]
    for badge in BADGES:
        program.admin("POST", "/badges", json=badge)
    return program


@pytest.fixture(scope="module")
def beans(plaudit: Plaudit, host: HostServer) -> Program:
    return make_program(plaudit, host, "beans", "Bean There")


def member(program: Program, points: int = 0) -> tuple[str, str]:
    """A new user with `points` (a welcome bonus), and a token for them."""
    user = new_user()
    program.event(user, "signup")  # the tenant's backend has seen them: the user exists
    if points:
        program.grant(user, points, "Welcome bonus")
    return user, program.product.token(user)


def open_loyalty(
    host: HostServer, plaudit: Plaudit, token: str, options: str = "", **page: Any
) -> str:
    return serve(
        host,
        plaudit,
        setup=f"""
for (const name of ["ready", "error", "redeemed", "redeem_failed"]) plaudit("on", name, (d) => seen.push([name, d]));
plaudit("loadLoyaltyWidget", {{auth_token: {js(token)}{options}}});
plaudit("showLoyaltyWidget");
""",
        **page,
    )


def events(web: Web, name: str) -> list[Any]:
    return [detail for kind, detail in web.page.evaluate("window.seen") if kind == name]


def wait_for_event(web: Web, name: str, count: int = 1) -> list[Any]:
    until(web.page, f"window.seen.filter((e) => e[0] === {js(name)}).length >= {count}")
    return events(web, name)


def reward(web: Web, program: Program, name: str, key: str, host: str = "plaudit-modal") -> Any:
    item = web.page.locator(
        f'{host} [data-plaudit="reward-item"][data-id="{program.rewards[name]}"]'
    )
    return item.locator(f'[data-plaudit="{key}"]')


def test_the_loyalty_view_shows_balance_tier_ways_to_earn_badges_and_history(
    plaudit: Plaudit, host: HostServer, beans: Program, open_page: Callable[..., Web]
) -> None:
    """Points earned through events and a bonus show as a balance, a tier with progress to the
    next, the rules in words, earned and locked badges, and the history newest first."""
    user, token = member(beans)
    beans.event(user, "review")  # +50, and the "First review" badge
    beans.event(user, "purchase", amount=30)  # 2 per unit: +60
    beans.grant(user, 100, "Welcome bonus")  # 210 in all: Silver, 790 short of Gold
    beans.admin("POST", "/leaderboards/refresh")
    url = open_loyalty(host, plaudit, token)
    web = open_page(viewport={"width": 800, "height": 1400})
    requests: list[Any] = []
    web.page.on("request", lambda r: requests.append(r) if "/v1/" in r.url else None)
    web.page.goto(url)

    dialog = web.page.locator("plaudit-modal [role=dialog]")
    expect(dialog).to_be_visible()
    expect(part(web, "title")).to_have_text("Your Bean There rewards")
    expect(web.page.locator("plaudit-modal [role=tablist]")).to_have_count(0)  # one view: no tabs
    expect(part(web, "balance")).to_have_text("210")
    expect(part(web, "tier")).to_have_text("Silver tier")
    expect(part(web, "tier-next")).to_have_text("790 points to reach Gold")
    progress = part(web, "tier-progress")
    expect(progress).to_have_attribute("aria-label", "Progress to Gold")
    expect(progress).to_have_attribute("value", "1")  # (210 - 200) / (1000 - 200), rounded

    earn = part(web, "earn-item")
    expect(earn).to_have_text(
        [
            re.compile(r"^Write a review\s*\+50 points$"),
            re.compile(r"^Buy coffee\s*2 points per amount · up to 3× a day$"),
            re.compile(r"^Complete your profile\s*\+25 points · once$"),
        ]
    )
    expect(part(web, "badges-count")).to_have_text("1 of 2 earned")
    badges = part(web, "badge")
    expect(badges).to_have_count(2)
    expect(badges.nth(0)).to_contain_text("First review")
    expect(badges.nth(0)).to_contain_text(re.compile(r"Earned \w{3} \d{1,2}, \d{4}"))
    expect(badges.nth(1)).to_contain_text("Big spender")
    expect(badges.nth(1)).to_contain_text("Not earned yet")
    me = web.page.locator('plaudit-modal [data-plaudit="board-entry"][aria-current="true"]')
    expect(me).to_contain_text("(you)")
    expect(me).to_contain_text("210 points")
    expect(part(web, "history-delta")).to_have_text(["+100 points", "+60 points", "+50 points"])
    expect(part(web, "history-item").first).to_contain_text("Welcome bonus")

    ready = wait_for_event(web, "ready")
    assert ready[0]["view"] == "loyalty"
    assert ready[0]["points"]["balance"] == 210
    by_cost = [r["name"] for r in sorted(REWARDS, key=lambda r: r["cost"])]
    assert [r["name"] for r in ready[0]["rewards"]] == by_cost
    paths = sorted({r.url.split("?")[0].removeprefix(plaudit.url) for r in requests})
    assert paths == ["/v1/leaderboards/all-time", "/v1/me", "/v1/me/history", "/v1/rewards"]
    for request in requests:  # the token only in Authorization, never in a URL
        assert request.all_headers()["authorization"] == f"Bearer {token}"
        assert token not in request.url
    shown = dialog.inner_text()
    assert "null" not in shown
    assert "undefined" not in shown
    assert "NaN" not in shown

    if out := os.environ.get("PLAUDIT_SCREENSHOTS"):  # docs/images/widget-loyalty.png
        web.page.wait_for_timeout(250)  # the opening animation
        dialog.screenshot(path=str(Path(out) / "widget-loyalty.png"), animations="disabled")
    web.assert_no_errors()


def test_redeeming_confirms_cost_and_balance_after_then_spends_the_points(
    plaudit: Plaudit, host: HostServer, beans: Program, open_page: Callable[..., Web]
) -> None:
    """Redeem opens a confirmation step that says the cost and the balance after, with focus on
    Cancel; Esc cancels it (not the modal); confirming spends the points on the server, and the
    balance, history, stock, live region and `redeemed` event all say so."""
    user, token = member(beans, 300)
    web = open_page()
    web.page.goto(open_loyalty(host, plaudit, token))
    page = web.page
    expect(part(web, "balance")).to_have_text("300")

    # What cannot be redeemed says why, and its button is off.
    expect(reward(web, beans, "Tote bag", "reward-why")).to_have_text("700 points more needed")
    expect(reward(web, beans, "Tote bag", "redeem")).to_be_disabled()
    expect(reward(web, beans, "Espresso cup", "reward-why")).to_have_text("Out of stock")
    expect(reward(web, beans, "Espresso cup", "redeem")).to_be_disabled()
    expect(reward(web, beans, "Free coffee", "reward-cost")).to_have_text("120 points · 50 left")
    coffee = reward(web, beans, "Free coffee", "redeem")
    expect(coffee).to_have_attribute("aria-label", "Redeem Free coffee")

    coffee.focus()
    page.keyboard.press("Enter")
    step = part(web, "confirm")
    expect(step).to_have_attribute("role", "alertdialog")
    title_id = step.get_attribute("aria-labelledby")
    expect(page.locator(f"plaudit-modal #{title_id}")).to_have_text("Redeem Free coffee?")
    text_id = step.get_attribute("aria-describedby")
    expect(page.locator(f"plaudit-modal #{text_id}")).to_have_text(
        "This costs 120 points. You have 300 points; afterwards you'll have 180 points."
    )
    expect(part(web, "balance")).to_have_count(0)  # the step stands alone
    assert page.evaluate(FOCUS) == "confirm-cancel"
    page.keyboard.press("Escape")
    expect(step).to_have_count(0)
    expect(page.locator("plaudit-modal [role=dialog]")).to_be_visible()
    assert page.evaluate(FOCUS) == "redeem"
    assert beans.balance(user) == 300

    page.keyboard.press("Enter")
    expect(part(web, "confirm-redeem")).to_have_text("Redeem for 120 points")
    part(web, "confirm-redeem").click()
    message = "You redeemed Free coffee. Your balance is now 180 points."
    expect(part(web, "redeem-result")).to_have_text(message)
    expect(part(web, "announce")).to_have_text(message)
    expect(part(web, "balance")).to_have_text("180")
    expect(part(web, "history-delta").first).to_have_text("−120 points")
    expect(reward(web, beans, "Free coffee", "reward-cost")).to_have_text("120 points · 49 left")
    assert page.evaluate(FOCUS) == "redeem"  # back where the user was

    redeemed = wait_for_event(web, "redeemed")
    assert redeemed[0]["reward_name"] == "Free coffee"
    assert redeemed[0]["balance"] == 180
    assert redeemed[0]["redemption"]["cost"] == 120
    assert beans.balance(user) == 180
    assert [e["delta"] for e in beans.history(user)] == [-120, 300]
    web.assert_no_errors()


def test_a_redemption_that_fails_for_lack_of_points_shows_the_api_message_and_spends_nothing(
    plaudit: Plaudit, host: HostServer, beans: Program, open_page: Callable[..., Web]
) -> None:
    """The points were spent elsewhere after the widget loaded: confirming answers 409
    insufficient_points; the widget says so with the API's message, emits `redeem_failed`,
    takes nothing off, and then shows the balance the server has."""
    user, token = member(beans, 150)
    web = open_page()
    web.allow(HTTP_409)  # the refused redemption
    web.page.goto(open_loyalty(host, plaudit, token))
    expect(part(web, "balance")).to_have_text("150")
    beans.grant(user, -100, "Spent at the till")  # another channel: 50 left

    reward(web, beans, "Free coffee", "redeem").click()
    expect(part(web, "confirm-text")).to_have_text(
        "This costs 120 points. You have 150 points; afterwards you'll have 30 points."
    )
    part(web, "confirm-redeem").click()
    result = part(web, "redeem-result")
    expect(result).to_contain_text("You don't have enough points for Free coffee.")
    failed = wait_for_event(web, "redeem_failed")
    assert failed[0]["code"] == "insufficient_points"
    assert failed[0]["reward_id"] == beans.rewards["Free coffee"]
    api_message = failed[0]["message"]
    assert "120" in api_message  # the API's own sentence: what it needs and what is there
    expect(result).to_contain_text(api_message)
    expect(part(web, "announce")).to_contain_text("You don't have enough points")
    assert events(web, "redeemed") == []

    assert beans.balance(user) == 50  # nothing was taken
    assert [e["delta"] for e in beans.history(user)] == [-100, 150]
    expect(part(web, "balance")).to_have_text("50")  # the server's balance, not 150 - 120
    expect(reward(web, beans, "Free coffee", "reward-why")).to_have_text("70 points more needed")
    expect(reward(web, beans, "Free coffee", "redeem")).to_be_disabled()
    assert web.page.evaluate(FOCUS) == "redeem-result"  # its button is off now: focus the outcome
    web.assert_no_errors()


def test_tabs_show_both_views_and_follow_the_arrow_keys(
    plaudit: Plaudit, host: HostServer, beans: Program, open_page: Callable[..., Web]
) -> None:
    """`tabs: true` makes one modal with a tab per view: a tablist with aria-selected and a
    roving tabindex; arrows, Home and End move and activate; show*Widget pick the tab."""
    _user, token = member(beans, 40)
    web = open_page()
    web.page.goto(open_loyalty(host, plaudit, token, ", tabs: true"))
    page = web.page
    tabs = page.locator("plaudit-modal [role=tab]")
    expect(tabs).to_have_text(["Rewards", "Invite friends"])
    expect(page.locator("plaudit-modal [role=tablist]")).to_have_attribute("aria-label", "Sections")
    panel = page.locator("plaudit-modal [role=tabpanel]")
    expect(panel).to_have_attribute("aria-labelledby", "plaudit-tab-loyalty")
    expect(part(web, "balance")).to_have_text("40")
    expect(tabs.nth(0)).to_have_attribute("aria-selected", "true")
    expect(tabs.nth(0)).to_have_attribute("tabindex", "0")
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "false")
    expect(tabs.nth(1)).to_have_attribute("tabindex", "-1")
    ready = wait_for_event(web, "ready", 2)  # both views load at once
    assert sorted(r["view"] for r in ready) == ["loyalty", "referral"]

    tabs.nth(0).focus()
    page.keyboard.press("ArrowRight")
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    assert page.evaluate(FOCUS) == "tab-referral"
    expect(panel).to_have_attribute("aria-labelledby", "plaudit-tab-referral")
    expect(part(web, "title")).to_have_text("Invite friends to Bean There")
    expect(part(web, "link")).to_be_visible()
    expect(part(web, "balance")).to_have_count(0)
    page.keyboard.press("ArrowRight")  # wraps
    expect(tabs.nth(0)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("End")
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Home")
    expect(tabs.nth(0)).to_have_attribute("aria-selected", "true")
    assert page.evaluate(FOCUS) == "tab-loyalty"
    page.keyboard.press("Tab")  # the inactive tab is skipped: on into the panel
    assert page.evaluate(FOCUS) not in ("tab-referral", "tab-loyalty", "outside-dialog")

    tabs.nth(1).click()
    expect(part(web, "link")).to_be_visible()
    page.keyboard.press("Escape")
    page.click("#rewards")  # showLoyaltyWidget: the same modal, on its tab
    expect(tabs.nth(0)).to_have_attribute("aria-selected", "true")
    expect(part(web, "balance")).to_have_text("40")
    page.keyboard.press("Escape")
    page.click("#opener")  # showReferralWidget
    expect(tabs.nth(1)).to_have_attribute("aria-selected", "true")
    web.assert_no_errors()


def test_the_inline_element_in_german_with_tabs_and_a_cancelled_confirmation(
    plaudit: Plaudit, host: HostServer, beans: Program, open_page: Callable[..., Web]
) -> None:
    """<plaudit-widget view="loyalty,referral" locale="de"> renders German tabs, numbers and
    a German confirmation; Esc cancels the inline confirmation and focus goes back."""
    _user, token = member(beans, 1250)
    url = serve(
        host,
        plaudit,
        body=f'<plaudit-widget view="loyalty,referral" locale="de" token="{token}"></plaudit-widget>',
    )
    web = open_page()
    web.page.goto(url)
    inline = "plaudit-widget"
    expect(part(web, "title", inline)).to_have_text("Deine Prämien bei Bean There")
    expect(web.page.locator(f"{inline} [role=tab]")).to_have_text(["Prämien", "Freunde einladen"])
    expect(part(web, "balance", inline)).to_have_text("1.250")
    expect(part(web, "tier", inline)).to_have_text("Stufe Gold")
    expect(part(web, "tier-next", inline)).to_have_text("Du hast die höchste Stufe erreicht.")
    expect(part(web, "period-all-time", inline)).to_have_text("Gesamt")
    coffee = reward(web, beans, "Free coffee", "redeem", inline)
    expect(coffee).to_have_text("Einlösen")
    coffee.click()
    expect(part(web, "confirm-text", inline)).to_have_text(
        "Das kostet 120 Punkte. Du hast 1.250 Punkte, danach noch 1.130 Punkte."
    )
    web.page.keyboard.press("Escape")
    expect(part(web, "confirm", inline)).to_have_count(0)
    focused = web.page.evaluate(
        "document.querySelector('plaudit-widget').shadowRoot.activeElement.dataset.plaudit"
    )
    assert focused == "redeem"
    expect(part(web, "panel", inline)).to_have_attribute("lang", "de")
    web.page.locator(f"{inline} [role=tab]").nth(1).click()
    expect(part(web, "title", inline)).to_have_text("Lade Freunde zu Bean There ein")
    web.assert_no_errors()


def test_the_leaderboard_ranks_the_user_and_history_pages_on(
    plaudit: Plaudit, host: HostServer, open_page: Callable[..., Web]
) -> None:
    """On a product of its own (so the ranks are known): the user is marked on the all-time
    board, another period is fetched on demand, and "Show more" pages through the history."""
    program = make_program(plaudit, host, "podium", "Podium")
    member(program, 500)
    user, token = member(program, 300)
    member(program, 100)
    program.event(user, "review")
    for n in range(10):  # 12 entries in all: more than one page of 10
        program.grant(user, 1, f"Tip {n}")
    refreshed = program.admin("POST", "/leaderboards/refresh")
    assert "all-time" in refreshed["refreshed"]

    web = open_page()
    web.page.goto(open_loyalty(host, plaudit, token))
    entries = part(web, "board-entry")
    expect(entries).to_have_count(3)
    expect(entries.nth(1)).to_have_attribute("aria-current", "true")
    expect(entries.nth(1)).to_contain_text("(you)")
    expect(entries.nth(1)).to_contain_text("360 points")  # 300 + 50 + 10 tips
    expect(entries.nth(0)).to_contain_text("500 points")
    expect(entries.nth(0)).not_to_have_attribute("aria-current", "true")
    expect(part(web, "period-all-time")).to_have_attribute("aria-pressed", "true")

    with web.page.expect_response(lambda r: "/v1/leaderboards/week?limit=10" in r.url) as week:
        part(web, "period-week").click()
    assert week.value.status == 200
    expect(part(web, "period-week")).to_have_attribute("aria-pressed", "true")
    expect(part(web, "period-all-time")).to_have_attribute("aria-pressed", "false")
    expect(entries).to_have_count(3)  # all of it was earned this week
    expect(entries.nth(1)).to_have_attribute("aria-current", "true")

    items = part(web, "history-item")
    expect(items).to_have_count(10)
    part(web, "history-more").click()
    expect(items).to_have_count(12)  # the bonus, the review and 10 tips
    expect(part(web, "history-more")).to_have_count(0)
    expect(items.last).to_contain_text("Welcome bonus")
    assert web.page.evaluate(FOCUS) == "history"
    web.assert_no_errors()


def test_an_expired_token_is_refreshed_once_for_all_of_the_views_calls(
    plaudit: Plaudit, host: HostServer, beans: Program, open_page: Callable[..., Web]
) -> None:
    """The loyalty view makes four calls at once; all four meet token_expired, and one
    refresh_token() call renews the token for all of them."""
    user = new_user()
    beans.event(user, "signup")
    expired, fresh = beans.product.token(user, expired=True), beans.product.token(user)
    refresh = f"""() => {{
  window.refreshCalls = (window.refreshCalls || 0) + 1;
  return new Promise((resolve) => setTimeout(() => resolve({js(fresh)}), 20));
}}"""
    web = open_page()
    web.allow(HTTP_401)
    web.page.goto(open_loyalty(host, plaudit, expired, f", refresh_token: {refresh}"))
    expect(part(web, "balance")).to_have_text("0")
    expect(part(web, "history-item")).to_have_count(0)
    assert web.page.evaluate("window.refreshCalls") == 1
    assert [kind for kind, _ in web.page.evaluate("window.seen")] == ["ready"]
    web.assert_no_errors()


def test_the_demo_host_apps_rewards_button_opens_the_loyalty_tab(
    plaudit: Plaudit, demo_product: Product, open_page: Callable[..., Web]
) -> None:
    """/demo: "Rewards" signs in through the demo's token route and opens the same modal on its
    loyalty tab, next to the referral tab; closing gives focus back to the button."""
    web = open_page()
    web.page.goto(plaudit.url + "/demo")
    web.page.fill("#user-id", new_user())
    web.page.click("#rewards")
    tabs = web.page.locator("plaudit-modal [role=tab]")
    expect(tabs).to_have_text(["Rewards", "Invite friends"])
    expect(tabs.nth(0)).to_have_attribute("aria-selected", "true")
    expect(part(web, "title")).to_have_text("Your Demo product rewards")
    expect(part(web, "balance")).to_have_text("0")
    web.page.keyboard.press("Escape")
    expect(web.page.locator("plaudit-modal [role=dialog]")).to_be_hidden()
    assert web.page.evaluate("document.activeElement.id") == "rewards"
    web.assert_no_errors()


def test_on_a_phone_the_loyalty_view_fits_the_width(
    plaudit: Plaudit, host: HostServer, beans: Program, open_page: Callable[..., Web]
) -> None:
    """At 375x667 the tabs, the rewards with their reasons, the badges and the leaderboard all
    fit the sheet's width; the confirmation's buttons are reachable."""
    _user, token = member(beans, 130)
    web = open_page(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    web.page.goto(open_loyalty(host, plaudit, token, ", tabs: true"))
    expect(part(web, "balance")).to_have_text("130")
    panel = part(web, "panel")
    assert panel.evaluate("el => el.scrollWidth <= el.clientWidth")
    for key in ("tab-referral", "reward-why", "badge", "period-week", "history-item"):
        target = part(web, key).last
        target.scroll_into_view_if_needed()
        box = target.bounding_box()
        assert box is not None
        assert box["x"] >= 0, key
        assert box["x"] + box["width"] <= 375, key
    reward(web, beans, "Free coffee", "redeem").tap()
    for key in ("confirm-redeem", "confirm-cancel"):
        box = part(web, key).bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 375, key
    part(web, "confirm-cancel").tap()
    expect(part(web, "confirm")).to_have_count(0)
    web.assert_no_errors()
