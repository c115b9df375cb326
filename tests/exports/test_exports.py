"""CSV exports of users, ledger and referrals: documented columns, a product's own rows only,
text that a spreadsheet cannot run, streamed at constant memory. Both stores."""

from __future__ import annotations

import csv
import io
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, text

from plaudit.exports.cells import cell
from plaudit.exports.stream import CHUNK, csv_chunks
from plaudit.exports.tables import EXPORTS
from plaudit.settings import Settings
from plaudit.store.db import Database
from plaudit.users.models import User
from tests.support import factories
from tests.support.activity import DAY1, known_history
from tests.support.service import ADMIN, Run, bearer, cli_error_line


@pytest.fixture
def acme(db: Database, settings: Settings) -> dict[str, Any]:
    acme = factories.product(db, settings, id="acme")
    factories.product(db, settings, id="beta")
    with db.session() as session:
        known_history(session, "acme")
        known_history(session, "beta", suffix="_beta")
    return acme


def _export(client: TestClient, kind: str, expect: int = 200, **params: str) -> Any:
    response = client.get(f"/v1/products/acme/exports/{kind}", headers=ADMIN, params=params)
    assert response.status_code == expect, response.text
    return response


def _rows(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+33 6 12", "'+33 6 12"),
        ("-5 for a refund", "'-5 for a refund"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=cmd", "'\t=cmd"),
        ("Ann = 1", "Ann = 1"),
        (-30, -30),
        (None, ""),
    ],
)
def test_a_text_cell_that_a_spreadsheet_would_run_starts_with_an_apostrophe(
    value: Any, written: Any
) -> None:
    """= + - @ (and a leading tab) make a text cell inert; numbers stay numbers."""
    assert cell(value) == written


def test_the_users_export_lists_the_documented_columns_of_the_products_users(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """A download (text/csv, attachment) with a header row, one row per user of acme, formula
    text made inert, times in ISO 8601 UTC."""
    response = _export(client, "users")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="acme-users.csv"'
    header = next(csv.reader(io.StringIO(response.text)))
    assert header == EXPORTS["users"].header
    rows = {row["user_id"]: row for row in _rows(response.text)}
    assert set(rows) == {"ann", "bob", "carl"}  # beta's users are not here
    assert rows["ann"]["first_name"] == '\'=HYPERLINK("http://x")'
    assert rows["ann"]["email"] == "ann@example.com"
    assert rows["ann"]["share_code"] == "ANNACME"
    assert (rows["ann"]["points_balance"], rows["ann"]["points_lifetime"]) == ("30", "60")
    assert rows["ann"]["first_seen_at"] == "2026-03-01T09:30:00Z"
    assert rows["carl"]["points_balance"] == "0"


def test_the_ledger_export_keeps_numbers_and_order(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """Entries in the order written; deltas as signed numbers; a reason starting with '-'
    inert; 'from' and 'to' narrow by the entry's day."""
    rows = _rows(_export(client, "ledger").text)
    assert [(r["user_id"], r["kind"], r["delta"]) for r in rows] == [
        ("ann", "earn", "10"),
        ("bob", "earn", "10"),
        ("ann", "earn", "50"),
        ("bob", "earn", "10"),
        ("ann", "redeem", "-30"),
        ("bob", "adjust", "-5"),
        ("bob", "expire", "-5"),
        ("bob", "redeem", "-10"),
    ]
    assert [int(r["entry_id"]) for r in rows] == sorted(int(r["entry_id"]) for r in rows)
    adjust = rows[5]
    assert adjust["reason"] == "'-5 for a returned order"
    assert adjust["balance_after"] == "15"
    assert rows[4]["redemption_id"].startswith("red_")
    day2 = _rows(_export(client, "ledger", **{"from": "2026-03-02", "to": "2026-03-02"}).text)
    assert [r["kind"] for r in day2] == ["redeem", "adjust"]
    since = _rows(_export(client, "ledger", **{"from": "2026-03-03"}).text)
    assert [r["kind"] for r in since] == ["expire", "redeem"]


def test_the_referrals_export_shows_each_referral_with_its_reward(
    client: TestClient, acme: dict[str, Any]
) -> None:
    """Referrer and referred ids, signup and conversion times, and the reward if any."""
    rows = _rows(_export(client, "referrals").text)
    assert [
        (r["referrer_id"], r["referred_id"], r["converted_at"], r["reward_amount"]) for r in rows
    ] == [("ann", "carl", "2026-03-02T09:30:00Z", "10"), ("ann", "dan", "", "")]
    assert rows[0]["signed_up_at"] == DAY1.isoformat().replace("+00:00", "Z")
    assert rows[0]["reward_kind"] == "credit"


def test_an_export_is_refused_to_another_products_key_and_for_a_backwards_window(
    client: TestClient, acme: dict[str, Any], db: Database, settings: Settings
) -> None:
    """Another product's API key finds no acme; from after to is a 422 naming 'from'."""
    other = factories.product(db, settings, id="gamma")
    response = client.get("/v1/products/acme/exports/users", headers=bearer(other["api_key"]))
    assert response.status_code == 404
    refused = _export(client, "ledger", 422, **{"from": "2026-03-03", "to": "2026-03-01"})
    assert refused.json()["field"] == "from"


def _peak_memory(db: Database, product_id: str) -> tuple[int, int, set[int]]:
    """(peak Python memory, CSV characters, open server-side cursors seen) of one export."""
    with db.session() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        tracemalloc.start()
        try:
            size, cursors = 0, set()
            for chunk in csv_chunks(session, EXPORTS["users"], product_id):
                size += len(chunk)
                assert len(chunk) < CHUNK + 1024
                if postgres:
                    cursors.add(session.scalar(text("SELECT count(*) FROM pg_cursors")) or 0)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return peak, size, cursors


def test_an_export_streams_in_chunks_at_constant_memory(db: Database, settings: Settings) -> None:
    """Four times the rows take no more memory: 10,000 and 40,000 users come out in chunks of
    about 64 KiB through a cursor fetched 1,000 rows at a time (on PostgreSQL a server-side
    cursor): the peak of Python memory does not grow with the rows."""
    for product_id, users in (("small", 10_000), ("large", 40_000)):
        factories.product(db, settings, id=product_id)
        with db.session() as session:
            session.execute(
                insert(User),
                [
                    {"product_id": product_id, "external_id": f"u{n:05}", "email": f"u{n}@x.io"}
                    for n in range(users)
                ],
            )
    _peak_memory(db, "small")  # the first run compiles and caches the statement
    small, small_size, _ = _peak_memory(db, "small")
    large, large_size, cursors = _peak_memory(db, "large")
    assert large_size > 3.9 * small_size
    assert large < small * 1.5 + 256 * 1024, (small, large)
    if db.url.startswith("postgresql"):
        assert cursors  # every chunk came while a named (server-side) cursor was open
        assert 0 not in cursors


def test_the_cli_writes_the_export_to_a_file_with_a_progress_bar(
    cli: Run, acme: dict[str, Any], client: TestClient, tmp_path: Path
) -> None:
    """`plaudit export ledger --product acme --output f.csv` writes what the API sends, shows
    its progress on stderr, and will not overwrite a file without --force."""
    target = tmp_path / "ledger.csv"
    result = cli("export", "ledger", "--product", "acme", "--output", str(target))
    assert target.read_bytes() == _export(client, "ledger").content
    assert "8/8" in result.stderr  # the progress bar, complete
    assert "Wrote 8 ledger rows" in result.stdout
    again = cli("export", "ledger", "--product", "acme", "--output", str(target), exit_code=1)
    cli_error_line(again, "os_error")
    cli(
        "export", "users", "--product", "acme", "-o", str(target), "--force", "--from", "2026-03-02"
    )
    assert [r["user_id"] for r in _rows(target.read_text(encoding="utf-8"))] == ["bob"]
    missing = cli(
        "export", "users", "--product", "nope", "-o", str(tmp_path / "x.csv"), exit_code=1
    )
    cli_error_line(missing, "not_found")
