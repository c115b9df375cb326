"""The algorithm registry (RFC 7518 section 3, RFC 8037 section 3.1).

An algorithm is looked up by the exact string of a token's ``alg``; there is no normalisation,
so ``none``, ``None``, ``hs256`` and anything else not listed simply do not exist here. A key
never verifies with an algorithm it was not pinned to (see ``keys.py``): the token's ``alg``
only chooses among the algorithms of the keys a product registered.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

KeyType = Literal["oct", "RSA", "EC", "OKP"]

# Orders of the curves' base points: an ECDSA (r, s) outside [1, n-1] is never valid. Checking
# it ourselves keeps "psychic signatures" (r = s = 0, CVE-2022-21449) out even if a backend
# ever forgot to.
_CURVE_ORDER = {
    "P-256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "P-384": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
        "581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
    "P-521": int(
        "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
        "FA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
        16,
    ),
}
# Ed25519's group order L (RFC 8032 section 5.1): a signature whose S is not below L is
# malleable and refused (section 5.1.7, step 1).
_ED25519_L = 2**252 + 27742317777372353535851937790883648493

Verify = Callable[[Any, bytes, bytes], bool]
Sign = Callable[[Any, bytes], bytes]


@dataclass(frozen=True, slots=True)
class Algorithm:
    name: str
    kty: KeyType
    verify: Verify
    sign: Sign
    #: For EC algorithms, the one curve it is defined on.
    curve: str | None = None
    #: For HMAC, the shortest secret accepted (the hash's output size, RFC 7518 section 3.2).
    min_secret_bytes: int = 0


def _hmac(digest: str) -> tuple[Verify, Sign]:
    def verify(secret: bytes, signing_input: bytes, signature: bytes) -> bool:
        return hmac.compare_digest(hmac.digest(secret, signing_input, digest), signature)

    def sign(secret: bytes, signing_input: bytes) -> bytes:
        return hmac.digest(secret, signing_input, digest)

    return verify, sign


def _rsa(hash_: hashes.HashAlgorithm, pad: padding.AsymmetricPadding) -> tuple[Verify, Sign]:
    def verify(key: rsa.RSAPublicKey, signing_input: bytes, signature: bytes) -> bool:
        if len(signature) != (key.key_size + 7) // 8:
            return False
        try:
            key.verify(signature, signing_input, pad, hash_)
        except _CryptoInvalidSignature:
            return False
        return True

    def sign(key: rsa.RSAPrivateKey, signing_input: bytes) -> bytes:
        return key.sign(signing_input, pad, hash_)

    return verify, sign


def _pss(hash_: hashes.HashAlgorithm) -> padding.PSS:
    # RFC 7518 section 3.5: the salt is as long as the hash output.
    return padding.PSS(mgf=padding.MGF1(hash_), salt_length=hash_.digest_size)


def _ecdsa(hash_: hashes.HashAlgorithm, curve: str, size: int) -> tuple[Verify, Sign]:
    order = _CURVE_ORDER[curve]
    scheme = ec.ECDSA(hash_)

    def verify(key: ec.EllipticCurvePublicKey, signing_input: bytes, signature: bytes) -> bool:
        # JWS carries R || S at a fixed width (RFC 7518 section 3.4), never DER.
        if len(signature) != 2 * size:
            return False
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        if not (0 < r < order and 0 < s < order):
            return False
        try:
            key.verify(encode_dss_signature(r, s), signing_input, scheme)
        except _CryptoInvalidSignature:
            return False
        return True

    def sign(key: ec.EllipticCurvePrivateKey, signing_input: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(signing_input, scheme))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    return verify, sign


def _eddsa_verify(key: ed25519.Ed25519PublicKey, signing_input: bytes, signature: bytes) -> bool:
    if len(signature) != 64 or int.from_bytes(signature[32:], "little") >= _ED25519_L:
        return False
    try:
        key.verify(signature, signing_input)
    except _CryptoInvalidSignature:
        return False
    return True


def _eddsa_sign(key: ed25519.Ed25519PrivateKey, signing_input: bytes) -> bytes:
    return key.sign(signing_input)


def _build() -> dict[str, Algorithm]:
    table: dict[str, Algorithm] = {}
    for bits, size in (("256", 32), ("384", 48), ("512", 64)):
        hash_ = {"256": hashes.SHA256(), "384": hashes.SHA384(), "512": hashes.SHA512()}[bits]
        table[f"HS{bits}"] = Algorithm(
            f"HS{bits}", "oct", *_hmac(f"sha{bits}"), min_secret_bytes=size
        )
        table[f"RS{bits}"] = Algorithm(f"RS{bits}", "RSA", *_rsa(hash_, padding.PKCS1v15()))
        table[f"PS{bits}"] = Algorithm(f"PS{bits}", "RSA", *_rsa(hash_, _pss(hash_)))
    for alg, curve, hash_, size in (
        ("ES256", "P-256", hashes.SHA256(), 32),
        ("ES384", "P-384", hashes.SHA384(), 48),
        ("ES512", "P-521", hashes.SHA512(), 66),
    ):
        table[alg] = Algorithm(alg, "EC", *_ecdsa(hash_, curve, size), curve=curve)
    table["EdDSA"] = Algorithm("EdDSA", "OKP", _eddsa_verify, _eddsa_sign, curve="Ed25519")
    return table


#: Every algorithm Plaudit verifies, by its exact ``alg`` name.
ALGORITHMS: dict[str, Algorithm] = _build()

HMAC_ALGORITHMS = frozenset(a for a, spec in ALGORITHMS.items() if spec.kty == "oct")
RSA_ALGORITHMS = frozenset(a for a, spec in ALGORITHMS.items() if spec.kty == "RSA")


def get(name: str) -> Algorithm | None:
    return ALGORITHMS.get(name)
