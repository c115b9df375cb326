"""bench/leaderboard.py runs end to end on SQLite: a smoke test, with no timing assertion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "leaderboard.py"


def test_quick_json_run_ranks_every_size_and_agrees_with_the_live_query() -> None:
    """`leaderboard.py --quick` at tiny sizes generates, refreshes, checks the snapshot against
    the live query (it exits non-zero if they disagree) and reports every size."""
    completed = subprocess.run(  # noqa: S603  # our own script, fixed arguments
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--sizes",
            "200,1k",
            "--stores",
            "sqlite",
            "--rounds",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(completed.stdout)
    rows = report["results"]["sqlite"]
    assert [row["users"] for row in rows] == [200, 1000]
    for row in rows:
        assert row["ranked"]["all-time"] == row["users"]
        assert 0 < row["ranked"]["week"] < row["ranked"]["month"] < row["users"]
        for column in ("snapshot_us", "snapshot_ratio", "live_us", "live_ratio"):
            assert row[column] > 0, column
        assert set(row["refresh_seconds"]) == {"all-time", "week", "month"}
    assert rows[0]["snapshot_ratio"] == 1.0
