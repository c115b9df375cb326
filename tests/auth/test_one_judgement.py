"""A claim is judged in one place: the verifier and the explainer answer with the same error.

For each way a token's claims can fail, the verifier's error and the explainer's finding for
that claim carry the same code, message and hint, because both call the same validator of
``ClaimPolicy`` (or of the profile).
"""

from __future__ import annotations

from typing import Any

import pytest

from plaudit.auth import (
    PROFILES,
    AuthError,
    ClaimPolicy,
    KeySet,
    SigningKey,
    Verifier,
    generate_secret,
    sign,
)
from plaudit.auth.explain import explain

NOW = 1_767_225_600  # 2026-01-01 00:00:00 UTC
KEY = SigningKey.from_secret(generate_secret(64), "HS256", kid="primary")


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": "user_123",
        "iss": "your-tenant-id",
        "aud": "your-application-id",
        "iat": NOW - 300,
        "exp": NOW + 3600,
        "scope": "read write",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


#: (case, claims, header extras, policy, scopes the call needs, code, the finding's section.field)
CASES: list[
    tuple[str, dict[str, Any], dict[str, Any], dict[str, Any], tuple[str, ...], str, str]
] = [
    ("expired", claims(exp=NOW - 10), {}, {}, (), "token_expired", "claims.exp"),
    ("not yet valid", claims(nbf=NOW + 600), {}, {}, (), "token_not_yet_valid", "claims.nbf"),
    ("iat in milliseconds", claims(iat=NOW * 1000), {}, {}, (), "invalid_claim", "claims.iat"),
    ("iat in the future", claims(iat=NOW + 600), {}, {}, (), "token_not_yet_valid", "claims.iat"),
    ("exp in milliseconds", claims(exp=NOW * 1000), {}, {}, (), "invalid_claim", "claims.exp"),
    ("too old", claims(iat=NOW - 7200), {}, {"max_age": 3600}, (), "token_expired", "claims.iat"),
    (
        "lives too long",
        claims(exp=NOW + 86400),
        {},
        {"max_lifetime": 3600},
        (),
        "token_lifetime_too_long",
        "claims.lifetime",
    ),
    (
        "wrong iss",
        claims(iss="someone-else"),
        {},
        {"issuer": "your-tenant-id"},
        (),
        "invalid_issuer",
        "claims.iss",
    ),
    (
        "wrong aud",
        claims(aud=["other-app"]),
        {},
        {"audience": "your-application-id"},
        (),
        "invalid_audience",
        "claims.aud",
    ),
    ("missing sub", claims(sub=None), {}, {}, (), "missing_required_claim", "claims.sub"),
    ("null sub", {**claims(), "sub": None}, {}, {}, (), "missing_required_claim", "claims.sub"),
    ("null exp", {**claims(), "exp": None}, {}, {}, (), "missing_required_claim", "claims.exp"),
    (
        "missing iss, an issuer expected",
        claims(iss=None),
        {},
        {"issuer": "your-tenant-id"},
        (),
        "missing_required_claim",
        "claims.iss",
    ),
    (
        "iss not a string",
        claims(iss=42),
        {},
        {"issuer": "your-tenant-id"},
        (),
        "invalid_claim",
        "claims.iss",
    ),
    ("exp a string", claims(exp="1767232800"), {}, {}, (), "invalid_claim", "claims.exp"),
    (
        "missing custom claim",
        claims(),
        {},
        {"required_claims": ("email",)},
        (),
        "missing_required_claim",
        "profile.required",
    ),
    ("missing scope", claims(), {}, {}, ("admin",), "insufficient_permissions", "profile.scopes"),
    (
        "wrong typ",
        claims(),
        {"typ": "JWT"},
        {"token_type": "at+jwt"},
        (),
        "invalid_token_type",
        "header.typ",
    ),
]


@pytest.mark.parametrize(
    ("token_claims", "headers", "policy", "scopes", "code", "where"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_verifier_and_the_explainer_say_the_same_of_each_claim(
    token_claims: dict[str, Any],
    headers: dict[str, Any],
    policy: dict[str, Any],
    scopes: tuple[str, ...],
    code: str,
    where: str,
) -> None:
    """The verifier's error and the explainer's finding have one code, message and hint."""
    verifier = Verifier(
        KeySet([KEY.verification_key(kid="primary")]),
        policy=ClaimPolicy(**policy),
        profile=PROFILES["standard"],
    )
    token = sign(token_claims, KEY, headers=headers or None)
    with pytest.raises(AuthError) as raised:
        verifier.verify(token, now=NOW).require_scopes(*scopes)
    error = raised.value
    assert error.code == code

    explanation = explain(token, now=NOW, verifier=verifier, scopes=scopes)
    section, field = where.split(".")
    found = [
        f
        for f in explanation.findings
        if f.section == section and f.field == field and f.status == "error"
    ]
    assert [(f.code, f.message, f.hint) for f in found] == [(error.code, error.message, error.hint)]
    if not scopes:  # a scope is the call's to need; the token itself verifies
        assert explanation.verification == {"valid": False, **error.as_dict()}


def test_an_iat_in_milliseconds_is_not_blamed_on_the_clock() -> None:
    """iat = Date.now() is invalid_claim with the seconds hint, not token_not_yet_valid."""
    verifier = Verifier(KeySet([KEY.verification_key(kid="primary")]))
    with pytest.raises(AuthError) as raised:
        verifier.verify(sign(claims(iat=NOW * 1000), KEY), now=NOW)
    assert raised.value.as_dict() == {
        "error": "invalid_claim",
        "message": f"The claim 'iat' is {NOW * 1000}: that looks like milliseconds since the "
        "Unix epoch, not seconds.",
        "hint": "JWT times are seconds since the Unix epoch (in JavaScript, "
        "Math.floor(Date.now() / 1000)).",
    }


def test_an_nbf_in_milliseconds_is_the_same_invalid_claim() -> None:
    """nbf = Date.now() is recognised the same way as iat."""
    verifier = Verifier(KeySet([KEY.verification_key(kid="primary")]))
    with pytest.raises(AuthError) as raised:
        verifier.verify(sign(claims(nbf=NOW * 1000), KEY), now=NOW)
    assert raised.value.code == "invalid_claim"
    assert "milliseconds" in raised.value.message


def test_an_exp_in_milliseconds_is_refused_naming_seconds() -> None:
    """exp = Date.now() + 3600000 is invalid_claim naming seconds, not a 50,000-year token."""
    verifier = Verifier(KeySet([KEY.verification_key(kid="primary")]))
    with pytest.raises(AuthError) as raised:
        verifier.verify(sign(claims(exp=NOW * 1000 + 3_600_000), KEY), now=NOW)
    assert raised.value.code == "invalid_claim"
    assert raised.value.claim == "exp"
    assert "milliseconds" in raised.value.message
    assert "seconds since the Unix epoch" in raised.value.hint
