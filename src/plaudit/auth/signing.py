"""Signing tokens: for tenants' backends written in Python, the CLI, the demo, the docs and tests.

Plaudit itself never needs a tenant's private key; these helpers exist so that every token shape
a guide describes can be produced and checked end to end.
"""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from . import algorithms as algs
from .encoding import b64url_encode, compact_json, quote
from .errors import InvalidKey, UnsupportedKey
from .keys import VerificationKey, hmac_key, public_key_from_pem

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
KeyKind = Literal["rsa", "ec", "ed25519"]
_EC_CURVES: dict[str, ec.EllipticCurve] = {
    "ES256": ec.SECP256R1(),
    "ES384": ec.SECP384R1(),
    "ES512": ec.SECP521R1(),
}


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A key that signs: an HMAC secret or a private key, with the one algorithm it signs with."""

    algorithm: str
    material: bytes | PrivateKey = field(repr=False)
    kid: str | None = None

    @classmethod
    def from_secret(
        cls, secret: str | bytes, algorithm: str = "HS256", *, kid: str | None = None
    ) -> SigningKey:
        # The same checks as registration, so that nothing signs what Plaudit would refuse.
        hmac_key(secret, algorithm=algorithm, kid=kid or "signing")
        raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)  # checked above
        return cls(algorithm=algorithm, material=raw, kid=kid)

    @classmethod
    def from_pem(
        cls,
        pem: str | bytes,
        algorithm: str | None = None,
        *,
        kid: str | None = None,
        password: bytes | None = None,
    ) -> SigningKey:
        data = pem.encode() if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_private_key(data, password=password)
        except (ValueError, TypeError) as exc:
            raise InvalidKey(f"The private key could not be read as PEM ({exc}).") from None
        if not isinstance(
            key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)
        ):
            raise UnsupportedKey(f"Keys of type {type(key).__name__} cannot sign JWTs here.")
        allowed = public_key_from_pem(_public_pem(key), kid="signing").algorithms
        if algorithm is None:
            algorithm = "RS256" if "RS256" in allowed else min(allowed)
        if algorithm not in allowed:
            raise UnsupportedKey(
                f"This key cannot sign {quote(algorithm)}; it signs {', '.join(sorted(allowed))}."
            )
        return cls(algorithm=algorithm, material=key, kid=kid)

    def verification_key(self, *, kid: str | None = None) -> VerificationKey:
        """The matching key to register with Plaudit, pinned to this key's algorithm."""
        kid = kid or self.kid
        if isinstance(self.material, bytes):
            return hmac_key(self.material, kid=kid, algorithm=self.algorithm)
        return public_key_from_pem(_public_pem(self.material), kid=kid, algorithm=self.algorithm)

    def public_pem(self) -> str:
        if isinstance(self.material, bytes):
            raise InvalidKey("An HMAC secret has no public half.")
        return _public_pem(self.material).decode()


def sign(
    claims: Mapping[str, Any],
    key: SigningKey,
    *,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """A compact JWS over ``claims``; the header carries ``alg``, ``typ`` and ``kid`` if known."""
    header: dict[str, Any] = {"alg": key.algorithm, "typ": "JWT"}
    if key.kid is not None:
        header["kid"] = key.kid
    if headers:
        header.update(headers)
    signing_input = b64url_encode(compact_json(header)) + "." + b64url_encode(compact_json(claims))
    raw = signing_input.encode("ascii")
    signature = algs.ALGORITHMS[key.algorithm].sign(key.material, raw)
    return signing_input + "." + b64url_encode(signature)


def generate_secret(nbytes: int = 64) -> str:
    """A random HMAC secret as URL-safe text; 64 bytes of entropy covers HS512."""
    return _secrets.token_urlsafe(nbytes)


def generate_private_key(
    kind: KeyKind = "rsa", *, algorithm: str | None = None, bits: int = 2048
) -> PrivateKey:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if kind == "ec":
        return ec.generate_private_key(_EC_CURVES[algorithm or "ES256"])
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise UnsupportedKey(f"Unknown key type {quote(str(kind))}; choose rsa, ec or ed25519.")


def private_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _public_pem(key: PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
