"""Cells a spreadsheet cannot mistake for formulas (CSV injection, OWASP).

A text cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which
some spreadsheets skip before looking) is written with a leading apostrophe: Excel, LibreOffice
and Google Sheets show it as text. Numbers are written as numbers: a negative ledger delta stays
a number.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str | int:
    """One value as its CSV cell: empty for None, ISO 8601 UTC for times, text made inert."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return value
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text
