"""`plaudit referrals`: the screening rules and the review queue from a terminal, on the same
store and through the same services as the API; every refusal one clean line."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support.service import Clock, Run, cli_error_line, cli_json

from .shop import Shop


@pytest.fixture
def shop(client: TestClient, db: Database, settings: Settings, clock: Clock, cli: Run) -> Shop:
    shop = Shop(client, db, settings, clock)
    shop.users(("alice", {"email": "alice@example.com"}))
    return shop


def test_rules_list_and_change(cli: Run, shop: Shop) -> None:
    """`rules` lists each rule; `rule` switches and tunes one, as the API then answers."""
    listed = cli_json(cli("referrals", "rules", "shop", "--json"))
    assert [r["rule"] for r in listed][:2] == ["self_referral", "disposable_email"]
    out = cli("referrals", "rule", "shop", "velocity", "--set", "per_hour=3", "--disable")
    assert "velocity is off (per_hour=3, per_day=50)" in out.stdout
    api = {r["rule"]: r for r in shop.call("GET", "/referral-rules").json()}
    assert api["velocity"] == {**api["velocity"], "enabled": False}
    assert api["velocity"]["settings"]["per_hour"] == 3
    assert "disposable_email" in cli("referrals", "rules", "shop").stdout


def test_reviews_list_approve_and_reject(cli: Run, shop: Shop) -> None:
    """The queue shows the reasons in words; approve grants, reject needs a reason."""
    shop.signup("bob", referred_email="alice@example.com")
    shop.signup("carl", referred_email="alice@example.com")
    table = cli("referrals", "reviews", "shop").stdout
    assert "bob" in table
    assert "referrer's own" in table
    approved = cli_json(cli("referrals", "approve", "shop", "bob", "--json"))
    assert approved["reward"]["status"] == "granted"
    assert shop.balance("alice") == 50
    out = cli("referrals", "reject", "shop", "carl", "--reason", "Same person").stdout
    assert "rejected" in out
    decided = cli_json(cli("referrals", "reviews", "shop", "--status", "all", "--json"))
    assert [r["review"]["status"] for r in decided["referrals"]] == ["approved", "rejected"]


def test_refusals_are_one_clean_line(cli: Run, shop: Shop) -> None:
    """A decided referral, an unknown rule, a bad setting: one line each, with its code."""
    shop.signup("bob", referred_email="alice@example.com")
    cli("referrals", "approve", "shop", "bob")
    again = cli("referrals", "approve", "shop", "bob", exit_code=1)
    cli_error_line(again, "referral_not_in_review")
    unknown = cli("referrals", "rule", "shop", "nonsense", "--enable", exit_code=1)
    cli_error_line(unknown, "not_found")
    bad = cli("referrals", "rule", "shop", "velocity", "--set", "per_hour=lots", exit_code=1)
    cli_error_line(bad, "invalid_request")
