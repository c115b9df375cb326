"""bench/verify.py runs end to end: a smoke test, with no timing assertion."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "verify.py"
ALGORITHMS = {"HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "ES384", "EdDSA"}
MEASURED = ("plaudit_fresh", "plaudit_cached", "pyjwt", "joserfc", "floor")
RATIOS = ("pyjwt_over_plaudit", "joserfc_over_plaudit", "plaudit_over_floor")


def test_quick_json_run_reports_every_algorithm_with_positive_numbers() -> None:
    """`verify.py --quick --json` prints every algorithm with a positive time and ratio for each column."""
    completed = subprocess.run(  # noqa: S603  # our own script, fixed arguments
        [sys.executable, str(SCRIPT), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(completed.stdout)
    assert report["unit"] == "us/token"
    assert set(report["results"]) >= ALGORITHMS
    for alg, row in report["results"].items():
        for column in (*MEASURED, *RATIOS):
            assert row[column] > 0, (alg, column)
