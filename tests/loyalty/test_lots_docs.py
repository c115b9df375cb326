"""docs/loyalty.md's requests for lots, holds and reversal, replayed as written: each `curl` of
those sections is sent to the service, and each answer the guide shows has the fields the
service answers with. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from plaudit.settings import Settings
from plaudit.store.db import Database
from tests.support import factories
from tests.support.service import Clock, bearer
from tests.support.tenant import Tenant

GUIDE = Path(__file__).parents[2] / "docs" / "loyalty.md"
SECTIONS = ("## Lots: ", "## Holds: ", "## Reversal: ")
BLOCK = re.compile(r"```(sh|json)\n(.*?)```", re.S)


def _section(title: str) -> str:
    text = GUIDE.read_text()
    start = text.index(title)
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def _requests(section: str) -> list[tuple[str, str, dict[str, Any] | None, Any]]:
    """Each curl of the section: (method, path, body, the JSON answer shown after it)."""
    found: list[tuple[str, str, dict[str, Any] | None, Any]] = []
    for language, block in BLOCK.findall(section):
        if language == "json":
            if found and found[-1][3] is None and block.lstrip().startswith("{"):
                found[-1] = (*found[-1][:3], json.loads(block))
            continue
        for command in block.replace("\\\n", " ").splitlines():
            words = shlex.split(command, comments=True)
            if not words:
                continue
            assert words[0] == "curl", command
            method = words[words.index("-X") + 1]
            url = next(w for w in words if w.startswith("$PLAUDIT/"))
            body = json.loads(words[words.index("-d") + 1]) if "-d" in words else None
            found.append((method, url.removeprefix("$PLAUDIT"), body, None))
    return found


@pytest.fixture
def acme(client: TestClient, clock: Clock, db: Database, settings: Settings) -> Tenant:
    return Tenant(client, factories.product(db, settings, id="acme"), clock)


def test_the_lots_holds_and_reversal_requests_work_as_written(
    acme: Tenant, client: TestClient
) -> None:
    """Every request of the three sections succeeds against a product set up as the guide's
    reader has it (a rule to change, order 1001 earned), and the answers shown are the
    service's own shape."""
    key = bearer(acme.product["api_key"])
    rule = acme.rule(name="Purchase", event_type="purchase", property="amount", rate=1)
    sent = client.post(
        "/v1/products/acme/events",
        headers=key,
        json={
            "user_id": "u-1",
            "type": "purchase",
            "id": "order-1001",
            "properties": {"amount": 300},
        },
    )
    assert sent.status_code == 202, sent.text
    replayed = 0
    for title in SECTIONS:
        for method, written, body, shown in _requests(_section(title)):
            path = written.replace("$RULE", rule["id"])
            response = client.request(method, path, headers=key, json=body)
            assert response.status_code < 300, (method, path, response.text)
            if shown is not None:
                assert set(shown) == set(response.json()), path
            replayed += 1
    assert replayed == 6
    points = acme.me("u-1")["points"]
    assert set(points) == {"balance", "lifetime", "pending", "next_release", "next_expiry"}
