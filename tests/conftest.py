"""Suite-wide switches: optional backends skip loudly on a laptop and fail in CI.

``PLAUDIT_REQUIRE_BACKENDS`` (set by ``.ci/run``) names the backends that must be present
(``postgres``, ``browser``, ``redis``, ``shell``, ``node``, ``ruby``); a test that would skip
for want of one of them fails instead. The first three are found by their own variables:
``PLAUDIT_TEST_POSTGRES_URL``, ``PLAUDIT_TEST_CHROMIUM``, ``PLAUDIT_TEST_REDIS_URL``; the last
three, which the guides' steps need, on PATH (tests/support/runtimes.py).
"""

from __future__ import annotations

import os

import pytest

# The service under test (stores, app, clients, the `plaudit` command) for every folder that
# mirrors a package of src/; tests/auth and tests/browser never ask for these fixtures.
pytest_plugins = ("tests.support.service",)

REQUIRED = {b.strip() for b in os.environ.get("PLAUDIT_REQUIRE_BACKENDS", "").split(",") if b}


def missing_backend(backend: str, why: str) -> None:
    """Skip (loudly) or, where the backend is required, fail."""
    message = f"{backend} unavailable: {why}"
    if backend in REQUIRED:
        pytest.fail(f"{message} (required by PLAUDIT_REQUIRE_BACKENDS)", pytrace=False)
    pytest.skip(message)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Only the skips missing_backend made: a test that does not apply to a store says so itself.
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if " unavailable: " in str(report.longrepr)
    ]
    if skipped:
        terminalreporter.write_sep(
            "!", f"{len(skipped)} tests SKIPPED for missing backends; CI runs them", yellow=True
        )
