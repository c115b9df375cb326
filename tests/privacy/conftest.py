"""A product whose user Ada has a bit of everything: a profile from her token, events, points
from a rule and an adjustment, a badge, a redemption, a share code, a referrer (Carol) and a
referred friend (Bob), webhooks about her; and a second tenant, Globex, with its own Ada."""

from __future__ import annotations

import jwt
import pytest
from fastapi.testclient import TestClient

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import ADMIN, Clock, bearer, standard_claims, verify
from tests.support.tenant import Tenant

ADA = "ada-7f3c"
EMAIL = "ada.lovelace@example.com"


@pytest.fixture
def acme(client: TestClient, db: Database, settings: Settings, clock: Clock) -> Tenant:
    product = factories.product(
        db, settings, id="acme", published=True, referral_reward_on="signup"
    )
    tenant = Tenant(client, product, clock)
    tenant.admin(
        "POST",
        "/webhooks",
        201,
        json={
            "url": "http://127.0.0.1:9/hook",
            "event_types": ["user.created", "points.earned", "badge.awarded", "reward.granted"],
        },
    )
    tenant.rule(name="Buy", event_type="buy", points=10)
    tenant.admin(
        "POST",
        "/badges",
        201,
        json={"name": "Ten", "criteria": {"kind": "points_total", "points": 10}},
    )
    reward = tenant.admin("POST", "/rewards", 201, json={"name": "Mug", "cost": 5})
    ada_token = tenant.token(ADA, email=EMAIL, name="Ada Lovelace")
    assert verify(client, ada_token).status_code == 200
    tenant.send(ADA, "buy", properties={"note": "first order"})
    shared = client.get("/v1/referrals/me", headers=bearer(ada_token))  # her share code
    assert shared.status_code == 200, shared.text
    redeemed = client.post(
        f"/v1/rewards/{reward['id']}/redeem", headers=bearer(ada_token), json={"id": "r-1"}
    )
    assert redeemed.status_code in (200, 201), redeemed.text
    tenant.admin("POST", f"/users/{ADA}/points", 201, json={"amount": 3, "reason": "Sorry, Ada"})
    factories.users(db, "acme", [("carol", {"email": "carol@example.com"})])
    tenant.admin(
        "POST", "/referrals", 201, json={"referred_user_id": ADA, "referrer_user_id": "carol"}
    )
    tenant.admin(
        "POST", "/referrals", 201, json={"referred_user_id": "bob", "referrer_user_id": ADA}
    )
    return tenant


@pytest.fixture
def globex(client: TestClient, db: Database, settings: Settings, clock: Clock) -> Tenant:
    product = factories.product(db, settings, id="globex", name="Globex", published=True)
    factories.users(db, "globex", [(ADA, {"email": "other-ada@example.com"})])
    return Tenant(client, product, clock)


def token_for(tenant: Tenant, sub: str, iat: float) -> str:
    return jwt.encode(
        standard_claims(tenant.id, sub=sub, iat=iat), tenant.product["secret"]["value"], "HS256"
    )


__all__ = ["ADA", "ADMIN", "EMAIL", "token_for"]
