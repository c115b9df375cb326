"""`plaudit audit list` and `plaudit privacy`: the audit log as a table, and privacy requests
made from a terminal, recorded as the CLI's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import cli_error_line, cli_json


def test_the_terminals_changes_are_audited_and_listed_as_a_table(cli: Any) -> None:
    cli("products", "create", "Acme", "--id", "acme")
    rotated = cli_json(cli("secrets", "rotate", "acme", "--json"))
    table = cli("audit", "list", "--product", "acme").stdout
    assert "Audit log" in table
    assert "product.create" in table
    assert "secret.create" in table
    assert "cli" in table
    entries = cli_json(cli("audit", "list", "--action", "secret.create", "--json"))["entries"]
    assert (entries[0]["target_id"], entries[0]["actor"]["label"]) == (rotated["kid"], "cli")


def test_the_audit_list_pages_by_cursor(cli: Any) -> None:
    cli("products", "create", "Acme", "--id", "acme")
    first = cli("audit", "list", "--limit", "1")
    assert "More: --cursor" in first.stdout
    cursor = first.stdout.split("--cursor")[1].split()[0]
    second = cli_json(cli("audit", "list", "--limit", "1", "--cursor", cursor, "--json"))
    assert len(second["entries"]) == 1
    refused = cli("audit", "list", "--cursor", "x1", exit_code=1)
    cli_error_line(refused, "invalid_request")


def test_export_and_erase_from_a_terminal(
    cli: Any, db: Database, settings: Settings, tmp_path: Path
) -> None:
    factories.product(db, settings, id="acme")
    factories.users(db, "acme", [("ada", {"email": "ada@example.com"})])
    out = tmp_path / "ada.json"
    cli("privacy", "export", "acme", "ada", "--output", str(out))
    document = json.loads(out.read_text())
    assert document["profile"]["email"] == "ada@example.com"
    assert cli("privacy", "erase", "acme", "ada", input="n\n", exit_code=1)
    erased = cli_json(cli("privacy", "erase", "acme", "ada", "--yes", "--json"))
    assert erased["already_erased"] is False
    assert erased["requested_by"] == "cli"
    again = cli("privacy", "erase", "acme", "ada", "--yes")
    assert "was erased before" in again.stdout
    listed = cli_json(cli("privacy", "list", "acme", "--json"))
    assert [(r["kind"], r["user_id"]) for r in listed] == [
        ("erase", erased["user_id"]),
        ("export", erased["user_id"]),
    ]
    missing = cli("privacy", "export", "acme", "ada", exit_code=1)
    cli_error_line(missing, "not_found")
