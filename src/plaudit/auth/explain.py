"""Explain a token in plain English, without trusting it: for ``plaudit token inspect`` and the
admin console's "test a token" box.

``explain(token, now=...)`` decodes with the strict parser; when that refuses the token, it still
shows what a lenient decoder can read and says precisely what is wrong. Every header field and
registered claim gets a finding (a status, the field it concerns and one sentence), then the
token profile it looks like and its user id, and, given a ``Verifier``, the outcome of the real
verification rule by rule. The result is plain data with a ``to_dict()`` for JSON.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from . import algorithms as algs
from .claims import ClaimPolicy, is_missing, resolve, utc_date
from .compact import DEFAULT_MAX_TOKEN_BYTES, ParsedToken, TokenParser
from .encoding import EncodingError, b64url_decode, quote, strict_json_object
from .errors import (
    AuthError,
    InvalidClaim,
    InvalidSignature,
    MalformedToken,
    MissingRequiredClaim,
    TokenExpired,
    TokenLifetimeTooLong,
    TokenNotYetValid,
)
from .profiles import TokenProfile, guess_profile
from .verifier import Verifier

Status = Literal["ok", "warning", "error", "info"]
Section = Literal["token", "header", "claims", "profile", "verification"]

#: Header parameters that name or carry a key. A verifier that honoured them would let the token
#: choose its own key; Plaudit ignores them and uses the product's registered keys.
KEY_HEADERS = ("jwk", "jku", "x5u", "x5c")
THUMBPRINT_HEADERS = ("x5t", "x5t#S256")
REGISTERED_CLAIMS = ("exp", "iat", "nbf", "iss", "aud", "sub", "jti", "scope", "scp")
# A lenient look at a token far past any size limit is not worth the memory or the screen.
_LENIENT_LIMIT = 8 * DEFAULT_MAX_TOKEN_BYTES
# 10^11 seconds is the year 5138: a time that large is almost surely in milliseconds.
_MILLISECONDS = 1e11
_JWE_ALGORITHMS = ("PBES2", "RSA-OAEP", "RSA1_5", "ECDH", "A128", "A192", "A256", "dir")
_HASH = {"256": "SHA-256", "384": "SHA-384", "512": "SHA-512"}
_SIGNATURE_BYTES = {
    "HS256": 32,
    "HS384": 48,
    "HS512": 64,
    "ES256": 64,
    "ES384": 96,
    "ES512": 132,
    "EdDSA": 64,
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One observation about a token: how it stands, what it concerns, and why."""

    status: Status
    section: Section
    #: The header field or claim concerned ("alg", "exp", "user.id"), or a step ("signature").
    field: str
    message: str
    #: The decoded value concerned, when there is one (untrusted: show it, never act on it).
    value: Any = None
    #: The stable error code of ``plaudit.auth.errors`` this finding corresponds to.
    code: str | None = None
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "section": self.section,
            "field": self.field,
            "message": self.message,
            "value": self.value,
            "code": self.code,
            "hint": self.hint,
        }


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything ``explain`` found. Nothing in ``header`` or ``claims`` is verified."""

    #: The strict parser accepted the token (it may still fail verification).
    well_formed: bool
    header: Mapping[str, Any] | None
    claims: Mapping[str, Any] | None
    findings: tuple[Finding, ...]
    #: The name of the profile the token was read with (the verifier's, else the guessed one).
    profile: str | None = None
    user_id: str | None = None
    #: Why the strict parser refused the token: ``{"error", "message", "hint"}``.
    error: Mapping[str, str] | None = None
    #: With a verifier: ``{"valid": True}`` or ``{"valid": False, "error", "message", "hint"}``.
    verification: Mapping[str, Any] | None = field(default=None)

    @property
    def valid(self) -> bool | None:
        """True or False when a verifier judged the token, None when none was given."""
        if self.verification is None:
            return None
        return bool(self.verification["valid"])

    def by_status(self, status: Status) -> list[Finding]:
        return [f for f in self.findings if f.status == status]

    def to_dict(self) -> dict[str, Any]:
        return {
            "well_formed": self.well_formed,
            "error": dict(self.error) if self.error is not None else None,
            "header": dict(self.header) if self.header is not None else None,
            "claims": dict(self.claims) if self.claims is not None else None,
            "profile": self.profile,
            "user_id": self.user_id,
            "verification": dict(self.verification) if self.verification is not None else None,
            "findings": [f.to_dict() for f in self.findings],
        }


def explain(token: str, *, now: float, verifier: Verifier | None = None) -> Explanation:
    """Explain ``token`` as of ``now`` (Unix seconds); with ``verifier``, verify it too.

    Never raises for any token text: every problem becomes a finding.
    """
    return _Explainer(token, now, verifier).run()


class _Explainer:
    def __init__(self, token: str, now: float, verifier: Verifier | None) -> None:
        self.token = token
        self.now = now
        self.verifier = verifier
        self.findings: list[Finding] = []
        #: The profile the claims are read with: the verifier's, else the guessed one.
        self.chosen: TokenProfile | None = None

    def add(
        self,
        status: Status,
        section: Section,
        name: str,
        message: str,
        value: Any = None,
        *,
        error: AuthError | None = None,
    ) -> None:
        self.findings.append(
            Finding(
                status,
                section,
                name,
                message,
                value,
                code=error.code if error is not None else None,
                hint=(error.hint or None) if error is not None else None,
            )
        )

    def add_error(self, section: Section, name: str, error: AuthError, value: Any = None) -> None:
        self.add("error", section, name, error.message, value, error=error)

    # --- the whole ----------------------------------------------------------------------

    def run(self) -> Explanation:
        parse_error: AuthError | None = None
        parsed: ParsedToken | None = None
        header: dict[str, Any] | None
        claims: dict[str, Any] | None
        try:
            parser = self.verifier.parser if self.verifier is not None else TokenParser()
            parsed = parser.parse(self.token)
        except AuthError as exc:
            parse_error = exc
        if parsed is not None:
            header, claims = dict(parsed.header.fields), parsed.claims
            self.add(
                "ok",
                "token",
                "token",
                f"A well-formed signed JWT (JWS compact serialization) of {len(self.token)} bytes.",
            )
            if self.verifier is None:
                self.add(
                    "info",
                    "token",
                    "token",
                    "Decoded without verifying: nothing in it is to be trusted until its "
                    "signature is checked against the product's key.",
                )
            self._signature(parsed.header.alg, parsed.signature)
        elif parse_error is not None:
            self.add_error("token", "token", parse_error)
            header, claims = self._lenient()
        if header is not None:
            self._header(header)
        profile: TokenProfile | None = None
        user_id: str | None = None
        if claims is not None:
            self._claims(claims)
            profile, user_id = self._profile(claims, header or {})
        verification: dict[str, Any] | None = None
        if self.verifier is not None:
            verification = self._verify(self.verifier, parsed, parse_error)
        return Explanation(
            well_formed=parsed is not None,
            header=header,
            claims=claims,
            findings=tuple(self.findings),
            profile=profile.name if profile is not None else None,
            user_id=user_id,
            error=parse_error.as_dict() if parse_error is not None else None,
            verification=verification,
        )

    # --- what a strict parser refuses, read leniently -----------------------------------

    def _lenient(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        token = self.token
        if not isinstance(token, str) or not token.strip():
            return None, None
        if len(token) > _LENIENT_LIMIT:
            self.add(
                "info",
                "token",
                "token",
                f"The token is {len(token)} bytes: too large to decode even leniently.",
            )
            return None, None
        text = token.strip()
        if text[:1] in "\"'" and text[-1:] == text[:1] and len(text) > 1:
            self.add(
                "error",
                "token",
                "token",
                "The token is wrapped in quotes: pass the token alone, without the quotes of "
                "the JSON or code it was copied from.",
            )
            text = text[1:-1].strip()
        if text[:7].lower() == "bearer ":
            self.add(
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
                self.add("error", "token", "token", f"Once cleaned: {exc.message}", error=exc)
            else:
                self.add("info", "token", "token", "Once cleaned, the token is well formed.")
        parts = text.split(".")
        if len(parts) not in (3, 5):
            return None, None
        self.add(
            "info",
            "token",
            "token",
            "Shown below as a lenient decoder reads it; Plaudit refuses the token as it is.",
        )
        header = self._lenient_part(parts[0], "header")
        claims = None if len(parts) == 5 else self._lenient_part(parts[1], "claims")
        if len(parts) == 3 and header is not None and claims is not None:
            signature = _lenient_b64(parts[2])
            if signature is not None and isinstance(header.get("alg"), str):
                self._signature(header["alg"], signature)
        return header, claims

    def _lenient_part(
        self, segment: str, section: Literal["header", "claims"]
    ) -> dict[str, Any] | None:
        what = "header" if section == "header" else "payload"
        try:
            strict_json_object(b64url_decode(segment))
        except EncodingError as exc:
            strict_problem: str | None = str(exc)
        else:
            strict_problem = None
        raw = _lenient_b64(segment)
        value: Any = None
        if raw is not None:
            try:
                value = json.loads(
                    raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace"),
                    parse_constant=str,
                    parse_float=_finite_or_text,
                )
            except (ValueError, RecursionError):
                value = None
        decoded = value if isinstance(value, dict) else None
        if strict_problem is not None:
            self.add(
                "error",
                section,
                what,
                f"The {what} is not strictly valid: {strict_problem}."
                + (
                    " A lenient decoder reads it as shown."
                    if decoded is not None
                    else " Not even a lenient decoder can read it as a JSON object."
                ),
            )
        return decoded

    # --- the signature ------------------------------------------------------------------

    def _signature(self, alg: str, signature: bytes) -> None:
        size = len(signature)
        expected = _SIGNATURE_BYTES.get(alg)
        if size == 0:
            self.add(
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
            self.add(
                "error",
                "token",
                "signature",
                f"The signature is {size} bytes; {alg} signatures are {expected} bytes.{extra}",
            )
        elif alg.startswith(("RS", "PS")) and algs.get(alg) is not None and size < 256:
            self.add(
                "warning",
                "token",
                "signature",
                f"The signature is {size} bytes: the RSA key that made it has fewer than 2048 "
                "bits, and Plaudit refuses such keys.",
            )
        else:
            self.add("info", "token", "signature", f"A {size}-byte signature.")

    # --- the header ---------------------------------------------------------------------

    def _header(self, header: Mapping[str, Any]) -> None:
        self._alg(header)
        self._typ(header)
        self._kid(header)
        for name, value in header.items():
            if name in ("alg", "typ", "kid"):
                continue
            if name in KEY_HEADERS:
                self.add(
                    "warning",
                    "header",
                    name,
                    f"Ignored: Plaudit never takes a key from the token itself ({name!r}); it "
                    "verifies with the keys registered for the product.",
                    value,
                )
            elif name in THUMBPRINT_HEADERS:
                self.add(
                    "info",
                    "header",
                    name,
                    "Ignored: a certificate thumbprint; Plaudit picks the key by 'kid' only.",
                    value,
                )
            elif name == "crit":
                self.add(
                    "error",
                    "header",
                    name,
                    "Lists critical extensions; Plaudit understands none and refuses the token.",
                    value,
                )
            elif name == "enc":
                self.add(
                    "error",
                    "header",
                    name,
                    "Marks an encrypted token (JWE); Plaudit accepts signed tokens (JWS) only.",
                    value,
                )
            elif name == "zip":
                self.add(
                    "error",
                    "header",
                    name,
                    "Asks for a compressed payload; signed JWTs are never compressed and "
                    "Plaudit refuses them.",
                    value,
                )
            elif name == "b64":
                if value is True:
                    self.add("info", "header", name, "The default (a base64url payload).", value)
                else:
                    self.add(
                        "error",
                        "header",
                        name,
                        "Asks for an unencoded payload (RFC 7797); Plaudit refuses it.",
                        value,
                    )
            elif name == "cty":
                self.add(
                    "info",
                    "header",
                    name,
                    "A content type: ignored (nested tokens are not supported).",
                    value,
                )
            else:
                self.add("info", "header", name, "Not used by Plaudit.", value)

    def _alg(self, header: Mapping[str, Any]) -> None:
        if "alg" not in header:
            self.add("error", "header", "alg", "Missing: every signed JWT names its algorithm.")
            return
        alg = header["alg"]
        if not isinstance(alg, str):
            self.add("error", "header", "alg", "Not a string.", alg)
            return
        if alg.lower() == "none":
            self.add(
                "error",
                "header",
                "alg",
                "The token is unsigned ('none'); unsigned tokens never verify.",
                alg,
            )
            return
        if algs.get(alg) is None:
            message = f"{quote(alg)} is not an algorithm Plaudit verifies."
            close = [name for name in algs.ALGORITHMS if name.lower() == alg.lower()]
            if close:
                message += f" Algorithm names are case-sensitive: did you mean {close[0]!r}?"
            elif alg.startswith(_JWE_ALGORITHMS):
                message += (
                    " It is a JWE key-management algorithm: Plaudit accepts signed JWTs only."
                )
            self.add("error", "header", "alg", message, alg)
            return
        self.add("ok", "header", "alg", _describe_alg(alg) + ".", alg)

    def _typ(self, header: Mapping[str, Any]) -> None:
        if "typ" not in header:
            self.add(
                "info",
                "header",
                "typ",
                "Absent: accepted unless the product requires a token type (the guides set 'JWT').",
            )
            return
        typ = header["typ"]
        if not isinstance(typ, str):
            self.add("error", "header", "typ", "Not a string.", typ)
        elif typ.lower() in ("jwt", "application/jwt"):
            self.add("ok", "header", "typ", "A JWT.", typ)
        else:
            self.add(
                "info",
                "header",
                "typ",
                f"The type {quote(typ)}: accepted unless the product requires another.",
                typ,
            )

    def _kid(self, header: Mapping[str, Any]) -> None:
        if "kid" not in header:
            self.add(
                "info",
                "header",
                "kid",
                "Absent: every enabled key of the product for this algorithm is tried.",
            )
            return
        kid = header["kid"]
        if not isinstance(kid, str) or not kid or len(kid) > 256 or not kid.isprintable():
            self.add(
                "error",
                "header",
                "kid",
                "A key id must be a string of 1 to 256 printable characters.",
                kid,
            )
            return
        self.add(
            "info",
            "header",
            "kid",
            f"Names the key {quote(kid)}: only that key of the product is tried.",
            kid,
        )

    # --- the claims ---------------------------------------------------------------------

    def _claims(self, claims: Mapping[str, Any]) -> None:
        profile = self._profile_to_use(claims)
        required = profile.required_claims if profile is not None else ()
        exp = self._time(claims, "exp", required)
        iat = self._time(claims, "iat", required)
        self._time(claims, "nbf", required)
        if exp is not None and iat is not None and exp > iat:
            self.add(
                "info",
                "claims",
                "exp",
                f"The token's lifetime (exp - iat) is {describe_duration(exp - iat)}.",
                claims.get("exp"),
            )
        for name in ("iss", "aud", "sub", "jti"):
            self._string_claim(claims, name, required)
        self._scope(claims, profile)
        used = _profile_roots(profile) if profile is not None else {}
        for name, value in claims.items():
            if name in REGISTERED_CLAIMS:
                continue
            role = used.get(name)
            if role is not None and profile is not None:
                self.add(
                    "info",
                    "claims",
                    name,
                    f"Read by the {profile.name} profile as {role}.",
                    value,
                )
            else:
                self.add(
                    "info",
                    "claims",
                    name,
                    "A custom claim: kept in the verified token's claims as it is.",
                    value,
                )

    def _time(
        self, claims: Mapping[str, Any], name: str, required: tuple[str, ...]
    ) -> float | None:
        if name not in claims:
            self._missing_time(name, required)
            return None
        value = claims[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "a string" if isinstance(value, str) else "not a number"
            self.add(
                "error",
                "claims",
                name,
                f"{_TIME_NAMES[name]} must be a number of seconds since the Unix epoch; this is "
                f"{kind}.",
                value,
                error=InvalidClaim(),
            )
            return None
        seconds = _as_float(value)
        if seconds is None:
            self.add(
                "error",
                "claims",
                name,
                f"{_TIME_NAMES[name]} is not a finite number.",
                value,
                error=InvalidClaim(),
            )
            return None
        when = describe_delta(seconds - self.now)
        date = utc_date(seconds)
        if seconds >= _MILLISECONDS:
            self.add(
                "error" if name != "exp" else "warning",
                "claims",
                name,
                f"{_TIME_NAMES[name]} is {date}: this looks like milliseconds. JWT times are "
                "seconds since the Unix epoch (in JavaScript, Math.floor(Date.now() / 1000)).",
                value,
            )
            return None
        if name == "exp":
            if self.now >= seconds:
                self.add(
                    "error",
                    "claims",
                    name,
                    f"Expired {when} ({date}).",
                    value,
                    error=TokenExpired(),
                )
            else:
                self.add("ok", "claims", name, f"Expires {when} ({date}).", value)
        elif name == "iat":
            if seconds > self.now:
                self.add(
                    "error",
                    "claims",
                    name,
                    f"Issued in the future: {when} ({date}). Check the signing server's clock.",
                    value,
                    error=TokenNotYetValid(),
                )
            else:
                self.add("ok", "claims", name, f"Issued {when} ({date}).", value)
        elif seconds > self.now:
            self.add(
                "error",
                "claims",
                name,
                f"Not valid yet: valid from {when} ({date}).",
                value,
                error=TokenNotYetValid(),
            )
        else:
            self.add("ok", "claims", name, f"Valid since {when} ({date}).", value)
        return seconds

    def _missing_time(self, name: str, required: tuple[str, ...]) -> None:
        profile = self._profile_name
        if name in required:
            self.add(
                "error",
                "claims",
                name,
                f"Missing; the {profile} profile requires it.",
                error=MissingRequiredClaim(),
            )
        elif name == "exp" and profile == "reditus":
            self.add(
                "info",
                "claims",
                name,
                "Absent, as in the referral widget guide: the product's maximum token age "
                "(counted from 'iat') bounds how long the token is accepted.",
            )
        elif name == "exp":
            self.add(
                "warning",
                "claims",
                name,
                "Absent: the token never expires by itself unless the product sets a maximum "
                "token age. Set one (the guides recommend 1 to 24 hours).",
            )
        elif name == "iat":
            self.add(
                "info",
                "claims",
                name,
                "Absent: the token's age is unknown, so a product's maximum token age cannot "
                "apply to it.",
            )
        else:
            self.add("info", "claims", name, "Absent: the token is valid from the start.")

    def _string_claim(
        self, claims: Mapping[str, Any], name: str, required: tuple[str, ...]
    ) -> None:
        if name not in claims:
            if name in required:
                self.add(
                    "error",
                    "claims",
                    name,
                    f"Missing; the {self._profile_name} profile requires it.",
                    error=MissingRequiredClaim(),
                )
            elif name in ("iss", "aud"):
                self.add(
                    "info",
                    "claims",
                    name,
                    f"Absent: fine unless the product requires an {_STRING_NAMES[name]}.",
                )
            return
        value = claims[name]
        if name == "aud":
            if isinstance(value, str) or (
                isinstance(value, list) and value and all(isinstance(v, str) for v in value)
            ):
                shown = value if isinstance(value, str) else ", ".join(value)
                self.add("info", "claims", name, f"Audience {quote(shown, 80)}.", value)
            else:
                self.add(
                    "error",
                    "claims",
                    name,
                    "The audience must be a string or a non-empty array of strings.",
                    value,
                    error=InvalidClaim(),
                )
            return
        if isinstance(value, str) and value:
            text = {
                "iss": f"Issuer {quote(value, 80)}.",
                "sub": f"Subject {quote(value, 80)}.",
                "jti": f"Token id {quote(value, 80)}: lets the product revoke this one token.",
            }[name]
            self.add("info", "claims", name, text, value)
        elif name == "sub" and type(value) is int:
            self.add(
                "warning",
                "claims",
                name,
                f"The subject is a number; Plaudit reads it as the user id '{value}', but RFC "
                "7519 makes 'sub' a string and other libraries may refuse it.",
                value,
            )
        elif name == "jti":
            self.add(
                "warning",
                "claims",
                name,
                "Not a non-empty string, so it is ignored (the token cannot be revoked by id).",
                value,
            )
        else:
            self.add(
                "error",
                "claims",
                name,
                f"The {_STRING_NAMES[name]} must be a non-empty string.",
                value,
                error=InvalidClaim(),
            )

    def _scope(self, claims: Mapping[str, Any], profile: TokenProfile | None) -> None:
        present = [n for n in ("scope", "scp") if n in claims]
        if not present:
            defaults = profile.default_scopes if profile is not None else frozenset()
            self.add(
                "info",
                "claims",
                "scope",
                "Absent: the product's default scopes apply"
                + (f" ({', '.join(sorted(defaults))})." if defaults else "."),
            )
            return
        for name in present:
            value = claims[name]
            if value is None:
                self.add("warning", "claims", name, "Null, so ignored.", value)
                continue
            if isinstance(value, str):
                scopes = value.split()
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                scopes = list(value)
            else:
                self.add(
                    "error",
                    "claims",
                    name,
                    "Scopes must be an array of strings or a space-separated string.",
                    value,
                    error=InvalidClaim(),
                )
                continue
            if scopes:
                self.add("info", "claims", name, f"Grants {', '.join(scopes)}.", value)
            else:
                self.add("warning", "claims", name, "Grants no scope at all.", value)
        if len(present) == 2 and claims["scope"] is not None and claims["scp"] is not None:
            self.add("info", "claims", "scp", "Ignored: 'scope' is read when both are present.")

    # --- the profile --------------------------------------------------------------------

    @property
    def _profile_name(self) -> str:
        return self.chosen.name if self.chosen is not None else "token"

    def _profile_to_use(self, claims: Mapping[str, Any]) -> TokenProfile | None:
        self.chosen = self.verifier.profile if self.verifier is not None else guess_profile(claims)
        return self.chosen

    def _profile(
        self, claims: Mapping[str, Any], header: Mapping[str, Any]
    ) -> tuple[TokenProfile | None, str | None]:
        guessed = guess_profile(claims)
        if guessed is None:
            self.add(
                "warning",
                "profile",
                "profile",
                "The token matches no guide's shape: it has no 'sub', no 'UserId' with "
                "'ProductId', and no 'user' object.",
            )
        else:
            self.add(
                "info",
                "profile",
                "profile",
                f"Looks like a token of the {guessed.name} profile: {guessed.title}.",
                guessed.name,
            )
        profile = guessed
        if self.verifier is not None:
            profile = self.verifier.profile
            if guessed is None or guessed.name != profile.name:
                self.add(
                    "warning",
                    "profile",
                    "profile",
                    f"The product reads its tokens with the {profile.name} profile "
                    f"({profile.title}); the user id is looked for in {quote(profile.user_id)}.",
                    profile.name,
                )
        if profile is None:
            return None, None
        alg = header.get("alg")
        if isinstance(alg, str) and alg not in profile.algorithms and algs.get(alg) is not None:
            self.add(
                "info",
                "profile",
                "alg",
                f"The {profile.name} guide signs with {', '.join(profile.algorithms)}; this token "
                f"uses {alg}, which is fine if the product's key is for {alg}.",
                alg,
            )
        missing = [c for c in profile.required_claims if is_missing(resolve(claims, c))]
        # Registered claims were reported with the claims, and the user id is reported below.
        unreported = [c for c in missing if c not in REGISTERED_CLAIMS and c != profile.user_id]
        if unreported:
            self.add(
                "error",
                "profile",
                "required",
                f"The {profile.name} profile requires {', '.join(map(repr, unreported))}, "
                "missing from the token.",
                unreported,
                error=MissingRequiredClaim(),
            )
        elif not missing:
            self.add(
                "ok",
                "profile",
                "required",
                f"Has every claim the {profile.name} profile requires "
                f"({', '.join(profile.required_claims)}).",
            )
        user_id: str | None = None
        try:
            user_id = profile.user_id_of(claims)
        except AuthError as exc:
            self.add_error("profile", "user_id", exc)
        else:
            self.add(
                "ok",
                "profile",
                "user_id",
                f"The user id is {quote(user_id, 80)} (from {quote(profile.user_id)}).",
                user_id,
            )
        try:
            product = profile.product_of(claims)
        except AuthError as exc:
            self.add_error("profile", "product", exc)
        else:
            if product is not None and profile.product_claim is not None:
                self.add(
                    "info",
                    "profile",
                    "product",
                    f"Names the product {quote(product, 80)} (from "
                    f"{quote(profile.product_claim)}): it routes the token to that product's "
                    "keys and grants nothing by itself.",
                    product,
                )
        try:
            scopes = profile.scopes_of(claims)
        except AuthError:
            pass  # reported with the claim
        else:
            self.add(
                "info",
                "profile",
                "scopes",
                "Scopes granted: " + (", ".join(sorted(scopes)) if scopes else "none") + ".",
                sorted(scopes),
            )
        fields = profile.profile_of(claims)
        if fields:
            self.add(
                "info",
                "profile",
                "fields",
                "Profile fields: "
                + ", ".join(f"{k} {quote(v, 60)}" for k, v in fields.items())
                + ".",
                fields,
            )
        return profile, user_id

    # --- the real verification ------------------------------------------------------------

    def _verify(
        self, verifier: Verifier, parsed: ParsedToken | None, parse_error: AuthError | None
    ) -> dict[str, Any]:
        if parsed is None:
            parse_error = parse_error or MalformedToken()
            self.add(
                "error",
                "verification",
                "result",
                "Not verified: the token is refused before any key is tried.",
                error=parse_error,
            )
            return {"valid": False, **parse_error.as_dict()}
        now = self.now
        header = parsed.header
        claims = parsed.claims
        try:
            candidates = verifier.keys.candidates(header.alg, header.kid, now)
        except AuthError as exc:
            self.add_error("verification", "key", exc, header.kid)
        else:
            names = ", ".join(quote(k.kid) for k in candidates)
            self.add(
                "ok",
                "verification",
                "key",
                f"{len(candidates)} key{'s' if len(candidates) != 1 else ''} of the product may "
                f"verify {header.alg}: {names}.",
            )
            check = algs.ALGORITHMS[header.alg].verify
            good = next(
                (
                    k
                    for k in candidates
                    if check(k.material, parsed.signing_input, parsed.signature)
                ),
                None,
            )
            if good is None:
                self.add_error("verification", "signature", InvalidSignature())
            else:
                self.add(
                    "ok",
                    "verification",
                    "signature",
                    f"The signature holds: made with the key {quote(good.kid)}.",
                )
        self._policy(verifier.policy, claims)
        fresh = Verifier(verifier.keys, policy=verifier.policy, profile=verifier.profile)
        try:
            try:
                verified = fresh.verify_parsed(parsed, now=now)
            except ArithmeticError:
                raise time_out_of_range() from None
        except AuthError as exc:
            self.add(
                "error",
                "verification",
                "result",
                f"Refused: {exc.message}",
                error=exc,
            )
            return {"valid": False, **exc.as_dict()}
        self.add(
            "ok",
            "verification",
            "result",
            f"Valid: the token identifies the user {quote(verified.user_id, 80)}.",
            verified.user_id,
        )
        return {"valid": True}

    def _policy(self, policy: ClaimPolicy, claims: Mapping[str, Any]) -> None:
        now = self.now
        for path in policy.required_claims:
            if is_missing(resolve(claims, path)):
                self.add_error(
                    "verification",
                    path,
                    MissingRequiredClaim(
                        f"The required claim {quote(path)} is missing.", claim=path
                    ),
                )
        leeway = f" (leeway {policy.leeway:g} s)" if policy.leeway else ""

        def rule(
            name: str,
            rules: ClaimPolicy,
            subset: tuple[str, ...],
            ok: str,
            *,
            only: type[AuthError] = AuthError,
        ) -> None:
            picked = {c: claims[c] for c in subset if c in claims}
            try:
                try:
                    rules.validate(picked, now)
                except ArithmeticError:
                    raise time_out_of_range() from None
            except only as exc:
                self.add_error("verification", name, exc)
            except AuthError:
                pass  # reported by the rule it belongs to
            else:
                self.add("ok", "verification", name, ok)

        rule(
            "exp",
            ClaimPolicy(leeway=policy.leeway, require_expiry=policy.require_expiry),
            ("exp",),
            ("Not expired" if "exp" in claims else "No expiry required") + leeway + ".",
        )
        if "nbf" in claims:
            rule("nbf", ClaimPolicy(leeway=policy.leeway), ("nbf",), f"Already valid{leeway}.")
        if "iat" in claims:
            rule(
                "iat",
                ClaimPolicy(leeway=policy.leeway, max_age=policy.max_age),
                ("iat",),
                "Not issued in the future"
                + (
                    f" and younger than {describe_duration(policy.max_age)}"
                    if policy.max_age
                    else ""
                )
                + leeway
                + ".",
            )
        if policy.max_lifetime is not None:
            rule(
                "lifetime",
                ClaimPolicy(leeway=policy.leeway, max_lifetime=policy.max_lifetime),
                ("exp", "iat"),
                f"Lives no longer than {describe_duration(policy.max_lifetime)}.",
                only=TokenLifetimeTooLong,
            )
        if policy.issuer is not None:
            rule(
                "iss",
                ClaimPolicy(issuer=policy.issuer),
                ("iss",),
                f"The issuer is {quote(policy.issuer)}, as the product expects.",
            )
        if policy.audience is not None:
            rule(
                "aud",
                ClaimPolicy(audience=policy.audience),
                ("aud",),
                f"The audience includes {quote(policy.audience)}, as the product expects.",
            )


_TIME_NAMES = {
    "exp": "The expiry ('exp')",
    "iat": "The issue time ('iat')",
    "nbf": "The start of validity ('nbf')",
}
_STRING_NAMES = {"iss": "issuer", "aud": "audience", "sub": "subject", "jti": "token id"}


def time_out_of_range() -> InvalidClaim:
    """The error for a time claim too large to compare with a clock.

    ``ClaimPolicy.validate`` lets ``OverflowError`` escape for an integer time beyond a float's
    range (``"exp": 1e400`` written as digits), which the strict JSON parser accepts.
    """
    return InvalidClaim(
        "A time claim ('exp', 'nbf' or 'iat') is too large to be a time.",
        hint="Times are seconds since the Unix epoch, such as 1767225600.",
    )


def _describe_alg(alg: str) -> str:
    bits = alg[2:]
    if alg.startswith("HS"):
        return f"{alg}: HMAC with {_HASH[bits]}, signed and verified with a shared secret"
    if alg.startswith("RS"):
        return f"{alg}: RSA (PKCS #1 v1.5) with {_HASH[bits]}, verified with an RSA public key"
    if alg.startswith("PS"):
        return f"{alg}: RSA-PSS with {_HASH[bits]}, verified with an RSA public key"
    if alg.startswith("ES"):
        curve = algs.ALGORITHMS[alg].curve
        return f"{alg}: ECDSA on {curve} with {_HASH[bits]}, verified with an EC public key"
    return f"{alg}: Ed25519 signatures, verified with an Ed25519 public key"


def _profile_roots(profile: TokenProfile) -> dict[str, str]:
    """The top-level claims a profile reads, and what for."""
    roots: dict[str, str] = {}

    def add(path: str, role: str) -> None:
        roots.setdefault(path.split(".", 1)[0], role)

    add(profile.user_id, "the user id" if "." not in profile.user_id else "the user")
    if profile.product_claim:
        add(profile.product_claim, "the product id")
    for name, paths in profile.fields.items():
        for path in paths:
            add(path, f"the profile field {name!r}")
    return roots


def _lenient_b64(segment: str) -> bytes | None:
    cleaned = "".join(segment.split()).rstrip("=").replace("+", "-").replace("/", "_")
    try:
        return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))
    except (binascii.Error, ValueError):
        return None


def _finite_or_text(literal: str) -> float | str:
    value = float(literal)
    return value if math.isfinite(value) else literal


def _as_float(value: int | float) -> float | None:
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) else None


def describe_duration(seconds: float) -> str:
    """A duration in words: "45 seconds", "1 minute", "2 hours", "3 days", "12 years"."""
    s = abs(seconds)
    if s < 120:
        n, unit = round(s), "second"
    elif s < 7200:
        n, unit = round(s / 60), "minute"
    elif s < 172_800:
        n, unit = round(s / 3600), "hour"
    elif s < 730 * 86_400:
        n, unit = round(s / 86_400), "day"
    else:
        n, unit = round(s / 31_557_600), "year"
    return f"{n} {unit}{'' if n == 1 else 's'}"


def describe_delta(delta: float) -> str:
    """``delta`` seconds from now in words: "in 2 hours", "3 days ago", "just now"."""
    if abs(delta) < 1:
        return "just now"
    return f"in {describe_duration(delta)}" if delta > 0 else f"{describe_duration(delta)} ago"


__all__ = [
    "Explanation",
    "Finding",
    "Section",
    "Status",
    "describe_delta",
    "describe_duration",
    "explain",
    "time_out_of_range",
    "utc_date",
]
