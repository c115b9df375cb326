"""Claim policy: what a product demands of a token's claims once its signature holds.

Every check reads the clock it is given (``now``, Unix seconds); nothing here reads the time.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .encoding import quote
from .errors import (
    InsufficientPermissions,
    InvalidAudience,
    InvalidClaim,
    InvalidIssuer,
    InvalidTokenType,
    MissingRequiredClaim,
    TokenExpired,
    TokenLifetimeTooLong,
    TokenNotYetValid,
)

_MISSING = object()
#: NumericDates beyond this many seconds either side of the epoch (about 31 million years) are
#: refused: JSON integers are unbounded, and arithmetic on 10**400 overflows a float.
MAX_NUMERIC_DATE = 10**15
#: 10**11 seconds is the year 5138: a time that large was almost surely written in milliseconds.
MILLISECONDS = 10**11


def resolve(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a claim path, or ``_MISSING``.

    A path is a claim name, or names joined with dots for nested objects (``user.id``). A
    top-level claim whose name itself holds dots (``https://example.com/uid``) wins over the
    nested reading, so namespaced claims work as written.
    """
    value = claims.get(path, _MISSING)
    if value is not _MISSING or "." not in path:
        return value
    node: Any = claims
    for part in path.split("."):
        if not isinstance(node, Mapping):
            return _MISSING
        node = node.get(part, _MISSING)
        if node is _MISSING:
            return _MISSING
    return node


def is_missing(value: Any) -> bool:
    return value is _MISSING


def numeric_date(claims: Mapping[str, Any], name: str) -> float | None:
    """A NumericDate claim (RFC 7519 section 2): a finite JSON number, or absent."""
    value = claims.get(name)
    if value is None:
        if name in claims:
            raise InvalidClaim(f"The claim {quote(name)} is null.", claim=name)
        return None
    # bool is an int in Python; `true` is not a time.
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        if -MAX_NUMERIC_DATE < value < MAX_NUMERIC_DATE:
            return value
        raise InvalidClaim(
            f"The claim {quote(name)} is not a plausible time: it lies millions of years away.",
            claim=name,
        )
    raise InvalidClaim(
        f"The claim {quote(name)} must be a number of seconds since the Unix epoch, "
        f"not {_json_type(value)}.",
        claim=name,
    )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "that value"


@dataclass(frozen=True, slots=True)
class ClaimPolicy:
    """A product's rules for the claims of its tokens, one validator per claim.

    ``leeway`` forgives clock skew on every time check. ``max_age`` bounds ``now - iat`` (the
    only expiry a token without ``exp`` has); ``max_lifetime`` bounds ``exp - iat``.
    ``issuer`` and ``audience``, when set, must match exactly; ``aud`` may be a string or an
    array, one of whose entries must be ``audience``. ``token_type`` is the header's ``typ``.

    ``validate`` runs them all, in a fixed order, for the verifier; the explainer calls each
    ``validate_<claim>`` on its own, so that a claim is judged in exactly one place and both
    say the same code, message and hint.
    """

    leeway: float = 0.0
    max_age: float | None = None
    max_lifetime: float | None = None
    require_expiry: bool = False
    issuer: str | None = None
    audience: str | None = None
    required_claims: tuple[str, ...] = ()
    token_type: str | None = None

    def validate(self, claims: Mapping[str, Any], now: float) -> float | None:
        """Check ``claims`` at ``now``; return the last moment they stay valid, if bounded."""
        for path in self.required_claims:
            if claims.get(path) is None:  # present at the top level is the common case
                require_claim(claims, path)
        valid_until = self.validate_exp(claims, now)
        if "nbf" in claims:
            self.validate_nbf(claims, now)
        aged_out = self.validate_iat(claims, now)
        if aged_out is not None:
            valid_until = aged_out if valid_until is None else min(valid_until, aged_out)
        if self.max_lifetime is not None:
            self.validate_lifetime(claims, now)
        # The matching string is the common case; anything else takes the checks that explain.
        if self.issuer is not None and claims.get("iss") != self.issuer:
            self.validate_iss(claims)
        if self.audience is not None and claims.get("aud") != self.audience:
            self.validate_aud(claims)
        return valid_until

    def validate_exp(self, claims: Mapping[str, Any], now: float) -> float | None:
        """Not expired (``exp``), and bounded at all when the policy says tokens must age out.

        Returns ``exp`` plus the leeway: the last moment ``exp`` lets the token live.
        """
        exp = claims.get("exp")
        # Integers are what nearly every signer writes; only anything else takes the slow check.
        if exp.__class__ is not int or not -MAX_NUMERIC_DATE < exp < MAX_NUMERIC_DATE:
            exp = numeric_date(claims, "exp")
        if exp is not None:
            if exp >= MILLISECONDS:
                # Date.now() as exp would be accepted for 50,000 years: refused, naming seconds.
                raise in_milliseconds("exp", exp)
            valid_until: float = exp + self.leeway
            if now >= valid_until:
                raise TokenExpired(
                    f"The token expired at {utc_date(exp)} ({_ago(now - exp)} ago).", claim="exp"
                )
            return valid_until
        if self.require_expiry:
            raise MissingRequiredClaim("The token has no 'exp' claim.", claim="exp")
        if "iat" not in claims and self.max_age is not None:
            # With neither exp nor iat a token would never age out; the product's max age says
            # tokens must.
            raise MissingRequiredClaim(
                "The token has neither 'exp' nor 'iat', so it would never expire.",
                hint="Add 'exp' (or 'iat') when signing, or set the product's "
                "max_token_age_seconds to null to accept tokens that never expire.",
                claim="exp",
            )
        return None

    def validate_nbf(self, claims: Mapping[str, Any], now: float) -> None:
        """Already valid (``nbf``)."""
        nbf = numeric_date(claims, "nbf")
        if nbf is not None and now + self.leeway < nbf:
            if nbf >= MILLISECONDS:
                raise in_milliseconds("nbf", nbf)
            raise TokenNotYetValid(
                f"The token is not valid before {utc_date(nbf)} ('nbf', {_ago(nbf - now)} from now).",
                claim="nbf",
            )

    def validate_iat(self, claims: Mapping[str, Any], now: float) -> float | None:
        """Not issued in the future (``iat``), nor longer ago than ``max_age``.

        Returns the moment the token ages out under ``max_age``, if it does.
        """
        iat = claims.get("iat")
        if iat.__class__ is not int or not -MAX_NUMERIC_DATE < iat < MAX_NUMERIC_DATE:
            iat = numeric_date(claims, "iat")
            if iat is None:
                return None
        leeway = self.leeway
        if now + leeway < iat:
            if iat >= MILLISECONDS:
                raise in_milliseconds("iat", iat)
            raise TokenNotYetValid(
                f"The token was issued in the future ('iat' is {_ago(iat - now)} from now).",
                claim="iat",
            )
        if self.max_age is None:
            return None
        aged_out: float = iat + self.max_age + leeway
        if now >= aged_out:
            raise TokenExpired(
                f"The token was issued {_ago(now - iat)} ago; this product accepts "
                f"tokens up to {_ago(self.max_age)} old.",
                hint="Sign a fresh token for each session (and pass the widget a "
                "refresh_token callback), or raise max_token_age_seconds.",
                claim="iat",
            )
        return aged_out

    def validate_lifetime(self, claims: Mapping[str, Any], now: float) -> None:
        """Lives no longer than ``max_lifetime`` (``exp - iat``, else what is left of it)."""
        if self.max_lifetime is None:
            return
        exp = numeric_date(claims, "exp")
        if exp is None:
            return
        iat = numeric_date(claims, "iat")
        if iat is not None:
            if exp - iat > self.max_lifetime:
                raise TokenLifetimeTooLong(
                    f"The token is valid for {_ago(exp - iat)}; this product allows at most "
                    f"{_ago(self.max_lifetime)}.",
                    claim="exp",
                )
        elif exp - now > self.max_lifetime + self.leeway:
            # Without 'iat' (the loyalty guide's tokens carry only sub and exp) the lifetime
            # still left is what can be bounded.
            raise TokenLifetimeTooLong(
                f"The token stays valid for {_ago(exp - now)}; this product allows at most "
                f"{_ago(self.max_lifetime)}.",
                claim="exp",
            )

    def validate_iss(self, claims: Mapping[str, Any]) -> None:
        """The issuer the product expects (``iss``), when it expects one."""
        if self.issuer is None:
            return
        iss = claims.get("iss")
        if iss is None:
            raise MissingRequiredClaim("The token has no 'iss' claim.", claim="iss")
        if not isinstance(iss, str):
            raise InvalidClaim("The claim 'iss' must be a string.", claim="iss")
        if iss != self.issuer:
            raise InvalidIssuer(
                f"The token's issuer is {quote(iss)}; this product expects {quote(self.issuer)}.",
                claim="iss",
            )

    def validate_aud(self, claims: Mapping[str, Any]) -> None:
        """The product's audience among the token's (``aud``), when it expects one."""
        if self.audience is None:
            return
        aud = claims.get("aud")
        if aud is None:
            raise MissingRequiredClaim("The token has no 'aud' claim.", claim="aud")
        audiences = audiences_of(aud)
        if self.audience not in audiences:
            raise InvalidAudience(
                f"The token's audience {quote(', '.join(audiences))} does not include "
                f"{quote(self.audience)}.",
                claim="aud",
            )

    def validate_typ(self, typ: str | None) -> None:
        """The header's ``typ`` is the type the product requires, when it requires one."""
        if self.token_type is None:
            return
        if typ is None or normalise_typ(typ) != normalise_typ(self.token_type):
            raise InvalidTokenType(
                f"The token's 'typ' is {quote(typ) if typ else 'missing'}; this "
                f"product requires {quote(self.token_type)}."
            )


def require_claim(claims: Mapping[str, Any], path: str) -> None:
    """The claim at ``path`` is present; null counts as missing, as PyJWT and common sense have it."""
    if claims.get(path) is None and resolve(claims, path) in (_MISSING, None):
        raise MissingRequiredClaim(
            f"The required claim {quote(path)} is missing from the token.", claim=path
        )


def require_scopes(granted: frozenset[str], needed: tuple[str, ...]) -> None:
    """The token grants every scope a call needs."""
    missing = [s for s in needed if s not in granted]
    if missing:
        raise InsufficientPermissions(
            f"This call needs the scope {quote(' '.join(missing))}; the token grants "
            f"{quote(' '.join(sorted(granted))) if granted else 'none'}."
        )


def audiences_of(aud: Any) -> list[str]:
    """The audiences an ``aud`` claim names: a string, or a non-empty array of strings."""
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list) and aud and all(isinstance(a, str) for a in aud):
        return aud
    raise InvalidClaim(
        "The claim 'aud' must be a string or a non-empty array of strings.", claim="aud"
    )


def normalise_typ(typ: str) -> str:
    """RFC 7515 section 4.1.9: "application/" may be left out, and media types are
    case-insensitive, so "JWT", "jwt" and "application/JWT" are one type."""
    lowered = typ.lower()
    return lowered[12:] if lowered.startswith("application/") else lowered


def in_milliseconds(name: str, seconds: float) -> InvalidClaim:
    """The error for a time claim written in milliseconds (JavaScript's ``Date.now()``)."""
    return InvalidClaim(
        f"The claim {quote(name)} is {seconds:.0f}: that looks like milliseconds since the Unix "
        "epoch, not seconds.",
        hint="JWT times are seconds since the Unix epoch (in JavaScript, "
        "Math.floor(Date.now() / 1000)).",
        claim=name,
    )


def utc_date(seconds: float) -> str:
    """A Unix time as a UTC date for people; a time no calendar holds, as the number."""
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return f"{seconds:.0f} seconds after the Unix epoch"


def _ago(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} seconds"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:.1f} days"
