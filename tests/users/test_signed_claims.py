"""Signed claims are authoritative: a user token vouches for its signed claims and nothing
else. The open endpoint writes only what the token says; a property rule, whose value a
browser would choose, earns only from the tenant's servers unless marked client-safe, and then
at most its per-event maximum."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from plaudit.loyalty.models import EarningRule
from plaudit.store.db import Database
from tests.support.service import ADMIN, NOW, Clock, Run, bearer, cli_json, create_product
from tests.support.tenant import Tenant

SECRET = "s" * 40
USER = {
    "id": "u-1",
    "accountId": "acct-1",
    "email": "ann@example.com",
    "firstName": "Ann",
    "locale": "en_US",
    "referralCode": "ANN",
}
PATH = "/api/v1/plat/open/account/acct-1/user/u-1"


@pytest.fixture
def platform(client: TestClient) -> dict[str, Any]:
    """A product of the referral platform guide, signing with the tenant's own secret."""
    product = create_product(client, id="plat", profile="saasquatch")
    imported = client.post("/v1/products/plat/secrets", json={"value": SECRET}, headers=ADMIN)
    assert imported.status_code == 201, imported.text
    return product


def _token(user: dict[str, Any]) -> dict[str, str]:
    token = jwt.encode({"user": user, "exp": int(NOW) + 3600}, SECRET, algorithm="HS256")
    return {"X-SaaSquatch-User-Token": token}


def test_a_body_repeating_the_tokens_claims_is_written(
    client: TestClient, platform: dict[str, Any]
) -> None:
    """The guide's call: the body is the signed user object, so it is written."""
    response = client.post(PATH, headers=_token(USER), json=USER)
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "ann@example.com"
    assert response.json()["referral_code"] == "ANN"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "boss@example.com"}, "email"),
        ({"referralCode": "FREEMONEY"}, "referralCode"),
        ({"firstName": "Mallory"}, "firstName"),
        ({"lastName": "Unsigned"}, "lastName"),  # the token carries no last name
    ],
)
def test_a_body_that_disagrees_with_the_token_is_403_claims_mismatch(
    client: TestClient, platform: dict[str, Any], body: dict[str, str], field: str
) -> None:
    """A user token cannot rewrite its own email or referral code, nor set what it does not
    carry: 403 claims_mismatch naming the field, and nothing is written."""
    response = client.post(PATH, headers=_token(USER), json=body)
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "claims_mismatch"
    assert response.json()["field"] == field
    user = client.get("/v1/products/plat/users/u-1", headers=ADMIN).json()
    assert user["email"] == "ann@example.com"  # as the token's own first sight mapped it
    assert user["referral_code"] == "ANN"


def test_a_token_naming_no_account_writes_no_account(
    client: TestClient, platform: dict[str, Any]
) -> None:
    """Without an account in the token, a user token picks none: 403 claims_mismatch for any
    account in the path; with one, only that one."""
    unnamed = {k: v for k, v in USER.items() if k != "accountId"}
    for account in ("acct-1", "someone-elses"):
        response = client.post(
            f"/api/v1/plat/open/account/{account}/user/u-1", headers=_token(unnamed), json={}
        )
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "claims_mismatch"
        assert response.json()["field"] == "accountId"
    other = client.post("/api/v1/plat/open/account/acct-2/user/u-1", headers=_token(USER), json={})
    assert other.status_code == 403
    assert other.json()["error"] == "claims_mismatch"


def test_the_tenants_servers_still_write_any_user_with_the_api_key(
    client: TestClient, platform: dict[str, Any]
) -> None:
    """Server credentials (the API key, Bearer or Basic) are unchanged: any user, any value."""
    response = client.post(
        "/api/v1/plat/open/account/acct-9/user/u-9",
        headers=bearer(platform["api_key"]),
        json={"email": "new@example.com", "referralCode": "NEW"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["email"] == "new@example.com"


# --- property rules -----------------------------------------------------------------------


@pytest.fixture
def acme(client: TestClient, clock: Clock) -> Tenant:
    return Tenant(client, create_product(client, id="acme"), clock)


def _server_event(acme: Tenant, amount: Any) -> Any:
    body = {"user_id": "ann", "type": "purchase", "properties": {"amount": amount}}
    return acme.admin("POST", "/events", 202, json=body)


def test_a_property_rule_earns_only_from_the_tenants_servers_by_default(acme: Tenant) -> None:
    """{"amount": 1e300} from a browser earns nothing under a property rule not marked
    client_safe (it reads server_only); the same event from the servers earns."""
    rule = acme.rule(event_type="purchase", property="amount", rate=1, client_safe=False)
    assert rule["server_only"] is True
    assert rule["client_safe"] is False
    assert acme.send("ann", "purchase", properties={"amount": 1e300})["points_earned"] == 0
    assert _server_event(acme, 40)["points_earned"] == 40
    assert acme.balance("ann") == 40


def test_a_client_safe_rule_earns_from_browsers_up_to_its_per_event_maximum(
    acme: Tenant,
) -> None:
    """Marked client_safe with max_points_per_event 50: a browser's 1e300 earns 50, a modest
    value its product; the servers are held to the maximum too."""
    rule = acme.rule(
        event_type="purchase",
        property="amount",
        rate=2,
        client_safe=True,
        max_points_per_event=50,
    )
    assert rule["server_only"] is False
    assert rule["description"] == "2 points per amount, at most 50 per event"
    assert acme.send("ann", "purchase", properties={"amount": 1e300})["points_earned"] == 50
    assert acme.send("ann", "purchase", properties={"amount": 10})["points_earned"] == 20
    assert _server_event(acme, 1000)["points_earned"] == 50


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"property": "amount", "rate": 1, "client_safe": True}, None),
        ({"property": "amount", "rate": 1, "client_safe": True, "server_only": True}, None),
        ({"points": 5, "client_safe": True}, None),
        ({"points": 5, "max_points_per_event": 10}, None),
        ({"property": "amount", "rate": 1, "max_points_per_event": 0}, "max_points_per_event"),
    ],
)
def test_client_safety_that_does_not_hold_together_is_refused(
    acme: Tenant, body: dict[str, Any], field: str | None
) -> None:
    """client_safe needs a per-event maximum, is not server_only, and goes with property rules."""
    response = acme.client.post(
        "/v1/products/acme/loyalty/rules",
        json={"name": "r", "event_type": "purchase", **body},
        headers=ADMIN,
    )
    assert response.status_code == 422, response.text
    if field is not None:
        assert response.json()["field"] == field


def test_marking_a_rule_client_safe_later_needs_a_maximum(acme: Tenant) -> None:
    """PATCH client_safe alone is 422; with max_points_per_event it is saved and browsers earn."""
    rule = acme.rule(event_type="purchase", property="amount", rate=1, client_safe=False)
    path = f"/loyalty/rules/{rule['id']}"
    refused = acme.client.patch(
        f"/v1/products/acme{path}", json={"client_safe": True}, headers=ADMIN
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "client_safe"
    changed = acme.admin("PATCH", path, 200, json={"client_safe": True, "max_points_per_event": 7})
    assert changed["server_only"] is False
    assert acme.send("ann", "purchase", properties={"amount": 100})["points_earned"] == 7


def test_rules_made_before_the_migration_are_server_only(acme: Tenant, db: Database) -> None:
    """A stored property rule with client_safe false (what migration 0007 gives every existing
    rule) no longer earns from browsers."""
    acme.rule(event_type="purchase", property="amount", rate=1, client_safe=False)
    with db.session() as session:
        (stored,) = session.query(EarningRule).all()
        assert stored.client_safe is False
        assert stored.server_only is False  # as stored before: the new default decides
    assert acme.send("ann", "purchase", properties={"amount": 5})["points_earned"] == 0


def test_the_cli_adds_client_safe_rules_with_a_maximum(acme: Tenant, cli: Run) -> None:
    """`plaudit rules add --client-safe --max-points-per-event N`; without the maximum the
    API's own message is the CLI's error."""
    added = cli_json(
        cli(
            "rules",
            "add",
            "acme",
            "--name",
            "Tip",
            "--event-type",
            "tip",
            "--property",
            "amount",
            "--rate",
            "1",
            "--client-safe",
            "--max-points-per-event",
            "25",
            "--json",
        )
    )
    assert added["client_safe"] is True
    assert added["max_points_per_event"] == 25
    refused = cli(
        "rules",
        "add",
        "acme",
        "--name",
        "Tip",
        "--event-type",
        "tip",
        "--property",
        "amount",
        "--rate",
        "1",
        "--client-safe",
        exit_code=1,
    )
    assert "max_points_per_event" in refused.stderr
    updated = cli_json(cli("rules", "update", "acme", added["id"], "--servers-only", "--json"))
    assert updated["server_only"] is True
