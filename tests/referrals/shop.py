"""What the referral screening tests share: a product whose referrers earn points at signup,
its server's calls, and what it queued for webhooks."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from plaudit.loyalty import ledger
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.users.models import User
from plaudit.webhooks.models import WebhookMessage
from tests.support import factories
from tests.support.service import ADMIN, Clock, bearer

EVENTS = ["referral.flagged", "referral.reviewed", "reward.granted"]


class Shop:
    """One product as its server sees it: referrals recorded with its API key."""

    def __init__(
        self,
        client: TestClient,
        db: Database,
        settings: Settings,
        clock: Clock,
        *,
        id: str = "shop",
        **changes: Any,
    ) -> None:
        changes.setdefault("referral_reward_kind", "points")
        changes.setdefault("referral_reward_amount", 50)
        changes.setdefault("referral_reward_on", "signup")
        self.client, self.db, self.clock, self.id = client, db, clock, id
        self.product = factories.product(db, settings, id=id, **changes)
        self.key = bearer(self.product["api_key"])
        hook = client.post(
            f"/v1/products/{id}/webhooks",
            headers=ADMIN,
            json={"url": "http://127.0.0.1:9/hooks", "event_types": EVENTS},
        )
        assert hook.status_code == 201, hook.text

    def users(self, *profiles: tuple[str, dict[str, Any]]) -> None:
        factories.users(self.db, self.id, profiles, now=self.clock.now)

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(
            method, f"/v1/products/{self.id}{path}", headers=self.key, **kwargs
        )

    def signup(self, referred: str, referrer: str = "alice", **facts: Any) -> dict[str, Any]:
        response = self.call(
            "POST",
            "/referrals",
            json={"referred_user_id": referred, "referrer_user_id": referrer, **facts},
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    def rule(self, rule: str, **body: Any) -> dict[str, Any]:
        response = self.call("PATCH", f"/referral-rules/{rule}", json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def checks(self, answer: dict[str, Any]) -> list[str]:
        """The checks that fired on a referral, as its answer lists them."""
        review = answer["review"]
        return [] if review is None else [r["check"] for r in review["reasons"]]

    def balance(self, user_id: str) -> int:
        """The user's points by the ledger itself (0 for a user with none)."""
        with self.db.session() as session:
            user = session.scalar(
                select(User).where(User.product_id == self.id, User.external_id == user_id)
            )
            return 0 if user is None else ledger.ledger_sum(session, user)

    def webhooks(self, event_type: str) -> list[dict[str, Any]]:
        """The payloads queued for ``event_type``, oldest first."""
        with self.db.session() as session:
            rows = session.scalars(
                select(WebhookMessage)
                .where(WebhookMessage.event_type == event_type)
                .order_by(WebhookMessage.created_at, WebhookMessage.id)
            ).all()
            return [dict(row.payload) for row in rows]
