"""The verifier: what a verified token carries, the fixed order of the checks, the error catalogue,
and the signing helpers that make tokens for backends, the CLI and these tests.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

import jwt as pyjwt
import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import import_key

from plaudit.auth import (
    DEFAULT_MAX_TOKEN_BYTES,
    AuthError,
    ClaimPolicy,
    KeyError_,
    KeySet,
    SigningKey,
    TokenError,
    TokenProfile,
    Verifier,
    all_error_types,
    generate_private_key,
    generate_secret,
    get_profile,
    parse_unverified,
    private_pem,
    sign,
    verify,
)
from plaudit.auth.algorithms import ALGORITHMS

from .conftest import NOW, KeyPair, outcome_of

ALL_ALGORITHMS = [
    "HS256", "HS384", "HS512",
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
    "ES256", "ES384", "ES512",
    "EdDSA",
]  # fmt: skip


# --- every algorithm, from every signer ----------------------------------------------------


def test_the_registry_holds_exactly_the_documented_algorithms() -> None:
    """Plaudit verifies the thirteen JWS algorithms its hint lists, and nothing else."""
    from plaudit.auth.errors import UnsupportedAlgorithm

    assert sorted(ALGORITHMS) == sorted(ALL_ALGORITHMS)
    for alg in ALL_ALGORITHMS:
        assert ALGORITHMS[alg].name == alg
        assert re.search(rf"\b{alg}\b", UnsupportedAlgorithm.hint), alg


@pytest.mark.parametrize("alg", ALL_ALGORITHMS)
def test_tokens_of_every_algorithm_verify_from_plaudit_pyjwt_and_joserfc(
    keypairs: dict[str, KeyPair], plain_profile: TokenProfile, alg: str
) -> None:
    """A token signed by Plaudit, PyJWT or joserfc with any supported algorithm verifies."""
    pair = keypairs[alg]
    verifier = Verifier(KeySet([pair.public(kid="k")]), profile=plain_profile)
    claims = {"sub": "user-1", "iat": NOW, "exp": NOW + 60}
    tokens = [pair.sign(claims), pyjwt.encode(claims, pair.pyjwt_key(), algorithm=alg)]
    if alg != "EdDSA":  # joserfc warns that RFC 9864 deprecates "EdDSA"; PyJWT covers it
        kty = "oct" if pair.is_hmac else ("RSA" if alg[0] in "RP" else "EC")
        jose_key = import_key(pair.private if pair.is_hmac else pair.private_pem(), kty)
        tokens.append(jose_jwt.encode({"alg": alg}, claims, jose_key, algorithms=[alg]))
    for token in tokens:
        verified = verifier.verify(token, now=NOW)
        assert (verified.user_id, verified.algorithm, verified.key_id) == ("user-1", alg, "k")


# --- what a verified token carries -----------------------------------------------------------


def test_a_verified_token_carries_its_user_claims_header_and_key(hs256: KeyPair) -> None:
    """user_id, claims, header, scopes, key_id, algorithm, times, token id and profile are all there."""
    verifier = Verifier(KeySet([hs256.public(kid="primary")]), profile=get_profile("standard"))
    claims = {
        "sub": "user_123", "iss": "t", "aud": "a", "iat": NOW - 5, "exp": NOW + 60,
        "jti": "token-1", "scope": "read", "email": "u@example.com", "given_name": "Uma",
    }  # fmt: skip
    verified = verifier.verify(hs256.sign(claims, kid="primary"), now=NOW)
    assert verified.user_id == "user_123"
    assert dict(verified.claims) == claims
    assert dict(verified.header) == {"alg": "HS256", "typ": "JWT", "kid": "primary"}
    assert verified.scopes == frozenset({"read"})
    assert (verified.key_id, verified.algorithm) == ("primary", "HS256")
    assert (verified.issued_at, verified.expires_at, verified.token_id) == (
        NOW - 5,
        NOW + 60,
        "token-1",
    )
    assert verified.token_profile is get_profile("standard")
    assert verified.profile == {"email": "u@example.com", "first_name": "Uma"}


def test_verified_claims_and_header_are_read_only(
    hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """Cached results are shared between requests, so their claims and header cannot be changed."""
    verified = Verifier(KeySet([hs256.public(kid="k")]), profile=plain_profile).verify(
        hs256.sign({"sub": "u"}), now=NOW
    )
    assert isinstance(verified.claims, MappingProxyType)
    with pytest.raises(TypeError):
        verified.claims["sub"] = "admin"  # type: ignore[index]
    with pytest.raises(TypeError):
        verified.header["alg"] = "none"  # type: ignore[index]


@pytest.mark.parametrize(
    ("claims", "policy", "expires_at"),
    [
        ({"sub": "u", "exp": NOW + 60}, {}, NOW + 60),
        ({"sub": "u", "exp": NOW + 60, "iat": NOW}, {"max_age": 30}, NOW + 60),
        ({"sub": "u", "iat": NOW}, {"max_age": 30, "leeway": 5}, NOW + 35),
        ({"sub": "u", "iat": NOW}, {}, None),
        ({"sub": "u", "exp": NOW + 60}, {"max_age": 30}, NOW + 60),
    ],
    ids=[
        "exp",
        "exp-wins-as-the-tokens-own-end",
        "iat-plus-max-age",
        "unbounded",
        "exp-without-iat",
    ],
)
def test_expires_at_is_exp_else_iat_plus_max_age_else_none(
    hs256: KeyPair,
    plain_profile: TokenProfile,
    claims: dict[str, Any],
    policy: dict[str, Any],
    expires_at: float | None,
) -> None:
    """``expires_at`` is the token's own end: ``exp``, else ``iat + max_age`` (+ leeway), else None."""
    verifier = Verifier(
        KeySet([hs256.public(kid="k")]), policy=ClaimPolicy(**policy), profile=plain_profile
    )
    assert verifier.verify(hs256.sign(claims), now=NOW).expires_at == expires_at


@pytest.mark.parametrize(("jti", "token_id"), [("abc", "abc"), (7, None), (None, None)])
def test_token_id_is_the_jti_when_it_is_a_string(
    hs256: KeyPair, plain_profile: TokenProfile, jti: object, token_id: str | None
) -> None:
    """``token_id`` is a string ``jti`` or None (a numeric jti is not an id to revoke by)."""
    claims: dict[str, Any] = {"sub": "u"} if jti is None else {"sub": "u", "jti": jti}
    verified = Verifier(KeySet([hs256.public(kid="k")]), profile=plain_profile).verify(
        hs256.sign(claims), now=NOW
    )
    assert verified.token_id == token_id


def test_the_verify_function_is_an_uncached_verifier(
    hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """``verify(token, keys, policy, now=, profile=)`` answers exactly as a Verifier does."""
    keys = KeySet([hs256.public(kid="k")])
    token = hs256.sign({"sub": "u", "exp": NOW + 10})
    assert verify(token, keys, now=NOW, profile=plain_profile).user_id == "u"
    assert outcome_of(
        lambda: verify(token, keys, ClaimPolicy(issuer="x"), now=NOW, profile=plain_profile)
    ) == ("missing_required_claim")
    assert (
        outcome_of(lambda: verify(token, keys, now=NOW + 10, profile=plain_profile))
        == "token_expired"
    )
    assert (
        outcome_of(lambda: verify(token, keys, now=NOW)) == "missing_required_claim"
    )  # standard profile


def test_verify_parsed_accepts_a_token_parsed_for_routing(hs256: KeyPair) -> None:
    """A token parsed unverified (to find its product) can be verified without parsing it again."""
    token = hs256.sign({"ProductId": "p1", "UserId": "u", "iat": NOW})
    parsed = parse_unverified(token)
    profile = get_profile("reditus")
    assert profile.product_of(parsed.claims) == "p1"
    assert parsed.signing_input == token.rpartition(".")[0].encode()
    assert parsed.header.alg == "HS256"
    verified = Verifier(KeySet([hs256.public(kid="k")]), profile=profile).verify_parsed(
        parsed, now=NOW
    )
    assert verified.user_id == "u"


# --- the order of the checks -------------------------------------------------------------------


def test_checks_run_in_a_fixed_order(
    hs256: KeyPair, attacker_keypairs: dict[str, KeyPair], plain_profile: TokenProfile
) -> None:
    """Size, shape, header, type, key, signature, claims: a token with several faults gets the first."""
    keys = KeySet([hs256.public(kid="k")])
    verifier = Verifier(
        keys, policy=ClaimPolicy(token_type="JWT", issuer="iss"), profile=plain_profile
    )
    forger = attacker_keypairs["HS256"]
    expired = {"sub": "u", "exp": NOW - 1}
    cases = [
        ("x" * (DEFAULT_MAX_TOKEN_BYTES + 1), "token_too_large"),
        ("a.b", "invalid_token"),
        (
            forger.sign_raw({"alg": "none", "typ": "other", "kid": "zz"}, expired),
            "unsupported_algorithm",
        ),
        (
            forger.sign_raw({"alg": "HS256", "typ": "JWT", "crit": [], "kid": "zz"}, expired),
            "unsupported_critical_header",
        ),
        (
            forger.sign_raw({"alg": "HS256", "typ": "other", "kid": "zz"}, expired),
            "invalid_token_type",
        ),
        (forger.sign_raw({"alg": "HS256", "typ": "JWT", "kid": "zz"}, expired), "unknown_key"),
        (
            forger.sign_raw({"alg": "RS256", "typ": "JWT", "kid": "k"}, expired),
            "algorithm_not_allowed",
        ),
        (forger.sign_raw({"alg": "HS256", "typ": "JWT", "kid": "k"}, expired), "invalid_signature"),
        (hs256.sign_raw({"alg": "HS256", "typ": "JWT", "kid": "k"}, expired), "token_expired"),
    ]
    for token, code in cases:
        assert outcome_of(lambda token=token: verifier.verify(token, now=NOW)) == code


def test_a_malformed_payload_is_refused_before_the_key_is_chosen(
    hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """The whole token is parsed strictly before any key is looked at."""
    verifier = Verifier(KeySet([hs256.public(kid="k")]), profile=plain_profile)
    token = hs256.sign_raw({"alg": "HS256", "kid": "unknown"}, b"[1]")
    assert outcome_of(lambda: verifier.verify(token, now=NOW)) == "invalid_token"


def test_many_distinct_headers_do_not_confuse_the_header_cache(
    hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """Past the header cache's size, headers are still validated one by one."""
    verifier = Verifier(KeySet([hs256.public(kid="k")]), profile=plain_profile)
    for i in range(300):
        assert (
            verifier.verify(
                hs256.sign_raw({"alg": "HS256", "n": i}, {"sub": f"u{i}"}), now=NOW
            ).user_id
            == f"u{i}"
        )
    bad = hs256.sign_raw({"alg": "HS256", "n": 0, "crit": []}, {"sub": "u"})
    assert outcome_of(lambda: verifier.verify(bad, now=NOW)) == "unsupported_critical_header"


# --- the error catalogue ---------------------------------------------------------------------------

EXPECTED_CODES = {
    "missing_token", "token_too_large", "invalid_token", "unsupported_algorithm",
    "algorithm_not_allowed", "unsupported_critical_header", "invalid_token_type", "unknown_key",
    "kid_required", "key_disabled", "invalid_signature", "token_expired", "token_not_yet_valid",
    "token_lifetime_too_long", "invalid_claim", "invalid_user_id", "missing_required_claim", "invalid_issuer",
    "invalid_audience", "wrong_product", "token_revoked", "insufficient_permissions",
    "invalid_key", "weak_key", "key_too_large", "private_key_not_allowed", "unsupported_key",
}  # fmt: skip


def test_the_error_catalogue_has_one_stable_code_per_error() -> None:
    """Every concrete error has its own code, a description and a hint; the set is the documented one."""
    errors = all_error_types()
    codes = [e.code for e in errors]
    assert len(codes) == len(set(codes))
    assert set(codes) == EXPECTED_CODES
    for error in errors:
        assert re.fullmatch(r"[a-z_]+", error.code)
        assert error.description.endswith(".")
        assert error.hint
        assert error.rfc6750 in {"invalid_token", "invalid_request", "insufficient_scope"}


def test_status_codes_follow_the_error_families() -> None:
    """Refused tokens are 401 (403 for missing permissions); refused keys are 422."""
    for error in all_error_types():
        if issubclass(error, TokenError):
            assert error.status == (403 if error.code == "insufficient_permissions" else 401), error
        else:
            assert issubclass(error, KeyError_)
            assert error.status == 422


def test_the_gamification_guides_five_codes_keep_its_wording() -> None:
    """The five codes the gamification guide documents exist with the guide's meaning."""
    by_code = {e.code: e for e in all_error_types()}
    assert by_code["token_expired"].description == "The JWT has expired."
    assert by_code["invalid_signature"].description == "The JWT signature verification failed."
    assert (
        by_code["missing_required_claim"].description == "A required claim is missing from the JWT."
    )
    assert (
        by_code["insufficient_permissions"].description == "The token lacks necessary permissions."
    )
    assert "malformed or cannot be parsed" in by_code["invalid_token"].description


def test_an_error_renders_as_the_json_body(hs256: KeyPair, plain_profile: TokenProfile) -> None:
    """``as_dict()`` is ``{"error", "message", "hint"}``; the claim involved is kept on the error."""
    verifier = Verifier(KeySet([hs256.public(kid="k")]), profile=plain_profile)
    with pytest.raises(TokenError) as caught:
        verifier.verify(hs256.sign({"sub": "u", "exp": NOW - 7200}), now=NOW)
    err = caught.value
    body = err.as_dict()
    assert set(body) == {"error", "message", "hint"}
    assert body["error"] == "token_expired"
    assert "2025-11-24" in body["message"]
    assert err.claim == "exp"
    assert "token_expired" in repr(err)
    assert isinstance(err, AuthError)


def test_messages_never_contain_the_secret(hs256: KeyPair, plain_profile: TokenProfile) -> None:
    """No refusal, of a token or a key, repeats the secret it was checked against."""
    secret = hs256.private.decode()
    verifier = Verifier(KeySet([hs256.public(kid="k")]), profile=plain_profile)
    forged = KeyPair("HS256", b"x" * 32).sign({"sub": "u"})
    for token in (
        forged,
        hs256.sign({"sub": "u", "exp": NOW - 1}),
        hs256.sign({"iat": "x", "sub": "u"}),
    ):
        with pytest.raises(TokenError) as caught:
            verifier.verify(token, now=NOW)
        assert secret not in str(caught.value.as_dict())
    with pytest.raises(KeyError_) as weak:
        SigningKey.from_secret(secret[:20])
    assert secret[:20] not in str(weak.value.as_dict())


# --- signing helpers ---------------------------------------------------------------------------------


def test_signing_keys_refuse_what_verification_would_refuse() -> None:
    """``SigningKey.from_secret`` applies the registration rules: short secrets are ``weak_key``."""
    with pytest.raises(KeyError_) as caught:
        SigningKey.from_secret("short", "HS256")
    assert caught.value.code == "weak_key"
    with pytest.raises(KeyError_):
        SigningKey.from_secret(b"k" * 32, "RS256")
    with pytest.raises(KeyError_) as unreadable:
        SigningKey.from_pem("not a key")
    assert unreadable.value.code == "invalid_key"


@pytest.mark.parametrize(
    ("kind", "algorithm", "expected"),
    [
        ("rsa", None, "RS256"),
        ("rsa", "PS512", "PS512"),
        ("ec", "ES384", "ES384"),
        ("ed25519", None, "EdDSA"),
    ],
)
def test_signing_keys_from_pem_sign_tokens_their_verification_key_accepts(
    kind: Any, algorithm: str | None, expected: str, plain_profile: TokenProfile
) -> None:
    """A private PEM signs with its family's algorithm, and ``verification_key()`` is its public half."""
    private = generate_private_key(kind, algorithm=algorithm)
    signer = SigningKey.from_pem(private_pem(private), algorithm, kid="s1")
    assert signer.algorithm == expected
    assert "PRIVATE" not in signer.public_pem()
    token = sign({"sub": "u"}, signer, headers={"typ": "at+jwt"})
    header = parse_unverified(token).header
    assert (header.alg, header.kid, header.typ) == (expected, "s1", "at+jwt")
    verifier = Verifier(KeySet([signer.verification_key()]), profile=plain_profile)
    assert verifier.verify(token, now=NOW).key_id == "s1"


def test_signing_helpers_refuse_impossible_requests() -> None:
    """Unknown key kinds, mismatched algorithms and public halves of secrets are refused."""
    with pytest.raises(KeyError_):
        generate_private_key("dsa")  # type: ignore[arg-type]
    with pytest.raises(KeyError_):
        SigningKey.from_pem(private_pem(generate_private_key("ed25519")), "RS256")
    with pytest.raises(KeyError_):
        SigningKey.from_secret(b"k" * 32).public_pem()


def test_generated_secrets_are_long_random_and_accepted_for_hs512() -> None:
    """``generate_secret()`` gives URL-safe text that registers for every HS*."""
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert re.fullmatch(r"[A-Za-z0-9_-]{80,}", first)
    assert SigningKey.from_secret(first, "HS512").verification_key(kid="g").algorithms == frozenset(
        {"HS512"}
    )
