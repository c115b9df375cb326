"""Rate limits answer 429 with Retry-After and a stable code, count what the docs say they
count, and never bother a call they do not name. Limits are set low here to be reached in a
few calls; the clock is pinned, so a window ends when a test moves it."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from plaudit.limits.address import ClientAddress
from plaudit.limits.rates import parse_rate
from plaudit.settings import Settings
from tests.console.conftest import ConsoleClient, text_of
from tests.support.service import (
    ADMIN,
    ADMIN_TOKEN,
    NOW,
    Clock,
    MakeClient,
    create_product,
    standard_claims,
)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _token(product: dict[str, Any], sub: str = "user_123", **claims: Any) -> str:
    return jwt.encode(
        standard_claims(product["id"], sub=sub, **claims),
        product["secret"]["value"],
        algorithm="HS256",
    )


def _forged(product: dict[str, Any], n: int) -> str:
    return jwt.encode(standard_claims(product["id"], jti=f"f{n}"), "w" * 64, algorithm="HS256")


def _assert_429(response: Any, code: str) -> int:
    assert response.status_code == 429, response.text
    assert response.json()["error"] == code
    retry = int(response.headers["retry-after"])
    assert 1 <= retry <= 60
    return retry


def test_refused_tokens_from_one_address_are_limited_then_allowed_again(
    make_client: MakeClient, clock: Clock
) -> None:
    """Past 5 refused tokens a minute the address gets 429 (even with a good token) until the
    window ends; another address is not affected."""
    client = make_client(rate_limit_failed_verifications_per_address="5/minute")
    product = create_product(client, id="acme")
    for n in range(5):
        response = client.get("/v1/auth/verify", headers=_bearer(_forged(product, n)))
        assert response.json()["error"] == "invalid_signature"
    refused = client.get("/v1/auth/verify", headers=_bearer(_forged(product, 5)))
    retry = _assert_429(refused, "too_many_failed_verifications")
    good = client.get("/v1/auth/verify", headers=_bearer(_token(product)))
    _assert_429(good, "too_many_failed_verifications")
    clock.advance(retry)
    assert client.get("/v1/auth/verify", headers=_bearer(_token(product))).status_code == 200


def test_another_address_is_not_limited_by_one_addresses_refusals(
    make_client: MakeClient,
) -> None:
    """The per-address count is per address: a neighbour's good token still verifies."""
    first = make_client(rate_limit_failed_verifications_per_address="2/minute")
    product = create_product(first, id="acme")
    for n in range(3):
        first.get("/v1/auth/verify", headers=_bearer(_forged(product, n)))
    assert first.get("/v1/auth/verify", headers=_bearer(_token(product))).status_code == 429
    # The same app, another client address: a second TestClient on the same application.
    neighbour = TestClient(first.app, raise_server_exceptions=False, client=("198.51.100.9", 1))
    with neighbour:
        assert neighbour.get("/v1/auth/verify", headers=_bearer(_token(product))).status_code == 200


def test_refused_tokens_of_one_product_limit_its_fresh_verifications_only(
    make_client: MakeClient,
) -> None:
    """Past its rate of refused tokens a product answers new tokens 429, while tokens already
    verified (answered from memory) still pass and another product is untouched."""
    client = make_client(
        rate_limit_failed_verifications_per_product="3/minute",
        rate_limit_failed_verifications_per_address="off",
    )
    acme = create_product(client, id="acme")
    other = create_product(client, id="other")
    known = _token(acme, sub="known")
    assert client.get("/v1/auth/verify", headers=_bearer(known)).status_code == 200
    for n in range(4):
        client.get("/v1/auth/verify", headers=_bearer(_forged(acme, n)))
    fresh = client.get("/v1/auth/verify", headers=_bearer(_token(acme, sub="new")))
    _assert_429(fresh, "too_many_failed_verifications")
    assert client.get("/v1/auth/verify", headers=_bearer(known)).status_code == 200
    assert client.get("/v1/auth/verify", headers=_bearer(_token(other))).status_code == 200


def test_limited_calls_show_in_the_products_failure_report(make_client: MakeClient) -> None:
    """Each 429 of a product is counted by code in GET .../auth-failures under 'limited'."""
    client = make_client(
        rate_limit_failed_verifications_per_product="1/minute",
        rate_limit_client_events_per_user="1/minute",
    )
    acme = create_product(client, id="acme")
    token = _token(acme)
    assert client.get("/v1/auth/verify", headers=_bearer(token)).status_code == 200
    for n in range(2):  # the first is refused (401) and uses up the rate; the second is 429
        client.get("/v1/auth/verify", headers=_bearer(_forged(acme, n)))
    for n in range(3):  # new tokens while the product is limited: 429
        client.get("/v1/auth/verify", headers=_bearer(_token(acme, sub=f"u{n}")))
    for _ in range(2):  # a known token's events: one accepted, one past the rate
        client.post("/v1/events", json={"type": "played"}, headers=_bearer(token))
    report = client.get("/v1/products/acme/auth-failures", headers=ADMIN).json()
    limited = report["limited"]
    assert limited["counts"] == {"too_many_failed_verifications": 4, "too_many_events": 1}
    assert limited["total"] == 5
    assert limited["timeline"][-1]["total"] == 5
    assert report["counts"] == {"invalid_signature": 1}  # the refused token is kept as before


def test_events_from_the_browser_are_limited_per_user(make_client: MakeClient) -> None:
    """Past 3 events a minute one user's browser gets 429 too_many_events; another user and
    the tenant's server are not limited by it."""
    client = make_client(rate_limit_client_events_per_user="3/minute")
    acme = create_product(client, id="acme")
    token = _token(acme, sub="spammer")
    for _ in range(3):
        sent = client.post("/v1/events", json={"type": "played"}, headers=_bearer(token))
        assert sent.status_code == 202, sent.text
    _assert_429(
        client.post("/v1/events", json={"type": "played"}, headers=_bearer(token)),
        "too_many_events",
    )
    other = _token(acme, sub="someone")
    assert (
        client.post("/v1/events", json={"type": "played"}, headers=_bearer(other)).status_code
        == 202
    )
    server = client.post(
        "/v1/products/acme/events", json={"type": "played", "user_id": "spammer"}, headers=ADMIN
    )
    assert server.status_code == 202


def test_management_calls_are_limited_per_api_key_but_not_for_the_operator(
    make_client: MakeClient,
) -> None:
    """Past 3 calls a minute an API key gets 429 too_many_management_calls; another key of the
    same product and the admin token still work."""
    client = make_client(rate_limit_management_per_api_key="3/minute")
    create_product(client, id="acme")
    keys = [
        client.post("/v1/products/acme/api-keys", json={"name": n}, headers=ADMIN).json()["api_key"]
        for n in ("one", "two")
    ]
    for _ in range(3):
        assert client.get("/v1/products/acme", headers=_bearer(keys[0])).status_code == 200
    _assert_429(
        client.get("/v1/products/acme", headers=_bearer(keys[0])), "too_many_management_calls"
    )
    assert client.get("/v1/products/acme", headers=_bearer(keys[1])).status_code == 200
    for _ in range(5):
        assert client.get("/v1/products/acme", headers=ADMIN).status_code == 200


def test_wrong_management_credentials_count_against_the_address(make_client: MakeClient) -> None:
    """Guessing API keys from one address ends in 429 before the store is asked again."""
    client = make_client(rate_limit_failed_verifications_per_address="3/minute")
    create_product(client, id="acme")
    for n in range(3):
        guess = client.get("/v1/products/acme", headers=_bearer(f"pk_guess{n}"))
        assert guess.status_code == 401
    _assert_429(
        client.get("/v1/products/acme", headers=_bearer("pk_guess")),
        "too_many_failed_verifications",
    )


def test_the_open_endpoint_is_limited_per_address(make_client: MakeClient) -> None:
    """A browser may call the open endpoint 2 times a minute here; the third is 429."""
    client = make_client(rate_limit_open_endpoint_per_address="2/minute")
    acme = create_product(client, id="acme", profile="saasquatch")
    # The guide's token names the account it may write (a token naming none may write none).
    user = {"id": "u-1", "accountId": "a-1"}
    token = jwt.encode(
        {"user": user, "exp": int(NOW) + 3600}, acme["secret"]["value"], algorithm="HS256"
    )
    url = "/api/v1/acme/open/account/a-1/user/u-1"
    headers = {"X-SaaSquatch-User-Token": token}
    for _ in range(2):
        assert client.post(url, json={}, headers=headers).status_code == 200
    _assert_429(client.post(url, json={}, headers=headers), "too_many_requests")


def test_a_referral_click_counts_once_per_visitor_per_day(
    make_client: MakeClient, clock: Clock
) -> None:
    """The same visitor's clicks count once a day, every click still redirects, and another
    visitor (address) counts apart."""
    client = make_client()
    acme = create_product(client, id="acme")
    token = _token(acme, sub="referrer")
    me = client.get("/v1/referrals/me", headers=_bearer(token)).json()
    for _ in range(200):
        assert client.get(f"/r/{me['code']}", follow_redirects=False).status_code == 302
    neighbour = TestClient(client.app, raise_server_exceptions=False, client=("192.0.2.44", 1))
    with neighbour:
        assert neighbour.get(f"/r/{me['code']}", follow_redirects=False).status_code == 302
    clock.advance(86_400)
    client.get(f"/r/{me['code']}", follow_redirects=False)
    stats = client.get(
        "/v1/referrals/me", headers=_bearer(_token(acme, sub="referrer", iat=clock.now))
    )
    assert stats.json()["stats"]["clicks"] == 3


def test_off_turns_a_limit_off(make_client: MakeClient) -> None:
    """With PLAUDIT_RATE_LIMIT_CLIENT_EVENTS_PER_USER=off one user may send many events."""
    client = make_client(rate_limit_client_events_per_user="off")
    acme = create_product(client, id="acme")
    token = _token(acme)
    for _ in range(150):
        assert (
            client.post("/v1/events", json={"type": "x"}, headers=_bearer(token)).status_code == 202
        )


@pytest.mark.parametrize("text", ["100", "lots/minute", "0/minute", "5/fortnight"])
def test_a_rate_that_is_not_one_is_refused_at_startup(text: str) -> None:
    """A mistyped rate stops the server with the variable's rule, instead of limiting nothing."""
    with pytest.raises(ValueError, match="N/second, N/minute, N/hour or N/day"):
        Settings(rate_limit_client_events_per_user=text)


def test_rates_read_like_the_limits_library_writes_them() -> None:
    """'100/minute' is 100 per 60 s; 'off' is no limit."""
    rate = parse_rate("100/minute")
    assert rate is not None
    assert (rate.amount, rate.get_expiry()) == (100, 60)
    assert parse_rate("off") is None


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy() -> None:
    """The client is the peer; behind a trusted proxy, the last hop it did not add itself."""

    def scope(peer: str, forwarded: str) -> dict[str, Any]:
        return {"client": (peer, 1), "headers": [(b"x-forwarded-for", forwarded.encode())]}

    untrusting = ClientAddress()
    assert untrusting(scope("198.51.100.1", "1.2.3.4")) == "198.51.100.1"
    trusting = ClientAddress(["10.0.0.0/8"])
    # The client wrote "1.2.3.4" itself; the proxy appended the address it saw.
    assert trusting(scope("10.0.0.2", "1.2.3.4, 203.0.113.5")) == "203.0.113.5"
    assert trusting(scope("10.0.0.2", "203.0.113.5, 10.0.0.9")) == "203.0.113.5"
    assert trusting(scope("198.51.100.1", "1.2.3.4")) == "198.51.100.1"  # not via the proxy


def test_an_ipv6_client_counts_as_its_64_block() -> None:
    """Two addresses of one /64 share a count: a host cannot take a fresh address per call."""
    address = ClientAddress()
    first = address({"client": ("2001:db8:1:2::1", 1), "headers": []})
    second = address({"client": ("2001:db8:1:2:ffff::9", 1), "headers": []})
    assert first == second == "2001:db8:1:2::/64"
    assert address({"client": ("::ffff:192.0.2.1", 1), "headers": []}) == "192.0.2.1"


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    """PLAUDIT_TRUSTED_PROXIES takes comma-separated addresses and CIDR networks."""
    settings = Settings(trusted_proxies="10.0.0.0/8, 192.0.2.1")  # type: ignore[arg-type]
    assert settings.trusted_proxies == ["10.0.0.0/8", "192.0.2.1"]
    with pytest.raises(ValueError, match=r"proxy\.example"):
        Settings(trusted_proxies="proxy.example")  # type: ignore[arg-type]


def test_the_console_health_page_shows_rate_limited_calls(make_client: MakeClient) -> None:
    """The integration health page counts the product's 429s by code, with the fix."""
    client = make_client(rate_limit_client_events_per_user="1/minute")
    acme = create_product(client, id="acme")
    token = _token(acme)
    for _ in range(3):
        client.post("/v1/events", json={"type": "played"}, headers=_bearer(token))
    console = ConsoleClient(client)
    assert console.sign_in(ADMIN_TOKEN).status_code == 303
    text = " ".join(text_of(console.get("/console/products/acme/health")).split())
    assert "2 calls refused with 429" in text
    assert "too_many_events : 2 (Send fewer events per user" in text


def test_a_redis_url_must_name_a_redis() -> None:
    """PLAUDIT_REDIS_URL takes redis:// or rediss:// URLs; anything else stops the server."""
    assert Settings(redis_url="redis://127.0.0.1:6379/1").redis_url == "redis://127.0.0.1:6379/1"
    with pytest.raises(ValueError, match="redis://host:port/db"):
        Settings(redis_url="http://127.0.0.1:6379")
