"""Key files for ``plaudit token``: a PEM public key, a JWK, a JWK Set or an HMAC secret to
verify with, told apart by their content; an HMAC secret or a private PEM key to sign with."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plaudit.auth import (
    KeyError_,
    KeySet,
    SigningKey,
    TokenProfile,
    VerificationKey,
    hmac_key,
    key_from_jwk,
    public_key_from_pem,
)
from plaudit.auth.errors import InvalidKey, UnsupportedKey


def _strip_one_newline(data: bytes) -> bytes:
    if data.endswith(b"\r\n"):
        return data[:-2]
    return data[:-1] if data.endswith(b"\n") else data


@dataclasses.dataclass(frozen=True)
class KeyFile:
    """The verification keys a key file holds, and whether the token may name them."""

    kind: str  # "pem", "jwk", "jwks" or "secret"
    keys: tuple[VerificationKey, ...]
    #: A single key without a key id of its own takes the token's ``kid``, so that a token
    #: saying ``"kid": "primary"`` verifies against the one key it was given.
    adopts_kid: bool

    def key_set(self, token_kid: str | None) -> KeySet:
        keys = self.keys
        if self.adopts_kid and token_kid is not None:
            keys = (dataclasses.replace(keys[0], kid=token_kid),)
        return KeySet(keys)


def load_key_file(path: Path, *, alg: str | None = None, kid: str | None = None) -> KeyFile:
    """Read a PEM public key, a JWK, a JWK Set or an HMAC secret, telling which by the content.

    ``kid`` names the one key of a file that gives it none (the id its product knows it by).
    """
    found = _load_key_file(path, alg=alg)
    if kid is None:
        return found
    if found.kind == "jwks":
        raise InvalidKey(
            f"{path} is a JWK Set: its keys have ids of their own.",
            hint="Leave --kid out; the token's 'kid' picks the key of the set.",
        )
    named = dataclasses.replace(found.keys[0], kid=kid)
    return dataclasses.replace(found, keys=(named,), adopts_kid=False)


def _load_key_file(path: Path, *, alg: str | None = None) -> KeyFile:
    data = path.read_bytes()
    text = data.decode("utf-8", "replace")
    stripped = text.strip()
    if "-----BEGIN" in stripped:
        return KeyFile("pem", (public_key_from_pem(data, algorithm=alg),), adopts_kid=True)
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except ValueError as exc:
            raise InvalidKey(
                f"{path} starts like JSON but is not valid JSON ({exc}).",
                hint="A key file holds a PEM public key, a JWK, a JWK Set or an HMAC secret.",
            ) from None
        if isinstance(document, dict) and "keys" in document:
            return KeyFile("jwks", _jwks_keys(document, alg), adopts_kid=False)
        key = key_from_jwk(document, algorithm=alg)
        has_kid = isinstance(document, dict) and "kid" in document
        return KeyFile("jwk", (key,), adopts_kid=not has_kid)
    if not stripped:
        raise InvalidKey(f"{path} is empty.", hint="Put the product's HMAC secret in it.")
    return KeyFile("secret", (hmac_key(_strip_one_newline(data), algorithm=alg),), adopts_kid=True)


def _jwks_keys(document: Mapping[str, Any], alg: str | None) -> tuple[VerificationKey, ...]:
    members = document.get("keys")
    if not isinstance(members, list):
        raise InvalidKey("A JWK Set is a JSON object with a 'keys' array.")
    found: list[VerificationKey] = []
    first_error: KeyError_ | None = None
    for member in members:
        # A published set may hold encryption keys or other curves: skip what cannot verify.
        try:
            found.append(key_from_jwk(member))
        except KeyError_ as exc:
            first_error = first_error or exc
    if alg is not None:
        found = [
            dataclasses.replace(k, algorithms=frozenset({alg}))
            for k in found
            if alg in k.algorithms
        ]
        if not found:
            raise UnsupportedKey(f"No key of the JWK Set can verify {alg}.")
    if not found:
        if first_error is not None:
            raise first_error
        raise InvalidKey("The JWK Set holds no keys.")
    return tuple(found)


def load_signing_key(
    path: Path, *, alg: str | None, kid: str | None, profile: TokenProfile | None
) -> SigningKey:
    """Read an HMAC secret file or a private PEM key to sign with."""
    data = path.read_bytes()
    text = data.decode("utf-8", "replace").strip()
    if "-----BEGIN" in text:
        if "PRIVATE KEY" not in text:
            raise InvalidKey(
                f"{path} holds a public key; signing needs the private key.",
                hint="Sign with private.key; give public.key to 'plaudit token verify' and to "
                "Plaudit.",
            )
        return SigningKey.from_pem(data, alg, kid=kid)
    if text.startswith("{"):
        raise UnsupportedKey(
            "Signing takes an HMAC secret file or a private PEM key, not a JWK.",
            hint="Generate one with 'plaudit keys generate --type rsa --out signing'.",
        )
    if alg is None:
        preferred = profile.algorithms[0] if profile is not None else "HS256"
        alg = preferred if preferred.startswith("HS") else "HS256"
    return SigningKey.from_secret(_strip_one_newline(data), alg, kid=kid)
