"""`plaudit rewards codes`: a reward's code pool from a terminal; a large CSV is read as it
goes and stored in chunks, one transaction each, with the API's own parsing and counting."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from plaudit.audit.models import AuditEntry
from plaudit.store.db import Database
from tests.support.service import ADMIN, Run, cli_error_line, cli_json


@pytest.fixture
def sh(cli: Run) -> Run:
    def run(line: str, **kwargs: Any) -> Any:
        return cli(*shlex.split(line), **kwargs)

    return run


@pytest.fixture
def card(sh: Run) -> dict[str, Any]:
    sh("products create Acme --id acme")
    reward: dict[str, Any] = cli_json(
        sh("rewards add acme --name Card --cost 10 --fulfilment code --low-codes-at 2 --json")
    )
    return reward


def test_a_large_csv_is_uploaded_in_chunks_and_a_rerun_adds_nothing(
    sh: Run, card: dict[str, Any], tmp_path: Path, client: TestClient, db: Database
) -> None:
    """12,000 codes in chunks of 5,000: three transactions, one duplicate and one bad line
    counted; the same file again adds nothing; the pool's count is the API's."""
    assert (card["fulfilment"], card["low_codes_at"]) == ("code", 2)
    lines = ["code"] + [f"CARD-{n:05d}" for n in range(12_000)] + ["CARD-00007", ",extra"]
    csv = tmp_path / "codes.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = cli_json(sh(f"rewards codes upload acme {card['id']} {csv} --chunk-size 5000 --json"))
    assert first == {
        "added": 12_000,
        "duplicates": 1,
        "refused_count": 1,
        "chunks": 3,
        "remaining": 12_000,
        "refused": [{"line": 12_003, "error": "Line 12003 has an empty code."}],
    }
    again = sh(f"rewards codes upload acme {card['id']} {csv}").stdout
    assert "0 codes added" in again
    assert "12001 duplicates skipped" in again
    assert "Line 12003 has an empty code." in again
    assert "CARD-" not in again
    status = cli_json(sh(f"rewards codes status acme {card['id']} --json"))
    assert status == {
        "reward_id": card["id"],
        "remaining": 12_000,
        "handed_out": 0,
        "low_codes_at": 2,
    }
    api = client.get(f"/v1/products/acme/rewards/{card['id']}/codes", headers=ADMIN).json()
    assert api["remaining"] == 12_000
    with db.session() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action == "reward.codes_upload")
        ).all()
    assert len(actions) == 2  # one per upload, not per chunk
    assert cli_json(sh(f"rewards codes discard acme {card['id']} --yes --json")) == {
        "discarded": 12_000
    }


def test_codes_for_a_reward_without_a_pool_are_refused_before_the_file_is_read(
    sh: Run, card: dict[str, Any], tmp_path: Path
) -> None:
    """An instant reward or an unknown one: one line, exit 1, nothing read."""
    sticker = cli_json(sh("rewards add acme --name Sticker --cost 1 --json"))
    csv = tmp_path / "codes.csv"
    csv.write_text("A\n", encoding="utf-8")
    refused = sh(f"rewards codes upload acme {sticker['id']} {csv}", exit_code=1)
    assert "not from codes" in cli_error_line(refused, "conflict")
    missing = sh(f"rewards codes upload acme rwd_nope {csv}", exit_code=1)
    cli_error_line(missing, "not_found")
    bad = sh("rewards add acme --name X --cost 1 --fulfilment mail", exit_code=1)
    cli_error_line(bad, "invalid_request")
