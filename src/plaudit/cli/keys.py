"""``plaudit keys generate``: a key pair or an HMAC secret of the strength Plaudit accepts."""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from plaudit.auth import SigningKey, generate_private_key, generate_secret, private_pem
from plaudit.auth.errors import UnsupportedKey, WeakKey
from plaudit.auth.signing import KeyKind

app = typer.Typer(help="Generate keys and secrets.", no_args_is_help=True)

_FAMILY_ALGORITHMS = {
    "rsa": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    "ec": ("ES256", "ES384", "ES512"),
    "ed25519": ("EdDSA",),
    "hmac": ("HS256", "HS384", "HS512"),
}
_HMAC_MIN_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
DEFAULT_RSA_BITS = 2048
DEFAULT_SECRET_BYTES = 64


class KeyType(enum.StrEnum):
    rsa = "rsa"
    ec = "ec"
    ed25519 = "ed25519"
    hmac = "hmac"


@app.command()
def generate(
    key_type: Annotated[
        KeyType, typer.Option("--type", help="The kind of key.", case_sensitive=False)
    ],
    alg: Annotated[
        str | None,
        typer.Option(
            "--alg",
            help="The algorithm it is for (ec: picks the curve, ES256 default; hmac: checks the "
            "length).",
        ),
    ] = None,
    bits: Annotated[
        int | None,
        typer.Option(
            "--bits",
            help=f"RSA modulus size (default {DEFAULT_RSA_BITS}) or HMAC secret entropy "
            f"(default {DEFAULT_SECRET_BYTES * 8}).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            metavar="PREFIX",
            help="Write PREFIX.key (mode 0600) and PREFIX.pub, or PREFIX.secret for hmac, "
            "instead of printing.",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
) -> None:
    """Print (or write) a private key and its public key, or a random HMAC secret."""
    kind = key_type.value
    if alg is not None and alg not in _FAMILY_ALGORITHMS[kind]:
        raise UnsupportedKey(
            f"A {kind} key is not for {alg!r}; it may be for "
            f"{', '.join(_FAMILY_ALGORITHMS[kind])}.",
            hint="Pick the --type of the algorithm's family, or leave --alg out.",
        )
    if kind == "hmac":
        _generate_secret(alg, bits, out, force=force)
    else:
        _generate_pair(kind, alg, bits, out, force=force)


def _generate_secret(alg: str | None, bits: int | None, out: Path | None, *, force: bool) -> None:
    nbytes = DEFAULT_SECRET_BYTES if bits is None else bits // 8
    if bits is not None and bits % 8:
        raise typer.BadParameter(
            "HMAC secret sizes are whole bytes (a multiple of 8)", param_hint="'--bits'"
        )
    alg = alg or "HS256"
    if nbytes < _HMAC_MIN_BYTES[alg]:
        raise WeakKey(
            f"{alg} needs at least {_HMAC_MIN_BYTES[alg] * 8} bits of secret; {bits} were asked.",
            hint="Leave --bits out for 512 bits.",
        )
    secret = generate_secret(nbytes)
    # The secret as typed into a backend's configuration is its text: its UTF-8 bytes are the key.
    SigningKey.from_secret(secret, alg)
    usable = ", ".join(a for a, n in _HMAC_MIN_BYTES.items() if len(secret) >= n)
    if out is None:
        typer.echo(secret)
        return
    path = out.with_name(out.name + ".secret")
    _refuse_existing([path], force=force)
    _write(path, secret + "\n", mode=0o600, force=force)
    typer.echo(f"secret: {path} (mode 0600): {nbytes * 8} bits of entropy, good for {usable}")
    typer.echo("keep it on your backend; register the same secret with Plaudit")


def _generate_pair(
    kind: str, alg: str | None, bits: int | None, out: Path | None, *, force: bool
) -> None:
    if kind == "rsa":
        bits = DEFAULT_RSA_BITS if bits is None else bits
        if bits < DEFAULT_RSA_BITS:
            raise WeakKey(
                f"An RSA key of {bits} bits is too weak; Plaudit accepts 2048 bits or more.",
                hint="Leave --bits out for 2048, or ask for 3072 or 4096.",
            )
        if bits > 16384:
            raise UnsupportedKey(f"An RSA key of {bits} bits is larger than anyone needs.")
    elif bits is not None:
        raise typer.BadParameter(f"applies to rsa and hmac keys, not {kind}", param_hint="'--bits'")
    key_kind: KeyKind = "rsa" if kind == "rsa" else "ec" if kind == "ec" else "ed25519"
    private = generate_private_key(key_kind, algorithm=alg, bits=bits or DEFAULT_RSA_BITS)
    signing = SigningKey.from_pem(private_pem(private), alg)
    public = signing.public_pem()
    kid = signing.verification_key(kid="generated").thumbprint()
    if out is None:
        typer.echo(private_pem(private), nl=False)
        typer.echo(public, nl=False)
        _note(f"{signing.algorithm} key pair; its RFC 7638 thumbprint (a good kid): {kid}")
        return
    private_path = out.with_name(out.name + ".key")
    public_path = out.with_name(out.name + ".pub")
    _refuse_existing([private_path, public_path], force=force)
    _write(private_path, private_pem(private), mode=0o600, force=force)
    _write(public_path, public, mode=0o644, force=force)
    typer.echo(f"private key: {private_path} (mode 0600): keep it on your backend, sign with it")
    typer.echo(f"public key:  {public_path}: upload this one to Plaudit")
    typer.echo(f"algorithm:   {signing.algorithm}")
    typer.echo(f"kid:         {kid} (its RFC 7638 thumbprint)")


def _refuse_existing(paths: list[Path], *, force: bool) -> None:
    # Check every path before writing any, so that a refusal never leaves half a key pair.
    if force:
        return
    for path in paths:
        if path.exists():
            raise FileExistsError(17, "File exists", str(path))


def _write(path: Path, text: str, *, mode: int, force: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    fd = os.open(path, flags, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(fd, mode)  # an overwritten file keeps its old mode otherwise
        handle.write(text)


def _note(message: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True).print(Text(message, style="dim"))
