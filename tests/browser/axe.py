"""axe-core in Chromium: the accessibility check of the browser suite (vendor/axe-core/README.md
says where the file comes from and why it is vendored)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests.conftest import missing_backend

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.14.1"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
#: The impacts a page may not have (axe's scale: minor, moderate, serious, critical).
BLOCKING = ("serious", "critical")
#: WCAG 2.1 A and AA rules and axe's best practices.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@cache
def axe_source() -> str:
    """The pinned axe-core, or a loud skip (a failure where the browser backend is required)."""
    if not AXE.is_file():
        missing_backend("browser", f"axe-core is missing at {AXE} (see vendor/axe-core/README.md)")
    body = AXE.read_bytes()
    if hashlib.sha256(body).hexdigest() != AXE_SHA256:
        missing_backend("browser", f"{AXE} is not axe-core {AXE_VERSION} as pinned")
    return body.decode()


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.impact} {self.rule}: {self.help} at {', '.join(self.targets[:3])}"


def run_axe(page: Any) -> list[Violation]:
    """axe's violations on the page as it is now (evaluated through the DevTools protocol, so
    the console's CSP, which allows no injected script, stays on)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    assert page.evaluate("() => window.axe.version") == AXE_VERSION
    results = page.evaluate(
        """async (tags) => {
            const found = await window.axe.run(document, {
                runOnly: { type: "tag", values: tags },
                resultTypes: ["violations"],
            });
            return found.violations.map((v) => ({
                rule: v.id, impact: v.impact || "", help: v.help,
                targets: v.nodes.map((n) => n.target.join(" ")),
            }));
        }""",
        TAGS,
    )
    return [Violation(r["rule"], r["impact"], r["help"], tuple(r["targets"])) for r in results]


def blocking(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.impact in BLOCKING]
