"""explain(): a token in plain English, decoded without trust, verified only when asked."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plaudit.auth import (
    PROFILES,
    ClaimPolicy,
    KeySet,
    SigningKey,
    VerifiedTokenCache,
    Verifier,
    generate_private_key,
    generate_secret,
    private_pem,
    sign,
)
from plaudit.auth import explain as explain_module
from plaudit.auth.encoding import b64url_encode
from plaudit.auth.explain import Explanation, Finding, describe_delta, explain

NOW = 1_767_225_600  # 2026-01-01 00:00:00 UTC
SECRET = generate_secret(64)
HS256 = SigningKey.from_secret(SECRET, "HS256", kid="primary")
HS512 = SigningKey.from_secret(SECRET, "HS512")


def standard_claims(**overrides: Any) -> dict[str, Any]:
    return {
        "sub": "user_123",
        "iss": "your-tenant-id",
        "aud": "your-application-id",
        "iat": NOW - 300,
        "exp": NOW + 7200,
        "scope": ["read", "write"],
        **overrides,
    }


def raw_token(
    header: dict[str, Any] | str, claims: dict[str, Any] | str, signature: str = "c2ln"
) -> str:
    def part(value: dict[str, Any] | str) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        return b64url_encode(text.encode())

    return f"{part(header)}.{part(claims)}.{signature}"


def finding(explanation: Explanation, section: str, field: str) -> Finding:
    found = [f for f in explanation.findings if f.section == section and f.field == field]
    assert found, f"no finding for {section}.{field}: {explanation.findings}"
    return found[0]


def errors(explanation: Explanation) -> list[Finding]:
    return explanation.by_status("error")


# --- the four guides' tokens --------------------------------------------------------------------


def test_a_standard_token_is_explained_field_by_field_without_errors() -> None:
    """The gamification guide's token: every header field and claim gets an ok or info finding."""
    explanation = explain(sign(standard_claims(), HS256), now=NOW)
    assert explanation.well_formed
    assert not errors(explanation)
    assert explanation.profile == "standard"
    assert explanation.user_id == "user_123"
    assert explanation.valid is None
    for field in ("alg", "typ", "kid"):
        finding(explanation, "header", field)
    for claim in ("exp", "iat", "nbf", "iss", "aud", "sub", "scope"):
        finding(explanation, "claims", claim)
    assert finding(explanation, "header", "kid").message.startswith("Names the key 'primary'")
    assert "HMAC with SHA-256" in finding(explanation, "header", "alg").message


def test_a_reditus_token_without_exp_is_not_an_error() -> None:
    """The referral widget guide's tokens carry no exp; that is explained, not flagged."""
    claims = {"ProductId": "prod_42", "UserId": "u-1001", "iat": NOW - 60}
    explanation = explain(sign(claims, HS512), now=NOW)
    assert not errors(explanation)
    assert explanation.profile == "reditus"
    assert explanation.user_id == "u-1001"
    assert finding(explanation, "claims", "exp").status == "info"
    assert "prod_42" in finding(explanation, "profile", "product").message


def test_a_saasquatch_token_shows_its_user_object_fields() -> None:
    """The referral platform guide's user object yields the user id and the profile fields."""
    claims = {"user": {"id": "7558", "accountId": "acct", "email": "a@example.com"}}
    explanation = explain(sign(claims, HS256), now=NOW)
    assert explanation.profile == "saasquatch"
    assert explanation.user_id == "7558"
    fields = finding(explanation, "profile", "fields")
    assert fields.value == {"account_id": "acct", "email": "a@example.com"}
    assert finding(explanation, "claims", "exp").status == "warning"


def test_an_xtremepush_token_is_recognised_and_rs256_explained() -> None:
    """The loyalty guide's RS256 token with kid is recognised as the xtremepush profile."""
    key = SigningKey.from_pem(private_pem(generate_private_key("rsa")), "RS256", kid="primary")
    explanation = explain(sign({"sub": "user_88421", "exp": NOW + 60}, key), now=NOW)
    assert explanation.profile == "xtremepush"
    assert explanation.user_id == "user_88421"
    assert "RSA" in finding(explanation, "header", "alg").message
    assert finding(explanation, "token", "signature").message == "A 256-byte signature."


# --- times ----------------------------------------------------------------------------------------


def test_exp_is_given_as_a_utc_date_and_relative_to_now() -> None:
    """A valid exp reads "expires in 2 hours" with its UTC date."""
    exp = finding(explain(sign(standard_claims(), HS256), now=NOW), "claims", "exp")
    assert exp.status == "ok"
    assert exp.message == "Expires in 2 hours (2026-01-01 02:00:00 UTC)."


def test_an_expired_token_says_when_and_how_long_ago_as_the_verifier_does() -> None:
    """An exp three days past is the verifier's token_expired, with its date and its age."""
    token = sign(standard_claims(exp=NOW - 3 * 86400, iat=NOW - 4 * 86400), HS256)
    exp = finding(explain(token, now=NOW), "claims", "exp")
    assert exp.status == "error"
    assert exp.code == "token_expired"
    assert exp.message == "The token expired at 2025-12-29 00:00:00 UTC (3.0 days ago)."


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (0.2, "just now"),
        (1, "in 1 second"),
        (-45, "45 seconds ago"),
        (600, "in 10 minutes"),
        (7200, "in 2 hours"),
        (-3 * 86400, "3 days ago"),
        (5 * 365 * 86400, "in 5 years"),
    ],
)
def test_describe_delta_reads_like_a_person_would_say_it(delta: float, words: str) -> None:
    """Relative times are rounded to the unit a person would use."""
    assert describe_delta(delta) == words


def test_iat_in_the_future_is_an_error_about_clocks() -> None:
    """An iat ahead of now is token_not_yet_valid, and its hint is the signing server's clock."""
    iat = finding(explain(sign(standard_claims(iat=NOW + 600), HS256), now=NOW), "claims", "iat")
    assert iat.code == "token_not_yet_valid"
    assert iat.message == "The token was issued in the future ('iat' is 10 minutes from now)."
    assert iat.hint is not None
    assert "clock" in iat.hint


def test_an_iat_in_milliseconds_is_an_invalid_claim_with_the_seconds_hint() -> None:
    """An iat written with Date.now() is invalid_claim saying milliseconds, not a clock problem."""
    token = sign(standard_claims(iat=NOW * 1000), HS256)
    iat = finding(explain(token, now=NOW), "claims", "iat")
    assert iat.code == "invalid_claim"
    assert "milliseconds" in iat.message
    assert iat.hint is not None
    assert "Date.now() / 1000" in iat.hint


def test_an_exp_in_milliseconds_is_refused_with_the_fix() -> None:
    """An exp written with Date.now() (milliseconds) is the verifier's invalid_claim, naming
    seconds: once a warning on a token accepted for 50,000 years."""
    token = sign(standard_claims(exp=(NOW + 3600) * 1000), HS256)
    exp = finding(explain(token, now=NOW), "claims", "exp")
    assert (exp.status, exp.code) == ("error", "invalid_claim")
    assert "milliseconds" in exp.message
    assert exp.hint is not None
    assert "seconds since the Unix epoch" in exp.hint


def test_a_time_that_is_a_string_is_an_invalid_claim() -> None:
    """'exp' as a string is invalid_claim: JWT times are numbers."""
    exp = finding(explain(sign(standard_claims(exp="1767232800"), HS256), now=NOW), "claims", "exp")
    assert exp.code == "invalid_claim"
    assert "a string" in exp.message


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", [10**300, 10**400, -(10**400)])
def test_huge_times_are_reported_not_raised(claim: str, value: int) -> None:
    """A time of hundreds of digits is flagged and judged, never an OverflowError."""
    token = sign(standard_claims(**{claim: value}), HS256)
    explanation = explain(token, now=NOW, verifier=verifier_for(HS256, max_age=600))
    assert finding(explanation, "claims", claim).status in {"error", "warning"}
    assert explanation.valid is not None
    if abs(value) > 10**308 and (claim != "nbf" or value > 0):
        assert explanation.verification is not None
        assert explanation.verification["error"] == "invalid_claim"


# --- header ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["jwk", "jku", "x5u", "x5c"])
def test_key_carrying_headers_are_said_to_be_ignored(name: str) -> None:
    """jwk, jku, x5u and x5c never choose a key: the finding says they are ignored."""
    token = sign(standard_claims(), HS256, headers={name: "https://attacker.example/keys"})
    explanation = explain(token, now=NOW)
    assert explanation.well_formed
    found = finding(explanation, "header", name)
    assert found.status == "warning"
    assert found.message.startswith("Ignored")


def test_an_unsigned_token_is_refused_yet_decoded() -> None:
    """alg 'none' fails the strict parse, and its claims are still shown with the reason."""
    token = raw_token({"alg": "none"}, {"sub": "admin"}, "")
    explanation = explain(token, now=NOW)
    assert not explanation.well_formed
    assert explanation.error is not None
    assert explanation.error["error"] == "unsupported_algorithm"
    assert explanation.claims == {"sub": "admin"}
    assert finding(explanation, "header", "alg").status == "error"
    assert "empty" in finding(explanation, "token", "signature").message


def test_a_lowercase_algorithm_gets_a_did_you_mean() -> None:
    """'hs256' is not HS256: the finding suggests the right spelling."""
    explanation = explain(raw_token({"alg": "hs256"}, standard_claims()), now=NOW)
    assert "did you mean 'HS256'" in finding(explanation, "header", "alg").message


def test_crit_and_zip_headers_are_errors() -> None:
    """crit and zip make the strict parser refuse the token, and each is explained."""
    explanation = explain(
        raw_token({"alg": "HS256", "crit": ["b64"], "zip": "DEF"}, {"sub": "u"}), now=NOW
    )
    assert not explanation.well_formed
    assert finding(explanation, "header", "crit").status == "error"
    assert finding(explanation, "header", "zip").status == "error"


# --- malformed tokens -------------------------------------------------------------------------------


def test_a_bearer_prefix_is_named_and_the_token_still_decoded() -> None:
    """'Bearer <token>' is refused, told apart from the token, and decoded once cleaned."""
    explanation = explain("Bearer " + sign(standard_claims(), HS256), now=NOW)
    assert not explanation.well_formed
    messages = [f.message for f in errors(explanation)]
    assert any("'Bearer '" in m for m in messages)
    assert explanation.claims is not None
    assert explanation.claims["sub"] == "user_123"
    assert any(f.message == "Once cleaned, the token is well formed." for f in explanation.findings)


def test_quotes_around_a_copied_token_are_named() -> None:
    """A token pasted with its JSON quotes is refused with a finding about the quotes."""
    explanation = explain('"' + sign(standard_claims(), HS256) + '"', now=NOW)
    assert any("quotes" in f.message for f in errors(explanation))
    assert explanation.claims is not None


def test_padding_and_the_standard_alphabet_are_decoded_leniently() -> None:
    """'=' padding is refused precisely, and a lenient decoder still shows the claims."""
    header, payload, signature = sign(standard_claims(), HS256).split(".")
    explanation = explain(f"{header}.{payload}==.{signature}", now=NOW)
    assert explanation.error is not None
    assert "padding" in explanation.error["message"]
    assert explanation.claims is not None
    assert explanation.claims["iss"] == "your-tenant-id"


def test_duplicate_claims_are_shown_with_the_strict_reason() -> None:
    """A payload with a duplicate member is refused, and the claims section says which."""
    token = raw_token({"alg": "HS256"}, '{"sub": "a", "sub": "admin"}')
    explanation = explain(token, now=NOW)
    assert not explanation.well_formed
    payload = finding(explanation, "claims", "payload")
    assert "'sub' appears twice" in payload.message


def test_an_encrypted_token_is_recognised() -> None:
    """A five-part token is a JWE: the error says Plaudit takes signed tokens only."""
    token = b64url_encode(b'{"alg":"RSA-OAEP","enc":"A256GCM"}') + ".a.b.c.d"
    explanation = explain(token, now=NOW)
    assert explanation.error is not None
    assert "JWE" in explanation.error["message"]
    assert explanation.header == {"alg": "RSA-OAEP", "enc": "A256GCM"}


@pytest.mark.parametrize("token", ["", "   ", "abc", "a.b.c", "....", "é.é.é", "x" * 100_000])
def test_garbage_is_explained_not_raised(token: str) -> None:
    """Any text gets an explanation with an error, never an exception."""
    explanation = explain(token, now=NOW)
    assert not explanation.well_formed
    assert errors(explanation)


def test_a_der_encoded_ecdsa_signature_is_spotted() -> None:
    """An ES256 signature in DER (what OpenSSL emits) is named, with the R||S fix."""
    der = b64url_encode(b"\x30\x45" + b"\x01" * 69)
    explanation = explain(raw_token({"alg": "ES256"}, {"sub": "u", "exp": NOW + 60}, der), now=NOW)
    signature = finding(explanation, "token", "signature")
    assert signature.status == "error"
    assert "DER" in signature.message


# --- verification ------------------------------------------------------------------------------------


def verifier_for(key: SigningKey, **policy: Any) -> Verifier:
    return Verifier(
        KeySet([key.verification_key(kid="primary")]),
        policy=ClaimPolicy(**policy),
        profile=PROFILES["standard"],
    )


def test_with_a_verifier_a_good_token_is_valid_step_by_step() -> None:
    """Each claim the product checks is ok under the product's policy; key, signature, result ok."""
    explanation = explain(
        sign(standard_claims(), HS256),
        now=NOW,
        verifier=verifier_for(HS256, issuer="your-tenant-id", audience="your-application-id"),
    )
    assert explanation.valid is True
    assert explanation.verification == {"valid": True}
    steps = {f.field: f.status for f in explanation.findings if f.section == "verification"}
    assert steps == {"key": "ok", "signature": "ok", "result": "ok"}
    for claim in ("exp", "iat", "iss", "aud"):
        assert finding(explanation, "claims", claim).status == "ok"
    assert finding(explanation, "claims", "iss").message == (
        "The issuer is 'your-tenant-id', as the product expects."
    )


def test_with_a_verifier_every_failing_rule_is_reported_with_its_code() -> None:
    """A wrong key, an expiry and a wrong issuer each get their own error finding."""
    other = SigningKey.from_secret(generate_secret(64), "HS256")
    token = sign(standard_claims(exp=NOW - 10, iss="someone-else"), HS256)
    explanation = explain(token, now=NOW, verifier=verifier_for(other, issuer="your-tenant-id"))
    assert explanation.valid is False
    assert finding(explanation, "verification", "signature").code == "invalid_signature"
    assert finding(explanation, "claims", "exp").code == "token_expired"
    assert finding(explanation, "claims", "iss").code == "invalid_issuer"
    assert explanation.verification is not None
    assert explanation.verification["error"] == "invalid_signature"
    result = finding(explanation, "verification", "result")
    assert result.hint


def test_each_claim_is_judged_once_in_the_explanation() -> None:
    """With a verifier, an expired token has one exp error, not one per section."""
    token = sign(standard_claims(exp=NOW - 10), HS256)
    explanation = explain(token, now=NOW, verifier=verifier_for(HS256))
    assert [f.section for f in errors(explanation) if f.field == "exp"] == ["claims"]


def test_the_policys_leeway_is_the_explainers_too() -> None:
    """An exp 10 s past is ok in the claims section when the product forgives 30 s of skew."""
    token = sign(standard_claims(exp=NOW - 10), HS256)
    explanation = explain(token, now=NOW, verifier=verifier_for(HS256, leeway=30))
    assert explanation.valid is True
    assert finding(explanation, "claims", "exp").status == "ok"


def test_with_a_verifier_a_malformed_token_is_invalid_with_the_parse_error() -> None:
    """The verification outcome of an unparseable token carries the parser's code."""
    explanation = explain("abc", now=NOW, verifier=verifier_for(HS256))
    assert explanation.verification is not None
    assert explanation.verification["valid"] is False
    assert explanation.verification["error"] == "invalid_token"


def test_with_a_verifier_its_profile_is_used_and_a_mismatch_is_warned() -> None:
    """A Reditus token checked by a standard-profile verifier is warned about and refused."""
    token = sign({"ProductId": "p", "UserId": "u", "iat": NOW}, HS256)
    explanation = explain(token, now=NOW, verifier=verifier_for(HS256))
    assert explanation.profile == "standard"
    assert any(
        f.section == "profile" and f.status == "warning" and "standard profile" in f.message
        for f in explanation.findings
    )
    assert explanation.verification is not None
    assert explanation.verification["error"] == "missing_required_claim"


def test_explaining_never_fills_the_verifiers_cache() -> None:
    """The console's test box must not warm a product's cache with a tenant's test token."""
    cache: VerifiedTokenCache[Any] = VerifiedTokenCache()
    verifier = Verifier(
        KeySet([HS256.verification_key(kid="primary")]), profile=PROFILES["standard"], cache=cache
    )
    assert explain(sign(standard_claims(), HS256), now=NOW, verifier=verifier).valid is True
    assert len(cache) == 0


# --- the data structure ------------------------------------------------------------------------------


def test_to_dict_is_json_with_a_stable_shape() -> None:
    """to_dict() serialises to JSON with the same keys for a good and a malformed token."""
    good = explain(sign(standard_claims(), HS256), now=NOW, verifier=verifier_for(HS256)).to_dict()
    bad = explain("x.y", now=NOW).to_dict()
    keys = [
        "well_formed",
        "error",
        "header",
        "claims",
        "profile",
        "user_id",
        "verification",
        "findings",
    ]
    assert list(good) == keys
    assert list(bad) == keys
    json.dumps(good)
    json.dumps(bad)
    assert set(good["findings"][0]) == {
        "status",
        "section",
        "field",
        "message",
        "value",
        "code",
        "hint",
    }


def test_explain_imports_only_the_standard_library_and_its_siblings() -> None:
    """The explain package stays framework-free: stdlib and relative plaudit.auth imports only."""
    absolute = set()
    for path in Path(explain_module.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                absolute |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                absolute.add(node.module.split(".")[0])
    assert absolute <= set(sys.stdlib_module_names) | {"__future__"}, absolute


# --- properties ----------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**400, -(10**400), 2**63, 1e308])
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_explained_without_raising(token: str) -> None:
    """explain() returns an explanation for any string at all."""
    explanation = explain(token, now=NOW)
    json.dumps(explanation.to_dict())


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*explain_module.REGISTERED_CLAIMS, "user", "UserId", "ProductId", "x"]),
        json_values,
    )
)
def test_any_signed_claims_are_explained_and_verified_without_raising(
    claims: dict[str, Any],
) -> None:
    """Whatever claims a signed token carries, explaining and verifying it never raises."""
    token = sign(claims, HS256)
    explanation = explain(token, now=NOW, verifier=verifier_for(HS256, max_age=60, issuer="i"))
    assert explanation.well_formed
    assert explanation.valid is not None
    json.dumps(explanation.to_dict())
