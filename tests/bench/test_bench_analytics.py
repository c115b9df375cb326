"""bench/analytics.py runs end to end on SQLite: a smoke test, with no timing assertion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "analytics.py"


def test_a_small_json_run_seeds_checks_and_times_every_query() -> None:
    """`analytics.py --users 2k` seeds the history, checks the dashboard against plain counts
    (it exits non-zero if they disagree) and reports a time for each query and the whole."""
    completed = subprocess.run(  # noqa: S603  # our own script, fixed arguments
        [sys.executable, str(SCRIPT), "--users=2k", "--stores=sqlite", "--rounds=1", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(completed.stdout)
    result = report["results"]["sqlite"]
    assert result["rows"]["users"] == 2000
    assert result["rows"]["events"] == 4000
    timings = result["timings"]
    assert "whole dashboard (service.dashboard)" in timings
    assert "first read: counts and keeps the ended days" in timings
    for name, timing in timings.items():
        assert timing["median_ms"] > 0, name
