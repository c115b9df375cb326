"""Token profiles: the exact token each integration guide's own code produces verifies.

Each guide test signs what the guide's sample code signs, with the library it uses (PyJWT for
the Python samples; the Node ``jose`` and Ruby ``jwt`` samples differ only in their header, which
is reproduced byte for byte), changing only the secret: the guides' placeholder secrets are too
short for HMAC and are refused as ``weak_key``, which is checked too.
"""

from __future__ import annotations

from typing import Any

import jwt as pyjwt
import pytest

from plaudit.auth import (
    PROFILES,
    ClaimPolicy,
    KeyError_,
    KeySet,
    TokenError,
    TokenProfile,
    Verifier,
    get_profile,
    guess_profile,
    hmac_key,
    parse_unverified,
    public_key_from_pem,
)

from .conftest import NOW, KeyPair, b64url, compact, outcome_of

# "With only the secret changed": long enough for the algorithm each guide uses.
PRODUCT_SECRET = "rdts_live_9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0"
SAASQUATCH_API_KEY = "TEST_k2f9Qw7xLmN4vB8cZ1rT6yH3uJ5pA0sD"
GAMIFICATION_API_SECRET = "gk_test_3c9a1f7e5b2d8046ae13f9c7b5d2e8a0"


def test_reditus_referral_widget_token_verifies(now: int) -> None:
    """The referral widget guide's HS512 ``{ProductId, UserId, iat}`` token verifies (PyJWT, jose, ruby-jwt).

    PyJWT writes ``{"alg":"HS512","typ":"JWT"}``; ``new SignJWT(...).setProtectedHeader({alg:
    "HS512", typ: "JWT"})`` writes the same members; ruby-jwt's ``JWT.encode(payload, secret,
    'HS512')`` writes ``{"alg":"HS512"}`` alone. The token has no ``exp``: it lives by ``iat``.
    """
    PRODUCT_ID = "YOUR_PRODUCT_ID"
    user_id = "user-4711"
    payload = {"ProductId": PRODUCT_ID, "UserId": user_id, "iat": now}
    python_token = pyjwt.encode(payload, PRODUCT_SECRET, algorithm="HS512")
    secret = PRODUCT_SECRET.encode()
    node_token = KeyPair("HS512", secret).sign_raw({"alg": "HS512", "typ": "JWT"}, payload)
    ruby_token = KeyPair("HS512", secret).sign_raw(
        {"alg": "HS512"},
        b'{"ProductId":"YOUR_PRODUCT_ID","UserId":"user-4711","iat":' + str(now).encode() + b"}",
    )
    profile = get_profile("reditus")
    verifier = Verifier(KeySet([hmac_key(PRODUCT_SECRET, kid="product-secret")]), profile=profile)
    for token in (python_token, node_token, ruby_token):
        verified = verifier.verify(token, now=now + 5)
        assert verified.user_id == user_id
        assert verified.algorithm == "HS512"
        assert verified.issued_at == now
        assert verified.expires_at is None
        assert verified.scopes == frozenset({"read", "write"})
        assert profile.product_of(verified.claims) == PRODUCT_ID
        # The product id routes a token before verification; it never grants anything by itself.
        assert profile.product_of(parse_unverified(token).claims) == PRODUCT_ID
        assert guess_profile(verified.claims) is profile
    # The guide's own placeholder secret is 19 bytes: too short for HS512 (or any HS*).
    with pytest.raises(KeyError_) as caught:
        hmac_key("YOUR_PRODUCT_SECRET")
    assert caught.value.code == "weak_key"


def test_reditus_tokens_age_out_only_under_a_max_age(now: int) -> None:
    """Without ``exp``, a referral widget token is bounded by the product's ``max_age`` alone."""
    token = pyjwt.encode(
        {"ProductId": "p", "UserId": "u", "iat": now}, PRODUCT_SECRET, algorithm="HS512"
    )
    keys = KeySet([hmac_key(PRODUCT_SECRET, kid="s")])
    profile = get_profile("reditus")
    assert Verifier(keys, profile=profile).verify(token, now=now + 86400 * 365).user_id == "u"
    aged = Verifier(keys, profile=profile, policy=ClaimPolicy(max_age=3600))
    assert aged.verify(token, now=now + 3599).expires_at == now + 3600
    assert outcome_of(lambda: aged.verify(token, now=now + 3600)) == "token_expired"


def test_xtremepush_loyalty_widget_token_verifies(rs256: KeyPair) -> None:
    """The loyalty widget guide's RS256 ``{sub, exp}`` token, with and without ``kid``, verifies.

    The tenant uploads the output of ``openssl pkey -in private.key -pubout -out public.key``
    (an SPKI PEM); the guide's example ``exp`` is 1741436048, so the check runs just before it.
    """
    exp = 1741436048
    private_key = rs256.private_pem()
    public_key = rs256.public_pem()
    standard = pyjwt.encode({"sub": "user_88421", "exp": exp}, private_key, algorithm="RS256")
    with_kid = pyjwt.encode(
        {"sub": "user_88421", "exp": exp},
        private_key,
        algorithm="RS256",
        headers={"kid": "primary"},
    )
    assert parse_unverified(standard).header.fields == {"alg": "RS256", "typ": "JWT"}
    assert parse_unverified(with_kid).header.fields == {
        "alg": "RS256",
        "kid": "primary",
        "typ": "JWT",
    }
    profile = get_profile("xtremepush")
    verifier = Verifier(
        KeySet([public_key_from_pem(public_key, kid="primary", description="Production key")]),
        profile=profile,
        policy=ClaimPolicy(token_type="JWT"),
    )
    for token in (standard, with_kid):
        verified = verifier.verify(token, now=exp - 300)
        assert (verified.user_id, verified.key_id, verified.expires_at) == (
            "user_88421",
            "primary",
            exp,
        )
        assert guess_profile(verified.claims) is profile
    assert outcome_of(lambda: verifier.verify(with_kid, now=exp)) == "token_expired"


def test_xtremepush_key_rotation_uses_the_kid_to_pick_the_key(
    rs256: KeyPair, attacker_keypairs: dict[str, KeyPair]
) -> None:
    """With two uploaded keys, each token's ``kid`` picks its key; a kid-less token tries both."""
    old, new = attacker_keypairs["RS256"], rs256
    keys = KeySet(
        [
            public_key_from_pem(old.public_pem(), kid="2024"),
            public_key_from_pem(new.public_pem(), kid="2025"),
        ]
    )
    verifier = Verifier(keys, profile=get_profile("xtremepush"))
    claims = {"sub": "user_88421", "exp": NOW + 600}
    for pair, kid in ((old, "2024"), (new, "2025")):
        token = pyjwt.encode(claims, pair.private_pem(), algorithm="RS256", headers={"kid": kid})
        assert verifier.verify(token, now=NOW).key_id == kid
        assert (
            verifier.verify(
                pyjwt.encode(claims, pair.private_pem(), algorithm="RS256"), now=NOW
            ).key_id
            == kid
        )
    crossed = pyjwt.encode(claims, old.private_pem(), algorithm="RS256", headers={"kid": "2025"})
    assert outcome_of(lambda: verifier.verify(crossed, now=NOW)) == "invalid_signature"


def _saasquatch_user(account_member: str) -> dict[str, str]:
    return {
        "id": "7558cc3cf3dc01375d24f7c1070abb01cd979956",
        account_member: "7558cc3cf3dc01375d24f7c1070abb01cd979956",
        "firstName": "Joe",
        "lastName": "Testerson",
        "email": "joe@example.com",
        "locale": "en_US",
        "referralCode": "JOETESTERSON",
    }


@pytest.mark.parametrize(
    ("account_member", "with_exp"),
    [("accountId", True), ("accountId", False), ("account", True), ("account", False)],
    ids=["python-accountId", "python-no-exp", "csharp-php-account", "csharp-php-no-exp"],
)
def test_saasquatch_referral_platform_token_verifies(account_member: str, with_exp: bool) -> None:
    """The referral platform guide's HS256 ``user`` object token verifies, whichever account spelling.

    The Python sample writes ``accountId``, the C# and PHP samples ``account``; ``exp`` is
    optional in every sample. The profile maps the user object to profile fields.
    """
    claims: dict[str, Any] = {"user": _saasquatch_user(account_member)}
    if with_exp:
        claims["exp"] = NOW + 3600
    token = pyjwt.encode(claims, SAASQUATCH_API_KEY, algorithm="HS256")
    profile = get_profile("saasquatch")
    verified = Verifier(
        KeySet([hmac_key(SAASQUATCH_API_KEY, kid="api-key")]), profile=profile
    ).verify(token, now=NOW)
    assert verified.user_id == "7558cc3cf3dc01375d24f7c1070abb01cd979956"
    assert verified.expires_at == (NOW + 3600 if with_exp else None)
    assert verified.profile == {
        "account_id": "7558cc3cf3dc01375d24f7c1070abb01cd979956",
        "first_name": "Joe",
        "last_name": "Testerson",
        "email": "joe@example.com",
        "locale": "en_US",
        "referral_code": "JOETESTERSON",
    }
    assert guess_profile(verified.claims) is profile
    # The Ruby sample's placeholder key ('Referral SaaSquatch API key', 27 bytes) is too short.
    with pytest.raises(KeyError_):
        hmac_key("Referral SaaSquatch API key")


def test_saasquatch_token_without_a_user_id_is_missing_required_claim() -> None:
    """A ``user`` object without ``id`` is ``missing_required_claim`` naming ``user.id``."""
    token = pyjwt.encode(
        {"user": {"email": "joe@example.com"}}, SAASQUATCH_API_KEY, algorithm="HS256"
    )
    verifier = Verifier(KeySet([hmac_key(SAASQUATCH_API_KEY)]), profile=get_profile("saasquatch"))
    with pytest.raises(TokenError) as caught:
        verifier.verify(token, now=NOW)
    assert (caught.value.code, caught.value.claim) == ("missing_required_claim", "user.id")


GAMIFICATION_EXAMPLE = {
    "sub": "user_123",
    "iss": "your-tenant-id",
    "aud": "your-application-id",
    "iat": 1696134000,
    "exp": 1696137600,
    "scope": ["read", "write"],
}


def _gamification_verifier() -> Verifier:
    return Verifier(
        KeySet([hmac_key(GAMIFICATION_API_SECRET, kid="api-secret")]),
        profile=get_profile("standard"),
        policy=ClaimPolicy(issuer="your-tenant-id", audience="your-application-id"),
    )


def test_gamification_api_token_verifies() -> None:
    """The gamification guide's ``jsonwebtoken.sign(payload, API_SECRET)`` token verifies.

    ``jsonwebtoken`` defaults to HS256 with ``{"alg":"HS256","typ":"JWT"}``, as PyJWT does; the
    payload is the guide's own example, checked a minute after its ``iat``.
    """
    token = pyjwt.encode(GAMIFICATION_EXAMPLE, GAMIFICATION_API_SECRET, algorithm="HS256")
    assert parse_unverified(token).header.fields == {"alg": "HS256", "typ": "JWT"}
    verified = _gamification_verifier().verify(token, now=1696134060)
    assert verified.user_id == "user_123"
    assert verified.scopes == frozenset({"read", "write"})
    assert (verified.issued_at, verified.expires_at) == (1696134000, 1696137600)
    assert guess_profile(verified.claims) is get_profile("standard")
    with pytest.raises(KeyError_):
        hmac_key("your-api-secret")


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("malformed", "invalid_token"),
        ("expired", "token_expired"),
        ("wrong-secret", "invalid_signature"),
        ("no-iss", "missing_required_claim"),
        ("no-exp", "missing_required_claim"),
        ("needs-admin", "insufficient_permissions"),
    ],
)
def test_gamification_guide_error_codes_keep_their_meaning(case: str, code: str) -> None:
    """The guide's five error codes are produced exactly for the situations it describes."""
    claims = dict(GAMIFICATION_EXAMPLE)
    secret, now = GAMIFICATION_API_SECRET, 1696134060
    if case == "expired":
        now = 1696137600
    elif case == "wrong-secret":
        secret = "another-secret-of-at-least-32-bytes!!"
    elif case == "no-iss":
        del claims["iss"]
    elif case == "no-exp":
        del claims["exp"]
    token = pyjwt.encode(claims, secret, algorithm="HS256")
    if case == "malformed":
        token = token.replace(".", "", 1)
    verifier = _gamification_verifier()

    def call() -> None:
        verified = verifier.verify(token, now=now)
        if case == "needs-admin":
            verified.require_scopes("admin")

    assert outcome_of(call) == code


def test_the_wrong_profile_refuses_a_guides_token() -> None:
    """A referral widget token checked with the standard profile lacks ``sub``, ``iss`` and ``aud``."""
    token = pyjwt.encode(
        {"ProductId": "p", "UserId": "u", "iat": NOW}, PRODUCT_SECRET, algorithm="HS512"
    )
    verifier = Verifier(KeySet([hmac_key(PRODUCT_SECRET)]), profile=get_profile("standard"))
    assert outcome_of(lambda: verifier.verify(token, now=NOW)) == "missing_required_claim"


def test_the_four_profiles_are_registered_by_name() -> None:
    """``standard``, ``reditus``, ``xtremepush`` and ``saasquatch`` exist; other names are a ValueError."""
    assert set(PROFILES) == {"standard", "reditus", "xtremepush", "saasquatch"}
    assert {name: p.algorithms for name, p in PROFILES.items()} == {
        "standard": ("HS256",),
        "reditus": ("HS512",),
        "xtremepush": ("RS256",),
        "saasquatch": ("HS256",),
    }
    with pytest.raises(ValueError, match="standard"):
        get_profile("auth0")


@pytest.mark.parametrize(
    ("value", "answer"),
    [
        ("u-1", "u-1"),
        (42, "42"),
        (0, "0"),
        ("x" * 255, "x" * 255),
        ("x" * 256, "invalid_claim"),
        ("", "invalid_claim"),
        ("   ", "invalid_claim"),
        (True, "invalid_claim"),
        (4.2, "invalid_claim"),
        (["u"], "invalid_claim"),
        ({"id": "u"}, "invalid_claim"),
        (None, "missing_required_claim"),
    ],
    ids=[
        "string",
        "int",
        "zero",
        "255",
        "256",
        "empty",
        "blank",
        "bool",
        "float",
        "array",
        "object",
        "null",
    ],
)
def test_user_ids_are_short_strings_or_integers(hs256: KeyPair, value: object, answer: str) -> None:
    """A user id is a non-blank string of at most 255 characters, or an integer (as a string)."""
    profile = get_profile("reditus")
    verifier = Verifier(KeySet([hs256.public(kid="k")]), profile=profile)
    token = hs256.sign({"ProductId": "p", "UserId": value, "iat": NOW})
    result: list[str] = []
    code = outcome_of(lambda: result.append(verifier.verify(token, now=NOW).user_id))
    assert (result[0] if result else code) == answer


def test_a_profile_can_move_the_user_id_and_the_product_claim() -> None:
    """``with_overrides`` lets a tenant keep the user id elsewhere; it becomes required instead."""
    profile = get_profile("standard").with_overrides(
        user_id="https://tenant.example/uid", product_claim="app", fields={"email": ("mail",)}
    )
    assert "https://tenant.example/uid" in profile.required_claims
    assert "sub" not in profile.required_claims
    claims = {"https://tenant.example/uid": "u9", "app": "a1", "mail": "u9@example.com"}
    assert profile.user_id_of(claims) == "u9"
    assert profile.product_of(claims) == "a1"
    assert profile.profile_of(claims)["email"] == "u9@example.com"
    assert get_profile("standard").user_id == "sub"


def test_product_claim_that_is_not_a_string_is_invalid_claim() -> None:
    """A ``ProductId`` that is not a non-empty string cannot route a token: ``invalid_claim``."""
    profile = get_profile("reditus")
    assert profile.product_of({"UserId": "u"}) is None
    for value in (7, "", None, ["p"]):
        with pytest.raises(TokenError) as caught:
            profile.product_of({"ProductId": value})
        assert caught.value.code == "invalid_claim"


def test_profile_fields_keep_only_reasonable_strings() -> None:
    """Profile fields are strings of at most 512 characters; others are left out, not refused."""
    profile = get_profile("saasquatch")
    claims = {
        "user": {"id": "u", "email": "x" * 513, "firstName": 7, "lastName": "", "locale": "de_DE"}
    }
    assert profile.profile_of(claims) == {"locale": "de_DE"}


def test_guess_profile_tells_the_four_shapes_apart() -> None:
    """``guess_profile`` recognises each guide's claims and gives up on anything else."""
    assert guess_profile({"UserId": "u", "ProductId": "p"}) is get_profile("reditus")
    assert guess_profile({"user": {"id": "u"}}) is get_profile("saasquatch")
    assert guess_profile({"sub": "u", "iss": "i", "aud": "a", "iat": 1}) is get_profile("standard")
    assert guess_profile({"sub": "u", "exp": 1}) is get_profile("xtremepush")
    assert guess_profile({"uid": "u"}) is None


def test_a_custom_profile_is_a_table_entry(hs256: KeyPair) -> None:
    """A new token shape is a ``TokenProfile`` value, not new code."""
    profile = TokenProfile(
        name="custom",
        title="custom",
        user_id="data.uid",
        required_claims=("data.uid",),
        scope_claims=("permissions",),
        default_scopes=frozenset(),
    )
    verifier = Verifier(KeySet([hs256.public(kid="k")]), profile=profile)
    token = hs256.sign_raw({"alg": "HS256"}, compact({"data": {"uid": 5}, "permissions": "a b"}))
    verified = verifier.verify(token, now=NOW)
    assert (verified.user_id, verified.scopes) == ("5", frozenset({"a", "b"}))
    bare = hs256.sign_raw({"alg": "HS256"}, compact({"data": {"uid": 5}}))
    assert verifier.verify(bare, now=NOW).scopes == frozenset()
    assert b64url(b"{}") == "e30"
