"""The review queue: a flagged referral waits with its reasons; a reviewer approves (the held
reward is granted once) or rejects with a reason (never granted); only the product's own
server credentials reach it."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support.service import ADMIN, NOW, Clock, bearer

from .shop import Shop


@pytest.fixture
def shop(client: TestClient, db: Database, settings: Settings, clock: Clock) -> Shop:
    shop = Shop(client, db, settings, clock)
    shop.users(("alice", {"email": "alice@example.com"}))
    return shop


def _flag(shop: Shop, referred: str = "bob") -> dict[str, Any]:
    answer = shop.signup(referred, referred_email="ALICE@example.com")
    assert answer["review"]["status"] == "flagged", answer
    return answer


def test_the_queue_lists_flagged_referrals_with_their_reasons(shop: Shop) -> None:
    """GET .../referral-reviews lists what waits, oldest first, with the reasons in words;
    a clean referral is not in it."""
    _flag(shop, "bob")
    shop.signup("carl", referred_email="carl@example.com")
    _flag(shop, "dora")
    page = shop.call("GET", "/referral-reviews").json()
    assert page["total"] == 2
    assert [r["referred_user_id"] for r in page["referrals"]] == ["bob", "dora"]
    assert page["referrals"][0]["review"]["reasons"][0]["check"] == "same_email"
    assert page["referrals"][0]["reward"]["status"] == "held"


def test_approval_grants_the_held_reward_once_and_says_so(shop: Shop) -> None:
    """Approve: points credited through the ledger, reward.granted and referral.reviewed (with
    the decision and the reasons that fired) sent; approving again is refused."""
    flagged = _flag(shop)
    response = shop.call("POST", "/referrals/bob/approval", json={"note": "Her partner"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["review"]["status"] == "approved"
    assert answer["review"]["note"] == "Her partner"
    assert answer["review"]["reasons"] == flagged["review"]["reasons"]
    assert answer["reward"]["status"] == "granted"
    assert shop.balance("alice") == 50
    [reviewed] = shop.webhooks("referral.reviewed")
    assert reviewed["data"]["decision"] == "approved"
    assert reviewed["data"]["reasons"] == flagged["review"]["reasons"]
    assert len(shop.webhooks("reward.granted")) == 1
    again = shop.call("POST", "/referrals/bob/approval")
    assert again.status_code == 409
    assert again.json()["error"] == "referral_not_in_review"
    assert shop.balance("alice") == 50
    assert shop.call("GET", "/referral-reviews").json()["total"] == 0
    decided = shop.call("GET", "/referral-reviews", params={"status": "approved"}).json()
    assert [r["referred_user_id"] for r in decided["referrals"]] == ["bob"]


def test_rejection_needs_a_reason_and_never_grants(shop: Shop) -> None:
    """Reject with a reason: the reward is rejected with it, no points, no reward.granted; the
    webhook carries the decision, the reason and what fired."""
    _flag(shop)
    refused = shop.call("POST", "/referrals/bob/rejection", json={})
    assert refused.status_code == 422
    response = shop.call("POST", "/referrals/bob/rejection", json={"reason": "Same person"})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["review"]["status"], answer["review"]["note"]) == ("rejected", "Same person")
    assert answer["reward"]["status"] == "rejected"
    assert shop.balance("alice") == 0
    assert shop.webhooks("reward.granted") == []
    [reviewed] = shop.webhooks("referral.reviewed")
    assert (reviewed["data"]["decision"], reviewed["data"]["note"]) == ("rejected", "Same person")
    assert reviewed["data"]["reasons"][0]["check"] == "same_email"
    assert shop.call("POST", "/referrals/bob/approval").json()["error"] == "referral_not_in_review"


def test_a_referral_nothing_flagged_is_not_in_review(shop: Shop) -> None:
    """Approving a clean referral, or one never made, is refused without changing anything."""
    shop.signup("carl")
    clean = shop.call("POST", "/referrals/carl/approval")
    assert (clean.status_code, clean.json()["error"]) == (409, "referral_not_in_review")
    assert shop.call("POST", "/referrals/nobody/approval").status_code == 404


def test_a_conversion_of_a_rejected_referral_grants_nothing(
    client: TestClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """Flagged at signup and rejected before converting: the conversion's reward is rejected."""
    shop = Shop(client, db, settings, clock, referral_reward_on="conversion")
    shop.users(("alice", {"email": "alice@example.com"}))
    _flag(shop)
    assert shop.call("POST", "/referrals/bob/rejection", json={"reason": "No"}).status_code == 200
    converted = shop.call("POST", "/referrals/bob/conversion").json()
    assert converted["reward"]["status"] == "rejected"
    assert shop.balance("alice") == 0


def test_a_user_token_never_reaches_the_review_api(shop: Shop) -> None:
    """The referrer's own signed token (any scope) cannot list, approve, reject or tune:
    401, and the referral still waits."""
    _flag(shop)
    token = jwt.encode(
        {"sub": "alice", "aud": "shop", "iat": int(NOW), "scope": ["read", "write"]},
        shop.product["secret"]["value"],
        algorithm="HS256",
    )
    user = {**bearer(token), "X-Plaudit-Product": "shop"}
    calls = [
        ("GET", "/v1/products/shop/referral-reviews", None),
        ("POST", "/v1/products/shop/referrals/bob/approval", {}),
        ("POST", "/v1/products/shop/referrals/bob/rejection", {"reason": "x"}),
        ("POST", "/v1/products/shop/referrals/bob/cancellation", {}),
        ("GET", "/v1/products/shop/referral-rules", None),
        ("PATCH", "/v1/products/shop/referral-rules/self_referral", {"enabled": False}),
    ]
    for method, path, body in calls:
        response = shop.client.request(method, path, headers=user, json=body)
        assert response.status_code == 401, (path, response.text)
    assert shop.call("GET", "/referral-reviews").json()["total"] == 1
    assert shop.balance("alice") == 0


def test_one_tenant_cannot_review_or_tune_anothers_referrals(
    shop: Shop, client: TestClient, db: Database, settings: Settings, clock: Clock
) -> None:
    """Product B's API key meets 404 at every review route of product A; A's referral waits,
    A's rules are unchanged, and B's own queue is empty."""
    _flag(shop)
    other = Shop(client, db, settings, clock, id="other")
    key = other.key
    for method, path, body in [
        ("GET", "/v1/products/shop/referral-reviews", None),
        ("POST", "/v1/products/shop/referrals/bob/approval", {}),
        ("POST", "/v1/products/shop/referrals/bob/rejection", {"reason": "x"}),
        ("POST", "/v1/products/shop/referrals/bob/cancellation", {}),
        ("PATCH", "/v1/products/shop/referral-rules/velocity", {"enabled": False}),
    ]:
        response = client.request(method, path, headers=key, json=body)
        assert response.status_code == 404, (path, response.text)
    # Named through B's own path, A's referred user is not B's.
    assert other.call("POST", "/referrals/bob/approval").status_code == 404
    assert other.call("GET", "/referral-reviews").json()["total"] == 0
    assert shop.call("GET", "/referral-reviews").json()["total"] == 1
    rules = client.get("/v1/products/shop/referral-rules", headers=ADMIN).json()
    assert all(r["enabled"] for r in rules if r["rule"] == "velocity")
