"""All Users, a user's page, the Programs tab, Integration health and Getting started."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt
import pytest

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories

from .conftest import (
    ADMIN,
    NOW,
    Clock,
    ConsoleClient,
    RsaPair,
    create_product,
    field_error,
    text_of,
)


def _seen(console: ConsoleClient, secret: str, user_id: str, **claims: Any) -> None:
    """The user presents a valid token once (standard profile, product 'acme')."""
    token = jwt.encode(
        {
            "sub": user_id,
            "iss": "t",
            "aud": "acme",
            "iat": int(NOW),
            "exp": int(NOW) + 60,
            **claims,
        },
        secret,
        "HS256",
    )
    answer = console.http.get("/v1/auth/verify", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text


def test_all_users_is_searchable_and_paginated(
    console: ConsoleClient, db: Database, settings: Settings
) -> None:
    """Only listed users, 25 a page, newest first; search matches ids and emails."""
    factories.product(db, settings, id="acme", published=True)
    factories.users(
        db, "acme", ((f"user-{n:02d}", {"email": f"u{n}@example.com"}) for n in range(27))
    )
    first = console.get("/console/products/acme/users")
    assert "27 users" in text_of(first)
    assert first.text.count("/user?id=user-") == 25
    second = console.get("/console/products/acme/users?page=2")
    assert second.text.count("/user?id=user-") == 2
    assert "Page 2 of 2" in text_of(second)
    found = console.get("/console/products/acme/users?q=u7@example")
    assert "1 user matching" in text_of(found)
    assert "/user?id=user-07" in found.text


def test_users_seen_before_publishing_are_not_listed(console: ConsoleClient) -> None:
    product = create_product(console.http, id="acme")
    _seen(console, product["secret"]["value"], "early")
    assert "0 users" in text_of(console.get("/console/products/acme/users"))
    assert "/user?id=early" in console.get("/console/products/acme/users?unlisted=true").text


def test_a_users_page_shows_profile_points_badges_referrals_and_history(
    console: ConsoleClient,
) -> None:
    """Adjusting points by hand shows in the balance, tier, badges and history."""
    product = create_product(console.http, id="acme")
    _seen(console, product["secret"]["value"], "ada", email="ada@example.com")
    _seen(console, product["secret"]["value"], "bob")
    console.http.put(
        "/v1/products/acme/loyalty/tiers",
        json={"tiers": [{"name": "Silver", "threshold": 100}]},
        headers=ADMIN,
    )
    console.http.post(
        "/v1/products/acme/badges",
        json={"name": "Centurion", "criteria": {"kind": "points_total", "points": 100}},
        headers=ADMIN,
    )
    console.http.post(
        "/v1/products/acme/referrals",
        json={"referred_user_id": "bob", "referrer_user_id": "ada"},
        headers=ADMIN,
    )
    adjusted = console.post(
        "/console/products/acme/user/points",
        {"user_id": "ada", "amount": "150", "reason": "Welcome gift"},
    )
    assert adjusted.status_code == 303
    page = text_of(console.get(adjusted.headers["location"]))
    for expected in ("ada@example.com", "150 points", "Silver", "Centurion", "Welcome gift", "bob"):
        assert expected in page, expected
    refused = console.post(
        "/console/products/acme/user/points", {"user_id": "ada", "amount": "0", "reason": "x"}
    )
    api = console.http.post(
        "/v1/products/acme/users/ada/points", json={"amount": 0, "reason": "x"}, headers=ADMIN
    ).json()
    assert refused.status_code == 422
    assert api["message"] == field_error_summary(refused)
    assert console.get("/console/products/acme/user?id=nobody").status_code == 404


def test_programs_forms_save_through_the_loyalty_services(console: ConsoleClient) -> None:
    """Referral reward, an earning rule, tiers, a reward and a badge, each as the API reads it;
    a refused one shows the API's message."""
    create_product(console.http, id="acme")
    base = "/console/products/acme/programs"
    saved = console.post(
        base + "/referrals",
        {
            "referral_reward_kind": "points",
            "referral_reward_amount": "25",
            "referral_reward_on": "signup",
        },
    )
    assert saved.status_code == 303
    product = console.http.get("/v1/products/acme", headers=ADMIN).json()
    assert (product["referral_reward_kind"], product["referral_reward_amount"]) == ("points", 25)
    negative = console.post(
        base + "/referrals",
        {
            "referral_reward_kind": "points",
            "referral_reward_amount": "-1",
            "referral_reward_on": "signup",
        },
    )
    api = console.http.patch(
        "/v1/products/acme", json={"referral_reward_amount": -1}, headers=ADMIN
    ).json()
    assert (
        api["message"]
        == f"referral_reward_amount: {field_error(negative, 'referral_reward_amount')}"
    )

    rule = {"name": "Lesson", "event_type": "lesson_completed", "points": "10", "enabled": "true"}
    assert console.post(base + "/rules", rule).status_code == 303
    purchase = {
        "name": "Purchase",
        "event_type": "purchase",
        "property": "amount",
        "rate": "1",
        "server_only": "true",
        "enabled": "true",
    }
    assert console.post(base + "/rules", purchase).status_code == 303
    assert console.post(base + "/tiers", {"tiers": "Gold: 500\nSilver: 100"}).status_code == 303
    assert (
        console.post(
            base + "/rewards", {"name": "Mug", "cost": "50", "enabled": "true"}
        ).status_code
        == 303
    )
    badge = {
        "name": "First",
        "kind": "event_count",
        "event_type": "lesson_completed",
        "count": "1",
        "enabled": "true",
    }
    assert console.post(base + "/badges", badge).status_code == 303
    rules = console.http.get("/v1/products/acme/loyalty/rules", headers=ADMIN).json()
    assert [(r["name"], r["points"], r["server_only"], r["enabled"]) for r in rules] == [
        ("Lesson", 10, False, True),
        ("Purchase", None, True, True),
    ]
    tiers = console.http.get("/v1/products/acme/loyalty/tiers", headers=ADMIN).json()["tiers"]
    assert [(t["name"], t["threshold"]) for t in tiers] == [("Silver", 100), ("Gold", 500)]
    rewards = console.http.get("/v1/products/acme/rewards", headers=ADMIN).json()
    assert [(r["name"], r["cost"]) for r in rewards] == [("Mug", 50)]
    badges = console.http.get("/v1/products/acme/badges", headers=ADMIN).json()
    assert badges[0]["criteria"] == {
        "kind": "event_count",
        "event_type": "lesson_completed",
        "count": 1,
    }

    toggled = console.post(base + "/rules/update", {"id": rules[0]["id"], "enabled": "false"})
    assert toggled.status_code == 303
    assert (
        console.http.get("/v1/products/acme/loyalty/rules", headers=ADMIN).json()[0]["enabled"]
        is False
    )
    assert console.post(base + "/rewards/delete", {"id": rewards[0]["id"]}).status_code == 303
    assert console.http.get("/v1/products/acme/rewards", headers=ADMIN).json() == []

    refused = console.post(base + "/rewards", {"name": "Free", "cost": "0"})
    api = console.http.post(
        "/v1/products/acme/rewards", json={"name": "Free", "cost": 0}, headers=ADMIN
    ).json()
    assert refused.status_code == 422
    assert api["message"] == f"cost: {field_error(refused, 'reward-cost')}"
    same = console.post(base + "/tiers", {"tiers": "A: 1\nB: 1"})
    assert "Two tiers start at the same number of points." in (field_error(same, "tiers") or "")
    bad_line = console.post(base + "/tiers", {"tiers": "Gold"})
    assert "Line 1 is not 'name: points'" in (field_error(bad_line, "tiers") or "")
    page = text_of(console.get(base))
    for expected in ("Lesson", "Silver: 100", "First"):
        assert expected in page


def test_health_shows_refused_tokens_with_how_to_fix_them(
    wall_console: ConsoleClient, clock: Clock
) -> None:
    """Counts by code per day and the recent failures with the API's hint."""
    console = wall_console  # refused tokens are stamped by the wall clock
    product = create_product(console.http, id="acme")
    expired = jwt.encode(
        {
            "sub": "u",
            "iss": "t",
            "aud": "acme",
            "iat": int(clock.now) - 7200,
            "exp": int(clock.now) - 3600,
        },
        product["secret"]["value"],
        "HS256",
    )
    for _ in range(2):
        console.http.get(
            "/v1/auth/verify",
            headers={"Authorization": f"Bearer {expired}", "X-Plaudit-Product": "acme"},
        )
    page = console.get("/console/products/acme/health")
    text = text_of(page)
    assert "2 refused tokens kept" in text
    assert "token_expired 2" in " ".join(text.split())
    assert "How to fix it: Generate a new token with a future expiration time" in text
    report = console.http.get("/v1/products/acme/auth-failures", headers=ADMIN).json()
    assert report["timeline"][-1]["counts"] == {"token_expired": 2}
    assert len(report["timeline"]) == 7


def test_webhook_endpoints_deliveries_and_redelivery(console: ConsoleClient) -> None:
    """An endpoint's secret is shown once; a test delivery is listed and can be sent again."""
    create_product(console.http, id="acme")
    base = "/console/products/acme/health"
    refused = console.post(
        base + "/webhooks", {"url": "not a url", "event_types": ["user.created"]}
    )
    assert refused.status_code == 422
    assert field_error(refused, "url") == "Value error, must be an http(s) URL"
    created = console.post(
        base + "/webhooks",
        {"url": "https://hooks.example.com/plaudit", "event_types": ["user.created"]},
    )
    assert created.status_code == 201
    secret = created.text.split('id="endpoint-secret" type="text" readonly value="', 1)[1].split(
        '"'
    )[0]
    assert secret.startswith("whsec_")
    endpoint = console.http.get("/v1/products/acme/webhooks", headers=ADMIN).json()[0]
    assert console.post(base + "/webhooks/test", {"endpoint_id": endpoint["id"]}).status_code == 303
    page = console.get(f"{base}?endpoint={endpoint['id']}")
    assert "webhook.test" in page.text
    assert secret not in page.text
    delivery = console.http.get(
        f"/v1/products/acme/webhooks/{endpoint['id']}/deliveries", headers=ADMIN
    ).json()
    delivery_id = delivery["deliveries"][0]["id"]
    again = console.post(
        base + "/webhooks/redeliver",
        {"endpoint_id": endpoint["id"], "delivery_id": str(delivery_id)},
    )
    assert again.status_code == 303
    assert "queued again" in text_of(console.get(again.headers["location"]))
    off = console.post(base + "/webhooks/update", {"endpoint_id": endpoint["id"]})
    assert off.status_code == 303
    assert (
        console.http.get(f"/v1/products/acme/webhooks/{endpoint['id']}", headers=ADMIN).json()[
            "enabled"
        ]
        is False
    )


def field_error_summary(page: Any) -> str:
    """The form-wide error (no single field): the summary's only item."""
    import html
    import re

    found = re.search(r'<div class="alert error-summary"[^>]*>.*?<li>(.*?)</li>', page.text, re.S)
    assert found, "the page has an error summary"
    return html.unescape(found.group(1)).strip()


def _python_snippet(console: ConsoleClient, product_id: str) -> str:
    page = console.get(f"/console/products/{product_id}/start")
    assert page.status_code == 200
    for language in (
        "Node.js (jsonwebtoken)",
        "Python (PyJWT)",
        "Ruby (ruby-jwt)",
        "Shell (plaudit token sign)",
    ):
        assert language in page.text
    code = page.text.split('id="code-python" tabindex="0"><code>', 1)[1].split("</code>", 1)[0]
    import html

    return html.unescape(code)


@pytest.mark.parametrize("profile", ["standard", "reditus", "saasquatch", "xtremepush"])
def test_the_python_snippet_signs_a_token_the_product_accepts(
    wall_console: ConsoleClient, tmp_path: Path, rsa_pair: RsaPair, profile: str
) -> None:
    """Run as written (PyJWT, the wall clock), with the product's real secret or private key:
    Plaudit accepts its token, for every profile and with the product's own rules set."""
    console = wall_console
    product = create_product(console.http, id=f"p-{profile}", profile=profile)
    settings = {
        "issuer": "acme-backend",
        "required_claims": ["tenant"],
        "max_lifetime_seconds": 1800,
    }
    console.http.patch(f"/v1/products/p-{profile}", json=settings, headers=ADMIN)
    env = {**os.environ}
    if profile == "xtremepush":
        console.http.post(
            f"/v1/products/p-{profile}/keys",
            json={"public_key": rsa_pair.public_pem, "kid": "primary"},
            headers=ADMIN,
        )
        (tmp_path / "private.key").write_text(rsa_pair.private_pem)
    else:
        env["PLAUDIT_SECRET"] = product["secret"]["value"]
    code = _python_snippet(console, f"p-{profile}")
    assert product["secret"] is None or product["secret"]["value"] not in code
    ran = subprocess.run(  # noqa: S603  # the snippet the page shows, run as a tenant would
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    token = ran.stdout.strip()
    verified = console.http.get(
        "/v1/auth/verify",
        headers={"Authorization": f"Bearer {token}", "X-Plaudit-Product": f"p-{profile}"},
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["user"]["id"] == "user_123"
