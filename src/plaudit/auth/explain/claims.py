"""The claims, one by one: each judged by the claim policy's own validator, then described.

The policy is the verifier's when there is one, else the default (no leeway) with the guessed
profile's required claims. A claim is judged only by ``ClaimPolicy.validate_<claim>``: an error
here is the very error (code, message, hint) the verifier raises for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from ..claims import (
    ClaimPolicy,
    audiences_of,
    require_claim,
    utc_date,
)
from ..encoding import quote
from ..errors import AuthError
from ..profiles import STANDARD, TokenProfile
from .findings import Findings
from .words import describe_delta, describe_duration

REGISTERED_CLAIMS = ("exp", "iat", "nbf", "iss", "aud", "sub", "jti", "scope", "scp")


def explain_claims(
    claims: Mapping[str, Any],
    out: Findings,
    *,
    now: float,
    policy: ClaimPolicy,
    profile: TokenProfile | None,
) -> None:
    profile_name = profile.name if profile is not None else "token"
    # A required claim that is absent or null is judged missing before anything else, as the
    # verifier does: its other rules never see it.
    missing = set()
    for name in REGISTERED_CLAIMS:
        if name in policy.required_claims and claims.get(name) is None:
            out.judge("claims", name, partial(require_claim, claims, name))
            missing.add(name)
    validators: dict[str, Callable[[], object]] = {
        "exp": lambda: policy.validate_exp(claims, now),
        "iat": lambda: policy.validate_iat(claims, now),
        "nbf": lambda: policy.validate_nbf(claims, now),
    }
    times = {
        name: _time(claims, name, out, now, policy, validators[name], profile_name)
        if name not in missing
        else None
        for name in ("exp", "iat", "nbf")
    }
    exp, iat = times["exp"], times["iat"]
    if exp is not None and iat is not None and exp > iat:
        out.add(
            "info",
            "claims",
            "exp",
            f"The token's lifetime (exp - iat) is {describe_duration(exp - iat)}.",
            claims.get("exp"),
        )
    if policy.max_lifetime is not None and exp is not None:
        if out.judge("claims", "lifetime", lambda: policy.validate_lifetime(claims, now)):
            out.add(
                "ok",
                "claims",
                "lifetime",
                f"Lives no longer than {describe_duration(policy.max_lifetime)}.",
            )
    if "iss" not in missing:
        _iss(claims, out, policy)
    if "aud" not in missing:
        _aud(claims, out, policy)
    for name in ("sub", "jti"):
        if name not in missing:
            _string_claim(claims, name, out)
    _scope(claims, out, profile)
    used = _profile_roots(profile) if profile is not None else {}
    for name, value in claims.items():
        if name in REGISTERED_CLAIMS:
            continue
        role = used.get(name)
        if role is not None and profile is not None:
            out.add("info", "claims", name, f"Read by the {profile.name} profile as {role}.", value)
        else:
            out.add(
                "info",
                "claims",
                name,
                "A custom claim: kept in the verified token's claims as it is.",
                value,
            )


def _time(
    claims: Mapping[str, Any],
    name: str,
    out: Findings,
    now: float,
    policy: ClaimPolicy,
    validate: Callable[[], object],
    profile_name: str,
) -> float | None:
    """Judge one time claim with its validator, then say when it is; its seconds if sound."""
    if name not in claims:
        if out.judge("claims", name, validate):
            _absent_time(name, out, profile_name, policy)
        return None
    value = claims[name]
    if not out.judge("claims", name, validate, value):
        return None
    seconds = float(value)  # the validator took it: a finite number of plausible size
    when = describe_delta(seconds - now)
    date = utc_date(seconds)
    leeway = f" (within the leeway of {policy.leeway:g} s)" if policy.leeway else ""
    if name == "exp":
        out.add("ok", "claims", name, f"Expires {when} ({date}).", value)
    elif name == "iat":
        age = (
            f"; younger than the {describe_duration(policy.max_age)} the product accepts"
            if policy.max_age is not None
            else ""
        )
        out.add("ok", "claims", name, f"Issued {when} ({date}){age}.", value)
    elif seconds > now:
        out.add("ok", "claims", name, f"Valid from {when} ({date}){leeway}.", value)
    else:
        out.add("ok", "claims", name, f"Valid since {when} ({date}).", value)
    return seconds


def _absent_time(name: str, out: Findings, profile_name: str, policy: ClaimPolicy) -> None:
    if name == "exp" and profile_name == "reditus":
        out.add(
            "info",
            "claims",
            name,
            "Absent, as in the referral widget guide: the product's maximum token age "
            "(counted from 'iat') bounds how long the token is accepted.",
        )
    elif name == "exp" and policy.max_age is None:
        out.add(
            "warning",
            "claims",
            name,
            "Absent: the token never expires by itself unless the product sets a maximum "
            "token age. Set one (the guides recommend 1 to 24 hours).",
        )
    elif name == "exp":
        out.add(
            "info",
            "claims",
            name,
            f"Absent: the product's maximum token age ({describe_duration(policy.max_age or 0)}"
            ", counted from 'iat') bounds how long the token is accepted.",
        )
    elif name == "iat":
        out.add(
            "info",
            "claims",
            name,
            "Absent: the token's age is unknown, so a product's maximum token age cannot "
            "apply to it.",
        )
    else:
        out.add("info", "claims", name, "Absent: the token is valid from the start.")


def _iss(claims: Mapping[str, Any], out: Findings, policy: ClaimPolicy) -> None:
    value = claims.get("iss")
    if policy.issuer is not None:
        if out.judge("claims", "iss", lambda: policy.validate_iss(claims), value):
            out.add(
                "ok",
                "claims",
                "iss",
                f"The issuer is {quote(policy.issuer)}, as the product expects.",
                value,
            )
        return
    if "iss" not in claims:
        out.add("info", "claims", "iss", "Absent: fine unless the product requires an issuer.")
        return
    _string_claim(claims, "iss", out)


def _aud(claims: Mapping[str, Any], out: Findings, policy: ClaimPolicy) -> None:
    value = claims.get("aud")
    if policy.audience is not None:
        if out.judge("claims", "aud", lambda: policy.validate_aud(claims), value):
            out.add(
                "ok",
                "claims",
                "aud",
                f"The audience includes {quote(policy.audience)}, as the product expects.",
                value,
            )
        return
    if "aud" not in claims:
        out.add("info", "claims", "aud", "Absent: fine unless the product requires an audience.")
        return
    try:
        audiences = audiences_of(value)
    except AuthError as exc:
        out.add(
            "warning",
            "claims",
            "aud",
            f"{exc.message} A product that requires an audience refuses it.",
            value,
        )
        return
    out.add("info", "claims", "aud", f"Audience {quote(', '.join(audiences), 80)}.", value)


def _string_claim(claims: Mapping[str, Any], name: str, out: Findings) -> None:
    if name not in claims:
        return
    value = claims[name]
    if isinstance(value, str) and value:
        text = {
            "iss": f"Issuer {quote(value, 80)}.",
            "sub": f"Subject {quote(value, 80)}.",
            "jti": f"Token id {quote(value, 80)}: lets the product revoke this one token.",
        }[name]
        out.add("info", "claims", name, text, value)
    elif name == "sub" and type(value) is int:
        out.add(
            "warning",
            "claims",
            name,
            f"The subject is a number; Plaudit reads it as the user id '{value}', but RFC "
            "7519 makes 'sub' a string and other libraries may refuse it.",
            value,
        )
    elif name == "jti":
        out.add(
            "warning",
            "claims",
            name,
            "Not a non-empty string, so it is ignored (the token cannot be revoked by id).",
            value,
        )
    else:
        # Whether this refuses the token is for the rule that reads it (the issuer the product
        # expects, the profile's user id), each judged where it is reported.
        what = {"iss": "issuer", "sub": "subject"}[name]
        out.add(
            "warning",
            "claims",
            name,
            f"The {what} should be a non-empty string (RFC 7519).",
            value,
        )


def _scope(claims: Mapping[str, Any], out: Findings, profile: TokenProfile | None) -> None:
    reader = profile or STANDARD
    present = [n for n in reader.scope_claims if n in claims]
    if not present:
        defaults = reader.default_scopes
        out.add(
            "info",
            "claims",
            reader.scope_claims[0] if reader.scope_claims else "scope",
            "Absent: the product's default scopes apply"
            + (f" ({', '.join(sorted(defaults))})." if defaults else "."),
        )
        return
    try:
        reader.scopes_of(claims)
    except AuthError as exc:
        name = exc.claim or present[0]
        out.add_error("claims", name, exc, claims.get(name))
        return
    read = next((n for n in reader.scope_claims if claims.get(n) is not None), None)
    for name in present:
        value = claims[name]
        if value is None:
            out.add("warning", "claims", name, "Null, so ignored.", value)
        elif name != read:
            out.add("info", "claims", name, f"Ignored: {read!r} is read when both are present.")
        else:
            scopes = value.split() if isinstance(value, str) else list(value)
            if scopes:
                out.add("info", "claims", name, f"Grants {', '.join(scopes)}.", value)
            else:
                out.add("warning", "claims", name, "Grants no scope at all.", value)


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
