"""`plaudit keys generate`: key pairs and secrets Plaudit accepts, private files kept private."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from plaudit.auth import SigningKey, hmac_key, public_key_from_pem, sign
from plaudit.cli import app

runner = CliRunner()
PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----\n.+?\n-----END \1-----\n", re.DOTALL)


def run(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(
    ("args", "alg"),
    [
        (["--type", "rsa"], "RS256"),
        (["--type", "rsa", "--alg", "PS256"], "PS256"),
        (["--type", "ec"], "ES256"),
        (["--type", "ec", "--alg", "ES384"], "ES384"),
        (["--type", "ed25519"], "EdDSA"),
    ],
)
def test_generate_prints_a_private_key_then_its_public_key(args: list[str], alg: str) -> None:
    """Without --out, the private PEM then the public PEM go to stdout, and they match."""
    result = run("keys", "generate", *args)
    assert result.exit_code == 0
    blocks = PEM_BLOCK.findall(result.stdout)
    assert blocks == ["PRIVATE KEY", "PUBLIC KEY"]
    private_text, public_text = (m.group(0) for m in PEM_BLOCK.finditer(result.stdout))
    signing = SigningKey.from_pem(private_text, alg)
    public = public_key_from_pem(public_text, algorithm=alg)
    assert signing.public_pem() == public_text
    assert alg in public.algorithms
    assert public.kid in result.stderr  # the thumbprint, offered as a kid


def test_generate_ec_alg_picks_the_curve() -> None:
    """--alg ES384 makes a P-384 key."""
    result = run("keys", "generate", "--type", "ec", "--alg", "ES384")
    private_text = next(PEM_BLOCK.finditer(result.stdout)).group(0)
    material = SigningKey.from_pem(private_text).material
    assert isinstance(material, ec.EllipticCurvePrivateKey)
    assert material.curve.name == "secp384r1"


def test_generate_out_writes_a_0600_private_file_and_never_prints_it(tmp_path: Path) -> None:
    """--out PREFIX writes PREFIX.key (0600) and PREFIX.pub, and stdout holds no private key."""
    prefix = tmp_path / "signing"
    result = run("keys", "generate", "--type", "rsa", "--out", str(prefix))
    assert result.exit_code == 0
    private, public = tmp_path / "signing.key", tmp_path / "signing.pub"
    assert mode(private) == 0o600
    assert "PRIVATE KEY" not in result.stdout
    assert "PRIVATE KEY" not in result.stderr
    assert str(private) in result.stdout
    key = SigningKey.from_pem(private.read_text())
    assert public.read_text() == key.public_pem()


def test_generate_out_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    """An existing key file is never overwritten unless --force is given, and then stays 0600."""
    prefix = str(tmp_path / "k")
    assert run("keys", "generate", "--type", "ed25519", "--out", prefix).exit_code == 0
    private = tmp_path / "k.key"
    before = private.read_text()
    private.chmod(0o644)
    again = run("keys", "generate", "--type", "ed25519", "--out", prefix)
    assert again.exit_code == 1
    assert "File exists" in again.stderr
    assert "--force" in again.stderr
    assert private.read_text() == before
    forced = run("keys", "generate", "--type", "ed25519", "--out", prefix, "--force")
    assert forced.exit_code == 0
    assert private.read_text() != before
    assert mode(private) == 0o600


def test_generate_hmac_prints_a_secret_strong_enough_for_hs512() -> None:
    """The default secret carries 64 bytes of entropy and verifies HS256 through HS512."""
    result = run("keys", "generate", "--type", "hmac")
    assert result.exit_code == 0
    secret = result.stdout.strip()
    assert result.stdout == secret + "\n"
    assert len(secret) >= 86  # 64 random bytes in URL-safe base64
    assert hmac_key(secret).algorithms == {"HS256", "HS384", "HS512"}


def test_generate_hmac_out_writes_the_secret_to_a_0600_file_only(tmp_path: Path) -> None:
    """With --out, the secret goes to PREFIX.secret (0600), never to stdout."""
    result = run("keys", "generate", "--type", "hmac", "--out", str(tmp_path / "product"))
    assert result.exit_code == 0
    path = tmp_path / "product.secret"
    assert mode(path) == 0o600
    secret = path.read_text().removesuffix("\n")
    assert secret not in result.stdout
    token = sign({"sub": "u", "exp": 2_000_000_000}, SigningKey.from_secret(secret, "HS512"))
    verified = run("token", "verify", token, "--key", str(path), "--now", "1767225600")
    assert verified.exit_code == 0


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--type", "rsa", "--bits", "1024"], "weak_key"),
        (["--type", "hmac", "--bits", "128"], "weak_key"),
        (["--type", "hmac", "--alg", "HS512", "--bits", "256"], "weak_key"),
        (["--type", "rsa", "--alg", "ES256"], "unsupported_key"),
        (["--type", "ed25519", "--alg", "HS256"], "unsupported_key"),
    ],
)
def test_generate_refuses_weak_or_mismatched_keys_cleanly(args: list[str], code: str) -> None:
    """Weak sizes and algorithms of another family give one clean coded error and exit 1."""
    result = run("keys", "generate", *args)
    assert result.exit_code == 1
    assert f"({code})" in result.stderr
    assert result.stdout == ""


def test_generate_rejects_an_unknown_type_as_a_usage_error() -> None:
    """An unknown --type is a usage error (exit 2)."""
    assert run("keys", "generate", "--type", "dsa").exit_code == 2
