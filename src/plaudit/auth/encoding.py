"""Strict base64url (RFC 7515 section 2) and JSON for the pieces of a token.

Lenient decoders are how token libraries end up with malleable signatures and parser
differentials, so everything here refuses what a careful encoder never produces: padding,
characters outside the URL-safe alphabet, non-zero trailing bits, a byte-order mark, invalid
UTF-8, lone surrogates, duplicate member names, NaN and Infinity.
"""

from __future__ import annotations

import binascii
import json
import math
import re
from collections.abc import Iterator
from typing import Any

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
# The last character of a canonical encoding carries only zero bits past the data: with 2 or 3
# characters in the final quantum, 4 or 2 low bits of that character must be zero.
_CANONICAL_LAST = {
    2: frozenset("AQgw"),
    3: frozenset("AEIMQUYcgkosw048"),
}


class EncodingError(ValueError):
    """Raised for anything that is not canonical base64url or strict JSON."""


def b64url_encode(data: bytes) -> str:
    return (
        binascii.b2a_base64(data, newline=False)
        .decode("ascii")
        .rstrip("=")
        .translate(str.maketrans("+/", "-_"))
    )


def b64url_decode_segment(segment: str) -> bytes:
    """Decode one segment of a token that holds no '+', '/' or '=' (the caller checked).

    The C decoder's strict mode refuses every character outside the alphabet (whitespace,
    dots, non-ASCII); what is left to check here is the length and the trailing bits.
    """
    rem = len(segment) % 4
    if rem:
        if rem == 1:
            raise EncodingError("its length is not a valid base64url length")
        if segment[-1] not in _CANONICAL_LAST[rem]:
            raise EncodingError("it is not canonical base64url (non-zero trailing bits)")
        segment += "==" if rem == 2 else "="
    try:
        # Two replace() calls beat str.translate by 8x here (measured: 0.26 vs 2.2 us).
        return binascii.a2b_base64(segment.replace("-", "+").replace("_", "/"), strict_mode=True)
    except ValueError:  # binascii.Error, or non-ASCII text
        raise EncodingError("it holds characters outside unpadded base64url") from None


def b64url_decode(segment: str) -> bytes:
    """Decode canonical, unpadded base64url."""
    if not isinstance(segment, str) or _B64URL.fullmatch(segment) is None:
        raise EncodingError("it holds characters outside unpadded base64url")
    return b64url_decode_segment(segment)


def b64url_uint(segment: str) -> int:
    """An unsigned big-endian integer as JWK members encode it (RFC 7518 section 2)."""
    raw = b64url_decode(segment)
    if not raw:
        raise EncodingError("it is empty")
    return int.from_bytes(raw, "big")


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise EncodingError(f"member {_quote(name)} appears twice")
            seen.add(name)
    return obj


def _no_constants(name: str) -> Any:
    raise EncodingError(f"{name} is not a JSON number")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e400 would parse to inf: refuse it like Infinity
        raise EncodingError(f"the number {_quote(literal)} is too large to represent")
    return value


def json_scalars(value: Any) -> Iterator[Any]:
    """Every key and every value that is not an object or an array, anywhere in parsed JSON.
    Iterative, not recursive: the JSON parser accepts nesting deeper than Python's stack would
    allow a recursive walk to follow."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        else:
            yield item


def _has_lone_surrogate(value: Any) -> bool:
    for item in json_scalars(value):
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


# One decoder, built once: json.loads() with hooks builds a new JSONDecoder on every call.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_object_without_duplicates,
    parse_constant=_no_constants,
    parse_float=_finite_float,
)
_SCAN = _DECODER.scan_once  # type: ignore[attr-defined]  # set by JSONDecoder.__init__


def strict_json_object(raw: bytes) -> dict[str, Any]:
    """Parse one JSON object from UTF-8 bytes, refusing every ambiguity a parser might differ on."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raise EncodingError("it starts with a byte-order mark")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise EncodingError("it is not valid UTF-8") from None
    try:
        # The C scanner directly, when the text starts with its object: decode() around it
        # spends as long again on two whitespace regexes (measured 2.2 vs 1.2 us a payload).
        if text[:1] == "{":
            obj, end = _SCAN(text, 0)
            if end != len(text) and text[end:].strip(" \t\n\r"):
                raise EncodingError("it has data after the JSON object")
        else:
            obj = _DECODER.decode(text)
    except RecursionError:
        raise EncodingError("it is nested too deeply") from None
    except StopIteration:
        raise EncodingError("it is not valid JSON") from None
    except EncodingError:
        raise
    except ValueError as exc:  # JSONDecodeError, and int() past the digit limit
        raise EncodingError(f"it is not valid JSON ({_first_line(exc)})") from None
    if not isinstance(obj, dict):
        raise EncodingError("it is JSON but not an object")
    # A \u escape is the only way to write a lone surrogate in valid UTF-8 JSON: skip the walk
    # when there is none.
    if "\\u" in text and _has_lone_surrogate(obj):
        raise EncodingError("it holds a lone UTF-16 surrogate")
    return obj


def compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _first_line(exc: Exception) -> str:
    return str(exc).split("\n", 1)[0]


def _quote(name: str, limit: int = 40) -> str:
    """Quote untrusted text for a message: bounded, printable, never raw control characters."""
    shown = name if len(name) <= limit else name[:limit] + "..."
    return repr(shown)


quote = _quote
