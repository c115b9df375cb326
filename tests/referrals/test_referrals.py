"""The referral program: share links, clicks, referred signups, conversions and rewards."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import ADMIN, NOW, bearer, create_product


def _token(secret: str, user_id: str, **claims: Any) -> str:
    return jwt.encode(
        {"ProductId": "acme", "UserId": user_id, "iat": int(NOW), **claims},
        secret,
        algorithm="HS512",
    )


@pytest.fixture
def acme(db: Database, settings: Settings) -> dict[str, Any]:
    return factories.product(
        db,
        settings,
        id="acme",
        profile="reditus",
        published=True,
        referral_landing_url="https://acme.example/signup?plan=pro",
    )


def _me(client: TestClient, acme: dict[str, Any], user_id: str) -> dict[str, Any]:
    response = client.get(
        "/v1/referrals/me", headers=bearer(_token(acme["secret"]["value"], user_id))
    )
    assert response.status_code == 200, response.text
    return response.json()


def _server(acme: dict[str, Any]) -> dict[str, str]:
    return bearer(acme["api_key"])


def _signup(client: TestClient, acme: dict[str, Any], **body: str) -> httpx.Response:
    """Record a referred signup with acme's server key; the response is the caller's to judge."""
    return client.post("/v1/products/acme/referrals", headers=_server(acme), json=body)


def test_every_user_gets_a_code_and_a_share_link_under_the_public_url(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """The first widget call gives the user a stable code and {PLAUDIT_PUBLIC_URL}/r/{code}."""
    first = _me(client, acme, "u1")
    again = _me(client, acme, "u1")
    other = _me(client, acme, "u2")
    assert first["code"] == again["code"] != other["code"]
    assert first["link"] == f"http://plaudit.test/r/{first['code']}"
    assert first["stats"] == {"clicks": 0, "signups": 0, "conversions": 0}
    assert first["reward"] == {"kind": "credit", "amount": 10, "on": "conversion"}


def test_a_tokens_own_referral_code_is_used_when_it_is_free(client: TestClient) -> None:
    """The referral platform guide's referralCode claim becomes the user's code."""
    product = create_product(client, id="squatch", profile="saasquatch")
    token = jwt.encode(
        {"user": {"id": "joe", "accountId": "joe", "referralCode": "joetesterson"}},
        product["secret"]["value"],
        algorithm="HS256",
    )
    client.patch("/v1/products/squatch", headers=ADMIN, json={"max_token_age_seconds": None})
    response = client.get(
        "/v1/referrals/me", headers={**bearer(token), "X-Plaudit-Product": "squatch"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["code"] == "JOETESTERSON"


def test_following_a_link_counts_a_click_and_lands_with_the_code(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """/r/{code} redirects to the landing URL with ref=CODE (case-insensitively) and counts the
    click once per visitor (tests/limits has the day-by-day rule)."""
    code = _me(client, acme, "u1")["code"]
    for spelling in (code, code.lower()):
        response = client.get(f"/r/{spelling}", follow_redirects=False)
        assert response.status_code == 302
        assert response.headers["location"] == (f"https://acme.example/signup?plan=pro&ref={code}")
    assert _me(client, acme, "u1")["stats"]["clicks"] == 1


def test_an_unknown_code_lands_on_a_page_never_an_error(client: TestClient) -> None:
    """A link with a code nobody has still redirects, to a plain page that answers 200."""
    response = client.get("/r/NOSUCHCODE", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"] == "http://plaudit.test/"
    assert client.get("/r/%00%FF", follow_redirects=False).status_code == 302
    assert client.get("/").status_code == 200


def test_a_conversion_grants_the_referrer_one_reward(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """Signup then conversion rewards the referrer once, however often the conversion is sent."""
    code = _me(client, acme, "alice")["code"]
    signup = _signup(client, acme, referred_user_id="bob", code=code)
    assert signup.status_code == 201, signup.text
    assert signup.json()["referrer_user_id"] == "alice"
    assert signup.json()["reward"] is None
    for _ in range(2):
        conversion = client.post(
            "/v1/products/acme/referrals/bob/conversion", headers=_server(acme)
        )
        assert conversion.status_code == 200, conversion.text
        assert conversion.json()["reward"] == {
            "kind": "credit",
            "amount": 10,
            "status": "granted",
            "available_at": None,
            "order_id": None,
        }
    me = _me(client, acme, "alice")
    assert me["stats"] == {"clicks": 0, "signups": 1, "conversions": 1}
    assert me["reward_totals"] == {"credit": 10}
    assert [r["referred_user_id"] for r in me["rewards"]] == ["bob"]


def test_rewards_can_be_granted_at_signup_in_any_kind_and_amount(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """A product that rewards signups with 500 points grants them when the signup is recorded."""
    client.patch(
        "/v1/products/acme",
        headers=ADMIN,
        json={
            "referral_reward_on": "signup",
            "referral_reward_kind": "points",
            "referral_reward_amount": 500,
        },
    )
    _me(client, acme, "alice")
    signup = _signup(client, acme, referred_user_id="bob", referrer_user_id="alice")
    assert signup.json()["reward"]["amount"] == 500
    assert signup.json()["reward"]["status"] == "granted"


def test_self_referrals_and_second_referrals_are_refused(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """Nobody refers themselves, and a referred user is referred once."""
    code = _me(client, acme, "alice")["code"]
    own = _signup(client, acme, referred_user_id="alice", code=code)
    assert own.status_code == 422
    assert own.json()["error"] == "self_referral"
    assert _signup(client, acme, referred_user_id="bob", code=code).status_code == 201
    again = _signup(client, acme, referred_user_id="bob", code=code)
    assert again.status_code == 409
    assert again.json()["error"] == "already_referred"


def test_codes_of_another_product_do_not_refer(client: TestClient, acme: dict[str, Any]) -> None:
    """A code belongs to one product: another product's server cannot use it."""
    code = _me(client, acme, "alice")["code"]
    other = create_product(client, id="other")
    response = client.post(
        "/v1/products/other/referrals",
        headers=bearer(other["api_key"]),
        json={"referred_user_id": "bob", "code": code},
    )
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_referral_code"
    assert (
        client.post(
            "/v1/products/acme/referrals",
            headers=bearer(other["api_key"]),
            json={"referred_user_id": "bob", "code": code},
        ).status_code
        == 404
    )


def test_a_conversion_without_a_signup_says_so(client: TestClient, acme: dict[str, Any]) -> None:
    """Converting a user nobody referred is a 404 that names the missing step."""
    response = client.post("/v1/products/acme/referrals/nobody/conversion", headers=_server(acme))
    assert response.status_code == 404
    assert "signup" in response.json()["hint"]


def test_the_referral_list_shows_each_referral(client: TestClient, acme: dict[str, Any]) -> None:
    """The management API lists referrals with their referrer, state and reward."""
    code = _me(client, acme, "alice")["code"]
    _signup(client, acme, referred_user_id="bob", code=code)
    page = client.get("/v1/products/acme/referrals", headers=ADMIN).json()
    assert page["total"] == 1
    assert page["referrals"][0]["referred_user_id"] == "bob"
    assert page["referrals"][0]["converted_at"] is None


def test_theme_and_reward_settings_are_validated(client: TestClient, acme: dict[str, Any]) -> None:
    """Colours are #rrggbb, amounts are non-negative, and a PATCH keeps colours it omits."""
    bad = client.patch("/v1/products/acme", headers=ADMIN, json={"theme": {"primary": "red"}})
    assert bad.status_code == 422
    assert bad.json()["field"] == "theme.primary"
    assert (
        client.patch(
            "/v1/products/acme", headers=ADMIN, json={"referral_reward_amount": -1}
        ).status_code
        == 422
    )
    client.patch("/v1/products/acme", headers=ADMIN, json={"theme": {"primary": "#ff0000"}})
    client.patch("/v1/products/acme", headers=ADMIN, json={"theme": {"text": "#000000"}})
    theme = client.get("/v1/products/acme", headers=ADMIN).json()["theme"]
    assert theme == {"primary": "#ff0000", "background": "#ffffff", "text": "#000000"}
    assert _me(client, acme, "u1")["product"]["theme"] == theme


class TestCors:
    """Browsers may call the client API only from a product's allowed origins."""

    def test_a_preflight_from_an_allowed_origin_is_answered(
        self, client: TestClient, acme: dict[str, Any]
    ) -> None:
        """An origin some product allows gets the CORS headers the widget needs."""
        client.patch(
            "/v1/products/acme",
            headers=ADMIN,
            json={"allowed_origins": ["https://app.acme.example"]},
        )
        response = client.options(
            "/v1/referrals/me",
            headers={
                "Origin": "https://app.acme.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization, x-plaudit-product",
            },
        )
        assert response.status_code == 204
        assert response.headers["access-control-allow-origin"] == "https://app.acme.example"
        assert "authorization" in response.headers["access-control-allow-headers"]

    def test_a_preflight_from_an_unknown_origin_is_refused(
        self, client: TestClient, acme: dict[str, Any]
    ) -> None:
        """An origin no product allows gets no CORS headers."""
        response = client.options(
            "/v1/auth/verify",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert response.status_code == 403
        assert "access-control-allow-origin" not in response.headers

    def test_a_call_from_another_products_origin_is_refused(
        self, client: TestClient, acme: dict[str, Any]
    ) -> None:
        """An origin allowed for product B cannot call product A with A's tokens."""
        client.patch(
            "/v1/products/acme",
            headers=ADMIN,
            json={"allowed_origins": ["https://app.acme.example"]},
        )
        create_product(client, id="other")
        client.patch(
            "/v1/products/other", headers=ADMIN, json={"allowed_origins": ["https://other.example"]}
        )
        token = _token(acme["secret"]["value"], "u1")
        ok = client.get(
            "/v1/auth/verify", headers={**bearer(token), "Origin": "https://app.acme.example"}
        )
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://app.acme.example"
        refused = client.get(
            "/v1/auth/verify", headers={**bearer(token), "Origin": "https://other.example"}
        )
        assert refused.status_code == 403
        assert refused.json()["error"] == "origin_not_allowed"

    def test_an_expired_token_answer_is_readable_by_the_widget(
        self, client: TestClient, acme: dict[str, Any]
    ) -> None:
        """A 401 to an allowed origin carries the CORS headers, so the widget can refresh."""
        client.patch(
            "/v1/products/acme",
            headers=ADMIN,
            json={"allowed_origins": ["https://app.acme.example"]},
        )
        stale = _token(acme["secret"]["value"], "u1", iat=int(NOW) - 2 * 86_400)
        response = client.get(
            "/v1/referrals/me", headers={**bearer(stale), "Origin": "https://app.acme.example"}
        )
        assert response.status_code == 401
        assert response.json()["error"] == "token_expired"
        assert response.headers["access-control-allow-origin"] == "https://app.acme.example"

    def test_server_calls_without_an_origin_are_not_affected(
        self, client: TestClient, acme: dict[str, Any]
    ) -> None:
        """No Origin header, no CORS rule: backends call the API as before."""
        token = _token(acme["secret"]["value"], "u1")
        assert client.get("/v1/auth/verify", headers=bearer(token)).status_code == 200
