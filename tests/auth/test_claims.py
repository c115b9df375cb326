"""The claim policy: time claims with leeway at their exact boundaries, issuer, audience,
required claim paths, scopes and the token type, all judged at an injected ``now``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from plaudit.auth import ClaimPolicy, KeySet, TokenError, TokenProfile, Verifier, get_profile

from .conftest import NOW, KeyPair, outcome_of


def judge(policy: ClaimPolicy, claims: Mapping[str, Any], now: float = NOW) -> str:
    """``"ok"`` or the code ``policy.validate`` refuses ``claims`` with at ``now``."""
    return outcome_of(lambda: policy.validate(claims, now))


def refusal(policy: ClaimPolicy, claims: Mapping[str, Any], now: float = NOW) -> TokenError:
    with pytest.raises(TokenError) as caught:
        policy.validate(claims, now)
    return caught.value


# --- exp -----------------------------------------------------------------------------------------


def test_exp_is_exclusive_the_moment_of_exp_is_already_expired() -> None:
    """A token is valid strictly before ``exp``: at ``now == exp`` it is ``token_expired``."""
    policy = ClaimPolicy()
    assert judge(policy, {"exp": NOW + 1}) == "ok"
    err = refusal(policy, {"exp": NOW})
    assert (err.code, err.claim) == ("token_expired", "exp")
    assert judge(policy, {"exp": NOW - 1}) == "token_expired"


def test_leeway_extends_exp_up_to_but_not_including_exp_plus_leeway() -> None:
    """With 30 s leeway a token lives until ``exp + 30`` exclusive."""
    policy = ClaimPolicy(leeway=30)
    assert judge(policy, {"exp": NOW}, now=NOW + 29) == "ok"
    assert judge(policy, {"exp": NOW}, now=NOW + 29.999) == "ok"
    assert judge(policy, {"exp": NOW}, now=NOW + 30) == "token_expired"


def test_validate_returns_the_last_moment_the_claims_stay_valid() -> None:
    """``validate`` returns ``exp + leeway``, or the earlier end ``iat + max_age`` imposes."""
    assert ClaimPolicy(leeway=5).validate({"exp": NOW + 100}, NOW) == NOW + 105
    assert ClaimPolicy().validate({"sub": "x"}, NOW) is None
    policy = ClaimPolicy(max_age=50, leeway=5)
    assert policy.validate({"iat": NOW, "exp": NOW + 100}, NOW) == NOW + 55
    assert policy.validate({"iat": NOW, "exp": NOW + 20}, NOW) == NOW + 25


def test_fractional_numeric_dates_are_honoured() -> None:
    """NumericDates may be non-integers (RFC 7519 section 2): 0.5 s still counts."""
    assert judge(ClaimPolicy(), {"exp": NOW + 0.5}) == "ok"
    assert judge(ClaimPolicy(), {"exp": NOW + 0.5}, now=NOW + 0.5) == "token_expired"
    assert judge(ClaimPolicy(), {"nbf": NOW + 0.25}) == "token_not_yet_valid"


# --- nbf and iat -------------------------------------------------------------------------------------


def test_nbf_is_inclusive_with_leeway() -> None:
    """A token is valid from ``nbf`` on (inclusive), or from ``nbf - leeway``."""
    assert judge(ClaimPolicy(), {"nbf": NOW}) == "ok"
    err = refusal(ClaimPolicy(), {"nbf": NOW + 1})
    assert (err.code, err.claim) == ("token_not_yet_valid", "nbf")
    assert judge(ClaimPolicy(leeway=30), {"nbf": NOW + 30}) == "ok"
    assert judge(ClaimPolicy(leeway=30), {"nbf": NOW + 31}) == "token_not_yet_valid"


def test_iat_in_the_future_beyond_leeway_is_not_yet_valid() -> None:
    """``iat`` may equal ``now`` (or exceed it within the leeway), never more."""
    assert judge(ClaimPolicy(), {"iat": NOW}) == "ok"
    err = refusal(ClaimPolicy(), {"iat": NOW + 1})
    assert (err.code, err.claim) == ("token_not_yet_valid", "iat")
    assert judge(ClaimPolicy(leeway=30), {"iat": NOW + 30}) == "ok"
    assert judge(ClaimPolicy(leeway=30), {"iat": NOW + 31}) == "token_not_yet_valid"


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value",
    ["1700000000", True, False, None, [NOW], {"t": NOW}],
    ids=["string", "true", "false", "null", "array", "object"],
)
def test_time_claims_of_the_wrong_type_are_invalid_claim(claim: str, value: object) -> None:
    """exp, nbf and iat are numbers; any other JSON type (null included) is ``invalid_claim``."""
    err = refusal(ClaimPolicy(), {claim: value})
    assert (err.code, err.claim) == ("invalid_claim", claim)
    assert "Unix epoch" in err.hint


# --- max_age and max_lifetime ------------------------------------------------------------------------


def test_max_age_expires_a_token_at_iat_plus_max_age() -> None:
    """With ``max_age`` a token issued at ``iat`` dies at ``iat + max_age``: ``token_expired`` on ``iat``."""
    policy = ClaimPolicy(max_age=3600)
    assert judge(policy, {"iat": NOW - 3599}) == "ok"
    err = refusal(policy, {"iat": NOW - 3600})
    assert (err.code, err.claim) == ("token_expired", "iat")
    assert "max_token_age_seconds" in err.hint
    assert judge(ClaimPolicy(max_age=3600, leeway=60), {"iat": NOW - 3659}) == "ok"
    assert judge(ClaimPolicy(max_age=3600, leeway=60), {"iat": NOW - 3660}) == "token_expired"


def test_max_age_applies_even_when_exp_is_later() -> None:
    """A long ``exp`` does not outlive ``max_age``: the stricter end wins."""
    assert judge(ClaimPolicy(max_age=60), {"iat": NOW - 61, "exp": NOW + 86400}) == "token_expired"


def test_max_age_refuses_tokens_that_could_never_expire() -> None:
    """Under ``max_age`` a token with neither ``exp`` nor ``iat`` is ``missing_required_claim`` on ``exp``.

    ``max_age`` measures from ``iat``; a token with ``exp`` but no ``iat`` is bounded by ``exp``
    alone, and one with neither would live forever, which a product with a max age forbids.
    """
    err = refusal(ClaimPolicy(max_age=60), {"sub": "x"})
    assert (err.code, err.claim) == ("missing_required_claim", "exp")
    assert "max_token_age_seconds" in err.hint
    assert ClaimPolicy(max_age=60).validate({"sub": "x", "exp": NOW + 600}, NOW) == NOW + 600
    assert judge(ClaimPolicy(), {"sub": "x"}) == "ok"
    assert "iat" in get_profile("reditus").required_claims


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
def test_numeric_dates_are_bounded_to_plausible_times(claim: str) -> None:
    """Dates 10**15 seconds (31 million years) or more from the epoch are ``invalid_claim``."""
    from plaudit.auth.claims import MAX_NUMERIC_DATE, MILLISECONDS

    assert MAX_NUMERIC_DATE == 10**15
    far = {
        "exp": MILLISECONDS - 1,  # from 10**11 on an exp is milliseconds (test_one_judgement)
        "nbf": -(MAX_NUMERIC_DATE - 1),
        "iat": -(MAX_NUMERIC_DATE - 1),
    }
    assert judge(ClaimPolicy(), {claim: far[claim]}) == "ok"
    for value in (MAX_NUMERIC_DATE, -MAX_NUMERIC_DATE, float(MAX_NUMERIC_DATE), 1e300, 10**400):
        err = refusal(ClaimPolicy(), {claim: value})
        assert (err.code, err.claim) == ("invalid_claim", claim)


def test_max_lifetime_bounds_exp_minus_iat() -> None:
    """``exp - iat`` may equal ``max_lifetime``; one second more is ``token_lifetime_too_long``."""
    policy = ClaimPolicy(max_lifetime=3600)
    assert judge(policy, {"iat": NOW, "exp": NOW + 3600}) == "ok"
    err = refusal(policy, {"iat": NOW, "exp": NOW + 3601})
    assert (err.code, err.claim) == ("token_lifetime_too_long", "exp")


def test_max_lifetime_without_iat_bounds_the_lifetime_left() -> None:
    """Without ``iat`` (the loyalty guide's tokens) ``exp - now`` may not exceed ``max_lifetime + leeway``."""
    policy = ClaimPolicy(max_lifetime=3600)
    assert judge(policy, {"exp": NOW + 3600}) == "ok"
    assert judge(policy, {"exp": NOW + 3601}) == "token_lifetime_too_long"
    assert judge(ClaimPolicy(max_lifetime=3600, leeway=10), {"exp": NOW + 3610}) == "ok"
    assert (
        judge(ClaimPolicy(max_lifetime=3600, leeway=10), {"exp": NOW + 3611})
        == "token_lifetime_too_long"
    )


def test_require_expiry_refuses_tokens_without_exp() -> None:
    """``require_expiry`` makes ``exp`` mandatory: its absence is ``missing_required_claim`` on ``exp``."""
    err = refusal(ClaimPolicy(require_expiry=True), {"iat": NOW})
    assert (err.code, err.claim) == ("missing_required_claim", "exp")
    assert judge(ClaimPolicy(require_expiry=True), {"exp": NOW + 1}) == "ok"
    assert judge(ClaimPolicy(), {"iat": NOW}) == "ok"


# --- issuer and audience --------------------------------------------------------------------------


def test_issuer_must_match_exactly() -> None:
    """``iss`` must equal the configured issuer, character for character."""
    policy = ClaimPolicy(issuer="your-tenant-id")
    assert judge(policy, {"iss": "your-tenant-id"}) == "ok"
    for other in ("Your-Tenant-Id", "your-tenant-id/", " your-tenant-id", "your-tenant"):
        err = refusal(policy, {"iss": other})
        assert (err.code, err.claim) == ("invalid_issuer", "iss")
    assert refusal(policy, {"sub": "x"}).code == "missing_required_claim"
    assert refusal(policy, {"iss": None}).code == "missing_required_claim"
    assert refusal(policy, {"iss": ["your-tenant-id"]}).code == "invalid_claim"


def test_audience_may_be_a_string_or_an_array_that_names_it() -> None:
    """``aud`` is the audience itself or a non-empty array of strings containing it."""
    policy = ClaimPolicy(audience="app")
    assert judge(policy, {"aud": "app"}) == "ok"
    assert judge(policy, {"aud": ["other", "app"]}) == "ok"
    err = refusal(policy, {"aud": ["other", "App"]})
    assert (err.code, err.claim) == ("invalid_audience", "aud")
    assert judge(policy, {"aud": "application"}) == "invalid_audience"


@pytest.mark.parametrize(
    "aud",
    [[], [1], ["app", 2], 1, {"app": True}, True],
    ids=["empty", "number-in-array", "mixed", "number", "object", "bool"],
)
def test_audience_of_the_wrong_shape_is_invalid_claim(aud: object) -> None:
    """An ``aud`` that is not a string or a non-empty array of strings is ``invalid_claim``."""
    assert judge(ClaimPolicy(audience="app"), {"aud": aud}) == "invalid_claim"


def test_missing_audience_is_missing_required_claim_only_when_one_is_configured() -> None:
    """Without ``aud`` a configured audience is ``missing_required_claim``; unconfigured, any aud passes."""
    err = refusal(ClaimPolicy(audience="app"), {"sub": "x"})
    assert (err.code, err.claim) == ("missing_required_claim", "aud")
    assert judge(ClaimPolicy(), {"aud": "anyone"}) == "ok"
    assert judge(ClaimPolicy(), {"aud": ["a", "b"]}) == "ok"


# --- required claims -----------------------------------------------------------------------------


def test_required_claims_may_be_nested_paths() -> None:
    """``user.id`` means the ``id`` member of the ``user`` object."""
    policy = ClaimPolicy(required_claims=("user.id",))
    assert judge(policy, {"user": {"id": "42"}}) == "ok"
    for claims in ({"user": {}}, {"user": "42"}, {"user": ["id"]}, {"id": "42"}, {}):
        err = refusal(policy, claims)
        assert (err.code, err.claim) == ("missing_required_claim", "user.id")


@pytest.mark.parametrize("claim", ["iss", "aud", "tenant", "user.id"])
def test_a_required_claim_set_to_null_is_missing(claim: str) -> None:
    """A required claim whose value is JSON null is ``missing_required_claim``, as if absent.

    Found by this suite: presence alone satisfied the requirement, so the standard profile (which
    requires ``iss`` and ``aud``) accepted ``"iss": null, "aud": null`` when the product set no
    issuer or audience to compare with. PyJWT's ``require`` option also treats null as missing.
    """
    claims: dict[str, Any] = {"user": {"id": None}} if claim == "user.id" else {claim: None}
    err = refusal(ClaimPolicy(required_claims=(claim,)), claims)
    assert (err.code, err.claim) == ("missing_required_claim", claim)


def test_namespaced_top_level_claims_with_dots_satisfy_requirements() -> None:
    """A top-level claim whose name holds dots (``https://example.com/uid``) counts as written."""
    policy = ClaimPolicy(required_claims=("https://example.com/uid", "org.acme.role"))
    assert judge(policy, {"https://example.com/uid": "u", "org.acme.role": "admin"}) == "ok"
    assert (
        judge(policy, {"https://example.com/uid": "u", "org": {"acme": {"role": "admin"}}}) == "ok"
    )
    assert judge(policy, {"https://example.com/uid": "u"}) == "missing_required_claim"


def test_every_required_claim_is_checked_and_the_first_missing_is_named() -> None:
    """The error names the first missing claim of the list."""
    policy = ClaimPolicy(required_claims=("sub", "iss", "aud"))
    err = refusal(policy, {"sub": "x", "aud": "y"})
    assert err.claim == "iss"
    assert "iss" in err.message


def test_a_verifier_requires_both_the_profile_and_the_policy_claims(hs256: KeyPair) -> None:
    """A verifier merges its profile's required claims with its policy's, without duplicates."""
    profile = TokenProfile(name="p", title="p", user_id="sub", required_claims=("sub", "tenant"))
    verifier = Verifier(
        KeySet([hs256.public(kid="k")]),
        policy=ClaimPolicy(required_claims=("tenant", "role")),
        profile=profile,
    )
    assert verifier.policy.required_claims == ("sub", "tenant", "role")
    token = hs256.sign({"sub": "x", "tenant": "t"})
    assert outcome_of(lambda: verifier.verify(token, now=NOW)) == "missing_required_claim"
    assert (
        verifier.verify(hs256.sign({"sub": "x", "tenant": "t", "role": "r"}), now=NOW).user_id
        == "x"
    )


# --- scopes ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def standard(hs256: KeyPair) -> Verifier:
    """A verifier with the standard profile but no issuer/audience/time requirements besides them."""
    return Verifier(KeySet([hs256.public(kid="k")]), profile=get_profile("standard"))


def _standard_claims(**extra: Any) -> dict[str, Any]:
    return {"sub": "u", "iss": "t", "aud": "a", "iat": NOW, "exp": NOW + 60, **extra}


@pytest.mark.parametrize(
    ("extra", "scopes"),
    [
        ({"scope": ["read", "write"]}, {"read", "write"}),
        ({"scope": "read write  admin"}, {"read", "write", "admin"}),
        ({"scope": ["events:write"]}, {"events:write"}),
        ({"scp": ["read"]}, {"read"}),
        ({"scope": ["admin"], "scp": ["read"]}, {"admin"}),
        ({}, {"read", "write"}),
        ({"scope": None}, {"read", "write"}),
        ({"scope": ""}, set()),
        ({"scope": []}, set()),
    ],
    ids=[
        "array",
        "space-separated",
        "namespaced",
        "scp",
        "scope-wins",
        "absent",
        "null",
        "empty-string",
        "empty-array",
    ],
)
def test_scopes_come_from_scope_or_scp_or_the_profile_default(
    standard: Verifier, hs256: KeyPair, extra: dict[str, Any], scopes: set[str]
) -> None:
    """Scopes are an array or a space-separated string; a token without any gets read and write."""
    verified = standard.verify(hs256.sign(_standard_claims(**extra)), now=NOW)
    assert verified.scopes == frozenset(scopes)


@pytest.mark.parametrize(
    "scope", [1, ["read", 2], {"read": True}, True], ids=["number", "mixed", "object", "bool"]
)
def test_scopes_of_the_wrong_type_are_invalid_claim(
    standard: Verifier, hs256: KeyPair, scope: object
) -> None:
    """A scope claim that is neither a string nor an array of strings is ``invalid_claim``."""
    token = hs256.sign(_standard_claims(scope=scope))
    with pytest.raises(TokenError) as caught:
        standard.verify(token, now=NOW)
    assert (caught.value.code, caught.value.claim) == ("invalid_claim", "scope")


def test_require_scopes_is_insufficient_permissions_with_status_403(
    standard: Verifier, hs256: KeyPair
) -> None:
    """A missing scope is ``insufficient_permissions``: HTTP 403, RFC 6750 ``insufficient_scope``."""
    verified = standard.verify(hs256.sign(_standard_claims(scope=["read"])), now=NOW)
    verified.require_scopes("read")
    verified.require_scopes()
    with pytest.raises(TokenError) as caught:
        verified.require_scopes("read", "write", "admin")
    err = caught.value
    assert (err.code, err.status, err.rfc6750) == (
        "insufficient_permissions",
        403,
        "insufficient_scope",
    )
    assert "write admin" in err.message
    defaulted = standard.verify(hs256.sign(_standard_claims()), now=NOW)
    defaulted.require_scopes("read", "write")
    empty = standard.verify(hs256.sign(_standard_claims(scope="")), now=NOW)
    with pytest.raises(TokenError) as caught:
        empty.require_scopes("read")
    assert "none" in caught.value.message


# --- typ --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pinned", "typ", "answer"),
    [
        ("JWT", "JWT", "ok"),
        ("JWT", "jwt", "ok"),
        ("JWT", "application/JWT", "ok"),
        ("JWT", "APPLICATION/jwt", "ok"),
        ("application/jwt", "JWT", "ok"),
        ("at+jwt", "application/at+JWT", "ok"),
        ("JWT", "at+jwt", "invalid_token_type"),
        ("JWT", "JOSE", "invalid_token_type"),
        ("JWT", "", "invalid_token_type"),
        ("JWT", "application/", "invalid_token_type"),
        ("JWT", "JWT ", "invalid_token_type"),
        ("JWT", None, "invalid_token_type"),
    ],
)
def test_typ_pinning_compares_media_types_case_insensitively(
    hs256: KeyPair, plain_profile: TokenProfile, pinned: str, typ: str | None, answer: str
) -> None:
    """A pinned typ matches with or without ``application/`` and in any case; missing is refused."""
    verifier = Verifier(
        KeySet([hs256.public(kid="k")]),
        policy=ClaimPolicy(token_type=pinned),
        profile=plain_profile,
    )
    header: dict[str, Any] = {"alg": "HS256"} if typ is None else {"alg": "HS256", "typ": typ}
    token = hs256.sign_raw(header, {"sub": "u"})
    assert outcome_of(lambda: verifier.verify(token, now=NOW)) == answer


def test_without_a_pinned_typ_any_string_typ_is_accepted(
    hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """An unpinned product ignores ``typ`` as long as it is a string."""
    verifier = Verifier(KeySet([hs256.public(kid="k")]), profile=plain_profile)
    for typ in ("JWT", "at+jwt", "whatever"):
        assert (
            verifier.verify(
                hs256.sign_raw({"alg": "HS256", "typ": typ}, {"sub": "u"}), now=NOW
            ).user_id
            == "u"
        )
    assert outcome_of(
        lambda: verifier.verify(hs256.sign_raw({"alg": "HS256", "typ": 1}, {"sub": "u"}), now=NOW)
    ) == ("invalid_token")


def test_a_claim_policy_is_immutable() -> None:
    """Policies are frozen values: a product that changes its rules makes a new one."""
    policy = ClaimPolicy(leeway=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.leeway = 10  # type: ignore[misc]
