"""bench/tiers.py runs end to end on SQLite: a smoke test, with no timing assertion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "tiers.py"


def test_a_small_json_run_reports_every_method() -> None:
    """`tiers.py` at a tiny size generates a ledger, times the four methods and reports each."""
    completed = subprocess.run(  # noqa: S603  # our own script, fixed arguments
        [sys.executable, str(SCRIPT), "--users", "50", "--history", "2", "--rounds", "1", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    row = json.loads(completed.stdout)["results"]["sqlite"]
    assert set(row) == {"lifetime", "rolling", "sum", "pass"}
    assert all(value > 0 for value in row.values())
