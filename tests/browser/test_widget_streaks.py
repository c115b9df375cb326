"""Streaks in the loyalty view, in a real browser, against a real Plaudit.

The events are sent through the API on the days they count for (the server's clock is moved back
meanwhile, as a tenant's backend sending on those days would have); the widget reads `/v1/me`
under the suite's strict CSP, in a browser whose day is the product's (both UTC).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from .axe import blocking, run_axe
from .conftest import HostServer, Plaudit, Web, _create_product
from .pages import new_user, part, serve
from .test_loyalty_widget import Program, events, open_loyalty, wait_for_event

pytestmark = pytest.mark.browser

RULES = [
    {"name": "Daily check-in", "event_type": "checkin", "points": 5},
    {"name": "Write a review", "event_type": "review", "points": 50},
    {"name": "Buy coffee", "event_type": "purchase", "points": 10},
    {"name": "Complete your profile", "event_type": "profile", "points": 25, "once": True},
]
#: Days ago each event type was sent: the streaks they make as of today.
DAYS = {
    "checkin": [2, 1, 0],  # 3 days, today counted
    "review": [5, 4, 3, 1],  # 1 day since yesterday (best 3), today still open
    "purchase": [7, 6],  # over (best 2)
    "profile": [1, 0],  # a once-only rule: no streak to show
    "login": [3, 2, 1, 0],  # no rule: the tenant's own event, not shown
}
BROWSER_IN_UTC = {"timezone_id": "UTC", "viewport": {"width": 800, "height": 1400}}


@pytest.fixture(scope="module")
def streaker(plaudit: Plaudit, host: HostServer) -> tuple[Program, str, str]:
    """A product (in UTC, the default) with the rules above, and a user who sent the events on
    the days above; returns the program, the user and their token."""
    product = _create_product(
        plaudit, "streaks", "Daily Grind", allowed_origins=[host.origin], published=True
    )
    program = Program(plaudit, product)
    for rule in RULES:
        program.admin("POST", "/loyalty/rules", json=rule)
    user = new_user()
    for days in range(max(max(d) for d in DAYS.values()), -1, -1):
        with plaudit.days_ago(days):
            for type_, sent in DAYS.items():
                if days in sent:
                    program.event(user, type_)
    return program, user, product.token(user)


def test_the_loyalty_view_shows_each_rules_streak_its_best_and_whether_today_counted(
    plaudit: Plaudit,
    host: HostServer,
    streaker: tuple[Program, str, str],
    open_page: Callable[..., Web],
) -> None:
    """Streaks of the repeatable rules show by the rule's name, most recent first: the current
    length, the best when it was longer, and whether today already counted; axe finds nothing
    serious or critical in the view."""
    program, user, token = streaker
    me = program.admin("GET", f"/users/{user}/loyalty")
    by_type = {s["event_type"]: s for s in me["streaks"]}
    assert (by_type["checkin"]["current"], by_type["checkin"]["best"]) == (3, 3)
    assert (by_type["review"]["current"], by_type["review"]["best"]) == (1, 3)
    assert (by_type["purchase"]["current"], by_type["purchase"]["best"]) == (0, 2)
    assert by_type["login"]["best"] == 4  # counted, yet not the user's business: no rule

    web = open_page(**BROWSER_IN_UTC)
    web.page.goto(open_loyalty(host, plaudit, token))
    streaks = part(web, "streak")
    expect(streaks).to_have_count(3)
    assert streaks.evaluate_all("(items) => items.map((i) => i.dataset.id)") == [
        "checkin",
        "review",
        "purchase",
    ]
    expect(streaks).to_have_text(
        [
            re.compile(r"^Daily check-in\s*3-day streak\s*Counted today$"),
            re.compile(r"^Write a review\s*Best: 3 days\s*1-day streak\s*Not yet today"),
            re.compile(r"^Buy coffee\s*Best: 2 days\s*No streak right now$"),
        ]
    )
    expect(part(web, "streak-today")).to_have_text(
        ["Counted today", "Not yet today: keep it going"]
    )
    heading = web.page.locator('plaudit-modal h3:text-is("Streaks")')
    expect(heading).to_have_count(1)
    assert part(web, "streaks").evaluate("(el) => el.tagName") == "UL"

    ready = wait_for_event(web, "ready")
    assert {s["event_type"] for s in ready[0]["streaks"]} >= {"checkin", "review", "purchase"}
    assert events(web, "error") == []
    problems = [str(v) for v in blocking(run_axe(web.page))]
    assert problems == [], "axe: serious or critical problems in the loyalty view"
    web.assert_no_errors()


def test_streaks_in_german_in_the_inline_element(
    plaudit: Plaudit,
    host: HostServer,
    streaker: tuple[Program, str, str],
    open_page: Callable[..., Web],
) -> None:
    """The inline element in German: "Serien", day counts with their plural, the best and
    whether today counted, in German."""
    _program, _user, token = streaker
    url = serve(
        host,
        plaudit,
        body=f'<plaudit-widget view="loyalty" locale="de" token="{token}"></plaudit-widget>',
    )
    web = open_page(**BROWSER_IN_UTC)
    web.page.goto(url)
    inline = "plaudit-widget"
    expect(part(web, "streak-current", inline)).to_have_text(
        ["3 Tage in Folge", "1 Tag in Folge", "Gerade keine Serie"]
    )
    expect(part(web, "streak-best", inline)).to_have_text(["Rekord: 3 Tage", "Rekord: 2 Tage"])
    expect(part(web, "streak-today", inline)).to_have_text(
        ["Heute schon gezählt", "Heute noch offen: bleib dran"]
    )
    expect(web.page.locator(f'{inline} h3:text-is("Serien")')).to_have_count(1)
    web.assert_no_errors()


def test_a_first_day_is_no_streak_yet(
    plaudit: Plaudit,
    host: HostServer,
    streaker: tuple[Program, str, str],
    open_page: Callable[..., Web],
) -> None:
    """A user whose events all came today has one-day streaks only: no Streaks section."""
    program, _user, _token = streaker
    user = new_user()
    for type_ in ("checkin", "review", "purchase"):
        program.event(user, type_)
    web = open_page(**BROWSER_IN_UTC)
    web.page.goto(open_loyalty(host, plaudit, program.product.token(user)))
    expect(part(web, "balance")).to_have_text("65")
    expect(part(web, "streaks")).to_have_count(0)
    expect(web.page.locator('plaudit-modal h3:text-is("Streaks")')).to_have_count(0)
    web.assert_no_errors()
