"""Holds, expiring lots, reward codes, tenant fulfilment, rolling tiers and pending referral
rewards in the widget, in a real browser, against a real Plaudit.

Everything is made through the API as a tenant's backend would: settings, rules and rewards by
the API key, events on past days by moving the test server's clock back while they are sent,
code pools by CSV upload, fulfilment by the tenant's calls, and redemptions by the user's token
(in the widget, or with the same token from the test). Nothing of Plaudit's own API is
intercepted; the background steps (holds, expiry, tiers, referral rewards) run on their own.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
from playwright.sync_api import expect

from .axe import blocking, run_axe
from .conftest import HostServer, Plaudit, Product, Web, _create_product
from .pages import FOCUS, js, new_user, part, serve
from .test_loyalty_widget import (
    HTTP_409,
    Program,
    events,
    make_program,
    member,
    open_loyalty,
    reward,
)

pytestmark = pytest.mark.browser

BROWSER_IN_UTC = {"timezone_id": "UTC", "viewport": {"width": 800, "height": 1600}}
EXPIRY_DAYS = 120
HOLD_DAYS = 14
REFERRAL_HOLD_DAYS = 7
RULES = [
    {"name": "Write a review", "event_type": "review", "points": 50, "hold_days": HOLD_DAYS},
    {"name": "Daily check-in", "event_type": "checkin", "points": 10},
    {"name": "Like a post", "event_type": "like", "points": 1},
]
REWARDS = [
    {"name": "Sticker", "cost": 10},
    {"name": "Gift card", "cost": 20, "fulfilment": "code"},
    {"name": "Mug", "cost": 10, "fulfilment": "code"},
    {"name": "Hoodie", "cost": 30, "fulfilment": "tenant"},
]
GIFT_CODES = [f"GIFT-7Q2K-{n:04d}" for n in range(1, 9)]
EN_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DE_MONTHS = [
    "Jan.",
    "Feb.",
    "März",
    "Apr.",
    "Mai",
    "Juni",
    "Juli",
    "Aug.",
    "Sept.",
    "Okt.",
    "Nov.",
    "Dez.",
]
WAIT_S = 15  # the background steps run every second; every poll here gives up after this


def day(at: str, lang: str = "en") -> str:
    """The day as the widget writes it in a UTC browser: "Dec 20", "Jan 3, 2027", "20. Dez."."""
    when = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(dt.UTC)
    this_year = when.year == dt.datetime.now(dt.UTC).year
    if lang == "de":
        text = f"{when.day}. {DE_MONTHS[when.month - 1]}"
        return text if this_year else f"{text} {when.year}"
    text = f"{EN_MONTHS[when.month - 1]} {when.day}"
    return text if this_year else f"{text}, {when.year}"


def upload_codes(plaudit: Plaudit, product: Product, reward_id: str, codes: list[str]) -> None:
    answer = httpx.post(
        f"{plaudit.url}/v1/products/{product.id}/rewards/{reward_id}/codes",
        headers={**plaudit.admin, "Content-Type": "text/csv"},
        content="code\n" + "\n".join(codes) + "\n",
        timeout=5,
    )
    assert answer.status_code in (200, 201), answer.text
    assert answer.json()["added"] == len(codes)


def redeem_as(plaudit: Plaudit, token: str, reward_id: str) -> dict[str, Any]:
    """A redemption by the user's own token, as the widget sends it."""
    answer = httpx.post(
        f"{plaudit.url}/v1/rewards/{reward_id}/redeem",
        headers={"Authorization": f"Bearer {token}"},
        json={},
        timeout=5,
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json()["redemption"])


def settle(program: Program, redemption_id: str, outcome: str) -> None:
    program.admin("POST", f"/redemptions/{redemption_id}/fulfilment", json={"outcome": outcome})


def poll(what: str, check: Callable[[], Any]) -> Any:
    """``check()``'s first truthy answer, within WAIT_S seconds."""
    deadline = time.monotonic() + WAIT_S
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {WAIT_S} s", pytrace=False)
        time.sleep(0.2)


@dataclass
class Lab:
    program: Program
    #: user -> token
    tokens: dict[str, str]
    #: saver's lots by name (see the fixture) -> ledger entry id
    lots: dict[str, int]


@pytest.fixture(scope="module")
def lab(plaudit: Plaudit, host: HostServer) -> Lab:
    """'Lab Coffee': lots expire after 120 days, reviews are held 14 days, referral rewards 7;
    Bronze/Gold tiers, switched from lifetime to a rolling 30-day window with 30 days' grace
    once 'keeper' reached Gold 100 days ago. The users:

    - saver: a check-in and a review 20 days ago (the review's hold is over), a Sticker that
      spent the check-in's lot, and a review (held) and a check-in today;
    - waiter: reviews 5 days ago and today, both still held: part of the pending clears first;
    - liker: one point, which will expire;
    - keeper: Gold in grace, with a code from the pool, a hoodie fulfilled and a review held;
      keeper also referred three friends: one converted 10 days ago (granted), one today (in its
      hold days) and one from a disposable address (held for review)."""
    product = _create_product(
        plaudit,
        "lab",
        "Lab Coffee",
        allowed_origins=[host.origin],
        published=True,
        points_lot_expiry_days=EXPIRY_DAYS,
        referral_reward_hold_days=REFERRAL_HOLD_DAYS,
    )
    program = Program(plaudit, product)
    for rule in RULES:
        program.admin("POST", "/loyalty/rules", json=rule)
    tiers = [{"name": "Bronze", "threshold": 0}, {"name": "Gold", "threshold": 1000}]
    program.admin("PUT", "/loyalty/tiers", json={"tiers": tiers})
    for item in REWARDS:
        program.rewards[item["name"]] = program.admin("POST", "/rewards", json=item)["id"]
    upload_codes(plaudit, product, program.rewards["Gift card"], GIFT_CODES)
    upload_codes(plaudit, product, program.rewards["Mug"], ["MUG-0001", "MUG-0002"])
    users = ("saver", "waiter", "liker", "keeper")
    tokens = {name: product.token(name + "-" + new_user()) for name in users}
    ids = {name: jwt_user(tokens[name]) for name in users}

    with plaudit.days_ago(140):
        for user in ids.values():
            program.event(user, "signup")  # the tenant's backend has seen them: the user exists
    with plaudit.days_ago(130):
        program.event(ids["saver"], "checkin")  # expired long ago
    with plaudit.days_ago(100):
        program.grant(ids["keeper"], 1000, "Founding member")
    with plaudit.days_ago(20):
        program.event(ids["saver"], "checkin")
        program.event(ids["saver"], "review")
    with plaudit.days_ago(5):
        program.event(ids["waiter"], "review")
    redeem_as(plaudit, tokens["saver"], program.rewards["Sticker"])
    program.event(ids["saver"], "review")
    program.event(ids["saver"], "checkin")
    program.event(ids["waiter"], "review")
    program.event(ids["liker"], "like")

    # Keeper: Gold by lifetime points; then the ladder is held by a rolling window instead.
    assert program.admin("GET", f"/users/{ids['keeper']}/loyalty")["tier"]["name"] == "Gold"
    program.admin(
        "PUT",
        "/loyalty/tiers",
        json={"tiers": tiers, "held_by": "rolling", "window_days": 30, "grace_days": 30},
    )
    poll(
        "keeper's grace period",
        lambda: program.admin("GET", f"/users/{ids['keeper']}/loyalty")["tier_status"]["review_at"],
    )
    program.event(ids["keeper"], "review")
    program.grant(ids["keeper"], 150, "Survey")
    redeem_as(plaudit, tokens["keeper"], program.rewards["Gift card"])
    hoodie = redeem_as(plaudit, tokens["keeper"], program.rewards["Hoodie"])
    settle(program, hoodie["id"], "fulfilled")

    # Keeper's friends.
    referral_code = str(
        httpx.get(
            f"{plaudit.url}/v1/referrals/me",
            headers={"Authorization": f"Bearer {tokens['keeper']}"},
            timeout=5,
        ).json()["code"]
    )
    friends = {"early": new_user(), "recent": new_user(), "throwaway": new_user()}

    def signup(friend: str, **extra: Any) -> None:
        program.admin(
            "POST", "/referrals", json={"referred_user_id": friend, "code": referral_code, **extra}
        )

    def convert(friend: str) -> None:
        program.admin("POST", f"/referrals/{friend}/conversion")

    with plaudit.days_ago(12):
        signup(friends["early"])
    with plaudit.days_ago(10):
        convert(friends["early"])
    signup(friends["recent"])
    convert(friends["recent"])
    signup(friends["throwaway"], referred_email="friend@mailinator.com")
    convert(friends["throwaway"])

    def early_granted() -> bool:
        page = program.admin("GET", "/referrals?limit=100")
        by_user = {r["referred_user_id"]: r for r in page["referrals"]}
        return bool(by_user[friends["early"]]["reward"]["status"] == "granted")

    poll("the early friend's reward granted after its hold", early_granted)

    # Saver's lots, by what they are, from the tenant's view of the history.
    entries = program.history(ids["saver"])
    now = dt.datetime.now(dt.UTC)

    def age(entry: dict[str, Any]) -> int:
        created = dt.datetime.fromisoformat(entry["created_at"].replace("Z", "+00:00"))
        return (now - created).days

    lots = {}
    for entry in entries:
        if entry["kind"] != "earn":
            continue
        when = {0: "today", 19: "20 days", 20: "20 days"}.get(age(entry), "old")
        lots[f"{entry['reason']} {when}"] = entry["id"]
    return Lab(program, tokens, lots)


def jwt_user(token: str) -> str:
    """The user id a test token names (the tests signed it; nothing to verify)."""
    return str(jwt.decode(token, options={"verify_signature": False})["UserId"])


def seen(web: Web, name: str) -> list[Any]:
    """The page's events of that name, once there is one (polled from the test: a page under
    the suite's CSP and Trusted Types cannot evaluate a string predicate itself)."""
    found = poll(f"a {name} event", lambda: events(web, name))
    return list(found)


def ready_data(web: Web) -> dict[str, Any]:
    return dict(seen(web, "ready")[0])


def notes_of(item: Any) -> dict[str, str]:
    """A history item's extra lines, by their data-plaudit key."""
    return dict(
        item.evaluate(
            """(li) => Object.fromEntries([...li.querySelectorAll(
              '[data-plaudit^="entry-"]')].map((n) => [n.dataset.plaudit, n.textContent]))"""
        )
    )


# --- 1. pending and expiring points ------------------------------------------------------------


def test_points_on_hold_and_the_next_expiry_show_under_the_balance(
    plaudit: Plaudit, host: HostServer, lab: Lab, open_page: Callable[..., Web]
) -> None:
    """Pending points say when they clear (all of them, or how many first), and the next
    expiry says how many points expire when, singular for one point."""
    web = open_page(**BROWSER_IN_UTC)
    web.page.goto(open_loyalty(host, plaudit, lab.tokens["saver"]))
    points = ready_data(web)["points"]
    assert (points["balance"], points["pending"]) == (60, 50)
    assert points["next_release"]["points"] == 50
    expect(part(web, "balance")).to_have_text("60")
    expect(part(web, "points-pending")).to_have_text(
        f"50 points pending · available {day(points['next_release']['at'])}"
    )
    assert points["next_expiry"]["points"] == 50  # the review of 20 days ago, spent last
    expect(part(web, "points-expiry")).to_have_text(
        f"50 points expire on {day(points['next_expiry']['at'])}"
    )

    web = open_page(**BROWSER_IN_UTC)
    web.page.goto(open_loyalty(host, plaudit, lab.tokens["waiter"]))
    points = ready_data(web)["points"]
    assert (points["balance"], points["pending"], points["next_release"]["points"]) == (0, 100, 50)
    expect(part(web, "points-pending")).to_have_text(
        f"100 points pending · 50 points available {day(points['next_release']['at'])}"
    )

    web = open_page(**BROWSER_IN_UTC)
    web.page.goto(open_loyalty(host, plaudit, lab.tokens["liker"]))
    points = ready_data(web)["points"]
    expect(part(web, "balance")).to_have_text("1")
    expect(part(web, "points-expiry")).to_have_text(
        f"1 point expires on {day(points['next_expiry']['at'])}"
    )
    expect(part(web, "points-pending")).to_have_count(0)
    web.assert_no_errors()


def test_a_program_without_holds_expiry_or_rolling_tiers_shows_none_of_it(
    plaudit: Plaudit, host: HostServer, open_page: Callable[..., Web]
) -> None:
    """Lifetime tiers, no hold, no expiry: no pending line, no expiry line, no tier to keep,
    and no note on any history entry."""
    program = make_program(plaudit, host, "plainlab", "Plain Beans")
    user, token = member(program, 300)
    program.event(user, "review")
    web = open_page(**BROWSER_IN_UTC)
    web.page.goto(open_loyalty(host, plaudit, token))
    data = ready_data(web)
    assert data["tier_status"]["review_at"] is None
    expect(part(web, "balance")).to_have_text("350")
    expect(part(web, "tier")).to_contain_text("Silver")
    expect(part(web, "history-item")).to_have_count(2)
    for key in ("points-pending", "points-expiry", "tier-keep", "entry-pending", "entry-expires"):
        expect(part(web, key)).to_have_count(0)
    web.assert_no_errors()


# --- 2. history: held, expiring, spent ---------------------------------------------------------


def test_history_shows_holds_and_expiry_only_while_the_lot_has_points_left(
    plaudit: Plaudit, host: HostServer, lab: Lab, open_page: Callable[..., Web]
) -> None:
    """A held earn says "Pending until", a lot with points left says "Expires"; a date already
    past says nothing, and neither does a lot spent to nothing (though the ledger keeps its
    expiry)."""
    saver = jwt_user(lab.tokens["saver"])
    by_id = {e["id"]: e for e in lab.program.history(saver)}
    spent = by_id[lab.lots["Daily check-in 20 days"]]
    assert spent["remaining"] == 0
    assert spent["expires_at"] > dt.datetime.now(dt.UTC).isoformat()

    web = open_page(**BROWSER_IN_UTC)
    web.page.goto(open_loyalty(host, plaudit, lab.tokens["saver"]))
    entries = ready_data(web)["history"]["entries"]
    items = part(web, "history-item")
    expect(items).to_have_count(len(entries))
    shown = {e["id"]: notes_of(items.nth(i)) for i, e in enumerate(entries)}

    def expires(name: str) -> dict[str, str]:
        return {"entry-expires": f"Expires {day(by_id[lab.lots[name]]['expires_at'])}"}

    held = by_id[lab.lots["Write a review today"]]
    assert shown[held["id"]] == {
        "entry-pending": f"Pending until {day(held['available_at'])}",
        **expires("Write a review today"),
    }
    assert shown[lab.lots["Daily check-in today"]] == expires("Daily check-in today")
    assert shown[lab.lots["Write a review 20 days"]] == expires("Write a review 20 days")
    assert shown[lab.lots["Daily check-in 20 days"]] == {}  # spent by the Sticker
    assert shown[lab.lots["Daily check-in old"]] == {}  # expired 10 days ago
    redeemed = [e["id"] for e in entries if e["kind"] == "redeem"]
    assert [shown[i] for i in redeemed] == [{}]  # delivered at once: nothing to say
    web.assert_no_errors()


# --- 3. reward codes ---------------------------------------------------------------------------

SECRETS = """() => JSON.stringify([window.seen, window.loaded || null])"""


def test_a_code_reward_shows_its_code_focused_and_keeps_it_from_the_page(
    plaudit: Plaudit, host: HostServer, lab: Lab, open_page: Callable[..., Web]
) -> None:
    """Redeeming a code reward shows the code large and focused; the history then lists it with
    a Copy button that copies it and says so; the code is in no event the page receives, nor in
    the load promise's value."""
    _user, token = member(lab.program, 100)
    web = open_page(**BROWSER_IN_UTC)
    web.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=host.origin)
    web.page.goto(open_loyalty(host, plaudit, token))
    expect(part(web, "balance")).to_have_text("100")
    reward(web, lab.program, "Gift card", "redeem").click()
    part(web, "confirm-redeem").click()
    code_field = part(web, "redeem-code")
    expect(code_field).to_be_visible()
    code = code_field.input_value()
    assert code in GIFT_CODES
    assert web.page.evaluate(FOCUS) == "redeem-code"
    expect(part(web, "redeem-result")).to_contain_text(
        "You redeemed Gift card. Your balance is now 80 points."
    )
    redeemed = seen(web, "redeemed")[0]
    assert redeemed["redemption"]["status"] == "delivered"
    assert "code" not in redeemed["redemption"]

    # The quiet reload brings the history: the code on its redeem entry, with Copy.
    history_code = part(web, "history-item").locator('[data-plaudit="code"]')
    expect(history_code).to_have_value(code)
    copy = part(web, "history-item").locator('[data-plaudit="code-copy"]')
    expect(copy).to_have_attribute("aria-label", "Copy code for Redeemed: Gift card")
    copy.click()
    expect(copy).to_have_text("Copied!")
    expect(part(web, "announce")).to_have_text("Copied!")
    assert web.page.evaluate("navigator.clipboard.readText()") == code

    # The page's scripts: the load promise's value (after the redemption) and every event.
    web.page.evaluate(
        f"plaudit('loadLoyaltyWidget', {{auth_token: {js(token)}}}).then((d) => {{ window.loaded = d; }})"
    )
    loaded = poll("the load promise's value", lambda: web.page.evaluate("window.loaded"))
    assert [e for e in loaded["history"]["entries"] if e["kind"] == "redeem"]
    assert all("reward_code" not in e for e in loaded["history"]["entries"])
    assert code not in web.page.evaluate(SECRETS)
    assert all(code not in message for message in web.messages)
    web.assert_no_errors()


def test_an_empty_code_pool_is_refused_like_the_other_refusals(
    plaudit: Plaudit, host: HostServer, lab: Lab, open_page: Callable[..., Web]
) -> None:
    """A pool emptied after the view loaded: the refusal in the user's words with the API's
    message, focus on it, nothing taken off the balance, and redeem_failed."""
    user, token = member(lab.program, 100)
    web = open_page(**BROWSER_IN_UTC)
    web.allow(HTTP_409)
    web.page.goto(open_loyalty(host, plaudit, token))
    expect(reward(web, lab.program, "Mug", "redeem")).to_be_enabled()
    lab.program.admin("DELETE", f"/rewards/{lab.program.rewards['Mug']}/codes")
    reward(web, lab.program, "Mug", "redeem").click()
    part(web, "confirm-redeem").click()
    result = part(web, "redeem-result")
    expect(result).to_contain_text("Mug has no codes left right now.")
    expect(result.locator('[lang="en"]')).not_to_have_text("")
    assert web.page.evaluate(FOCUS) == "redeem-result"
    failed = seen(web, "redeem_failed")[0]
    assert failed["code"] == "reward_out_of_codes"
    expect(part(web, "balance")).to_have_text("100")
    expect(reward(web, lab.program, "Mug", "redeem")).to_be_disabled()  # reloaded: unavailable
    assert lab.program.balance(user) == 100
    assert events(web, "redeemed") == []
    web.assert_no_errors()


# --- 4. tenant fulfilment ----------------------------------------------------------------------


def test_a_reward_the_tenant_fulfils_says_so_then_shows_fulfilled_or_failed_and_refunded(
    plaudit: Plaudit, host: HostServer, lab: Lab, open_page: Callable[..., Web]
) -> None:
    """The redeem answer says the product will deliver; the history says "Awaiting fulfilment",
    then "Fulfilled" once the tenant says so; a failed one says "Failed — points returned" next
    to its refund, and the balance is whole again."""
    user, token = member(lab.program, 100)
    web = open_page(**BROWSER_IN_UTC)
    web.page.goto(open_loyalty(host, plaudit, token))
    reward(web, lab.program, "Hoodie", "redeem").click()
    part(web, "confirm-redeem").click()
    expect(part(web, "redeem-result")).to_have_text(
        "You redeemed Hoodie. Your balance is now 70 points. Lab Coffee will deliver your reward."
    )
    redemption = seen(web, "redeemed")[0]["redemption"]
    assert redemption["status"] == "pending_fulfilment"
    first = part(web, "history-item").first
    expect(first.locator('[data-plaudit="entry-status"]')).to_have_text("Awaiting fulfilment")

    settle(lab.program, redemption["id"], "fulfilled")
    second = redeem_as(plaudit, token, lab.program.rewards["Hoodie"])
    settle(lab.program, second["id"], "failed")
    assert lab.program.balance(user) == 70

    web.page.reload()
    items = part(web, "history-item")
    expect(part(web, "balance")).to_have_text("70")
    expect(items.first).to_contain_text("Refunded: Hoodie")
    expect(items.first.locator('[data-plaudit="history-delta"]')).to_have_text("+30 points")
    expect(items.locator('[data-plaudit="entry-status"]')).to_have_text(
        ["Failed — points returned", "Fulfilled"]
    )
    web.assert_no_errors()


# --- 5. rolling tiers --------------------------------------------------------------------------


def test_a_user_in_grace_is_told_what_keeps_the_tier(
    plaudit: Plaudit, host: HostServer, lab: Lab, open_page: Callable[..., Web]
) -> None:
    """Gold earned 100 days ago, a 30-day window: "Keep Gold: earn N more points by <review>"
    with N the threshold less the window's points."""
    web = open_page(**BROWSER_IN_UTC)
    web.page.goto(open_loyalty(host, plaudit, lab.tokens["keeper"]))
    data = ready_data(web)
    status = data["tier_status"]
    assert data["tier"]["name"] == "Gold"
    assert status["downgrade_to"] == "Bronze"
    short = 1000 - status["qualifying_points"]
    assert 0 < short < 1000
    expect(part(web, "tier-keep")).to_have_text(
        f"Keep Gold: earn {short} more points by {day(status['review_at'])}"
    )
    web.assert_no_errors()


# --- 6. the referral view ----------------------------------------------------------------------


def test_referral_rewards_on_hold_read_pending_and_stay_out_of_the_total(
    plaudit: Plaudit, host: HostServer, lab: Lab, open_page: Callable[..., Web]
) -> None:
    """Of three converted friends, the one past the hold counts in the total; the one in its
    hold days reads "Pending until <date>", the one held for review "Pending"."""
    web = open_page(**BROWSER_IN_UTC)
    web.page.goto(
        serve(
            host,
            plaudit,
            setup=f"""
plaudit("on", "ready", (d) => seen.push(["ready", d]));
plaudit("loadReferralWidget", {{auth_token: {js(lab.tokens["keeper"])}}});
plaudit("showReferralWidget");
""",
        )
    )
    data = ready_data(web)
    by_status = sorted((r["status"], r["available_at"] is None) for r in data["rewards"])
    assert by_status == [("granted", True), ("pending", False), ("pending", True)]
    expect(part(web, "reward-totals")).to_have_text("Total: 10 credit")
    expect(part(web, "reward-item")).to_have_count(3)
    expect(
        web.page.locator('plaudit-modal [data-status="granted"] [data-plaudit="reward-pending"]')
    ).to_have_count(0)
    expect(part(web, "reward-pending")).to_have_text(
        [
            f"Pending until {day(r['available_at'])}" if r["available_at"] else "Pending"
            for r in data["rewards"]
            if r["status"] == "pending"
        ]
    )
    expect(part(web, "stat-conversions")).to_have_text("3")
    web.assert_no_errors()


# --- 7. German, axe, a phone -------------------------------------------------------------------


def test_the_new_states_in_german(
    plaudit: Plaudit, host: HostServer, lab: Lab, open_page: Callable[..., Web]
) -> None:
    """Pending and expiring points, a held and an expiring entry, the tier to keep, a fulfilled
    redemption and pending referral rewards, in German."""
    saver, keeper = lab.tokens["saver"], lab.tokens["keeper"]
    url = serve(
        host,
        plaudit,
        body=f"""
<plaudit-widget id="saver" view="loyalty" locale="de" token="{saver}"></plaudit-widget>
<plaudit-widget id="keeper" view="loyalty" locale="de" token="{keeper}"></plaudit-widget>
<plaudit-widget id="friends" view="referral" locale="de" token="{keeper}"></plaudit-widget>""",
    )
    me = {
        name: httpx.get(
            f"{plaudit.url}/v1/me", headers={"Authorization": f"Bearer {tok}"}, timeout=5
        ).json()
        for name, tok in (("saver", saver), ("keeper", keeper))
    }
    web = open_page(**BROWSER_IN_UTC)
    web.page.goto(url)
    points = me["saver"]["points"]
    expect(part(web, "points-pending", "#saver")).to_have_text(
        f"50 Punkte ausstehend · verfügbar ab {day(points['next_release']['at'], 'de')}"
    )
    expect(part(web, "points-expiry", "#saver")).to_have_text(
        f"50 Punkte verfallen am {day(points['next_expiry']['at'], 'de')}"
    )
    expect(part(web, "entry-pending", "#saver")).to_have_text(
        [f"Ausstehend bis {day(points['next_release']['at'], 'de')}"]
    )
    expect(part(web, "entry-expires", "#saver").first).to_have_text(re.compile(r"^Verfällt am "))
    status = me["keeper"]["tier_status"]
    expect(part(web, "tier-keep", "#keeper")).to_have_text(
        f"Gold halten: sammle bis {day(status['review_at'], 'de')} noch "
        f"{1000 - status['qualifying_points']} Punkte"
    )
    expect(part(web, "entry-status", "#keeper")).to_have_text(["Zugestellt"])
    expect(part(web, "reward-totals", "#friends")).to_have_text("Gesamt: 10 Guthaben")
    expect(part(web, "reward-pending", "#friends")).to_contain_text(
        [re.compile(r"^Ausstehend( bis \d+\. \S+)?$")] * 2
    )
    assert sorted(part(web, "reward-pending", "#friends").all_text_contents())[0] == "Ausstehend"
    web.assert_no_errors()


def test_axe_finds_nothing_serious_in_the_views_with_every_new_state(
    plaudit: Plaudit, host: HostServer, lab: Lab, open_page: Callable[..., Web]
) -> None:
    """Keeper's loyalty view (pending, expiry, the tier to keep, a code row, a fulfilled
    redemption) and referral view (pending rewards): no serious or critical axe finding."""
    web = open_page(**BROWSER_IN_UTC)
    web.page.goto(open_loyalty(host, plaudit, lab.tokens["keeper"], ", tabs: true"))
    for key in ("points-pending", "points-expiry", "tier-keep", "code", "entry-status"):
        expect(part(web, key).first).to_be_visible()
    problems = [str(v) for v in blocking(run_axe(web.page))]
    part(web, "tab-referral").click()
    expect(part(web, "reward-pending")).to_have_count(2)
    problems += [str(v) for v in blocking(run_axe(web.page))]
    assert problems == [], "axe: serious or critical problems"
    web.assert_no_errors()


def test_on_a_phone_a_code_row_fits_the_width(
    plaudit: Plaudit, host: HostServer, lab: Lab, open_page: Callable[..., Web]
) -> None:
    """At 390 px the history's code field and its Copy button sit side by side inside the
    sheet, and nothing scrolls sideways."""
    web = open_page(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, timezone_id="UTC"
    )
    web.page.goto(open_loyalty(host, plaudit, lab.tokens["keeper"]))
    code = part(web, "code")
    expect(code).to_have_value(re.compile(r"^GIFT-7Q2K-\d{4}$"))
    code.scroll_into_view_if_needed()
    assert part(web, "panel").evaluate("el => el.scrollWidth <= el.clientWidth")
    boxes = {}
    for key in ("code", "code-copy"):
        box = part(web, key).bounding_box()
        assert box is not None
        assert box["x"] >= 0, key
        assert box["x"] + box["width"] <= 390, key
        boxes[key] = box
    assert boxes["code"]["width"] >= 120  # readable, not squeezed to nothing
    assert abs(boxes["code"]["y"] - boxes["code-copy"]["y"]) < boxes["code-copy"]["height"]
    assert web.page.evaluate("document.documentElement.scrollWidth") <= 390
    web.assert_no_errors()
