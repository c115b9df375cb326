"""The token as a whole: well formed or not, read leniently when not, and its signature's size."""

from __future__ import annotations

from typing import Any, Literal

from .. import algorithms as algs
from .. import lenient
from ..compact import DEFAULT_MAX_TOKEN_BYTES, ParsedToken, TokenParser
from ..errors import AuthError
from .findings import Findings

# A lenient look at a token far past any size limit is not worth the memory or the screen.
_LENIENT_LIMIT = 8 * DEFAULT_MAX_TOKEN_BYTES
_SIGNATURE_BYTES = {
    "HS256": 32,
    "HS384": 48,
    "HS512": 64,
    "ES256": 64,
    "ES384": 96,
    "ES512": 132,
    "EdDSA": 64,
}

Read = tuple[ParsedToken | None, AuthError | None, dict[str, Any] | None, dict[str, Any] | None]


def read_token(token: str, parser: TokenParser, out: Findings, *, verifying: bool) -> Read:
    """Parse strictly; failing that, read leniently. Returns (parsed, error, header, claims)."""
    try:
        parsed = parser.parse(token)
    except AuthError as exc:
        out.add_error("token", "token", exc)
        header, claims = _read_leniently(token, out)
        return None, exc, header, claims
    out.add(
        "ok",
        "token",
        "token",
        f"A well-formed signed JWT (JWS compact serialization) of {len(token)} bytes.",
    )
    if not verifying:
        out.add(
            "info",
            "token",
            "token",
            "Decoded without verifying: nothing in it is to be trusted until its "
            "signature is checked against the product's key.",
        )
    explain_signature(parsed.header.alg, parsed.signature, out)
    return parsed, None, dict(parsed.header.fields), parsed.claims


def _read_leniently(
    token: str, out: Findings
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    if not isinstance(token, str) or not token.strip():
        return None, None
    if len(token) > _LENIENT_LIMIT:
        out.add(
            "info",
            "token",
            "token",
            f"The token is {len(token)} bytes: too large to decode even leniently.",
        )
        return None, None
    text = _cleaned(token, out)
    parts = text.split(".")
    if len(parts) not in (3, 5):
        return None, None
    out.add(
        "info",
        "token",
        "token",
        "Shown below as a lenient decoder reads it; Plaudit refuses the token as it is.",
    )
    header = _segment(parts[0], "header", out)
    claims = None if len(parts) == 5 else _segment(parts[1], "claims", out)
    if len(parts) == 3 and header is not None and claims is not None:
        signature = lenient.b64_decode(parts[2])
        if signature is not None and isinstance(header.get("alg"), str):
            explain_signature(header["alg"], signature, out)
    return header, claims


def _cleaned(token: str, out: Findings) -> str:
    """The token without the quotes or 'Bearer ' it was pasted with, each named."""
    text = token.strip()
    if text[:1] in "\"'" and text[-1:] == text[:1] and len(text) > 1:
        out.add(
            "error",
            "token",
            "token",
            "The token is wrapped in quotes: pass the token alone, without the quotes of "
            "the JSON or code it was copied from.",
        )
        text = text[1:-1].strip()
    if text[:7].lower() == "bearer ":
        out.add(
            "error",
            "token",
            "token",
            "The token starts with 'Bearer ': that is the Authorization header's scheme, "
            "not part of the token. Pass the token alone.",
        )
        text = text[7:].strip()
    if text != token:
        try:
            TokenParser().parse(text)
        except AuthError as exc:
            out.add("error", "token", "token", f"Once cleaned: {exc.message}", error=exc)
        else:
            out.add("info", "token", "token", "Once cleaned, the token is well formed.")
    return text


def _segment(
    segment: str, section: Literal["header", "claims"], out: Findings
) -> dict[str, Any] | None:
    what = "header" if section == "header" else "payload"
    decoded, problem = lenient.read_segment(segment)
    if problem is not None:
        out.add(
            "error",
            section,
            what,
            f"The {what} is not strictly valid: {problem}."
            + (
                " A lenient decoder reads it as shown."
                if decoded is not None
                else " Not even a lenient decoder can read it as a JSON object."
            ),
        )
    return decoded


def explain_signature(alg: str, signature: bytes, out: Findings) -> None:
    """The signature's size against what its algorithm makes (a DER ECDSA signature is named)."""
    size = len(signature)
    expected = _SIGNATURE_BYTES.get(alg)
    if size == 0:
        out.add(
            "error",
            "token",
            "signature",
            "The signature is empty: the token is unsigned and never verifies.",
        )
    elif expected is not None and size != expected:
        extra = ""
        if alg.startswith("ES") and signature[:1] == b"\x30":
            extra = (
                " It looks DER-encoded; JWS carries ECDSA signatures as raw R || S "
                "(RFC 7518 section 3.4): let a JWT library sign, or convert it."
            )
        out.add(
            "error",
            "token",
            "signature",
            f"The signature is {size} bytes; {alg} signatures are {expected} bytes.{extra}",
        )
    elif alg.startswith(("RS", "PS")) and algs.get(alg) is not None and size < 256:
        out.add(
            "warning",
            "token",
            "signature",
            f"The signature is {size} bytes: the RSA key that made it has fewer than 2048 "
            "bits, and Plaudit refuses such keys.",
        )
    else:
        out.add("info", "token", "signature", f"A {size}-byte signature.")
