"""docs/referrals.md runs as written: its shell steps, read from the Markdown at test time, run
in order against a real `plaudit demo`, and each answer it shows is what Plaudit answers (the
convention of tests/integrations/test_guides_run.py, whose fixture and runner this reuses)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integrations.guide_blocks import read_guide
from tests.integrations.test_guides_run import Served, follow, served

__all__ = ["served"]  # the served `plaudit demo` fixture, used by name below

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "referrals.md"

pytestmark = [pytest.mark.slow]


def test_the_referrals_guide_runs_as_written(
    served: Served, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Screening, the review queue and holds, exactly as docs/referrals.md shows them."""
    guide = read_guide(GUIDE)
    assert len(guide.runs) >= 10, "the guide shows its requests as shell steps"
    follow(guide, tmp_path_factory.mktemp("referrals-guide"), served)
