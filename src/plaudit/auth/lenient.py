"""Lenient decoding: what a forgiving decoder reads of a token the strict parser refuses.

Only the explainer uses it, to show a tenant what their token says and why Plaudit refuses it;
nothing read here is ever verified or trusted (``encoding.py`` is what the verifier reads with).
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from .encoding import EncodingError, b64url_decode, strict_json_object


def b64_decode(segment: str) -> bytes | None:
    """base64 or base64url, padded or not, with whitespace: anything a decoder might accept."""
    cleaned = "".join(segment.split()).rstrip("=").replace("+", "-").replace("/", "_")
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        return None


def json_object(raw: bytes) -> dict[str, Any] | None:
    """A JSON object as a lenient parser reads it (a BOM, bad UTF-8, NaN, duplicates), or None."""
    try:
        value = json.loads(
            raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace"),
            parse_constant=str,
            parse_float=_finite_or_text,
        )
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def read_segment(segment: str) -> tuple[dict[str, Any] | None, str | None]:
    """A header or payload segment read leniently, and why the strict decoder refuses it."""
    try:
        strict_json_object(b64url_decode(segment))
    except EncodingError as exc:
        problem: str | None = str(exc)
    else:
        problem = None
    raw = b64_decode(segment)
    return (json_object(raw) if raw is not None else None), problem


def _finite_or_text(literal: str) -> float | str:
    value = float(literal)
    return value if math.isfinite(value) else literal
