"""Referral screening: each rule fires on what the tenant's server and Plaudit itself saw, holds
the reward, and says why in plain words; a rule switched off never fires."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from plaudit.referrals.fingerprint import DEVICE_COOKIE, normalise_email
from plaudit.referrals.models import Referral, ReferralClick
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support.service import ADMIN, Clock, MakeClient

from .shop import Shop


@pytest.fixture
def shop(client: TestClient, db: Database, settings: Settings, clock: Clock) -> Shop:
    shop = Shop(client, db, settings, clock)
    shop.users(
        ("alice", {"email": "Jane.Doe@gmail.com", "account_id": "acct-1"}),
        ("carol", {"email": "carol@example.com"}),
    )
    return shop


@pytest.mark.parametrize(
    ("given", "mailbox"),
    [
        ("Jane.Doe+promo@GoogleMail.com", "janedoe@gmail.com"),
        ("j.a.n.e.doe@gmail.com", "janedoe@gmail.com"),
        ("Jane.Doe+x@outlook.com", "jane.doe@outlook.com"),
        ("jane+x@example.com", "jane+x@example.com"),
        ("  JANE@Example.COM ", "jane@example.com"),
    ],
)
def test_an_email_is_normalised_as_its_provider_delivers_it(given: str, mailbox: str) -> None:
    """Case always; Gmail's dots and +tags, and other known providers' +tags; nothing else."""
    assert normalise_email(given) == mailbox


def test_the_referrers_own_email_under_another_spelling_flags_and_holds(shop: Shop) -> None:
    """A signup whose email is the referrer's (dots, +tag, googlemail) is flagged: its reward is
    held, no points are credited, no reward.granted is sent, and referral.flagged says why."""
    answer = shop.signup("bob", referred_email="jane.doe+free@googlemail.com")
    assert shop.checks(answer) == ["same_email"]
    assert answer["review"]["status"] == "flagged"
    assert "referrer's own" in answer["review"]["reasons"][0]["message"]
    assert answer["reward"]["status"] == "held"
    assert shop.balance("alice") == 0
    assert shop.webhooks("reward.granted") == []
    [flagged] = shop.webhooks("referral.flagged")
    assert flagged["data"]["reasons"] == answer["review"]["reasons"]
    assert flagged["data"]["referral"]["referred_user_id"] == "bob"


def test_a_clean_signup_is_granted_at_once(shop: Shop) -> None:
    """Another person's email, address and device: nothing fires, the points are credited."""
    answer = shop.signup(
        "bob", referred_email="bob@example.com", client_ip="198.51.100.1", device_id="d-bob"
    )
    assert answer["review"] is None
    assert answer["reward"]["status"] == "granted"
    assert shop.balance("alice") == 50
    assert len(shop.webhooks("reward.granted")) == 1


def test_the_same_account_under_another_user_id_is_flagged(shop: Shop) -> None:
    """A referred user whose signed tokens name the referrer's account is the referrer."""
    shop.users(("alice-2", {"account_id": "acct-1", "email": "other@example.com"}))
    assert shop.checks(shop.signup("alice-2")) == ["same_account"]


def test_the_referrers_own_signup_address_or_device_is_flagged(shop: Shop) -> None:
    """Alice came by Carol's link from an address and device; a signup Alice refers from
    either is flagged, each check by name."""
    shop.signup("alice", referrer="carol", client_ip="203.0.113.9", device_id="phone-1")
    assert shop.checks(shop.signup("bob", client_ip="203.0.113.9")) == ["same_address"]
    assert shop.checks(shop.signup("dave", device_id="phone-1")) == ["same_device"]


def test_one_device_signing_up_several_friends_is_flagged(shop: Shop) -> None:
    """The second referred signup from the device of the referrer's first is flagged."""
    assert shop.signup("bob", device_id="tablet")["review"] is None
    second = shop.signup("dave", device_id="tablet")
    assert shop.checks(second) == ["same_device"]
    assert (
        "1 other referred signup of the same referrer" in second["review"]["reasons"][0]["message"]
    )


def test_an_ipv6_signup_counts_as_its_64_block(shop: Shop) -> None:
    """Two addresses of one /64 are one subscriber, as every per-address rule counts them."""
    shop.signup("bob", client_ip="2001:db8:1:2::10")
    assert shop.checks(shop.signup("dave", client_ip="2001:db8:1:2::99")) == ["same_address"]


def test_the_browser_that_clicked_for_two_signups_is_flagged(
    shop: Shop, make_client: MakeClient, db: Database
) -> None:
    """The share link's device cookie ties a click to the signup from its address: the same
    browser clicking before two signups from two addresses is one person."""
    code = _code(shop)
    first = make_client(address="192.0.2.10")
    click = first.get(f"/r/{code}", follow_redirects=False)
    cookie = click.cookies[DEVICE_COOKIE]
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,64}", cookie)
    assert "HttpOnly" in click.headers["set-cookie"]
    assert shop.signup("bob", client_ip="192.0.2.10")["review"] is None
    second = make_client(address="192.0.2.77")
    second.cookies.set(DEVICE_COOKIE, cookie)
    again = second.get(f"/r/{code}", follow_redirects=False)
    assert "set-cookie" not in again.headers  # the browser keeps its id
    flagged = shop.signup("dave", client_ip="192.0.2.77")
    assert shop.checks(flagged) == ["same_device"]
    assert "clicked the share link" in flagged["review"]["reasons"][0]["message"]


def test_clicks_and_signups_keep_addresses_and_devices_only_as_digests(
    shop: Shop, make_client: MakeClient, db: Database
) -> None:
    """No column holds the client address or device id given: only 64-hex keyed digests."""
    make_client(address="192.0.2.10").get(f"/r/{_code(shop)}", follow_redirects=False)
    shop.signup("bob", client_ip="192.0.2.10", device_id="device-secret-1")
    with db.session() as session:
        clicks = session.scalars(select(ReferralClick)).all()
        referral = session.scalar(select(Referral).where(Referral.referred_external_id == "bob"))
        assert referral is not None
        stored = [c.address_hash for c in clicks] + [c.device_hash for c in clicks]
        stored += [referral.address_hash, referral.device_hash, referral.click_device_hash]
    assert all(re.fullmatch(r"[0-9a-f]{64}", value or "") for value in stored), stored
    assert referral.click_device_hash == clicks[0].device_hash
    assert not {"192.0.2.10", "device-secret-1"} & set(stored)


def test_a_disposable_email_domain_is_flagged(shop: Shop) -> None:
    """An address at a domain of the maintained disposable list is flagged, naming it."""
    answer = shop.signup("bob", referred_email="bob@mailinator.com")
    assert shop.checks(answer) == ["disposable_domain"]
    assert "mailinator.com" in answer["review"]["reasons"][0]["message"]


def test_velocity_flags_signups_past_the_hourly_limit_and_not_after_the_hour(
    shop: Shop, clock: Clock
) -> None:
    """With per_hour 2, the third signup in an hour is flagged; an hour later one is not."""
    shop.rule("velocity", settings={"per_hour": 2})
    assert [shop.checks(shop.signup(f"u{i}")) for i in range(3)] == [[], [], ["per_hour"]]
    clock.advance(3601)
    assert shop.checks(shop.signup("u4")) == []


def test_velocity_per_day(shop: Shop, clock: Clock) -> None:
    """per_day counts the last 24 hours, with its own check name and limit in the words."""
    shop.rule("velocity", settings={"per_day": 2})
    for i in range(2):
        shop.signup(f"u{i}")
        clock.advance(4 * 3600)
    answer = shop.signup("u2")
    assert shop.checks(answer) == ["per_day"]
    assert (
        "3 signups in the last day (the product allows 2)"
        in answer["review"]["reasons"][0]["message"]
    )


def test_a_conversion_too_soon_after_signup_is_flagged_and_its_reward_held(
    client: TestClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """fast_conversion (off by default): converting 30 s after signup with min_seconds 600 is
    flagged and the conversion's reward held; converting after 700 s is not."""
    shop = Shop(client, db, settings, clock, referral_reward_on="conversion")
    shop.users(("alice", {}))
    shop.rule("fast_conversion", enabled=True, settings={"min_seconds": 600})
    shop.signup("bob")
    shop.signup("dave")
    clock.advance(30)
    fast = shop.call("POST", "/referrals/bob/conversion").json()
    assert shop.checks(fast) == ["converted_too_fast"]
    assert "30 seconds after signing up" in fast["review"]["reasons"][0]["message"]
    assert fast["reward"]["status"] == "held"
    clock.advance(700)
    slow = shop.call("POST", "/referrals/dave/conversion").json()
    assert (slow["review"], slow["reward"]["status"]) == (None, "granted")
    assert shop.balance("alice") == 50


def test_a_rule_switched_off_never_fires(shop: Shop) -> None:
    """self_referral off: the referrer's own email passes; off and on again, it fires."""
    assert shop.rule("self_referral", enabled=False)["enabled"] is False
    assert shop.signup("bob", referred_email="janedoe@gmail.com")["review"] is None
    shop.rule("self_referral", enabled=True)
    assert shop.checks(shop.signup("dave", referred_email="janedoe@gmail.com")) == ["same_email"]


def test_the_rules_list_their_defaults_and_each_products_own_settings(
    shop: Shop, client: TestClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """GET lists every rule with its description; a change to one product's rule leaves
    another product's as it was."""
    other = Shop(client, db, settings, clock, id="other")
    shop.rule("velocity", settings={"per_hour": 3})
    mine = {r["rule"]: r for r in shop.call("GET", "/referral-rules").json()}
    theirs = {r["rule"]: r for r in other.call("GET", "/referral-rules").json()}
    assert list(mine) == ["self_referral", "disposable_email", "velocity", "fast_conversion"]
    assert mine["velocity"]["settings"] == {"per_hour": 3, "per_day": 50}
    assert theirs["velocity"]["settings"] == {"per_hour": 10, "per_day": 50}
    assert all(r["description"] for r in mine.values())


@pytest.mark.parametrize(
    ("rule", "body", "status", "code"),
    [
        ("nonsense", {"enabled": True}, 404, "not_found"),
        ("velocity", {"settings": {"min_seconds": 5}}, 422, "invalid_request"),
        ("velocity", {"settings": {"per_hour": 0}}, 422, "invalid_request"),
        ("self_referral", {"settings": {"match_address": 3}}, 422, "invalid_request"),
        ("velocity", {"colour": "red"}, 422, "invalid_request"),
    ],
)
def test_a_rule_change_outside_its_settings_is_refused(
    shop: Shop, rule: str, body: dict[str, Any], status: int, code: str
) -> None:
    """An unknown rule, a setting of another rule, a value out of bounds: refused by name."""
    response = shop.call("PATCH", f"/referral-rules/{rule}", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"] == code


def test_a_client_ip_that_is_no_address_is_refused(shop: Shop) -> None:
    """client_ip must parse as an IPv4 or IPv6 address."""
    response = shop.call(
        "POST",
        "/referrals",
        json={"referred_user_id": "bob", "referrer_user_id": "alice", "client_ip": "localhost"},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "client_ip"


def _code(shop: Shop) -> str:
    """Alice's share code, made as her widget would first ask for it."""
    from plaudit.referrals.service import code_for
    from plaudit.users.models import User

    with shop.db.session() as session:
        alice = session.scalar(select(User).where(User.external_id == "alice"))
        assert alice is not None
        return code_for(session, alice).code


def test_erasing_the_referred_user_clears_the_digests_of_their_signup(
    shop: Shop, db: Database, client: TestClient
) -> None:
    """The referral they came by keeps the referrer's side, not where they signed up from."""
    shop.users(("bob", {"email": "bob@example.com"}))
    shop.signup("bob", client_ip="192.0.2.10", device_id="bob-phone")
    erased = client.post("/v1/products/shop/users/bob/erase", headers=ADMIN)
    assert erased.status_code == 200, erased.text
    with db.session() as session:
        referral = session.scalar(select(Referral))
        assert referral is not None
        assert referral.referred_external_id != "bob"
        assert (referral.address_hash, referral.device_hash) == (None, None)
