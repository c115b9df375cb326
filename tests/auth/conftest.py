"""Fixtures of the token-core suite: a pinned clock, keys made once, and small token factories.

Nothing here reads the time: ``NOW`` is the clock every test passes as ``now=``. Asymmetric keys
are generated once per session (an RSA-2048 key costs tens of milliseconds); HMAC secrets are
fixed bytes, so a failing test can be replayed exactly.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from plaudit.auth import (
    AuthError,
    SigningKey,
    TokenProfile,
    VerificationKey,
    hmac_key,
    public_key_from_pem,
    sign,
)
from plaudit.auth.algorithms import ALGORITHMS

#: The pinned clock of the whole suite (2025-11-24 16:00:00 UTC).
NOW = 1_764_000_000


def _secret(label: str, size: int) -> bytes:
    """Fixed, printable secret bytes of exactly ``size`` bytes (a PyJWT-friendly str too)."""
    material = hashlib.sha512(label.encode()).hexdigest() * 2
    return material[:size].encode("ascii")


#: HMAC secrets exactly as long as their hash, the shortest each algorithm accepts.
HMAC_SECRETS: dict[str, bytes] = {
    "HS256": _secret("plaudit HS256", 32),
    "HS384": _secret("plaudit HS384", 48),
    "HS512": _secret("plaudit HS512", 64),
}


def b64url(data: bytes) -> str:
    """Canonical unpadded base64url, the only spelling Plaudit accepts."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_lenient(segment: str) -> bytes:
    """Decode base64url the forgiving way most libraries do (padding added, tail bits ignored)."""
    segment = segment.rstrip("=")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass(frozen=True)
class KeyPair:
    """A signing key and its public half, for one algorithm."""

    alg: str
    private: Any = field(repr=False)

    @property
    def is_hmac(self) -> bool:
        return isinstance(self.private, bytes)

    def signing_key(self, kid: str | None = None) -> SigningKey:
        return SigningKey(algorithm=self.alg, material=self.private, kid=kid)

    def public(self, kid: str | None = None, **options: Any) -> VerificationKey:
        """The key Plaudit registers, pinned to this pair's algorithm."""
        if self.is_hmac:
            return hmac_key(self.private, kid=kid, algorithm=self.alg, **options)
        return public_key_from_pem(self.public_pem(), kid=kid, algorithm=self.alg, **options)

    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def private_pem(self) -> str:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def pyjwt_key(self) -> Any:
        """What PyJWT's ``jwt.encode`` takes for this algorithm."""
        return self.private if self.is_hmac else self.private_pem()

    def sign(
        self,
        claims: Mapping[str, Any],
        *,
        kid: str | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """A token as Plaudit's own signer writes it (``alg``, ``typ`` and ``kid`` if given)."""
        return sign(claims, self.signing_key(kid), headers=headers)

    def signature(self, signing_input: bytes) -> bytes:
        return ALGORITHMS[self.alg].sign(self.private, signing_input)

    def sign_raw(
        self, header: bytes | Mapping[str, Any], payload: bytes | Mapping[str, Any]
    ) -> str:
        """A correctly signed token over exactly these header and payload bytes.

        Hostile tokens are built with this, so that the one hostile feature under test is the
        only thing wrong with them.
        """
        header_bytes = header if isinstance(header, bytes) else compact(header)
        payload_bytes = payload if isinstance(payload, bytes) else compact(payload)
        signing_input = b64url(header_bytes) + "." + b64url(payload_bytes)
        return signing_input + "." + b64url(self.signature(signing_input.encode("ascii")))

    def sign_segments(self, header_segment: str, payload_segment: str) -> str:
        """A token signed over two already-encoded segments, however they are spelled."""
        signing_input = header_segment + "." + payload_segment
        return signing_input + "." + b64url(self.signature(signing_input.encode("ascii")))


@pytest.fixture(scope="session")
def now() -> int:
    """The pinned clock."""
    return NOW


@pytest.fixture(scope="session")
def rsa_private() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_rsa_private() -> rsa.RSAPrivateKey:
    """A second RSA key: the attacker's, or the rotated-out one."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def keypairs(rsa_private: rsa.RSAPrivateKey) -> dict[str, KeyPair]:
    """One key pair per algorithm Plaudit verifies; the RSA algorithms share one key."""
    pairs = {alg: KeyPair(alg, secret) for alg, secret in HMAC_SECRETS.items()}
    for alg in ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"):
        pairs[alg] = KeyPair(alg, rsa_private)
    pairs["ES256"] = KeyPair("ES256", ec.generate_private_key(ec.SECP256R1()))
    pairs["ES384"] = KeyPair("ES384", ec.generate_private_key(ec.SECP384R1()))
    pairs["ES512"] = KeyPair("ES512", ec.generate_private_key(ec.SECP521R1()))
    pairs["EdDSA"] = KeyPair("EdDSA", ed25519.Ed25519PrivateKey.generate())
    return pairs


@pytest.fixture(scope="session")
def attacker_keypairs(other_rsa_private: rsa.RSAPrivateKey) -> dict[str, KeyPair]:
    """Keys nobody registered: what an attacker signs with."""
    return {
        "HS256": KeyPair("HS256", _secret("attacker", 32)),
        "RS256": KeyPair("RS256", other_rsa_private),
        "ES256": KeyPair("ES256", ec.generate_private_key(ec.SECP256R1())),
        "EdDSA": KeyPair("EdDSA", ed25519.Ed25519PrivateKey.generate()),
    }


@pytest.fixture(scope="session")
def hs256(keypairs: dict[str, KeyPair]) -> KeyPair:
    return keypairs["HS256"]


@pytest.fixture(scope="session")
def rs256(keypairs: dict[str, KeyPair]) -> KeyPair:
    return keypairs["RS256"]


@pytest.fixture(scope="session")
def plain_profile() -> TokenProfile:
    """A profile that asks for nothing but a ``sub``: the claim policy alone decides."""
    return TokenProfile(name="plain", title="sub only", user_id="sub")


def outcome_of(action: Callable[[], object]) -> str:
    """``"ok"``, or the code of the ``AuthError`` raised; anything else propagates as a bug."""
    try:
        action()
    except AuthError as err:
        return err.code
    return "ok"
