"""What the loyalty and gamification tests share: a product, its users' tokens, calls."""

from __future__ import annotations

from typing import Any

import jwt
from fastapi.testclient import TestClient

from .service import ADMIN, Clock, bearer, standard_claims

#: /v1/me's points beyond balance and lifetime for a user with no held or expiring points.
NOTHING_HELD = {"pending": 0, "next_release": None, "next_expiry": None}


class Tenant:
    """One product as its admin and its users' browsers see it."""

    def __init__(self, client: TestClient, product: dict[str, Any], clock: Clock) -> None:
        self.client = client
        self.product = product
        self.id = product["id"]
        self.clock = clock

    def token(self, sub: str, **claims: Any) -> str:
        return jwt.encode(
            standard_claims(self.id, sub=sub, iat=self.clock.now, **claims),
            self.product["secret"]["value"],
            algorithm="HS256",
        )

    def admin(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        response = self.client.request(
            method, f"/v1/products/{self.id}{path}", headers=ADMIN, **kwargs
        )
        assert response.status_code == expect, response.text
        return response.json() if response.content else None

    def rule(self, **body: Any) -> dict[str, Any]:
        """A rule; a property rule not said to be server-only is made client-safe up to the
        ledger's cap, so that the users' own events exercise its arithmetic (the default,
        server-only, is shown in test_signed_claims)."""
        body.setdefault("name", f"{body.get('event_type', 'event')} rule")
        if "property" in body and not body.get("server_only") and "client_safe" not in body:
            body.update(client_safe=True, max_points_per_event=1_000_000_000)
        result: dict[str, Any] = self.admin("POST", "/loyalty/rules", 201, json=body)
        return result

    def send(self, sub: str, type: str, expect: int = 202, **body: Any) -> Any:
        response = self.client.post(
            "/v1/events", headers=bearer(self.token(sub)), json={"type": type, **body}
        )
        assert response.status_code == expect, response.text
        return response.json()

    def me(self, sub: str) -> dict[str, Any]:
        response = self.client.get("/v1/me", headers=bearer(self.token(sub)))
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def balance(self, sub: str) -> int:
        return int(self.me(sub)["points"]["balance"])

    def history(self, sub: str, **params: Any) -> dict[str, Any]:
        response = self.client.get("/v1/me/history", headers=bearer(self.token(sub)), params=params)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def user_call(self, method: str, path: str, sub: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, headers=bearer(self.token(sub)), **kwargs)
