"""How fast Plaudit verifies a token, next to PyJWT, joserfc and the floor, in one run.

    python bench/verify.py [--quick] [--json]

For every algorithm it measures, in microseconds per token:

``plaudit_fresh``   ``Verifier.verify`` over distinct tokens sharing one header (a product's
                    tokens: one kid, many users), no cache: the cost of a token seen first
``plaudit_cached``  the same verifier with a ``VerifiedTokenCache``, one token over and over (a
                    widget's repeated calls)
``pyjwt``           ``jwt.decode`` with the same checks (signature, exp, iat, iss, aud, required
                    sub/iss/aud/iat/exp)
``joserfc``         ``jwt.decode`` then ``JWTClaimsRegistry.validate`` with the same checks
``floor``           what no verifier can skip. HMAC: base64url-decode the three parts,
                    ``json.loads`` header and payload, ``hmac.digest`` + ``compare_digest``.
                    RSA, EC, Ed25519: the bare ``cryptography`` verify call (for ECDSA with the
                    raw R||S to DER conversion JWS forces on it)

All of them run in the same process, interleaved in rounds (every round measures every
implementation of every algorithm, in a rotating order), and the median of the rounds is
reported, because the machines this runs on are noisy. Times are judged at a fixed ``NOW``;
PyJWT reads the wall clock, so its module's ``datetime`` is pinned to the same instant.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py (named by its issue) would shadow the standard library's http package for any
# script run from this folder, and PyJWT imports http.client: take this folder off the path.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    del sys.path[0]

import argparse
import binascii
import datetime as dt
import gc
import hmac
import json
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import jwt as pyjwt
import jwt.api_jwt as pyjwt_api
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

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

NOW = 1_767_225_600  # 2026-01-01 00:00:00 UTC
ISSUER = "tenant-4f1c9a"
AUDIENCE = "app-web-widget"
KID = "2026-01"
ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "ES384", "EdDSA")
IMPLEMENTATIONS = ("plaudit_fresh", "plaudit_cached", "pyjwt", "joserfc", "floor")
REQUIRED = ["sub", "iss", "aud", "iat", "exp"]

Batch = Callable[[int], None]  # verify the pool's tokens n times over


@dataclass(frozen=True)
class Settings:
    pool: int  # distinct tokens per algorithm
    rounds: int
    batch_seconds: float  # the length each timed batch aims at


FULL = Settings(pool=200, rounds=21, batch_seconds=0.010)
QUICK = Settings(pool=24, rounds=5, batch_seconds=0.002)


# --- PyJWT's clock, pinned ------------------------------------------------------------------

_FROZEN = dt.datetime.fromtimestamp(NOW, dt.UTC)


class _PinnedDatetime(dt.datetime):
    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:
        return _FROZEN


pyjwt_api.datetime = _PinnedDatetime  # type: ignore[misc]  # the module's `from datetime import datetime`


# --- keys and tokens --------------------------------------------------------------------------


@dataclass
class Case:
    alg: str
    tokens: list[str]
    batches: dict[str, Batch] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)  # verifications per batch unit


def claims_for(i: int) -> dict[str, Any]:
    """The standard profile's claims, as a tenant's backend would sign them."""
    return {
        "sub": f"user_{100_000 + i}",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": NOW - 60 - i,
        "exp": NOW + 3600 - i,
        "scope": ["read", "write"],
    }


def signing_keys() -> dict[str, tuple[SigningKey, Any]]:
    """Per algorithm: the Plaudit signing key and the raw verification material."""
    secret = generate_secret(64).encode()
    rsa = generate_private_key("rsa", bits=2048)
    p256 = generate_private_key("ec", algorithm="ES256")
    p384 = generate_private_key("ec", algorithm="ES384")
    ed = generate_private_key("ed25519")
    found: dict[str, tuple[SigningKey, Any]] = {}
    for alg in ("HS256", "HS384", "HS512"):
        found[alg] = (SigningKey.from_secret(secret, alg, kid=KID), secret)
    for alg, private in (("RS256", rsa), ("PS256", rsa), ("ES256", p256), ("ES384", p384)):
        found[alg] = (SigningKey.from_pem(private_pem(private), alg, kid=KID), private.public_key())
    found["EdDSA"] = (SigningKey.from_pem(private_pem(ed), "EdDSA", kid=KID), ed.public_key())
    return found


def build_case(alg: str, key: SigningKey, material: Any, pool: int) -> Case:
    tokens = [sign(claims_for(i), key) for i in range(pool)]
    repeated = [tokens[0]] * pool
    case = Case(alg, tokens)
    verification_key = key.verification_key()
    policy = ClaimPolicy(issuer=ISSUER, audience=AUDIENCE)
    standard = PROFILES["standard"]
    fresh = Verifier(KeySet([verification_key]), policy=policy, profile=standard)
    cached = Verifier(
        KeySet([verification_key]), policy=policy, profile=standard, cache=VerifiedTokenCache()
    )

    def loop(verify: Callable[[str], object], over: list[str]) -> Batch:
        def batch(n: int) -> None:
            for _ in range(n):
                for token in over:
                    verify(token)

        return batch

    def plaudit_fresh(token: str) -> object:
        return fresh.verify(token, now=NOW)

    def plaudit_cached(token: str) -> object:
        return cached.verify(token, now=NOW)

    pyjwt_key = material
    pyjwt_algorithms = [alg]
    pyjwt_options: Any = {"require": REQUIRED}

    def with_pyjwt(token: str) -> object:
        return pyjwt.decode(
            token,
            pyjwt_key,
            algorithms=pyjwt_algorithms,
            options=pyjwt_options,
            audience=AUDIENCE,
            issuer=ISSUER,
        )

    jose_key = joserfc_key(alg, material)
    jose_algorithms = [alg]
    registry = jose_jwt.JWTClaimsRegistry(
        now=NOW,
        leeway=0,
        iss={"essential": True, "value": ISSUER},
        aud={"essential": True, "value": AUDIENCE},
        sub={"essential": True},
        iat={"essential": True},
        exp={"essential": True},
    )

    def with_joserfc(token: str) -> object:
        decoded = jose_jwt.decode(token, jose_key, algorithms=jose_algorithms)
        registry.validate(decoded.claims)
        return decoded

    floor, floor_input = floor_for(alg, material, tokens)
    case.batches = {
        "plaudit_fresh": loop(plaudit_fresh, tokens),
        "plaudit_cached": loop(plaudit_cached, repeated),
        "pyjwt": loop(with_pyjwt, tokens),
        "joserfc": loop(with_joserfc, tokens),
        "floor": loop(floor, floor_input),
    }
    case.calls = dict.fromkeys(IMPLEMENTATIONS, pool)
    check(
        case,
        {
            "plaudit_fresh": plaudit_fresh,
            "plaudit_cached": plaudit_cached,
            "pyjwt": with_pyjwt,
            "joserfc": with_joserfc,
        },
    )
    return case


def joserfc_key(alg: str, material: Any) -> Any:
    if isinstance(material, bytes):
        return OctKey.import_key(material)
    pem = material.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if alg.startswith(("RS", "PS")):
        return RSAKey.import_key(pem)
    if alg.startswith("ES"):
        return ECKey.import_key(pem)
    return OKPKey.import_key(pem)


def _b64url(segment: str) -> bytes:
    return binascii.a2b_base64(
        segment.replace("-", "+").replace("_", "/") + "=" * (-len(segment) % 4)
    )


def floor_for(
    alg: str, material: Any, tokens: list[str]
) -> tuple[Callable[[Any], object], list[Any]]:
    """The least work any verifier must do for one token, and its per-token input."""
    if isinstance(material, bytes):
        digest = {"HS256": "sha256", "HS384": "sha384", "HS512": "sha512"}[alg]
        secret = material
        loads = json.loads

        def hmac_floor(token: str) -> bool:
            header, payload, signature = token.split(".")
            loads(_b64url(header))
            loads(_b64url(payload))
            expected = hmac.digest(secret, f"{header}.{payload}".encode(), digest)
            return hmac.compare_digest(expected, _b64url(signature))

        return hmac_floor, tokens
    pairs = []
    for token in tokens:
        signing_input, _, signature = token.rpartition(".")
        pairs.append((signing_input.encode(), _b64url(signature)))
    verify = material.verify
    if alg == "RS256":
        pkcs1, sha256 = padding.PKCS1v15(), hashes.SHA256()

        def rsa_floor(pair: tuple[bytes, bytes]) -> None:
            verify(pair[1], pair[0], pkcs1, sha256)

        return rsa_floor, pairs
    if alg == "PS256":
        sha = hashes.SHA256()
        pss = padding.PSS(mgf=padding.MGF1(sha), salt_length=sha.digest_size)

        def pss_floor(pair: tuple[bytes, bytes]) -> None:
            verify(pair[1], pair[0], pss, sha)

        return pss_floor, pairs
    if alg.startswith("ES"):
        size = 32 if alg == "ES256" else 48
        scheme = ec.ECDSA(hashes.SHA256() if alg == "ES256" else hashes.SHA384())
        from_bytes = int.from_bytes

        def ecdsa_floor(pair: tuple[bytes, bytes]) -> None:
            raw = pair[1]
            der = encode_dss_signature(from_bytes(raw[:size], "big"), from_bytes(raw[size:], "big"))
            verify(der, pair[0], scheme)

        return ecdsa_floor, pairs

    def ed25519_floor(pair: tuple[bytes, bytes]) -> None:
        verify(pair[1], pair[0])

    return ed25519_floor, pairs


def check(case: Case, verifiers: dict[str, Callable[[str], object]]) -> None:
    """Every implementation accepts the tokens and refuses a forged one: no free lunches."""
    good = case.tokens[0]
    body, _, signature = good.rpartition(".")
    flipped = "A" if signature[0] != "A" else "B"
    forged = f"{body}.{flipped}{signature[1:]}"
    for name, verify in verifiers.items():
        verify(good)
        try:
            verify(forged)
        except Exception:  # noqa: S112  # each library raises its own error type
            continue
        raise SystemExit(f"{case.alg}: {name} accepted a forged token")
    case.batches["floor"](1)


# --- measuring --------------------------------------------------------------------------------


def calibrate(case: Case, name: str, target: float) -> int:
    batch = case.batches[name]
    batch(1)  # warm caches and lazy imports
    start = time.perf_counter()
    batch(1)
    once = time.perf_counter() - start
    return max(1, round(target / max(once, 1e-9)))


def measure(settings: Settings) -> dict[str, dict[str, float]]:
    keys = signing_keys()
    cases = [build_case(alg, *keys[alg], settings.pool) for alg in ALGORITHMS]
    reps = {
        (c.alg, name): calibrate(c, name, settings.batch_seconds)
        for c in cases
        for name in IMPLEMENTATIONS
    }
    samples: dict[tuple[str, str], list[float]] = {key: [] for key in reps}
    gc.collect()
    gc.disable()
    try:
        for round_ in range(settings.rounds):
            for case in cases:
                shift = round_ % len(IMPLEMENTATIONS)
                order = IMPLEMENTATIONS[shift:] + IMPLEMENTATIONS[:shift]
                for name in order:
                    n = reps[(case.alg, name)]
                    batch = case.batches[name]
                    start = time.perf_counter()
                    batch(n)
                    elapsed = time.perf_counter() - start
                    samples[(case.alg, name)].append(elapsed / (n * case.calls[name]) * 1e6)
    finally:
        gc.enable()
    return {
        case.alg: {name: statistics.median(samples[(case.alg, name)]) for name in IMPLEMENTATIONS}
        for case in cases
    }


def with_ratios(results: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for alg, us in results.items():
        out[alg] = {
            **us,
            "pyjwt_over_plaudit": us["pyjwt"] / us["plaudit_fresh"],
            "joserfc_over_plaudit": us["joserfc"] / us["plaudit_fresh"],
            "plaudit_over_floor": us["plaudit_fresh"] / us["floor"],
        }
    return out


def versions() -> dict[str, str]:
    from cryptography.hazmat.backends.openssl import backend

    found = {"python": platform.python_version(), "openssl": backend.openssl_version_text()}
    for dist in ("plaudit", "cryptography", "pyjwt", "joserfc"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "?"
    return found


def table(results: dict[str, dict[str, float]], settings: Settings) -> str:
    lines = [
        f"Token verification, us/token (median of {settings.rounds} interleaved rounds; "
        f"{settings.pool} distinct tokens per algorithm; standard-profile claims; now={NOW})",
        "",
        f"{'alg':<6} {'plaudit':>8} {'cached':>7} {'pyjwt':>8} {'joserfc':>8} {'floor':>7}"
        f"   {'pyjwt/plaudit':>13} {'joserfc/plaudit':>15} {'plaudit/floor':>13}",
    ]
    for alg, r in results.items():
        lines.append(
            f"{alg:<6} {r['plaudit_fresh']:>8.2f} {r['plaudit_cached']:>7.2f} "
            f"{r['pyjwt']:>8.2f} {r['joserfc']:>8.2f} {r['floor']:>7.2f}"
            f"   {r['pyjwt_over_plaudit']:>12.2f}x {r['joserfc_over_plaudit']:>14.2f}x "
            f"{r['plaudit_over_floor']:>12.2f}x"
        )
    lines += [
        "",
        "plaudit = fresh tokens, no cache; cached = one token through a VerifiedTokenCache;",
        "pyjwt/plaudit = Plaudit's speed-up over PyJWT; plaudit/floor = distance to the floor.",
        " ".join(f"{k} {v}" for k, v in versions().items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few seconds, for smoke tests")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL
    warnings.simplefilter("ignore")  # joserfc warns on every EdDSA (RFC 9864) decode
    results = with_ratios(measure(settings))
    if args.json:
        print(
            json.dumps(
                {
                    "unit": "us/token",
                    "now": NOW,
                    "rounds": settings.rounds,
                    "pool": settings.pool,
                    "quick": args.quick,
                    "implementations": list(IMPLEMENTATIONS),
                    "versions": versions(),
                    "results": results,
                },
                indent=2,
            )
        )
    else:
        print(table(results, settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
