"""Reward holds: with referral_reward_hold_days a reward is pending until the background step
grants it; a refund of the order that triggered it, or the tenant's cancellation, cancels it
first; a granted reward cannot be cancelled here."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from plaudit.products.models import Product
from plaudit.referrals import rewards, service
from plaudit.referrals.rewards import release_due
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support.service import ADMIN, Clock, bearer, standard_claims

from .shop import Shop

DAY = 86_400


def _at(clock: Clock) -> dt.datetime:
    return dt.datetime.fromtimestamp(clock.now, dt.UTC)


@pytest.fixture
def shop(client: TestClient, db: Database, settings: Settings, clock: Clock) -> Shop:
    shop = Shop(
        client,
        db,
        settings,
        clock,
        referral_reward_on="conversion",
        referral_reward_hold_days=7,
    )
    shop.users(("alice", {"email": "alice@example.com"}))
    return shop


def test_a_held_reward_is_pending_until_the_release_step_grants_it_once(
    shop: Shop, db: Database, clock: Clock
) -> None:
    """Pending for 7 days with no points and no reward.granted; the step grants it on the
    seventh day, once, however often it runs."""
    shop.signup("bob")
    answer = shop.call("POST", "/referrals/bob/conversion", json={"order_id": "ord-1"}).json()
    reward = answer["reward"]
    assert (reward["status"], reward["order_id"]) == ("pending", "ord-1")
    assert reward["available_at"] == (_at(clock) + dt.timedelta(days=7)).isoformat()
    clock.advance(7 * DAY - 1)
    assert release_due(db, now=_at(clock)) == 0
    assert shop.balance("alice") == 0
    assert shop.webhooks("reward.granted") == []
    clock.advance(1)
    assert release_due(db, now=_at(clock)) == 1
    assert release_due(db, now=_at(clock)) == 0
    assert shop.balance("alice") == 50
    assert len(shop.webhooks("reward.granted")) == 1
    listed = shop.call("GET", "/referrals").json()["referrals"][0]
    assert listed["reward"]["status"] == "granted"


def test_the_widget_shows_a_pending_reward_as_pending_and_counts_only_granted(
    shop: Shop, client: TestClient, clock: Clock
) -> None:
    """The referrer's summary lists the reward as pending with its date; the totals wait."""
    shop.signup("bob")
    shop.call("POST", "/referrals/bob/conversion")
    token = shop.product["secret"]["value"]
    summary = client.get(
        "/v1/referrals/me",
        headers=bearer(jwt.encode(standard_claims("shop", sub="alice"), token, algorithm="HS256")),
    ).json()
    assert [(r["status"], r["amount"]) for r in summary["rewards"]] == [("pending", 50)]
    assert summary["rewards"][0]["available_at"] is not None
    assert summary["reward_totals"] == {}


def test_a_refund_of_the_order_cancels_the_pending_reward(
    shop: Shop, db: Database, clock: Clock
) -> None:
    """cancel_for_order cancels what that order triggered, with the reason; the release step
    then grants nothing, and another order's reward is untouched."""
    shop.signup("bob")
    shop.signup("carl")
    shop.call("POST", "/referrals/bob/conversion", json={"order_id": "ord-1"})
    shop.call("POST", "/referrals/carl/conversion", json={"order_id": "ord-2"})
    with db.session() as session:
        product = session.get(Product, "shop")
        assert product is not None
        cancelled = service.cancel_for_order(
            session, product, "ord-1", reason="Order refunded", now=_at(clock)
        )
        assert [(r.status, r.status_reason) for r in cancelled] == [("cancelled", "Order refunded")]
    clock.advance(8 * DAY)
    assert release_due(db, now=_at(clock)) == 1
    assert shop.balance("alice") == 50
    by_user = {r["referred_user_id"]: r for r in shop.call("GET", "/referrals").json()["referrals"]}
    assert by_user["bob"]["reward"]["status"] == "cancelled"
    assert by_user["carl"]["reward"]["status"] == "granted"


def test_reversing_the_order_cancels_its_pending_reward_by_route_or_by_event(
    shop: Shop, db: Database, clock: Clock
) -> None:
    """A whole reversal of the order event (the route, or a server event with ``reverses``)
    cancels the referral reward its conversion named; a partial refund leaves it pending."""
    shop.call(
        "POST", "/loyalty/rules", json={"name": "Buy", "event_type": "purchase", "points": 10}
    ).raise_for_status()
    for order, referred in (("ord-1", "bob"), ("ord-2", "carl"), ("ord-3", "dana")):
        shop.call(
            "POST", "/events", json={"user_id": referred, "type": "purchase", "id": order}
        ).raise_for_status()
        shop.signup(referred)
        shop.call("POST", f"/referrals/{referred}/conversion", json={"order_id": order})
    assert shop.call("POST", "/events/ord-1/reversal", json={}).status_code == 200
    shop.call(
        "POST",
        "/events",
        json={"user_id": "carl", "type": "refund", "id": "refund-2", "reverses": "ord-2"},
    ).raise_for_status()
    assert shop.call("POST", "/events/ord-3/reversal", json={"points": 1}).status_code == 200
    by_user = {r["referred_user_id"]: r for r in shop.call("GET", "/referrals").json()["referrals"]}
    assert by_user["bob"]["reward"]["status"] == "cancelled"
    assert by_user["carl"]["reward"]["status"] == "cancelled"
    assert by_user["dana"]["reward"]["status"] == "pending"
    clock.advance(8 * DAY)
    assert release_due(db, now=_at(clock)) == 1
    assert shop.balance("alice") == 50


def test_reversing_one_users_order_leaves_another_users_order_of_the_same_id(
    shop: Shop,
) -> None:
    """Your order ids are unique per user, not per product: reversing bob's order 1001 cancels
    the reward his conversion named, never the one carl's own order 1001 triggered."""
    for referred in ("bob", "carl"):
        shop.call(
            "POST", "/events", json={"user_id": referred, "type": "purchase", "id": "1001"}
        ).raise_for_status()
        shop.signup(referred)
        shop.call("POST", f"/referrals/{referred}/conversion", json={"order_id": "1001"})
    reversed_ = shop.call("POST", "/events/1001/reversal", json={"user_id": "bob"})
    assert reversed_.status_code == 200, reversed_.text
    by_user = {r["referred_user_id"]: r for r in shop.call("GET", "/referrals").json()["referrals"]}
    assert by_user["bob"]["reward"]["status"] == "cancelled"
    assert by_user["carl"]["reward"]["status"] == "pending"


def test_one_products_failing_release_never_holds_back_another_products_rewards(
    shop: Shop,
    client: TestClient,
    db: Database,
    settings: Settings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both products' held rewards fall due; granting the first product's fails (whatever the
    cause): the other's are granted all the same, in their own transaction, and the first
    product's wait for a run that succeeds."""
    other = Shop(
        client,
        db,
        settings,
        clock,
        id="other",
        referral_reward_on="conversion",
        referral_reward_hold_days=7,
    )
    other.users(("alice", {"email": "alice@other.example"}))
    for tenant in (shop, other):
        tenant.signup("bob")
        tenant.call("POST", "/referrals/bob/conversion")
    clock.advance(8 * DAY)
    grant = rewards.grant_or_wait

    def failing(session: Any, product: Product, *args: Any, **kwargs: Any) -> Any:
        if product.id == "shop":
            raise RuntimeError("a poisoned row")
        return grant(session, product, *args, **kwargs)

    monkeypatch.setattr(rewards, "grant_or_wait", failing)
    assert release_due(db, now=_at(clock)) == 1
    assert (shop.balance("alice"), other.balance("alice")) == (0, 50)
    monkeypatch.setattr(rewards, "grant_or_wait", grant)
    assert release_due(db, now=_at(clock)) == 1
    assert shop.balance("alice") == 50


def test_the_cancellation_route_cancels_once_and_never_a_granted_reward(
    shop: Shop, db: Database, clock: Clock
) -> None:
    """POST .../cancellation cancels a pending reward; again, or on a granted one, is 409
    referral_reward_settled; with no reward yet, 404."""
    shop.signup("bob")
    shop.signup("carl")
    assert shop.call("POST", "/referrals/bob/cancellation").status_code == 404
    shop.call("POST", "/referrals/bob/conversion")
    shop.call("POST", "/referrals/carl/conversion")
    response = shop.call("POST", "/referrals/bob/cancellation", json={"reason": "Chargeback"})
    assert response.status_code == 200, response.text
    assert response.json()["reward"]["status"] == "cancelled"
    again = shop.call("POST", "/referrals/bob/cancellation")
    assert (again.status_code, again.json()["error"]) == (409, "referral_reward_settled")
    clock.advance(7 * DAY)
    release_due(db, now=_at(clock))
    granted = shop.call("POST", "/referrals/carl/cancellation")
    assert (granted.status_code, granted.json()["error"]) == (409, "referral_reward_settled")
    assert shop.balance("alice") == 50


def test_an_approval_inside_the_hold_leaves_the_reward_pending_until_it_ends(
    shop: Shop, db: Database, clock: Clock
) -> None:
    """A flagged conversion approved on day 2 of 7 is pending, and granted on day 7."""
    shop.signup("bob", referred_email="alice@example.com")
    held = shop.call("POST", "/referrals/bob/conversion").json()
    assert held["reward"]["status"] == "held"
    clock.advance(2 * DAY)
    approved = shop.call("POST", "/referrals/bob/approval").json()
    assert approved["reward"]["status"] == "pending"
    assert shop.balance("alice") == 0
    clock.advance(5 * DAY)
    assert release_due(db, now=_at(clock)) == 1
    assert shop.balance("alice") == 50


def test_an_approval_after_the_hold_grants_at_once(shop: Shop, clock: Clock) -> None:
    """Reviewed after the hold days passed, the reward is granted on approval."""
    shop.signup("bob", referred_email="alice@example.com")
    shop.call("POST", "/referrals/bob/conversion")
    clock.advance(9 * DAY)
    assert shop.call("POST", "/referrals/bob/approval").json()["reward"]["status"] == "granted"
    assert shop.balance("alice") == 50


def test_a_held_reward_is_cancelled_by_its_order_and_approval_then_grants_nothing(
    shop: Shop, db: Database, clock: Clock
) -> None:
    """An order refunded while its reward is in review: cancelled; the later approval records
    the decision but grants nothing."""
    shop.signup("bob", referred_email="alice@example.com")
    shop.call("POST", "/referrals/bob/conversion", json={"order_id": "ord-9"})
    with db.session() as session:
        product = session.scalar(select(Product).where(Product.id == "shop"))
        assert product is not None
        service.cancel_for_order(session, product, "ord-9", reason="Refund", now=_at(clock))
    approved = shop.call("POST", "/referrals/bob/approval").json()
    assert (approved["review"]["status"], approved["reward"]["status"]) == (
        "approved",
        "cancelled",
    )
    clock.advance(30 * DAY)
    release_due(db, now=_at(clock))
    assert shop.balance("alice") == 0
    assert shop.webhooks("reward.granted") == []


def test_hold_days_are_a_product_setting(shop: Shop, client: TestClient) -> None:
    """PATCH sets referral_reward_hold_days within 0..365; the product answer shows it."""
    assert client.get("/v1/products/shop", headers=ADMIN).json()["referral_reward_hold_days"] == 7
    bad = client.patch("/v1/products/shop", headers=ADMIN, json={"referral_reward_hold_days": 400})
    assert bad.status_code == 422
    ok = client.patch("/v1/products/shop", headers=ADMIN, json={"referral_reward_hold_days": 0})
    assert ok.json()["referral_reward_hold_days"] == 0
