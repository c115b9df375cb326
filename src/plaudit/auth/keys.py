"""Key material: HMAC secrets and RSA, EC and Ed25519 public keys, and the key sets of a product.

Every key is pinned, when it is made, to the algorithms it may verify; nothing a token says can
widen that set. Weak, private and unknown keys are refused here, at registration, with a
message that says what to do instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import secrets as _secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x448, x25519

from . import algorithms as algs
from .encoding import EncodingError, b64url_decode, b64url_encode, b64url_uint, quote
from .errors import (
    AlgorithmNotAllowed,
    InvalidKey,
    KeyDisabled,
    KeyTooLarge,
    KidRequired,
    PrivateKeyNotAllowed,
    UnknownKey,
    UnsupportedKey,
    WeakKey,
)

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
MIN_RSA_BITS = 2048
#: Verifying costs the square of the size; no issuer needs more (and OpenSSL stops at 16384).
MAX_RSA_BITS = 8192
#: A token without a kid is tried against at most this many keys of its algorithm by default.
MAX_KIDLESS_CANDIDATES = 10
MAX_KID_LENGTH = 256

_CURVES: dict[str, tuple[str, type[ec.EllipticCurve], int]] = {
    # curve class name -> (JWK crv, curve type, coordinate size in bytes)
    "secp256r1": ("P-256", ec.SECP256R1, 32),
    "secp384r1": ("P-384", ec.SECP384R1, 48),
    "secp521r1": ("P-521", ec.SECP521R1, 66),
}
_CRV_TO_CURVE = {crv: (curve, size) for crv, curve, size in _CURVES.values()}
_ES_BY_CRV = {spec.curve: name for name, spec in algs.ALGORITHMS.items() if spec.kty == "EC"}

_OPENSSL_PUBOUT = "openssl pkey -in private.key -pubout -out public.key"


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """One key a product verifies tokens with.

    ``material`` is the HMAC secret's bytes or a ``cryptography`` public key object. It is kept
    out of ``repr`` so that a key never reaches a log by accident.
    """

    kid: str
    kty: algs.KeyType
    algorithms: frozenset[str]
    material: bytes | PublicKey = field(repr=False)
    enabled: bool = True
    #: Unix time after which the key stops verifying (a rotated secret's grace period).
    not_after: float | None = None
    description: str = ""

    def usable_at(self, now: float) -> bool:
        return self.enabled and (self.not_after is None or now < self.not_after)

    def with_state(self, *, enabled: bool, not_after: float | None) -> VerificationKey:
        return replace(self, enabled=enabled, not_after=not_after)

    def public_jwk(self) -> dict[str, str]:
        """The public JWK (RFC 7517) of an asymmetric key; HMAC secrets have none to show."""
        if isinstance(self.material, bytes):
            raise InvalidKey("An HMAC secret has no public form.")
        jwk = _public_jwk_members(self.material)
        jwk["kid"] = self.kid
        if len(self.algorithms) == 1:
            jwk["alg"] = next(iter(self.algorithms))
        jwk["use"] = "sig"
        return jwk

    def thumbprint(self) -> str:
        """The RFC 7638 SHA-256 thumbprint of the public key."""
        if isinstance(self.material, bytes):
            raise InvalidKey("An HMAC secret has no public thumbprint.")
        return jwk_thumbprint(_public_jwk_members(self.material))


# --- HMAC secrets -------------------------------------------------------------------------


def hmac_key(
    secret: str | bytes,
    *,
    kid: str | None = None,
    algorithm: str | None = None,
    enabled: bool = True,
    not_after: float | None = None,
    description: str = "",
) -> VerificationKey:
    """An HMAC secret, pinned to ``algorithm`` or to every HS* its length allows.

    A string secret's UTF-8 bytes are the key, exactly as ``jwt.encode(payload, SECRET)``,
    ``JWT.encode(payload, secret)`` and ``new TextEncoder().encode(SECRET)`` use it.
    """
    raw = _secret_bytes(secret)
    _refuse_public_key_as_secret(raw)
    if algorithm is not None:
        spec = algs.get(algorithm)
        if spec is None or spec.kty != "oct":
            raise UnsupportedKey(
                f"An HMAC secret verifies HS256, HS384 or HS512, not {quote(algorithm)}.",
                hint="Pick one of HS256, HS384, HS512, or leave the algorithm out.",
            )
        if len(raw) < spec.min_secret_bytes:
            raise WeakKey(
                f"The secret is {len(raw)} bytes; {algorithm} needs at least "
                f"{spec.min_secret_bytes} bytes (RFC 7518 section 3.2).",
                hint=f"Generate one with 'plaudit keys generate --type hmac --alg {algorithm}'.",
            )
        pinned = frozenset({algorithm})
    else:
        pinned = frozenset(
            name
            for name in algs.HMAC_ALGORITHMS
            if len(raw) >= algs.ALGORITHMS[name].min_secret_bytes
        )
        if not pinned:
            raise WeakKey(
                f"The secret is {len(raw)} bytes; HS256 needs at least 32 bytes, HS384 48 and "
                "HS512 64 (RFC 7518 section 3.2).",
                hint="Generate one with 'plaudit keys generate --type hmac'.",
            )
    return VerificationKey(
        kid=_checked_kid(kid) if kid is not None else _random_kid(),
        kty="oct",
        algorithms=pinned,
        material=raw,
        enabled=enabled,
        not_after=not_after,
        description=description,
    )


def _secret_bytes(secret: object) -> bytes:
    if isinstance(secret, str):
        return secret.encode("utf-8")
    if isinstance(secret, (bytes, bytearray, memoryview)):
        return bytes(secret)
    # bytes(64) would be 64 zero bytes: never turn a number or a list into a secret.
    raise InvalidKey("An HMAC secret is text or bytes.", hint="Pass the secret as a string.")


def _refuse_public_key_as_secret(raw: bytes) -> None:
    # Key confusion (CVE-2015-9235 and kin): a public key registered as an HMAC secret would let
    # anyone who has the public key sign tokens. Nothing that looks like a key is a secret.
    stripped = raw.strip()
    markers = (b"-----BEGIN", b"ssh-rsa ", b"ssh-ed25519 ", b"ecdsa-sha2-", b"{")
    # Bare base64 DER of an RSA key starts "MII" and runs to hundreds of characters; a random
    # secret of that shape is vanishingly unlikely.
    bare_der = stripped.startswith(b"MII") and len(stripped) >= 200
    if stripped.startswith(markers) or bare_der or _is_base64_der_public_key(stripped):
        raise InvalidKey(
            "This looks like a key, not an HMAC secret.",
            hint="Register public keys as keys (POST /v1/products/{id}/keys); an HMAC secret is "
            "random text that only your backend and Plaudit know.",
        )


def _is_base64_der_public_key(raw: bytes) -> bool:
    # The bare body of an EC or Ed25519 PEM ("MFkwEwYH...", "MCowBQYDK2Vw...") is short enough
    # to pass for a secret; decoding it as a public key tells it apart.
    if not raw.startswith(b"M") or len(raw) > 2048:
        return False
    try:
        serialization.load_der_public_key(base64.b64decode(raw, validate=True))
    except (ValueError, TypeError, binascii.Error):
        return False
    return True


def _random_kid() -> str:
    # Not a hash of the secret: a kid is public, and a hash of a human-chosen secret would let
    # anyone test guesses offline.
    return _secrets.token_urlsafe(12)


# --- public keys --------------------------------------------------------------------------


def public_key_from_pem(
    pem: str | bytes,
    *,
    kid: str | None = None,
    algorithm: str | None = None,
    enabled: bool = True,
    description: str = "",
) -> VerificationKey:
    """A public key from PEM (SubjectPublicKeyInfo, PKCS#1 ``RSA PUBLIC KEY``, or a certificate)."""
    data = pem.encode("utf-8") if isinstance(pem, str) else pem
    text = data.decode("utf-8", "replace")
    if "PRIVATE KEY" in text:
        raise PrivateKeyNotAllowed(
            "This is a private key. Plaudit only needs, and only accepts, the public half."
        )
    key: Any
    try:
        if "BEGIN CERTIFICATE" in text:
            from cryptography import x509  # noqa: PLC0415  # only certificates need it

            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, IndexError) as exc:
        raise InvalidKey(
            f"The public key could not be read as PEM ({exc}).",
            hint="Paste the whole file, from '-----BEGIN PUBLIC KEY-----' to "
            "'-----END PUBLIC KEY-----'. " + _OPENSSL_PUBOUT + " writes one.",
        ) from None
    return _from_public_key(
        key, kid=kid, algorithm=algorithm, enabled=enabled, description=description
    )


def key_from_jwk(
    jwk: Mapping[str, Any],
    *,
    kid: str | None = None,
    algorithm: str | None = None,
    enabled: bool = True,
    description: str = "",
) -> VerificationKey:
    """A key from a JWK (RFC 7517): ``oct`` secrets, or RSA, EC and OKP public keys."""
    if not isinstance(jwk, Mapping):
        raise InvalidKey("A JWK is a JSON object.")
    kty = jwk.get("kty")
    if jwk.get("use") not in (None, "sig"):
        raise UnsupportedKey(
            f"This JWK is for {quote(str(jwk.get('use')))}, not for signatures ('use': 'sig').",
        )
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        raise UnsupportedKey("This JWK's 'key_ops' does not include 'verify'.")
    jwk_alg = jwk.get("alg")
    if jwk_alg is not None:
        if not isinstance(jwk_alg, str) or algs.get(jwk_alg) is None:
            raise UnsupportedKey(f"This JWK's 'alg' {quote(str(jwk_alg))} is not supported.")
        if algorithm is not None and algorithm != jwk_alg:
            raise UnsupportedKey(f"This JWK is for {jwk_alg}, not {quote(algorithm)}.")
        algorithm = jwk_alg
    jwk_kid = jwk.get("kid")
    if kid is None and jwk_kid is not None:
        if not isinstance(jwk_kid, str):
            raise InvalidKey("A JWK's 'kid' is a string.")
        kid = jwk_kid
    try:
        if kty == "oct":
            return hmac_key(
                b64url_decode(_member(jwk, "k")),
                kid=kid,
                algorithm=algorithm,
                enabled=enabled,
                description=description,
            )
        if "d" in jwk or any(m in jwk for m in ("p", "q", "dp", "dq", "qi")):
            raise PrivateKeyNotAllowed(
                "This JWK holds a private key ('d'). Plaudit only needs the public half.",
                hint="Remove the private members (d, p, q, dp, dq, qi) and keep kty, n and e "
                "(RSA) or kty, crv, x and y (EC/OKP). From a PEM private key, "
                + _OPENSSL_PUBOUT
                + " writes the public half.",
            )
        key: Any
        if kty == "RSA":
            key = rsa.RSAPublicNumbers(
                b64url_uint(_member(jwk, "e")), b64url_uint(_member(jwk, "n"))
            ).public_key()
        elif kty == "EC":
            crv = _member(jwk, "crv")
            if crv not in _CRV_TO_CURVE:
                raise UnsupportedKey(f"The curve {quote(crv)} is not supported.")
            curve, size = _CRV_TO_CURVE[crv]
            x, y = b64url_decode(_member(jwk, "x")), b64url_decode(_member(jwk, "y"))
            if len(x) != size or len(y) != size:
                raise InvalidKey(f"An {crv} key's x and y are {size} bytes each.")
            key = ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve()
            ).public_key()
        elif kty == "OKP":
            crv = _member(jwk, "crv")
            if crv != "Ed25519":
                raise UnsupportedKey(
                    f"The OKP curve {quote(crv)} is not supported; EdDSA keys use Ed25519."
                )
            x = b64url_decode(_member(jwk, "x"))
            if len(x) != 32:
                raise InvalidKey("An Ed25519 key's x is 32 bytes.")
            key = ed25519.Ed25519PublicKey.from_public_bytes(x)
        else:
            raise UnsupportedKey(f"The key type {quote(str(kty))} is not supported.")
    except EncodingError as exc:
        raise InvalidKey(f"A JWK member is not valid base64url: {exc}.") from None
    except ValueError as exc:  # not on the curve, bad RSA numbers
        raise InvalidKey(f"The JWK does not describe a valid key ({exc}).") from None
    return _from_public_key(
        key, kid=kid, algorithm=algorithm, enabled=enabled, description=description
    )


def keys_from_jwks(
    jwks: Mapping[str, Any], *, skip_unusable: bool = False
) -> list[VerificationKey]:
    """The keys of a JWK Set (RFC 7517 section 5).

    With ``skip_unusable`` (for a JWKS a tenant publishes, which may hold encryption keys or
    curves Plaudit does not verify), keys that cannot be used are left out instead of refused.
    """
    members = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(members, list):
        raise InvalidKey("A JWK Set is a JSON object with a 'keys' array.")
    found: list[VerificationKey] = []
    for member in members:
        try:
            found.append(key_from_jwk(member))
        except (UnsupportedKey, InvalidKey, PrivateKeyNotAllowed, WeakKey, KeyTooLarge):
            if not skip_unusable:
                raise
    return found


def _member(jwk: Mapping[str, Any], name: str) -> str:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise InvalidKey(f"The JWK has no string member {quote(name)}.")
    return value


def _from_public_key(
    key: Any, *, kid: str | None, algorithm: str | None, enabled: bool, description: str
) -> VerificationKey:
    kty: algs.KeyType
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise WeakKey(
                f"This RSA key has {key.key_size} bits; Plaudit accepts 2048 bits or more.",
                hint="openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out private.key",
            )
        if key.key_size > MAX_RSA_BITS:
            raise KeyTooLarge(
                f"This RSA key has {key.key_size} bits; Plaudit accepts at most {MAX_RSA_BITS}."
            )
        kty, allowed = "RSA", algs.RSA_ALGORITHMS
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in _CURVES:
            raise UnsupportedKey(
                f"The curve {key.curve.name} is not supported; use P-256 (ES256), "
                "P-384 (ES384) or P-521 (ES512)."
            )
        kty, allowed = "EC", frozenset({_ES_BY_CRV[_CURVES[key.curve.name][0]]})
    elif isinstance(key, ed25519.Ed25519PublicKey):
        kty, allowed = "OKP", frozenset({"EdDSA"})
    elif isinstance(key, ed448.Ed448PublicKey):
        raise UnsupportedKey("Ed448 keys are not supported; EdDSA tokens use Ed25519 keys.")
    elif isinstance(key, (x25519.X25519PublicKey, x448.X448PublicKey)):
        raise UnsupportedKey("X25519 and X448 keys are for key agreement, not for signatures.")
    else:
        raise UnsupportedKey(f"Keys of type {type(key).__name__} are not supported.")
    if algorithm is not None:
        if algorithm not in allowed:
            raise UnsupportedKey(
                f"This {kty} key cannot verify {quote(algorithm)}; it may verify "
                f"{', '.join(sorted(allowed))}.",
                hint="Pick an algorithm of the key's family, or leave the algorithm out.",
            )
        allowed = frozenset({algorithm})
    members = _public_jwk_members(key)
    return VerificationKey(
        kid=_checked_kid(kid) if kid is not None else jwk_thumbprint(members),
        kty=kty,
        algorithms=allowed,
        material=key,
        enabled=enabled,
        description=description,
    )


def _checked_kid(kid: str) -> str:
    if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH or not kid.isprintable():
        raise InvalidKey(
            f"A key id is 1 to {MAX_KID_LENGTH} printable characters.",
            hint="Use a short name such as 'primary' or '2026-11'.",
        )
    return kid


def _public_jwk_members(key: PublicKey) -> dict[str, str]:
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return {"e": _uint(numbers.e), "kty": "RSA", "n": _uint(numbers.n)}
    if isinstance(key, ec.EllipticCurvePublicKey):
        crv, _, size = _CURVES[key.curve.name]
        pn = key.public_numbers()
        return {
            "crv": crv,
            "kty": "EC",
            "x": b64url_encode(pn.x.to_bytes(size, "big")),
            "y": b64url_encode(pn.y.to_bytes(size, "big")),
        }
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(raw)}


def _uint(value: int) -> str:
    return b64url_encode(value.to_bytes(max(1, math.ceil(value.bit_length() / 8)), "big"))


_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}


def jwk_thumbprint(members: Mapping[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace."""
    required = _THUMBPRINT_MEMBERS.get(str(members.get("kty")))
    if required is None or any(not isinstance(members.get(m), str) for m in required):
        raise InvalidKey("The JWK lacks the members its thumbprint needs (RFC 7638).")
    canonical = json.dumps(
        {name: members[name] for name in required}, separators=(",", ":"), sort_keys=True
    )
    return b64url_encode(hashlib.sha256(canonical.encode()).digest())


# --- key sets -------------------------------------------------------------------------------


class KeySet:
    """The keys one product verifies with. Immutable: a change makes a new set.

    A token with a ``kid`` uses that key only; one without tries the usable keys pinned to its
    algorithm, newest registration last, if there are at most ``max_kidless`` of them: each
    try is a signature check, and a token should not cost a hundred.
    """

    __slots__ = ("_by_alg", "_by_kid", "_graced", "_keys", "_max_kidless")

    def __init__(
        self, keys: Iterable[VerificationKey] = (), *, max_kidless: int = MAX_KIDLESS_CANDIDATES
    ) -> None:
        self._keys = tuple(keys)
        self._max_kidless = max_kidless
        self._by_kid: dict[str, VerificationKey] = {}
        for key in self._keys:
            if key.kid in self._by_kid:
                raise InvalidKey(
                    f"Two keys share the key id {quote(key.kid)}.",
                    hint="Give every key of a product its own kid.",
                )
            self._by_kid[key.kid] = key
        by_alg: dict[str, list[VerificationKey]] = {}
        for key in self._keys:
            if key.enabled:
                for alg in key.algorithms:
                    by_alg.setdefault(alg, []).append(key)
        self._by_alg = {alg: tuple(found) for alg, found in by_alg.items()}
        #: Algorithms with a key in a grace period: only those need the clock at selection.
        self._graced = frozenset(
            alg for alg, found in by_alg.items() if any(k.not_after is not None for k in found)
        )

    def __iter__(self) -> Iterator[VerificationKey]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, kid: str) -> VerificationKey | None:
        return self._by_kid.get(kid)

    def candidates(self, alg: str, kid: str | None, now: float) -> tuple[VerificationKey, ...]:
        """The keys to try for a token, or the precise reason there are none."""
        if kid is not None:
            key = self._by_kid.get(kid)
            if key is None:
                raise UnknownKey(f"No key of this product has the kid {quote(kid)}.")
            if not key.usable_at(now):
                raise KeyDisabled(
                    f"The key {quote(kid)} is "
                    + ("disabled." if not key.enabled else "past the end of its grace period.")
                )
            if alg not in key.algorithms:
                raise AlgorithmNotAllowed(
                    f"The key {quote(kid)} is pinned to {', '.join(sorted(key.algorithms))}; "
                    f"the token says {alg}."
                )
            return (key,)
        found = self._by_alg.get(alg, ())
        if alg in self._graced:
            found = tuple(k for k in found if k.usable_at(now))
            if not found:
                raise KeyDisabled(f"Every {alg} key of this product is past its grace period.")
        if not found:
            if any(alg in k.algorithms for k in self._keys):
                raise KeyDisabled(f"Every {alg} key of this product is disabled.")
            families = sorted({a for k in self._keys if k.enabled for a in k.algorithms})
            raise AlgorithmNotAllowed(
                f"This product has no enabled key for {alg}"
                + (f"; its keys verify {', '.join(families)}." if families else "; it has no keys.")
            )
        if len(found) > self._max_kidless:
            raise KidRequired(
                f"This product has {len(found)} usable {alg} keys; a token without a 'kid' is "
                f"tried against {self._max_kidless} at most."
            )
        return found
