"""The console's Referral review tab: the queue with its reasons in words, approve and reject
(a reason required), and the screening rules switched and tuned, as the API then reads them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.console.conftest import ConsoleClient, text_of
from tests.support.service import ADMIN, ADMIN_TOKEN, Clock, create_product

from .shop import Shop

PAGE = "/console/products/shop/referrals"


@pytest.fixture
def console(client: TestClient) -> ConsoleClient:
    signed_in = ConsoleClient(client)
    assert signed_in.sign_in(ADMIN_TOKEN).status_code == 303
    return signed_in


@pytest.fixture
def shop(client: TestClient, db: Database, settings: Settings, clock: Clock) -> Shop:
    shop = Shop(client, db, settings, clock)
    shop.users(("alice", {"email": "alice@example.com"}))
    shop.signup("bob", referred_email="alice@example.com")
    shop.signup("carl", referred_email="carl@mailinator.com")
    return shop


def test_the_queue_shows_each_flagged_referral_and_why(console: ConsoleClient, shop: Shop) -> None:
    """Both waiting referrals, each with its reasons as the API words them."""
    page = console.get(PAGE)
    assert page.status_code == 200
    seen = text_of(page)
    assert "Referral review" in seen
    for reason in shop.call("GET", "/referral-reviews").json()["referrals"]:
        assert reason["review"]["reasons"][0]["message"] in seen


def test_approve_and_reject_from_the_console(console: ConsoleClient, shop: Shop) -> None:
    """Approve grants; a rejection without a reason is refused beside the queue; with one, it
    is rejected; the decided tab lists both."""
    approved = console.post(PAGE + "/decision", {"referred_user_id": "bob", "decision": "approve"})
    assert approved.status_code == 303
    assert shop.balance("alice") == 50
    refused = console.post(PAGE + "/decision", {"referred_user_id": "carl", "decision": "reject"})
    assert refused.status_code == 422
    assert "Rejecting carl" in text_of(refused)
    rejected = console.post(
        PAGE + "/decision",
        {"referred_user_id": "carl", "decision": "reject", "reason": "Throwaway address"},
    )
    assert rejected.status_code == 303
    carl = shop.call("GET", "/referral-reviews", params={"status": "rejected"}).json()
    assert carl["referrals"][0]["review"]["note"] == "Throwaway address"
    assert "Throwaway address" in text_of(console.get(PAGE + "?status=all"))


def test_a_rule_is_switched_and_tuned_from_the_console(
    console: ConsoleClient, shop: Shop, client: TestClient
) -> None:
    """Saving the velocity form turns it off with a new hourly limit; a bad number is refused."""
    saved = console.post(PAGE + "/rules/velocity", {"per_hour": "4", "per_day": "40"})
    assert saved.status_code == 303
    rules = {
        r["rule"]: r for r in client.get("/v1/products/shop/referral-rules", headers=ADMIN).json()
    }
    assert rules["velocity"]["enabled"] is False
    assert rules["velocity"]["settings"] == {"per_hour": 4, "per_day": 40}
    bad = console.post(
        PAGE + "/rules/velocity", {"enabled": "true", "per_hour": "x", "per_day": "1"}
    )
    assert bad.status_code == 422
    assert "per_hour must be a whole number" in text_of(bad)


def test_another_products_key_sees_no_review_tab_of_this_product(
    client: TestClient, shop: Shop, db: Database, settings: Settings, clock: Clock
) -> None:
    """Signed in with product B's API key, product A's review page and decisions are 404."""
    other = Shop(client, db, settings, clock, id="other")
    intruder = ConsoleClient(client)
    assert (
        intruder.sign_in(other.product["api_key"], next="/console/products/other").status_code
        == 303
    )
    assert intruder.get(PAGE).status_code == 404
    refused = intruder.post(PAGE + "/decision", {"referred_user_id": "bob", "decision": "approve"})
    assert refused.status_code == 404
    assert shop.balance("alice") == 0


def test_the_programs_tab_sets_the_hold_days(console: ConsoleClient, client: TestClient) -> None:
    """The referral reward form's Hold days field is the product's referral_reward_hold_days."""
    create_product(client, id="acme")
    saved = console.post(
        "/console/products/acme/programs/referrals",
        {
            "referral_reward_kind": "points",
            "referral_reward_amount": "5",
            "referral_reward_on": "conversion",
            "referral_reward_hold_days": "14",
        },
    )
    assert saved.status_code == 303
    product = client.get("/v1/products/acme", headers=ADMIN).json()
    assert product["referral_reward_hold_days"] == 14
