"""The console's audit log and privacy pages: changes made in the console are recorded as
its session's, the log filters; a user's data downloads as JSON or is erased once confirmed;
an API key's session sees its own product only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import ADMIN

from .conftest import ConsoleClient, field_error, text_of


@pytest.fixture
def acme(db: Database, settings: Settings) -> dict[str, Any]:
    product = factories.product(db, settings, id="acme", published=True)
    factories.users(db, "acme", [("ada", {"email": "ada@example.com"})])
    return product


def test_a_console_change_is_audited_as_its_session_and_listed(
    console: ConsoleClient, acme: dict[str, Any]
) -> None:
    adjusted = console.post(
        "/console/products/acme/user/points",
        {"user_id": "ada", "amount": "5", "reason": "welcome"},
    )
    assert adjusted.status_code == 303
    page = console.get("/console/products/acme/audit")
    assert page.status_code == 200
    shown = text_of(page)
    assert "adjustment.create" in shown
    assert "via console (session " in shown
    assert 'aria-current="page">Audit log<' in page.text
    filtered = text_of(console.get("/console/products/acme/audit?action=secret"))
    assert "adjustment.create" not in filtered
    assert "secret.create" in filtered


def test_a_users_export_downloads_as_json_and_is_listed(
    console: ConsoleClient, acme: dict[str, Any]
) -> None:
    user_page = console.get("/console/products/acme/user?id=ada")
    assert "/console/products/acme/privacy?user=ada" in user_page.text
    download = console.get("/console/products/acme/privacy/export?user=ada")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("application/json")
    assert "attachment" in download.headers["content-disposition"]
    assert json.loads(download.text)["profile"]["email"] == "ada@example.com"
    listed = text_of(console.get("/console/products/acme/privacy"))
    assert "export" in listed
    assert "ada" in listed


def test_an_erasure_needs_the_id_typed_twice_then_erases(
    console: ConsoleClient, acme: dict[str, Any]
) -> None:
    refused = console.post("/console/products/acme/privacy/erase", {"user": "ada", "confirm": "ad"})
    assert refused.status_code == 422
    assert field_error(refused, "confirm") == "Type the same user id again to confirm the erasure."
    assert console.get("/console/products/acme/user?id=ada").status_code == 200
    done = console.post("/console/products/acme/privacy/erase", {"user": "ada", "confirm": "ada"})
    assert done.status_code == 303
    shown = text_of(console.get(done.headers["location"]))
    assert "The user was erased" in shown
    assert "erased_" in shown
    assert console.get("/console/products/acme/user?id=ada").status_code == 404
    unknown = console.post(
        "/console/products/acme/privacy/erase", {"user": "nobody", "confirm": "nobody"}
    )
    assert unknown.status_code == 404
    assert "has no user" in (field_error(unknown, "user") or "")


def test_an_api_keys_session_sees_no_other_products_log_or_users(
    client: Any, acme: dict[str, Any], db: Database, settings: Settings
) -> None:
    factories.product(db, settings, id="globex", name="Globex")
    factories.users(db, "globex", [("ada", {"email": "globex-ada@example.com"})])
    tenant = ConsoleClient(client)
    assert tenant.sign_in(acme["api_key"]).status_code == 303
    for path in (
        "/console/products/globex/audit",
        "/console/products/globex/privacy",
        "/console/products/globex/privacy/export?user=ada",
    ):
        answer = tenant.get(path)
        assert answer.status_code == 404, path
        assert "globex-ada" not in answer.text
    erase = tenant.post("/console/products/globex/privacy/erase", {"user": "ada", "confirm": "ada"})
    assert erase.status_code == 404
    assert tenant.get("/console/products/acme/audit").status_code == 200


def test_the_operator_reads_every_products_log_and_a_key_may_not(
    console: ConsoleClient, client: Any, acme: dict[str, Any], db: Database, settings: Settings
) -> None:
    factories.product(db, settings, id="globex", name="Globex")
    for product in ("acme", "globex"):
        changed = client.patch(f"/v1/products/{product}", json={"leeway_seconds": 7}, headers=ADMIN)
        assert changed.status_code == 200
    everything = console.get("/console/audit")
    assert everything.status_code == 200
    assert "Audit log (all products)" in everything.text
    shown = text_of(everything)
    assert "globex" in shown
    assert "acme" in shown
    only = text_of(console.get("/console/audit?product=globex"))
    assert "globex" in only
    assert "acme" not in only
    tenant = ConsoleClient(client)
    tenant.http.cookies.clear()
    assert tenant.sign_in(acme["api_key"]).status_code == 303
    assert tenant.get("/console/audit").status_code == 403
