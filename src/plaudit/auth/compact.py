"""Strict parsing of the JWS Compact Serialization (RFC 7515 section 7.1), before any crypto.

Everything a signature check does not need to trust is settled here: the size, the shape, the
encoding, the header's algorithm and extensions. Nothing in a header ever makes Plaudit fetch,
decompress or pick a key: ``jwk``, ``jku``, ``x5u``, ``x5c`` and ``x5t`` are ignored, ``zip``
and unencoded payloads are refused, and so is every ``crit``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from . import algorithms as algs
from .encoding import EncodingError, b64url_decode_segment, quote, strict_json_object
from .errors import (
    MalformedToken,
    MissingToken,
    TokenTooLarge,
    UnsupportedAlgorithm,
    UnsupportedCriticalHeader,
)
from .keys import MAX_KID_LENGTH

DEFAULT_MAX_TOKEN_BYTES = 8 * 1024
_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_HEADER_CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class Header:
    """A validated protected header. Shared between tokens with the same header segment."""

    alg: str
    kid: str | None
    typ: str | None
    fields: Mapping[str, Any]
    #: The algorithm's verify function, looked up once per distinct header.
    verify: algs.Verify


@dataclass(slots=True)
class ParsedToken:
    """A token that is well formed but not yet verified: nothing in it is to be trusted yet.

    Read-only by contract; not ``frozen`` for the same measured reason as ``VerifiedToken``.
    """

    token: str
    header: Header
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes


class TokenParser:
    """Parses tokens strictly. Holds a small cache of validated headers.

    A product's tokens share one header (``{"alg":"HS256","typ":"JWT"}`` and a ``kid``), so the
    header segment of the next token has usually been decoded and checked already.
    """

    __slots__ = ("_headers", "max_bytes")

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_TOKEN_BYTES) -> None:
        self.max_bytes = max_bytes
        self._headers: dict[str, Header] = {}

    def parse(self, token: object) -> ParsedToken:
        return ParsedToken(token, *self.parts(token))  # type: ignore[arg-type]  # parts() checked it is a str

    def parts(self, token: object) -> tuple[Header, dict[str, Any], bytes, bytes]:
        """(header, claims, signing input, signature): ``parse`` without the wrapper object,
        for the verifier's hot path."""
        if not isinstance(token, str):
            raise MalformedToken("The token is not a string.")
        if not token:
            raise MissingToken()
        if len(token) > self.max_bytes:
            raise TokenTooLarge(
                f"The token is {len(token)} bytes; this product accepts at most {self.max_bytes}."
            )
        # The strict decoder refuses any character outside the alphabet; these three it would
        # take for their standard-alphabet meaning, so they are refused here. The whole-token
        # regular expression (0.7 us) runs only to explain a failure.
        if "+" in token or "/" in token or "=" in token:
            raise MalformedToken(_shape_problem(token))
        signing_input, _, signature_segment = token.rpartition(".")
        header_segment, dot, payload_segment = signing_input.partition(".")
        if not dot or not header_segment or not payload_segment or "." in payload_segment:
            raise MalformedToken(_shape_problem(token))
        header = self._headers.get(header_segment)
        if header is None:
            header = _parse_header(token, header_segment)
            if len(self._headers) >= _HEADER_CACHE_SIZE:
                self._headers.clear()
            self._headers[header_segment] = header
        try:
            claims = strict_json_object(b64url_decode_segment(payload_segment))
        except EncodingError as exc:
            raise MalformedToken(_problem(token, "payload cannot be parsed", exc)) from None
        try:
            signature = b64url_decode_segment(signature_segment)
        except EncodingError as exc:
            raise MalformedToken(_problem(token, "signature cannot be decoded", exc)) from None
        return header, claims, signing_input.encode("ascii"), signature


def parse_unverified(token: object, *, max_bytes: int = DEFAULT_MAX_TOKEN_BYTES) -> ParsedToken:
    """Parse without verifying: for routing a token to its product and for ``token inspect``."""
    return TokenParser(max_bytes=max_bytes).parse(token)


def _shape_problem(token: str) -> str:
    if token[:7].lower() == "bearer ":
        return "The token starts with 'Bearer '; send only the token itself here."
    parts = token.split(".")
    if len(parts) == 5:
        return (
            "The token has five parts: it looks like an encrypted token (JWE). Plaudit "
            "accepts signed tokens (JWS) only."
        )
    if len(parts) != 3:
        return f"A JWT has three parts separated by dots; this token has {len(parts)}."
    if token != token.strip():
        return "The token has surrounding whitespace."
    if "=" in token:
        return "The token holds '=' padding; JWTs use unpadded base64url."
    if "+" in token or "/" in token:
        return "The token holds '+' or '/'; JWTs use the URL-safe base64 alphabet ('-' and '_')."
    if not parts[0] or not parts[1]:
        return "The token's header or payload part is empty."
    return "The token holds characters outside the base64url alphabet."


def _problem(token: str, what: str, exc: EncodingError) -> str:
    """The message for a part that failed: the token's shape first, if that is what is wrong."""
    if _SHAPE.fullmatch(token) is None:
        return _shape_problem(token)
    return f"The token's {what}: {exc}."


def _parse_header(token: str, segment: str) -> Header:
    try:
        fields = strict_json_object(b64url_decode_segment(segment))
    except EncodingError as exc:
        raise MalformedToken(_problem(token, "header cannot be parsed", exc)) from None
    alg = fields.get("alg")
    if alg is None:
        raise UnsupportedAlgorithm("The token's header has no 'alg'.")
    if not isinstance(alg, str):
        raise MalformedToken("The token's 'alg' is not a string.")
    if alg.lower() == "none":
        raise UnsupportedAlgorithm(
            f"The token is unsigned ('alg': {quote(alg)}); unsigned tokens never verify."
        )
    if algs.get(alg) is None:
        hint = None
        if alg.startswith(("PBES2", "RSA-OAEP", "RSA1_5", "ECDH", "A1", "A2", "dir")):
            hint = "This is a JWE key-management algorithm; Plaudit accepts signed JWTs (JWS) only."
        raise UnsupportedAlgorithm(f"The algorithm {quote(alg)} is not supported.", hint=hint)
    if "crit" in fields:
        raise UnsupportedCriticalHeader(
            "The token's header lists critical extensions ('crit'); Plaudit understands none."
        )
    if "enc" in fields:
        raise MalformedToken("The token's header has 'enc': that is an encrypted token (JWE).")
    if "zip" in fields:
        raise MalformedToken(
            "The token's header asks for a compressed payload ('zip'); signed JWTs are never "
            "compressed."
        )
    if fields.get("b64", True) is not True:
        raise MalformedToken(
            "The token's header asks for an unencoded payload ('b64'); Plaudit verifies "
            "base64url payloads only."
        )
    kid = fields.get("kid")
    if kid is not None and (
        not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH or not kid.isprintable()
    ):
        raise MalformedToken(
            f"The token's 'kid' must be a string of 1 to {MAX_KID_LENGTH} printable characters."
        )
    typ = fields.get("typ")
    if typ is not None and not isinstance(typ, str):
        raise MalformedToken("The token's 'typ' is not a string.")
    return Header(
        alg=alg,
        kid=kid,
        typ=typ,
        fields=MappingProxyType(fields),
        verify=algs.ALGORITHMS[alg].verify,
    )
