"""The error-code reference is generated from the code and every code is unique and documented."""

from __future__ import annotations

from pathlib import Path

from plaudit.auth.errors import all_error_types
from plaudit.error_codes import GUIDE_CODES, render
from plaudit.errors import all_service_error_types

DOC = Path(__file__).resolve().parent.parent / "docs" / "errors.md"


def test_docs_errors_md_is_the_generated_table() -> None:
    """docs/errors.md is what `python -m plaudit.error_codes` prints: regenerate it if not."""
    assert DOC.read_text() == render()


def test_every_error_code_is_unique_and_explained() -> None:
    """No two failures share a code, and each has a description and a hint for the caller."""
    types = all_error_types() + all_service_error_types()
    codes = [t.code for t in types]
    assert len(codes) == len(set(codes)), sorted(c for c in codes if codes.count(c) > 1)
    for t in types:
        assert t.description, t
        assert t.hint or t.code in {"not_found", "conflict", "rate_limited"}, t


def test_the_gamification_guides_five_codes_exist() -> None:
    """The five codes that guide documents are answered exactly by those names."""
    assert {t.code for t in all_error_types()} >= GUIDE_CODES
