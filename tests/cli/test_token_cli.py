"""`plaudit token inspect|verify|sign`: every guide's token shape, every key file kind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from plaudit.auth import (
    SigningKey,
    generate_private_key,
    generate_secret,
    parse_unverified,
    private_pem,
    sign,
)
from plaudit.cli import app

NOW = 1_767_225_600  # 2026-01-01 00:00:00 UTC
SECRET = generate_secret(64)
runner = CliRunner()


def run(*args: str, stdin: str | None = None) -> Any:
    result = runner.invoke(app, list(args), input=stdin)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def as_json(result: Any) -> dict[str, Any]:
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


# --- key files ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_private() -> Any:
    return generate_private_key("rsa", bits=2048)


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET + "\n")  # as an editor saves it: the newline is not the secret's
    return path


@pytest.fixture
def rsa_files(tmp_path: Path, rsa_private: Any) -> tuple[Path, Path]:
    private = tmp_path / "private.key"
    public = tmp_path / "public.key"
    private.write_text(private_pem(rsa_private))
    public.write_bytes(
        rsa_private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def rsa_signing_key(rsa_private: Any, kid: str | None = "primary") -> SigningKey:
    return SigningKey.from_pem(private_pem(rsa_private), "RS256", kid=kid)


def reditus_token(**overrides: Any) -> str:
    claims = {"ProductId": "prod_42", "UserId": "u-1001", "iat": NOW - 60, **overrides}
    return sign(claims, SigningKey.from_secret(SECRET, "HS512"))


def standard_token(secret: str = SECRET, **overrides: Any) -> str:
    claims = {
        "sub": "user_123",
        "iss": "your-tenant-id",
        "aud": "your-application-id",
        "iat": NOW - 60,
        "exp": NOW + 3600,
        "scope": ["read", "write"],
        **overrides,
    }
    return sign(claims, SigningKey.from_secret(secret, "HS256"))


def saasquatch_token() -> str:
    claims = {
        "user": {
            "id": "7558cc3c",
            "accountId": "acct-9",
            "firstName": "John",
            "lastName": "Doe",
            "email": "john@example.com",
            "locale": "en_US",
            "referralCode": "JOHNDOE",
        },
        "exp": NOW + 3600,
    }
    return sign(claims, SigningKey.from_secret(SECRET, "HS256"))


def xtremepush_token(rsa_private: Any, kid: str | None = "primary") -> str:
    return sign({"sub": "user_88421", "exp": NOW + 7200}, rsa_signing_key(rsa_private, kid))


# --- inspect ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "profile", "user_id"),
    [
        (lambda rsa: reditus_token(), "reditus", "u-1001"),
        (xtremepush_token, "xtremepush", "user_88421"),
        (lambda rsa: saasquatch_token(), "saasquatch", "7558cc3c"),
        (lambda rsa: standard_token(), "standard", "user_123"),
    ],
    ids=["reditus", "xtremepush", "saasquatch", "standard"],
)
def test_inspect_names_the_profile_and_user_of_each_guides_token(
    make: Any, profile: str, user_id: str, rsa_private: Any
) -> None:
    """Inspect tells each guide's token shape apart and finds the user id where that guide puts it."""
    result = run("token", "inspect", make(rsa_private), "--now", str(NOW), "--json")
    assert result.exit_code == 0
    document = as_json(result)
    assert document["well_formed"] is True
    assert document["profile"] == profile
    assert document["user_id"] == user_id
    assert not [f for f in document["findings"] if f["status"] == "error"]


def test_inspect_prints_a_table_with_the_header_claims_and_findings() -> None:
    """Without --json, inspect prints the decoded parts and a table of findings."""
    result = run("token", "inspect", reditus_token(), "--now", str(NOW))
    assert result.exit_code == 0
    out = result.stdout
    assert "reditus profile" in out
    assert "u-1001" in out
    assert '"ProductId": "prod_42"' in out
    assert "header.alg" in out
    assert "HS512" in out


def test_inspect_reads_the_token_from_stdin_and_strips_whitespace() -> None:
    """`-` reads the token from stdin, forgiving the newline a pipe or a paste adds."""
    result = run(
        "token", "inspect", "-", "--now", str(NOW), "--json", stdin=f"  {reditus_token()}\n\n"
    )
    assert result.exit_code == 0
    assert as_json(result)["user_id"] == "u-1001"


def test_inspect_describes_expiry_relative_to_now() -> None:
    """An expired token is still inspected (exit 0) and its exp is explained as days ago."""
    token = standard_token(exp=NOW - 3 * 86400)
    result = run("token", "inspect", token, "--now", str(NOW), "--json")
    assert result.exit_code == 0
    exp = next(f for f in as_json(result)["findings"] if f["field"] == "exp")
    assert exp["status"] == "error"
    assert exp["code"] == "token_expired"
    assert exp["message"] == "The token expired at 2025-12-29 00:00:00 UTC (3.0 days ago)."


@pytest.mark.parametrize(
    "token",
    ["not-a-token", "a.b", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "", "...", "é.é.é"],
)
def test_inspect_exits_1_on_a_malformed_token_without_a_traceback(token: str) -> None:
    """A malformed token exits 1 with a precise reason, never a traceback."""
    result = run("token", "inspect", token, "--now", str(NOW), "--json")
    assert result.exit_code == 1
    document = as_json(result)
    assert document["well_formed"] is False
    assert document["error"]["error"] in {"invalid_token", "missing_token", "unsupported_algorithm"}


def test_inspect_shows_a_lenient_decoding_of_an_unsigned_token() -> None:
    """An 'alg: none' token is refused yet its claims are shown and the reason is given."""
    result = run("token", "inspect", "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "--now", str(NOW))
    assert result.exit_code == 1
    assert "Malformed token (unsupported_algorithm)" in result.stdout
    assert '"sub": "1"' in result.stdout


def test_inspect_never_lets_a_token_drive_the_terminal() -> None:
    """Rich markup and control characters in a claim are shown inert, never interpreted."""
    token = standard_token(sub="[bold red]admin[/bold red]\x1b[2J\u202e")
    result = run("token", "inspect", token, "--now", str(NOW))
    assert result.exit_code == 0
    assert "[bold red]admin[/bold red]" in result.stdout
    assert "\x1b" not in result.stdout
    assert "\u202e" not in result.stdout


# --- verify -------------------------------------------------------------------------------------


def test_verify_accepts_a_token_with_the_hmac_secret_file_minus_its_newline(
    secret_file: Path,
) -> None:
    """A secret file's one trailing newline is not part of the secret; --json prints
    valid/header/claims and what a product of the token's profile would answer."""
    token = standard_token()
    result = run("token", "verify", token, "--key", str(secret_file), "--now", str(NOW), "--json")
    assert result.exit_code == 0
    document = as_json(result)
    assert list(document) == ["valid", "header", "claims", "product"]
    assert document["valid"] is True
    assert document["header"] == {"alg": "HS256", "typ": "JWT"}
    assert document["claims"] == parse_unverified(token).claims
    assert document["product"] == {
        "profile": "standard",
        "profile_guessed": True,
        "accepted": True,
        "user_id": "user_123",
        "scopes": ["read", "write"],
    }


def test_verify_refuses_a_token_signed_with_another_secret(secret_file: Path) -> None:
    """A wrong secret gives exit 1 and exactly valid/error/message/hint in JSON."""
    token = standard_token(secret=generate_secret(64))
    result = run("token", "verify", token, "--key", str(secret_file), "--now", str(NOW), "--json")
    assert result.exit_code == 1
    document = as_json(result)
    assert list(document) == ["valid", "error", "message", "hint"]
    assert document["valid"] is False
    assert document["error"] == "invalid_signature"
    assert document["hint"]


def test_verify_accepts_an_rs256_token_against_the_public_key_pem(
    rsa_private: Any, rsa_files: tuple[Path, Path]
) -> None:
    """The loyalty guide's token (RS256, kid 'primary') verifies against openssl's public.key."""
    _, public = rsa_files
    token = xtremepush_token(rsa_private)
    result = run("token", "verify", token, "--key", str(public), "--now", str(NOW))
    assert result.exit_code == 0
    assert "valid" in result.stdout
    assert "user_88421" in result.stdout
    assert "read, write" in result.stdout
    assert "'primary'" in result.stdout


def test_verify_accepts_a_token_against_a_jwk_and_a_jwks(rsa_private: Any, tmp_path: Path) -> None:
    """A JWK file and a JWK Set file are told apart from their content and both verify."""
    verification = rsa_signing_key(rsa_private).verification_key()
    jwk_path = tmp_path / "key.jwk"
    jwk_path.write_text(json.dumps(verification.public_jwk()))
    jwks_path = tmp_path / "jwks.json"
    jwks_path.write_text(json.dumps({"keys": [verification.public_jwk()]}))
    token = xtremepush_token(rsa_private)
    for path in (jwk_path, jwks_path):
        result = run("token", "verify", token, "--key", str(path), "--now", str(NOW), "--json")
        assert result.exit_code == 0, result.stdout
        assert as_json(result)["valid"] is True


def test_verify_finds_the_key_by_kid_in_a_jwks(rsa_private: Any, tmp_path: Path) -> None:
    """A JWKS key whose kid differs from the token's is refused as unknown_key."""
    other = SigningKey.from_pem(private_pem(generate_private_key("ec")), "ES256", kid="other")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [other.verification_key().public_jwk()]}))
    result = run(
        "token",
        "verify",
        xtremepush_token(rsa_private),
        "--key",
        str(path),
        "--now",
        str(NOW),
        "--json",
    )
    assert result.exit_code == 1
    assert as_json(result)["error"] == "unknown_key"


@pytest.mark.parametrize(("kind", "alg"), [("ec", "ES256"), ("ec", "ES384"), ("ed25519", "EdDSA")])
def test_verify_accepts_ec_and_ed25519_tokens(kind: Any, alg: str, tmp_path: Path) -> None:
    """EC and Ed25519 public keys in PEM verify tokens of their algorithm, without a kid."""
    signing = SigningKey.from_pem(private_pem(generate_private_key(kind, algorithm=alg)), alg)
    (tmp_path / "k.pub").write_text(signing.public_pem())
    token = sign({"sub": "u1", "exp": NOW + 60}, signing)
    result = run(
        "token", "verify", token, "--key", str(tmp_path / "k.pub"), "--now", str(NOW), "--json"
    )
    assert result.exit_code == 0
    assert as_json(result)["header"]["alg"] == alg


def test_verify_reads_the_token_from_stdin(secret_file: Path) -> None:
    """`-` reads the token to verify from stdin."""
    result = run(
        "token",
        "verify",
        "-",
        "--key",
        str(secret_file),
        "--now",
        str(NOW),
        "--json",
        stdin=reditus_token() + "\n",
    )
    assert result.exit_code == 0
    assert as_json(result)["claims"]["UserId"] == "u-1001"


def test_verify_judges_expiry_at_now_with_leeway(secret_file: Path) -> None:
    """An expired token fails with token_expired, and passes within --leeway."""
    token = standard_token(exp=NOW - 10)
    args = ["token", "verify", token, "--key", str(secret_file), "--now", str(NOW), "--json"]
    expired = run(*args)
    assert expired.exit_code == 1
    assert as_json(expired)["error"] == "token_expired"
    assert run(*args, "--leeway", "30").exit_code == 0


@pytest.mark.parametrize(
    ("option", "value", "code"),
    [
        ("--issuer", "someone-else", "invalid_issuer"),
        ("--audience", "another-app", "invalid_audience"),
        ("--max-age", "30", "token_expired"),
    ],
)
def test_verify_applies_the_claim_policy_options(
    secret_file: Path, option: str, value: str, code: str
) -> None:
    """--issuer, --audience and --max-age are enforced with their own error codes."""
    args = ["token", "verify", standard_token(), "--key", str(secret_file), "--now", str(NOW)]
    assert run(*args, "--json").exit_code == 0
    result = run(*args, option, value, "--json")
    assert result.exit_code == 1
    assert as_json(result)["error"] == code


def test_verify_guesses_the_profile_and_profile_forces_one(secret_file: Path) -> None:
    """A Reditus token verifies under its guessed profile; forcing 'standard' demands sub."""
    args = [
        "token",
        "verify",
        reditus_token(),
        "--key",
        str(secret_file),
        "--now",
        str(NOW),
        "--json",
    ]
    assert run(*args).exit_code == 0
    forced = run(*args, "--profile", "standard")
    assert forced.exit_code == 1
    assert as_json(forced)["error"] == "missing_required_claim"


# RFC 7515 Appendix A.1: {"iss":"joe", "exp":1300819380, "http://example.com/is_root":true},
# HS256 with the JWK below. No 'sub': it is any JWT, not a token of a Plaudit guide.
RFC7515_A1_KEY = {
    "kty": "oct",
    "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
}
RFC7515_A1_TOKEN = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)
BEFORE_A1_EXP = 1300819380 - 380


@pytest.fixture
def a1_key(tmp_path: Path) -> Path:
    path = tmp_path / "a1.jwk"
    path.write_text(json.dumps(RFC7515_A1_KEY))
    return path


def test_verify_without_profile_says_the_rfc_7515_a1_token_is_expired_now(a1_key: Path) -> None:
    """Today the A.1 token (iss, exp, no sub) is token_expired, not a missing claim of a profile."""
    result = run("token", "verify", RFC7515_A1_TOKEN, "--key", str(a1_key), "--now", str(NOW))
    assert result.exit_code == 1
    assert "token_expired" in result.stdout
    assert "missing_required_claim" not in result.stdout


def test_verify_without_profile_accepts_the_a1_token_at_its_time_and_says_apart_what_a_product_would(
    a1_key: Path,
) -> None:
    """At its own time the A.1 token is valid; that a standard product needs 'sub' is its own line."""
    args = ["token", "verify", RFC7515_A1_TOKEN, "--key", str(a1_key), "--now", str(BEFORE_A1_EXP)]
    text = run(*args)
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert lines[0].startswith("✓ valid  HS256 token")
    assert "2011-03-22 18:43:00 UTC (in 6 minutes)" in lines[1]
    assert lines[2] == (
        "✗ Plaudit would refuse it for a product of the standard profile (guessed from its "
        "claims; --profile forces one)"
    )
    assert lines[3] == (
        "  missing_required_claim: The required claim 'sub' is missing from the token."
    )
    document = as_json(run(*args, "--json"))
    assert document["valid"] is True
    assert document["product"]["accepted"] is False
    assert document["product"]["error"] == "missing_required_claim"


def test_verify_with_profile_makes_its_required_claims_the_verdict(a1_key: Path) -> None:
    """--profile standard refuses the A.1 token at its own time: it has no 'sub'."""
    args = ["token", "verify", RFC7515_A1_TOKEN, "--key", str(a1_key), "--json"]
    result = run(*args, "--now", str(BEFORE_A1_EXP), "--profile", "standard")
    assert result.exit_code == 1
    assert as_json(result)["error"] == "missing_required_claim"


def test_verify_alg_pins_the_key_to_one_algorithm(secret_file: Path) -> None:
    """--alg HS256 makes the secret refuse the Reditus guide's HS512 token."""
    args = [
        "token",
        "verify",
        reditus_token(),
        "--key",
        str(secret_file),
        "--now",
        str(NOW),
        "--json",
    ]
    result = run(*args, "--alg", "HS256")
    assert result.exit_code == 1
    assert as_json(result)["error"] == "algorithm_not_allowed"


def test_verify_refuses_a_malformed_token_as_a_verdict(secret_file: Path) -> None:
    """A malformed token is an invalid verdict with invalid_token, exit 1."""
    result = run("token", "verify", "abc.def", "--key", str(secret_file), "--json")
    assert result.exit_code == 1
    assert as_json(result) == {
        "valid": False,
        "error": "invalid_token",
        "message": "A JWT has three parts separated by dots; this token has 2.",
        "hint": as_json(result)["hint"],
    }


def test_verify_turns_an_out_of_range_time_into_an_invalid_claim(secret_file: Path) -> None:
    """An exp of 400 digits is an invalid_claim verdict, not an OverflowError traceback."""
    token = standard_token(exp=10**400)
    result = run("token", "verify", token, "--key", str(secret_file), "--now", str(NOW), "--json")
    assert result.exit_code == 1
    assert as_json(result)["error"] == "invalid_claim"


def test_verify_prints_the_error_code_and_hint_without_json(secret_file: Path) -> None:
    """The human verdict of a refused token names its code, message and hint."""
    token = standard_token(secret=generate_secret(64))
    result = run("token", "verify", token, "--key", str(secret_file), "--now", str(NOW))
    assert result.exit_code == 1
    assert "invalid" in result.stdout
    assert "invalid_signature" in result.stdout
    assert "hint:" in result.stdout


def test_verify_with_a_missing_key_file_prints_one_clean_error(tmp_path: Path) -> None:
    """A key file that does not exist gives one red line on stderr and exit 1."""
    result = run("token", "verify", reditus_token(), "--key", str(tmp_path / "nope.key"))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: No such file or directory")
    assert "hint:" in lines[0]


def test_verify_refuses_a_private_key_file_and_says_how_to_get_the_public_one(
    rsa_private: Any, rsa_files: tuple[Path, Path]
) -> None:
    """Passing private.key to verify is refused with the openssl command that extracts public.key."""
    private, _ = rsa_files
    result = run("token", "verify", xtremepush_token(rsa_private), "--key", str(private))
    assert result.exit_code == 1
    assert "private_key_not_allowed" in result.stderr
    assert "openssl pkey -in private.key -pubout -out public.key" in result.stderr


@pytest.mark.parametrize(
    ("content", "code"),
    [("{not json", "invalid_key"), ("short", "weak_key"), ('{"kty": "RSA"}', "invalid_key")],
)
def test_verify_with_an_unusable_key_file_prints_one_clean_error(
    tmp_path: Path, content: str, code: str
) -> None:
    """Broken JSON, a too-short secret and an incomplete JWK each give a clean coded error."""
    path = tmp_path / "key"
    path.write_text(content)
    result = run("token", "verify", standard_token(), "--key", str(path))
    assert result.exit_code == 1
    assert f"({code})" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_verify_rejects_an_unknown_profile_as_a_usage_error(secret_file: Path) -> None:
    """An unknown --profile is a usage error (exit 2) naming the profiles."""
    result = run("token", "verify", standard_token(), "--key", str(secret_file), "--profile", "x")
    assert result.exit_code == 2
    assert "reditus" in result.output


# --- sign ---------------------------------------------------------------------------------------


def test_sign_makes_a_reditus_token_that_verifies(secret_file: Path) -> None:
    """--profile reditus fills ProductId/UserId/iat, signs HS512, and prints only the token."""
    result = run(
        "token",
        "sign",
        "--key",
        str(secret_file),
        "--profile",
        "reditus",
        "--user-id",
        "u1",
        "--product-id",
        "P",
        "--now",
        str(NOW),
    )
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    parsed = parse_unverified(token)
    assert parsed.header.alg == "HS512"
    assert parsed.claims == {"ProductId": "P", "UserId": "u1", "iat": NOW}
    verify = run("token", "verify", token, "--key", str(secret_file), "--now", str(NOW), "--json")
    assert verify.exit_code == 0


@pytest.mark.parametrize(
    ("profile", "extra", "claims"),
    [
        (
            "standard",
            ["--issuer", "t", "--audience", "a"],
            {"sub": "u1", "iss": "t", "aud": "a", "iat": NOW, "exp": NOW + 600},
        ),
        ("xtremepush", [], {"sub": "u1", "exp": NOW + 600}),
        ("saasquatch", [], {"user": {"id": "u1", "accountId": "u1"}, "exp": NOW + 600}),
    ],
)
def test_sign_fills_the_claims_each_profile_needs(
    secret_file: Path, profile: str, extra: list[str], claims: dict[str, Any]
) -> None:
    """Each profile's template holds exactly the claims its guide puts in a token."""
    result = run(
        "token",
        "sign",
        "--key",
        str(secret_file),
        "--profile",
        profile,
        "--user-id",
        "u1",
        "--now",
        str(NOW),
        "--expires-in",
        "600",
        *extra,
    )
    assert result.exit_code == 0, result.stderr
    assert parse_unverified(result.stdout.strip()).claims == claims


def test_sign_with_an_rsa_private_key_and_kid(
    rsa_files: tuple[Path, Path],
) -> None:
    """A private PEM signs RS256 with the given kid, and verifies against its public.key."""
    private, public = rsa_files
    result = run(
        "token",
        "sign",
        "--key",
        str(private),
        "--kid",
        "primary",
        "--profile",
        "xtremepush",
        "--user-id",
        "user_88421",
        "--now",
        str(NOW),
    )
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert dict(parse_unverified(token).header.fields) == {
        "alg": "RS256",
        "typ": "JWT",
        "kid": "primary",
    }
    verify = run("token", "verify", token, "--key", str(public), "--now", str(NOW), "--json")
    assert verify.exit_code == 0


def test_sign_reads_claim_values_as_json_and_merges_claims_json(secret_file: Path) -> None:
    """--claim values are JSON when they parse, text otherwise; --claims-json - reads stdin."""
    result = run(
        "token",
        "sign",
        "--key",
        str(secret_file),
        "--claims-json",
        "-",
        "--claim",
        "n=42",
        "--claim",
        "flag=true",
        "--claim",
        "name=Ada Lovelace",
        "--claim",
        'scope=["read"]',
        stdin='{"sub": "u1", "n": 1}',
    )
    assert result.exit_code == 0, result.stderr
    assert parse_unverified(result.stdout.strip()).claims == {
        "sub": "u1",
        "n": 42,
        "flag": True,
        "name": "Ada Lovelace",
        "scope": ["read"],
    }


def test_sign_says_which_option_a_profile_is_missing(secret_file: Path) -> None:
    """The standard profile without --issuer fails cleanly, naming the option to add."""
    result = run(
        "token", "sign", "--key", str(secret_file), "--profile", "standard", "--user-id", "u1"
    )
    assert result.exit_code == 1
    assert "--issuer" in result.stderr
    assert result.stdout == ""


def test_sign_refuses_a_public_key(rsa_files: tuple[Path, Path]) -> None:
    """Signing with public.key fails with a clean invalid_key error."""
    _, public = rsa_files
    result = run("token", "sign", "--key", str(public), "--claim", "sub=u1")
    assert result.exit_code == 1
    assert "(invalid_key)" in result.stderr


def test_sign_refuses_a_weak_secret_for_hs512(tmp_path: Path) -> None:
    """A 40-byte secret cannot sign the Reditus guide's HS512 tokens: weak_key, exit 1."""
    path = tmp_path / "short"
    path.write_text("x" * 40)
    result = run(
        "token",
        "sign",
        "--key",
        str(path),
        "--profile",
        "reditus",
        "--user-id",
        "u",
        "--product-id",
        "p",
    )
    assert result.exit_code == 1
    assert "(weak_key)" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--user-id", "u1"],
        ["--claim", "no-equals-sign"],
        ["--claims-json", "[1]"],
        ["--claims-json", "{"],
    ],
)
def test_sign_rejects_bad_options_as_usage_errors(secret_file: Path, args: list[str]) -> None:
    """Options that cannot mean anything are usage errors (exit 2), not tracebacks."""
    result = run("token", "sign", "--key", str(secret_file), *args)
    assert result.exit_code == 2


def test_the_console_script_prints_a_clean_error_not_a_traceback(tmp_path: Path) -> None:
    """`plaudit` run as a program turns a missing key file into one line and exit status 1."""
    completed = subprocess.run(  # noqa: S603  # our own entry point, fixed arguments
        [
            sys.executable,
            "-c",
            "from plaudit.cli import main; main()",
            "token",
            "verify",
            reditus_token(),
            "--key",
            str(tmp_path / "missing.pub"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert completed.stderr.startswith("error: No such file or directory")
    assert len(completed.stderr.strip().splitlines()) == 1
