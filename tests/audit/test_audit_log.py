"""The audit log: every management change recorded as who, what, when and how, in the change's
own transaction, never with a secret's value; read back by the tenant (its product only) and
by the operator (every product), filtered and paged by cursor."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from plaudit.audit import recorder
from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import ADMIN, Clock, bearer


@pytest.fixture
def acme(db: Database, settings: Settings) -> dict[str, Any]:
    return factories.product(db, settings, id="acme")


@pytest.fixture
def globex(db: Database, settings: Settings) -> dict[str, Any]:
    return factories.product(db, settings, id="globex", name="Globex")


def audit(client: TestClient, product: str = "acme", headers: Any = None, **params: Any) -> Any:
    response = client.get(f"/v1/products/{product}/audit", params=params, headers=headers or ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_settings_change_names_its_api_key_and_the_fields_before_and_after(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """PATCH with the product's key: product.update by api_key:<id>, only the changed fields."""
    key = bearer(acme["api_key"])
    assert client.patch("/v1/products/acme", json={"leeway_seconds": 5}, headers=key).is_success
    [entry] = audit(client)["entries"]
    key_id = acme["api_key"].split("_")[1]
    assert entry["action"] == "product.update"
    assert entry["target_type"] == "product"
    assert entry["target_id"] == "acme"
    assert entry["actor"] == {
        "kind": "api_key",
        "via": "api",
        "api_key_id": key_id,
        "console_session": None,
        "label": f"api_key:{key_id}",
    }
    assert entry["changes"] == {"leeway_seconds": {"before": 30, "after": 5}}
    assert entry["at"].startswith("2025-11-24")  # the app's pinned clock, not the wall's


def test_no_secret_value_key_material_or_api_key_hash_reaches_the_log(
    client: TestClient, acme: dict[str, Any], rsa_pair: Any
) -> None:
    """A rotated secret, an uploaded public key and a new API key: redacted, fingerprinted
    (the rotation also retires the old secret after its grace period: an update of it)."""
    secret = client.post("/v1/products/acme/secrets", json={"kid": "s2"}, headers=ADMIN).json()
    pem = rsa_pair.public_pem
    assert client.post(
        "/v1/products/acme/keys", json={"public_key": pem, "kid": "k1"}, headers=ADMIN
    ).is_success
    created = client.post("/v1/products/acme/api-keys", json={"name": "ci"}, headers=ADMIN).json()
    entries = {e["action"]: e for e in audit(client)["entries"]}
    assert set(entries) == {"secret.create", "secret.update", "key.create", "api_key.create"}
    assert set(entries["secret.update"]["changes"]) == {"not_after"}
    assert entries["secret.create"]["changes"]["ciphertext"] == {"after": "[redacted]"}
    assert entries["key.create"]["changes"]["public_pem"]["after"].startswith("sha256:")
    assert entries["api_key.create"]["changes"]["secret_hash"] == {"after": "[redacted]"}
    text = json.dumps(entries)
    body = pem.split("-----")[2].strip().splitlines()[1]
    for value in (secret["value"], created["api_key"], body):
        assert value not in text


def test_revoking_an_api_key_is_its_own_action(client: TestClient, acme: dict[str, Any]) -> None:
    created = client.post("/v1/products/acme/api-keys", json={}, headers=ADMIN).json()
    revoked = client.delete(f"/v1/products/acme/api-keys/{created['id']}", headers=ADMIN)
    assert revoked.is_success, revoked.text
    [entry] = audit(client, action="api_key.revoke")["entries"]
    assert entry["target_id"] == created["id"]
    assert entry["actor"]["label"] == "operator"
    assert entry["changes"]["revoked_at"]["before"] is None


def test_rules_rewards_badges_tiers_and_adjustments_are_recorded(
    client: TestClient, acme: dict[str, Any], db: Database
) -> None:
    """The programs' management writes, and a manual adjustment, which the hook cannot see."""
    base = "/v1/products/acme"
    rule = client.post(
        base + "/loyalty/rules",
        json={"name": "Buy", "event_type": "buy", "points": 5},
        headers=ADMIN,
    ).json()
    assert client.patch(
        base + f"/loyalty/rules/{rule['id']}", json={"enabled": False}, headers=ADMIN
    ).is_success
    assert client.post(
        base + "/rewards", json={"name": "Mug", "cost": 10}, headers=ADMIN
    ).is_success
    assert client.post(
        base + "/badges",
        json={"name": "Fan", "criteria": {"kind": "points_total", "points": 5}},
        headers=ADMIN,
    ).is_success
    tiers = {"tiers": [{"name": "Silver", "threshold": 10}]}
    assert client.put(base + "/loyalty/tiers", json=tiers, headers=ADMIN).is_success
    assert client.put(
        base + "/loyalty/tiers",
        json={"tiers": [{"name": "Gold", "threshold": 50}]},
        headers=ADMIN,
    ).is_success
    factories.users(db, "acme", [("ada", {})])
    adjusted = client.post(
        base + "/users/ada/points", json={"amount": 7, "reason": "goodwill"}, headers=ADMIN
    )
    assert adjusted.is_success, adjusted.text
    actions = [e["action"] for e in audit(client)["entries"]]
    assert actions == [
        "adjustment.create",
        "tier.create",
        "tier.delete",
        "tier.create",
        "badge.create",
        "reward.create",
        "rule.disable",
        "rule.create",
    ]
    [adjustment] = audit(client, action="adjustment.create")["entries"]
    assert adjustment["target_type"] == "user"
    assert adjustment["target_id"] == "ada"
    assert adjustment["changes"] == {"points": {"after": 7}, "reason": {"after": "goodwill"}}
    [deleted] = audit(client, action="tier.delete")["entries"]
    assert deleted["target_id"] == "Silver"


def test_a_users_own_writes_are_no_management_change(
    client: TestClient, acme: dict[str, Any], db: Database
) -> None:
    """Events, users mapped from tokens and the pipeline's ledger writes record nothing."""
    factories.users(db, "acme", [("ada", {})])
    assert client.post(
        "/v1/products/acme/events", json={"user_id": "ada", "type": "x"}, headers=ADMIN
    ).status_code in (200, 202)
    assert audit(client)["entries"] == []


def test_the_change_and_its_entry_commit_together_or_not_at_all(
    client: TestClient, acme: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the entry cannot be written, the change is not committed either."""

    def broken(*_args: Any) -> None:
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(recorder, "_write", broken)
    refused = client.patch("/v1/products/acme", json={"leeway_seconds": 5}, headers=ADMIN)
    assert refused.status_code == 500
    monkeypatch.undo()
    assert client.get("/v1/products/acme", headers=ADMIN).json()["leeway_seconds"] == 30
    assert audit(client)["entries"] == []


def test_filters_by_action_actor_target_and_time_and_pages_by_cursor(
    client: TestClient, acme: dict[str, Any], clock: Clock
) -> None:
    key = bearer(acme["api_key"])
    for seconds in (1, 2, 3):
        assert client.patch(
            "/v1/products/acme", json={"leeway_seconds": seconds}, headers=ADMIN
        ).is_success
        clock.advance(60)
    assert client.post("/v1/products/acme/secrets", json={"kid": "s9"}, headers=key).is_success
    assert [e["action"] for e in audit(client, action="product")["entries"]] == [
        "product.update"
    ] * 3
    by_key = {(e["action"], e["target_id"]) for e in audit(client, actor="api_key")["entries"]}
    assert by_key == {("secret.create", "s9"), ("secret.update", acme["secret"]["kid"])}
    assert audit(client, actor="operator", target_type="secret")["entries"] == []
    assert len(audit(client, target_id="acme")["entries"]) == 3
    second = factories.at(clock.now - 120)  # the second change; the secret is at `until`
    window = audit(client, since=second.isoformat(), until=factories.at(clock.now).isoformat())
    assert [e["changes"]["leeway_seconds"]["after"] for e in window["entries"]] == [3, 2]
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        page = audit(client, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [e["id"] for e in page["entries"]]
        cursor = page["next_cursor"]
    assert cursor is None
    assert seen == sorted(seen, key=int, reverse=True)
    assert len(set(seen)) == 5


def test_a_cursor_the_api_did_not_give_is_refused(client: TestClient, acme: dict[str, Any]) -> None:
    response = client.get("/v1/products/acme/audit?cursor=abc", headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


def test_another_tenants_log_does_not_exist_for_a_products_key(
    client: TestClient, acme: dict[str, Any], globex: dict[str, Any]
) -> None:
    """Acme's key asking for Globex's log gets Globex's 404, and the operator's view is 403."""
    assert client.patch("/v1/products/globex", json={"leeway_seconds": 1}, headers=ADMIN)
    key = bearer(acme["api_key"])
    theirs = client.get("/v1/products/globex/audit", headers=key)
    missing = client.get("/v1/products/nowhere/audit", headers=key)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error"] == "not_found"
    assert "leeway" not in theirs.text
    assert client.get("/v1/audit", headers=key).status_code == 403
    assert audit(client, headers=key)["entries"] == []


def test_the_operator_sees_every_product_and_a_deleted_ones_history(
    client: TestClient, acme: dict[str, Any], globex: dict[str, Any], settings: Settings
) -> None:
    """A deleted product's entries leave its tenant's view (a new product with its id starts
    with an empty log) and stay in the operator's."""
    assert client.patch("/v1/products/acme", json={"leeway_seconds": 1}, headers=ADMIN)
    assert client.patch("/v1/products/globex", json={"leeway_seconds": 2}, headers=ADMIN)
    assert client.delete("/v1/products/acme", headers=ADMIN).status_code == 204
    everything = client.get("/v1/audit", headers=ADMIN).json()["entries"]
    assert [(e["action"], e["product_id"]) for e in everything] == [
        ("product.delete", "acme"),
        ("product.update", "globex"),
        ("product.update", "acme"),
    ]
    only_acme = client.get("/v1/audit", params={"product": "acme"}, headers=ADMIN).json()
    assert len(only_acme["entries"]) == 2
    created = client.post("/v1/products", json={"name": "New", "id": "acme"}, headers=ADMIN)
    assert created.status_code == 201
    assert {e["action"] for e in audit(client)["entries"]} == {
        "product.create",
        "secret.create",
        "api_key.create",
    }


def test_revocations_jwks_sources_and_webhook_endpoints_are_recorded(
    client: TestClient, acme: dict[str, Any], jwks_server: Any, rsa_pair: Any
) -> None:
    """The webhook signing secret is redacted; what a JWKS fetch stores is not a change."""
    base = "/v1/products/acme"
    revoked = client.post(base + "/revocations", json={"jti": "t-1"}, headers=ADMIN)
    assert revoked.status_code == 201, revoked.text
    hook = client.post(
        base + "/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["user.created"]},
        headers=ADMIN,
    ).json()
    public = serialization.load_pem_public_key(rsa_pair.public_pem.encode())
    jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
    url = jwks_server.serve("/jwks.json", {"keys": [{**jwk, "kid": "j1", "alg": "RS256"}]})
    added = client.post(base + "/jwks-sources", json={"url": url}, headers=ADMIN)
    assert added.status_code == 201, added.text
    entries = {e["action"]: e for e in audit(client)["entries"]}
    assert set(entries) == {"revocation.create", "webhook_endpoint.create", "jwks_source.create"}
    assert entries["revocation.create"]["changes"]["jti"] == {"after": "t-1"}
    assert entries["webhook_endpoint.create"]["changes"]["secret_ciphertext"] == {
        "after": "[redacted]"
    }
    assert hook["secret"] not in json.dumps(entries)
    assert set(entries["jwks_source.create"]["changes"]) == {"url", "refresh_seconds"}
