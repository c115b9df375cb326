"""Privacy requests: a user's export holds everything Plaudit keeps about them; an erasure
removes their personal data, pseudonymises their id, keeps the ledger's sums and the other
side of each referral, stops their share link, refuses their old tokens, is idempotent, and
is recorded; another tenant can neither read nor erase anyone through it."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from plaudit.models import Base
from plaudit.store.db import Database
from tests.support.service import ADMIN, Clock, bearer, verify
from tests.support.tenant import Tenant

from .conftest import ADA, EMAIL, token_for


def rows_naming(db: Database, *values: str) -> dict[str, int]:
    """Tables (and their row counts) in which any of ``values`` still appears."""
    found: dict[str, int] = {}
    with db.session() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(table.select()).mappings():
                text = json.dumps(dict(row), default=str)
                if any(value in text for value in values):
                    found[table.name] = found.get(table.name, 0) + 1
    return found


def erase(client: TestClient, product: str, user: str, headers: Any = None) -> Any:
    return client.post(f"/v1/products/{product}/users/{user}/erase", headers=headers or ADMIN)


def test_the_export_holds_everything_plaudit_keeps_about_the_user(acme: Tenant) -> None:
    document = acme.admin("GET", f"/users/{ADA}/export")
    assert document["format"] == "plaudit.user-export/1"
    assert document["user_id"] == ADA
    assert document["profile"]["email"] == EMAIL
    assert [e["type"] for e in document["events"]] == ["buy"]
    assert document["events"][0]["properties"] == {"note": "first order"}
    assert sorted(e["kind"] for e in document["ledger"]) == ["adjust", "earn", "redeem"]
    assert document["points"]["balance"] == sum(e["delta"] for e in document["ledger"]) == 8
    assert [r["reward_name"] for r in document["redemptions"]] == ["Mug"]
    assert [b["name"] for b in document["badges"]] == ["Ten"]
    referrals = document["referrals"]
    assert [r["referred_user_id"] for r in referrals["made"]] == ["bob"]
    assert referrals["referred_by"]["referrer_user_id"] == "carol"
    assert {w["event_type"] for w in document["webhooks"]} >= {"user.created", "points.earned"}
    assert all(w["deliveries"] for w in document["webhooks"])
    listed = acme.admin("GET", "/privacy-requests")
    assert [(r["kind"], r["user_id"], r["id"]) for r in listed["requests"]] == [
        ("export", ADA, document["request_id"])
    ]
    audit = acme.admin("GET", "/audit", params={"action": "privacy.export"})["entries"]
    assert [e["target_id"] for e in audit] == [ADA]


def test_erasure_removes_personal_data_and_keeps_what_others_are_owed(
    acme: Tenant, client: TestClient, db: Database
) -> None:
    code = acme.admin("GET", f"/users/{ADA}/export")["referrals"]["code"]
    assert code
    erased = acme.admin("POST", f"/users/{ADA}/erase")
    alias = erased["user_id"]
    assert alias.startswith("erased_")
    assert erased["already_erased"] is False
    assert erased["summary"]["removed"]["events"] == 1
    # Nothing names her but the revocation that refuses her old tokens.
    assert rows_naming(db, ADA, EMAIL, "Ada Lovelace", "Sorry, Ada") == {"revocations": 1}
    acme.admin("GET", f"/users/{ADA}", 404)
    left = acme.admin("GET", f"/users/{alias}")
    assert left["email"] is None
    assert left["name"] is None
    # The ledger's sum stays (8 points), the history without her events or free text.
    document = acme.admin("GET", f"/users/{alias}/export")
    assert document["points"]["balance"] == 8
    assert document["events"] == []
    assert document["badges"] == []
    assert {e["reason"] for e in document["ledger"] if e["kind"] == "adjust"} == {"(erased)"}
    # Bob stays Ada's referral (under her pseudonym); Carol keeps hers, naming the pseudonym.
    assert [r["referred_user_id"] for r in document["referrals"]["made"]] == ["bob"]
    carol = acme.admin("GET", "/referrals", params={"user_id": "carol"})
    assert [r["referred_user_id"] for r in carol["referrals"]] == [alias]
    # Her share link no longer attributes.
    refused = client.post(
        "/v1/products/acme/referrals", headers=ADMIN, json={"referred_user_id": "dan", "code": code}
    )
    assert refused.status_code == 404, refused.text
    assert refused.json()["error"] == "unknown_referral_code"
    audit = acme.admin("GET", "/audit", params={"action": "privacy.erase"})["entries"]
    assert [(e["target_id"], e["actor"]["label"]) for e in audit] == [(alias, "operator")]


def test_erasure_asked_again_answers_the_first(acme: Tenant, client: TestClient) -> None:
    first = erase(client, "acme", ADA)
    again = erase(client, "acme", ADA)
    assert first.status_code == again.status_code == 200
    assert again.json()["already_erased"] is True
    assert again.json()["id"] == first.json()["id"]
    kinds = [r["kind"] for r in acme.admin("GET", "/privacy-requests")["requests"]]
    assert kinds == ["erase"]
    unknown = erase(client, "acme", "never-seen")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"


def test_an_old_token_is_refused_and_a_new_one_starts_an_unlinked_profile(
    acme: Tenant, client: TestClient, clock: Clock
) -> None:
    """Tokens signed before the erasure are revoked; one signed after maps a new user, with
    none of the erased user's points, badges or referrals."""
    old = token_for(acme, ADA, clock.now)
    assert verify(client, old).status_code == 200  # remembered by the verifier's cache
    erase(client, "acme", ADA)
    refused = verify(client, old)
    assert refused.status_code == 401
    assert refused.json()["error"] == "token_revoked"
    clock.advance(5)
    fresh = token_for(acme, ADA, clock.now)
    assert verify(client, fresh).status_code == 200
    me = client.get("/v1/me", headers=bearer(fresh)).json()
    assert me["points"]["balance"] == 0
    assert [b for b in me["badges"] if b.get("awarded_at")] == []


def test_another_tenants_key_reaches_no_user_of_theirs(
    acme: Tenant, globex: Tenant, client: TestClient
) -> None:
    """Acme's key, aimed at Globex's Ada by Globex's path or by Acme's: 404, nothing changed."""
    key = bearer(acme.product["api_key"])
    for path in (
        f"/v1/products/globex/users/{ADA}/export",
        "/v1/products/globex/privacy-requests",
        "/v1/products/globex/audit",
    ):
        answer = client.get(path, headers=key)
        assert answer.status_code == 404, path
        assert "other-ada" not in answer.text
    assert erase(client, "globex", ADA, headers=key).status_code == 404
    assert client.get(f"/v1/products/acme/users/{ADA}/export", headers=key).status_code == 200
    nobody = erase(client, "acme", "globex-only-user", headers=key)
    assert nobody.status_code == 404
    assert globex.admin("GET", f"/users/{ADA}")["email"] == "other-ada@example.com"
    assert globex.admin("GET", "/privacy-requests")["requests"] == []


def test_erasing_in_one_product_leaves_the_same_id_in_another_alone(
    acme: Tenant, globex: Tenant, client: TestClient
) -> None:
    assert erase(client, "acme", ADA).status_code == 200
    assert globex.admin("GET", f"/users/{ADA}")["email"] == "other-ada@example.com"
    assert erase(client, "globex", ADA).json()["already_erased"] is False
