"""Keys: what may be registered, what each key may verify, and how a product's key set chooses.

HMAC secrets are pinned to the HS* their length allows; public keys come from PEM (SPKI, PKCS#1,
certificates) or JWK and are pinned to their family; private, weak and unknown keys are refused
at registration with a message that says what to do instead.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import jwt as pyjwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x25519
from cryptography.x509.oid import NameOID
from joserfc.jwk import RSAKey

from plaudit.auth import (
    KeyError_,
    KeySet,
    TokenError,
    TokenProfile,
    VerificationKey,
    Verifier,
    hmac_key,
    jwk_thumbprint,
    key_from_jwk,
    keys_from_jwks,
    public_key_from_pem,
)

from .conftest import NOW, KeyPair, b64url, outcome_of

OPENSSL_PUBOUT = "openssl pkey -in private.key -pubout -out public.key"
CLAIMS = {"sub": "user-1", "iat": NOW - 10, "exp": NOW + 3600}


def refused_key(action: Any) -> KeyError_:
    """The registration error an action raises; anything else fails the test."""
    with pytest.raises(KeyError_) as caught:
        action()
    return caught.value


def spki_pem(public: Any) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def pkcs8_pem(private: Any) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ec_jwk(public: ec.EllipticCurvePublicKey, crv: str, size: int) -> dict[str, str]:
    numbers = public.public_numbers()
    return {
        "kty": "EC",
        "crv": crv,
        "x": b64url(numbers.x.to_bytes(size, "big")),
        "y": b64url(numbers.y.to_bytes(size, "big")),
    }


def rsa_jwk(public: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public.public_numbers()
    return {
        "kty": "RSA",
        "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": b64url(numbers.e.to_bytes(3, "big")),
    }


@pytest.fixture(scope="module")
def rsa_1024() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505  # weak on purpose: it must be refused


# --- HMAC secrets -------------------------------------------------------------------------


@pytest.mark.parametrize(("alg", "minimum"), [("HS256", 32), ("HS384", 48), ("HS512", 64)])
def test_hmac_secret_must_be_as_long_as_the_hash(alg: str, minimum: int) -> None:
    """A secret one byte shorter than the hash is ``weak_key``; exactly as long is accepted."""
    err = refused_key(lambda: hmac_key(b"s" * (minimum - 1), algorithm=alg))
    assert err.code == "weak_key"
    assert str(minimum) in err.message
    assert hmac_key(b"s" * minimum, algorithm=alg).algorithms == frozenset({alg})


def test_a_secret_too_short_for_any_hmac_is_weak_key() -> None:
    """Without a pinned algorithm, a 31-byte secret fits no HS* and is ``weak_key``."""
    err = refused_key(lambda: hmac_key("x" * 31))
    assert err.code == "weak_key"
    assert err.status == 422


@pytest.mark.parametrize(
    ("length", "pinned"),
    [
        (32, {"HS256"}),
        (47, {"HS256"}),
        (48, {"HS256", "HS384"}),
        (63, {"HS256", "HS384"}),
        (64, {"HS256", "HS384", "HS512"}),
        (200, {"HS256", "HS384", "HS512"}),
    ],
)
def test_an_unpinned_secret_is_pinned_to_every_hs_its_length_allows(
    length: int, pinned: set[str]
) -> None:
    """The secret's length decides which HS* it may verify when no algorithm is given."""
    assert hmac_key(b"k" * length).algorithms == frozenset(pinned)


def test_a_secret_pinned_to_hs256_refuses_hs512_tokens(plain_profile: TokenProfile) -> None:
    """``algorithm=`` narrows a long secret to one HS*: other HS* tokens are ``algorithm_not_allowed``."""
    secret = b"q" * 64
    verifier = Verifier(KeySet([hmac_key(secret, algorithm="HS256")]), profile=plain_profile)
    assert verifier.verify(KeyPair("HS256", secret).sign(CLAIMS), now=NOW).algorithm == "HS256"
    answer = outcome_of(lambda: verifier.verify(KeyPair("HS512", secret).sign(CLAIMS), now=NOW))
    assert answer == "algorithm_not_allowed"


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA", "none", "hs256", "HS1"])
def test_a_secret_cannot_be_pinned_to_a_non_hmac_algorithm(alg: str) -> None:
    """An HMAC secret verifies HS256, HS384 or HS512 and nothing else."""
    assert refused_key(lambda: hmac_key(b"k" * 64, algorithm=alg)).code == "unsupported_key"


@pytest.mark.parametrize(
    "secret",
    [
        "ünïcødé-sëcrét-of-at-least-32-bytes",
        "ключ-доступа-продукта-plaudit",
        "秘密鍵秘密鍵秘密鍵秘密鍵",
        "  padded secret with spaces at both ends  ",
    ],
)
def test_a_string_secret_is_its_exact_utf8_bytes_as_pyjwt_signs(
    secret: str, plain_profile: TokenProfile
) -> None:
    """``jwt.encode(payload, SECRET)`` with a str secret verifies against ``hmac_key(SECRET)``.

    The key is the UTF-8 encoding, byte for byte: nothing is stripped or normalised, and the
    length rules count bytes, not characters.
    """
    raw = secret.encode("utf-8")
    assert len(raw) >= 32
    token = pyjwt.encode(CLAIMS, secret, algorithm="HS256")
    for registered in (hmac_key(secret), hmac_key(raw)):
        assert registered.material == raw
        assert (
            Verifier(KeySet([registered]), profile=plain_profile).verify(token, now=NOW).user_id
            == "user-1"
        )
    stripped = Verifier(KeySet([hmac_key(secret.strip().ljust(32, "!"))]), profile=plain_profile)
    if secret != secret.strip():
        assert outcome_of(lambda: stripped.verify(token, now=NOW)) == "invalid_signature"


@pytest.mark.parametrize("secret", [64, 32.0, [1] * 64, None], ids=["int", "float", "list", "None"])
def test_a_secret_that_is_neither_text_nor_bytes_is_refused(secret: object) -> None:
    """Only ``str`` and bytes-like secrets register: an integer must not become 64 zero bytes.

    Found by this suite: ``hmac_key(64)`` went through ``bytes(64)`` and registered a secret of
    sixty-four zero bytes, pinned to every HS* (a misread setting would make every token forgeable).
    """
    with pytest.raises((KeyError_, TypeError)):
        hmac_key(secret)  # type: ignore[arg-type]


def test_secret_length_is_counted_in_bytes_not_characters() -> None:
    """Sixteen two-byte characters are 32 bytes, enough for HS256; 31 bytes are not."""
    assert hmac_key("é" * 16).algorithms == frozenset({"HS256"})
    assert refused_key(lambda: hmac_key("é" * 15 + "x")).code == "weak_key"


def test_hmac_key_ids_are_random_not_derived_from_the_secret() -> None:
    """Two registrations of one secret get unrelated kids: a kid never lets anyone test guesses."""
    first, second = hmac_key(b"k" * 32), hmac_key(b"k" * 32)
    assert first.kid != second.kid
    assert b"k" * 8 not in first.kid.encode()


def test_secrets_never_appear_in_repr_and_have_no_public_form() -> None:
    """A key's repr leaves the material out; an HMAC secret has no public JWK or thumbprint."""
    secret = b"top-secret-value-that-must-not-leak!"
    key = hmac_key(secret, kid="s")
    assert "top-secret" not in repr(key)
    assert refused_key(key.public_jwk).code == "invalid_key"
    assert refused_key(key.thumbprint).code == "invalid_key"


# --- public keys from PEM --------------------------------------------------------------------


def test_rsa_key_below_2048_bits_is_weak_key(rsa_1024: rsa.RSAPrivateKey) -> None:
    """A 1024-bit RSA key is refused, as PEM and as JWK, with the command that makes a good one."""
    public = rsa_1024.public_key()
    for action in (
        lambda: public_key_from_pem(spki_pem(public)),
        lambda: key_from_jwk(rsa_jwk(public)),
    ):
        err = refused_key(action)
        assert err.code == "weak_key"
        assert "2048" in err.message
        assert "rsa_keygen_bits:2048" in err.hint


def _private_pems(keypairs: dict[str, KeyPair]) -> dict[str, bytes]:
    rsa_private = keypairs["RS256"].private
    ec_private = keypairs["ES256"].private
    return {
        "pkcs8-rsa": pkcs8_pem(rsa_private),
        "traditional-rsa": rsa_private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
        "traditional-ec": ec_private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ),
        "pkcs8-ed25519": pkcs8_pem(keypairs["EdDSA"].private),
        "openssh": ec_private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ),
        "encrypted-pkcs8": rsa_private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        ),
        "public-then-private": spki_pem(rsa_private.public_key()) + pkcs8_pem(rsa_private),
    }


@pytest.mark.parametrize(
    "form",
    [
        "pkcs8-rsa",
        "traditional-rsa",
        "traditional-ec",
        "pkcs8-ed25519",
        "openssh",
        "encrypted-pkcs8",
        "public-then-private",
    ],
)
def test_private_pem_is_refused_with_the_openssl_command(
    keypairs: dict[str, KeyPair], form: str
) -> None:
    """Any PEM holding a private key is ``private_key_not_allowed`` and the hint shows the fix."""
    pem = _private_pems(keypairs)[form]
    for value in (pem, pem.decode()):
        err = refused_key(lambda value=value: public_key_from_pem(value))
        assert err.code == "private_key_not_allowed"
        assert OPENSSL_PUBOUT in err.hint


@pytest.mark.parametrize("kty", ["RSA", "EC", "OKP"])
def test_private_jwk_is_refused_with_the_openssl_command(
    keypairs: dict[str, KeyPair], kty: str
) -> None:
    """A JWK with ``d`` is ``private_key_not_allowed``, and its hint names the way to a public key.

    The hint must carry ``openssl pkey -in private.key -pubout -out public.key`` as the PEM
    refusal does (a tenant holding a private JWK usually has the PEM it came from), besides
    saying which members to drop.
    """
    alg = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}[kty]
    from joserfc.jwk import import_key

    private_jwk = import_key(keypairs[alg].private_pem(), kty).as_dict(private=True)
    assert "d" in private_jwk
    err = refused_key(lambda: key_from_jwk(private_jwk))
    assert err.code == "private_key_not_allowed"
    assert OPENSSL_PUBOUT in err.hint


@pytest.mark.parametrize("member", ["p", "q", "dp", "dq", "qi"])
def test_an_rsa_jwk_with_any_private_member_is_refused(rs256: KeyPair, member: str) -> None:
    """Even without ``d``, any CRT member marks a private RSA JWK."""
    jwk = {**rsa_jwk(rs256.private.public_key()), member: "AQAB"}
    assert refused_key(lambda: key_from_jwk(jwk)).code == "private_key_not_allowed"


def test_unknown_curves_and_ed448_are_unsupported_key() -> None:
    """secp256k1, brainpool, Ed448, X25519 and DSA keys are refused as ``unsupported_key``."""
    for private in (
        ec.generate_private_key(ec.SECP256K1()),
        ec.generate_private_key(ec.BrainpoolP256R1()),
        ed448.Ed448PrivateKey.generate(),
        x25519.X25519PrivateKey.generate(),
        dsa.generate_private_key(1024),  # noqa: S505  # refused for its type, whatever its size
    ):
        err = refused_key(
            lambda private=private: public_key_from_pem(spki_pem(private.public_key()))
        )
        assert err.code == "unsupported_key", type(private).__name__


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"},
        {"kty": "EC", "crv": "P-192", "x": "AA", "y": "AA"},
        {"kty": "OKP", "crv": "Ed448", "x": "AA"},
        {"kty": "OKP", "crv": "X25519", "x": "AA"},
        {"kty": "oct-ish", "k": "AA"},
        {"kty": "DSA"},
        {"n": "AQAB", "e": "AQAB"},
    ],
    ids=["secp256k1", "P-192", "Ed448", "X25519", "unknown-kty", "DSA", "no-kty"],
)
def test_unsupported_jwk_types_and_curves_are_unsupported_key(jwk: dict[str, str]) -> None:
    """JWKs of curves and types Plaudit does not verify with are ``unsupported_key``."""
    assert refused_key(lambda: key_from_jwk(jwk)).code == "unsupported_key"


def test_pkcs1_rsa_public_key_pem_is_accepted(rs256: KeyPair) -> None:
    """``-----BEGIN RSA PUBLIC KEY-----`` (PKCS#1) loads as the same key as its SPKI form."""
    public = rs256.private.public_key()
    pkcs1 = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    assert pkcs1.startswith(b"-----BEGIN RSA PUBLIC KEY-----")
    key = public_key_from_pem(pkcs1)
    assert key.kid == public_key_from_pem(spki_pem(public)).kid
    assert key.algorithms == frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})


def test_certificate_pem_is_accepted_as_its_public_key(
    keypairs: dict[str, KeyPair], plain_profile: TokenProfile
) -> None:
    """A PEM certificate registers the public key inside it, which then verifies tokens."""
    pair = keypairs["ES256"]
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tenant.example")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(pair.private.public_key())
        .serial_number(7)
        .not_valid_before(datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC))
        .not_valid_after(datetime.datetime(2021, 1, 1, tzinfo=datetime.UTC))
        .sign(pair.private, hashes.SHA256())
    )
    key = public_key_from_pem(certificate.public_bytes(serialization.Encoding.PEM), kid="cert")
    assert key.algorithms == frozenset({"ES256"})
    assert key.thumbprint() == public_key_from_pem(pair.public_pem()).thumbprint()
    # An expired certificate still carries the key: Plaudit pins keys, it does not run a PKI.
    verifier = Verifier(KeySet([key]), profile=plain_profile)
    assert verifier.verify(pair.sign(CLAIMS), now=NOW).key_id == "cert"


@pytest.mark.parametrize(
    "pem",
    [
        "",
        "not a key",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "-----BEGIN PUBLIC KEY-----\n",
    ],
    ids=["empty", "text", "bad-spki", "bad-certificate", "truncated"],
)
def test_unreadable_pem_is_invalid_key_with_the_openssl_command(pem: str) -> None:
    """Text that is not a PEM public key is ``invalid_key``, and the hint shows how to make one."""
    err = refused_key(lambda: public_key_from_pem(pem))
    assert err.code == "invalid_key"
    assert OPENSSL_PUBOUT in err.hint


@pytest.mark.parametrize(
    ("alg", "family"),
    [
        ("RS256", {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
        ("ES256", {"ES256"}),
        ("ES384", {"ES384"}),
        ("ES512", {"ES512"}),
        ("EdDSA", {"EdDSA"}),
    ],
)
def test_public_keys_are_pinned_to_their_family(
    keypairs: dict[str, KeyPair], alg: str, family: set[str]
) -> None:
    """RSA keys verify RS*/PS*, EC keys the ES* of their curve, Ed25519 keys EdDSA."""
    assert public_key_from_pem(keypairs[alg].public_pem()).algorithms == frozenset(family)


@pytest.mark.parametrize(
    ("alg", "wrong"),
    [("RS256", "ES256"), ("ES256", "ES384"), ("EdDSA", "RS256"), ("RS256", "HS256")],
)
def test_pinning_a_public_key_outside_its_family_is_unsupported_key(
    keypairs: dict[str, KeyPair], alg: str, wrong: str
) -> None:
    """``algorithm=`` must be one of the key's family."""
    err = refused_key(lambda: public_key_from_pem(keypairs[alg].public_pem(), algorithm=wrong))
    assert err.code == "unsupported_key"


def test_the_default_kid_of_a_public_key_is_its_rfc7638_thumbprint(
    keypairs: dict[str, KeyPair],
) -> None:
    """An unnamed public key's kid is its RFC 7638 thumbprint, as joserfc computes it too."""
    for alg in ("RS256", "ES256", "ES384", "ES512", "EdDSA"):
        key = public_key_from_pem(keypairs[alg].public_pem())
        assert key.kid == key.thumbprint() == jwk_thumbprint(key.public_jwk())
    rsa_key = public_key_from_pem(keypairs["RS256"].public_pem())
    assert rsa_key.kid == RSAKey.import_key(keypairs["RS256"].public_pem()).thumbprint()


# --- JWKs --------------------------------------------------------------------------------------


def test_jwk_alg_pins_the_key(rs256: KeyPair, plain_profile: TokenProfile) -> None:
    """A JWK's ``alg`` pins the key: an RSA JWK for PS256 refuses RS256 tokens."""
    jwk = {**rsa_jwk(rs256.private.public_key()), "alg": "PS256", "kid": "ps"}
    key = key_from_jwk(jwk)
    assert key.kid == "ps"
    assert key.algorithms == frozenset({"PS256"})
    verifier = Verifier(KeySet([key]), profile=plain_profile)
    assert KeyPair("PS256", rs256.private).sign(CLAIMS, kid="ps")
    assert (
        verifier.verify(KeyPair("PS256", rs256.private).sign(CLAIMS, kid="ps"), now=NOW).algorithm
        == "PS256"
    )
    assert (
        outcome_of(lambda: verifier.verify(rs256.sign(CLAIMS, kid="ps"), now=NOW))
        == "algorithm_not_allowed"
    )
    assert (
        outcome_of(lambda: verifier.verify(rs256.sign(CLAIMS), now=NOW)) == "algorithm_not_allowed"
    )


def test_jwk_alg_and_algorithm_argument_must_agree(rs256: KeyPair) -> None:
    """Asking for another algorithm than the JWK's own ``alg`` is ``unsupported_key``."""
    jwk = {**rsa_jwk(rs256.private.public_key()), "alg": "RS256"}
    assert key_from_jwk(jwk, algorithm="RS256").algorithms == frozenset({"RS256"})
    assert refused_key(lambda: key_from_jwk(jwk, algorithm="PS256")).code == "unsupported_key"


@pytest.mark.parametrize("alg", ["none", "XYZ", "RSA-OAEP", 256, "ES256"])
def test_a_jwk_alg_that_cannot_verify_this_key_is_unsupported_key(
    rs256: KeyPair, alg: object
) -> None:
    """An RSA JWK whose ``alg`` is unknown, JWE, not a string or another family's is refused."""
    jwk = {**rsa_jwk(rs256.private.public_key()), "alg": alg}
    assert refused_key(lambda: key_from_jwk(jwk)).code == "unsupported_key"


def test_jwk_use_and_key_ops_must_allow_verification(rs256: KeyPair) -> None:
    """``use: enc`` or ``key_ops`` without ``verify`` mark a key that is not for signatures."""
    base = rsa_jwk(rs256.private.public_key())
    assert refused_key(lambda: key_from_jwk({**base, "use": "enc"})).code == "unsupported_key"
    assert (
        refused_key(lambda: key_from_jwk({**base, "key_ops": ["encrypt"]})).code
        == "unsupported_key"
    )
    assert (
        refused_key(lambda: key_from_jwk({**base, "key_ops": "verify"})).code == "unsupported_key"
    )
    assert key_from_jwk({**base, "use": "sig", "key_ops": ["verify"]}).kty == "RSA"


def test_jwk_kid_is_used_unless_overridden(rs256: KeyPair) -> None:
    """A JWK's ``kid`` names the key; ``kid=`` overrides it; a non-string kid is ``invalid_key``."""
    base = rsa_jwk(rs256.private.public_key())
    assert key_from_jwk({**base, "kid": "from-jwk"}).kid == "from-jwk"
    assert key_from_jwk({**base, "kid": "from-jwk"}, kid="mine").kid == "mine"
    assert refused_key(lambda: key_from_jwk({**base, "kid": 7})).code == "invalid_key"


@pytest.mark.parametrize(
    "kid", ["", "x" * 257, "tab\there", "new\nline"], ids=["empty", "257", "tab", "newline"]
)
def test_kids_are_one_to_256_printable_characters(kid: str) -> None:
    """A kid that could not appear in a valid token header cannot be registered either."""
    assert refused_key(lambda: hmac_key(b"k" * 32, kid=kid)).code == "invalid_key"


def test_broken_jwks_are_invalid_key(keypairs: dict[str, KeyPair]) -> None:
    """Missing members, bad base64url, off-curve points and wrong sizes are ``invalid_key``."""
    rsa_base = rsa_jwk(keypairs["RS256"].private.public_key())
    ec_base = ec_jwk(keypairs["ES256"].private.public_key(), "P-256", 32)
    off_curve = {**ec_base, "y": b64url((int.from_bytes(b"\x01" * 32, "big")).to_bytes(32, "big"))}
    cases: list[Any] = [
        {k: v for k, v in rsa_base.items() if k != "n"},
        {**rsa_base, "n": "not base64!"},
        {**rsa_base, "n": rsa_base["n"] + "="},
        {**rsa_base, "e": ""},
        {**ec_base, "x": ec_base["x"][:-2]},
        off_curve,
        {"kty": "OKP", "crv": "Ed25519", "x": b64url(b"\x01" * 31)},
        {"kty": "oct", "k": 123},
        ["kty", "RSA"],
        "{}",
    ]
    for jwk in cases:
        assert refused_key(lambda jwk=jwk: key_from_jwk(jwk)).code == "invalid_key", jwk


def test_an_oct_jwk_follows_the_secret_rules() -> None:
    """An ``oct`` JWK is an HMAC secret: the length rules and the JWK's ``alg`` apply."""
    assert key_from_jwk({"kty": "oct", "k": b64url(b"k" * 48)}).algorithms == frozenset(
        {"HS256", "HS384"}
    )
    assert key_from_jwk(
        {"kty": "oct", "k": b64url(b"k" * 64), "alg": "HS512"}
    ).algorithms == frozenset({"HS512"})
    assert (
        refused_key(lambda: key_from_jwk({"kty": "oct", "k": b64url(b"k" * 31)})).code == "weak_key"
    )


@pytest.mark.parametrize("alg", ["RS256", "ES256", "ES384", "ES512", "EdDSA"])
def test_public_jwk_round_trips(keypairs: dict[str, KeyPair], alg: str) -> None:
    """A registered key's public JWK loads back as the same key, pinned the same way."""
    key = keypairs[alg].public(kid="k")
    exported = key.public_jwk()
    assert exported["use"] == "sig"
    assert exported["alg"] == alg
    assert "d" not in exported
    again = key_from_jwk(exported)
    assert (again.kid, again.algorithms, again.thumbprint()) == (
        key.kid,
        key.algorithms,
        key.thumbprint(),
    )


def test_a_jwks_loads_every_key_or_skips_the_unusable_ones(keypairs: dict[str, KeyPair]) -> None:
    """``keys_from_jwks`` refuses a set with an unusable key, or skips it when asked to."""
    good = keypairs["ES256"].public(kid="good").public_jwk()
    encryption = {**keypairs["RS256"].public(kid="enc").public_jwk(), "use": "enc"}
    weird = {"kty": "OKP", "crv": "X25519", "x": b64url(b"\x09" * 32)}
    jwks = {"keys": [good, encryption, weird]}
    assert refused_key(lambda: keys_from_jwks(jwks)).code == "unsupported_key"
    assert [k.kid for k in keys_from_jwks(jwks, skip_unusable=True)] == ["good"]
    for broken in ({}, {"keys": {}}, [], {"keys": "none"}):
        assert refused_key(lambda broken=broken: keys_from_jwks(broken)).code == "invalid_key"
    assert keys_from_jwks(json.loads(json.dumps({"keys": [good]})))[0].algorithms == frozenset(
        {"ES256"}
    )


# --- key sets ----------------------------------------------------------------------------------


def _secret_pair(label: str) -> KeyPair:
    return KeyPair("HS256", (label * 32)[:32].encode())


def test_a_kid_selects_only_that_key(plain_profile: TokenProfile) -> None:
    """A token naming key B is checked against B alone, even if key A would verify it."""
    a, b = _secret_pair("a"), _secret_pair("b")
    verifier = Verifier(KeySet([a.public(kid="A"), b.public(kid="B")]), profile=plain_profile)
    assert verifier.verify(a.sign(CLAIMS, kid="A"), now=NOW).key_id == "A"
    assert (
        outcome_of(lambda: verifier.verify(a.sign(CLAIMS, kid="B"), now=NOW)) == "invalid_signature"
    )
    assert outcome_of(lambda: verifier.verify(a.sign(CLAIMS, kid="C"), now=NOW)) == "unknown_key"


def test_a_kidless_token_tries_every_enabled_key_of_its_family(
    keypairs: dict[str, KeyPair], plain_profile: TokenProfile
) -> None:
    """Without a kid, every enabled key pinned to the token's alg is tried, and the match is reported."""
    a, b, c = _secret_pair("a"), _secret_pair("b"), _secret_pair("c")
    keys = KeySet(
        [a.public(kid="A"), keypairs["RS256"].public(kid="R"), b.public(kid="B"), c.public(kid="C")]
    )
    verifier = Verifier(keys, profile=plain_profile)
    for pair, kid in ((a, "A"), (b, "B"), (c, "C")):
        assert verifier.verify(pair.sign(CLAIMS), now=NOW).key_id == kid
    assert verifier.verify(keypairs["RS256"].sign(CLAIMS), now=NOW).key_id == "R"
    assert [k.kid for k in keys.candidates("HS256", None, NOW)] == ["A", "B", "C"]
    stranger = _secret_pair("z")
    assert (
        outcome_of(lambda: verifier.verify(stranger.sign(CLAIMS), now=NOW)) == "invalid_signature"
    )


def test_disabled_keys_never_verify(plain_profile: TokenProfile) -> None:
    """A disabled key is skipped without a kid and ``key_disabled`` with one."""
    right, wrong = _secret_pair("r"), _secret_pair("w")
    verifier = Verifier(
        KeySet([right.public(kid="R", enabled=False), wrong.public(kid="W")]), profile=plain_profile
    )
    assert outcome_of(lambda: verifier.verify(right.sign(CLAIMS), now=NOW)) == "invalid_signature"
    assert (
        outcome_of(lambda: verifier.verify(right.sign(CLAIMS, kid="R"), now=NOW)) == "key_disabled"
    )
    only_disabled = Verifier(KeySet([right.public(kid="R", enabled=False)]), profile=plain_profile)
    assert outcome_of(lambda: only_disabled.verify(right.sign(CLAIMS), now=NOW)) == "key_disabled"


def test_a_rotated_secret_verifies_until_its_grace_period_ends(plain_profile: TokenProfile) -> None:
    """``not_after`` keeps an old secret working until that moment, then ``key_disabled``."""
    old, new = _secret_pair("o"), _secret_pair("n")
    keys = KeySet([old.public(kid="old", not_after=NOW + 600), new.public(kid="new")])
    verifier = Verifier(keys, profile=plain_profile)
    claims = {"sub": "user-1"}
    assert verifier.verify(old.sign(claims), now=NOW + 599).key_id == "old"
    assert verifier.verify(old.sign(claims, kid="old"), now=NOW + 599).key_id == "old"
    assert (
        outcome_of(lambda: verifier.verify(old.sign(claims, kid="old"), now=NOW + 600))
        == "key_disabled"
    )
    assert (
        outcome_of(lambda: verifier.verify(old.sign(claims), now=NOW + 600)) == "invalid_signature"
    )
    assert verifier.verify(new.sign(claims), now=NOW + 600).key_id == "new"
    alone = Verifier(KeySet([old.public(kid="old", not_after=NOW + 600)]), profile=plain_profile)
    assert outcome_of(lambda: alone.verify(old.sign(claims), now=NOW + 600)) == "key_disabled"


def test_duplicate_kids_are_refused() -> None:
    """Two keys of one product cannot share a kid."""
    err = refused_key(
        lambda: KeySet([_secret_pair("a").public(kid="same"), _secret_pair("b").public(kid="same")])
    )
    assert err.code == "invalid_key"


def test_a_kid_naming_a_key_of_another_family_is_algorithm_not_allowed(
    keypairs: dict[str, KeyPair], plain_profile: TokenProfile
) -> None:
    """A token whose kid names a key not pinned to its alg is ``algorithm_not_allowed``."""
    verifier = Verifier(KeySet([keypairs["ES256"].public(kid="ec")]), profile=plain_profile)
    token = keypairs["RS256"].sign(CLAIMS, kid="ec")
    assert outcome_of(lambda: verifier.verify(token, now=NOW)) == "algorithm_not_allowed"


def test_an_empty_key_set_allows_no_algorithm(hs256: KeyPair, plain_profile: TokenProfile) -> None:
    """A product without keys refuses every token with ``algorithm_not_allowed``, saying so."""
    verifier = Verifier(KeySet(), profile=plain_profile)
    with pytest.raises(TokenError) as caught:
        verifier.verify(hs256.sign(CLAIMS), now=NOW)
    assert caught.value.code == "algorithm_not_allowed"
    assert "no keys" in caught.value.message


def test_a_key_set_is_an_immutable_collection(keypairs: dict[str, KeyPair]) -> None:
    """A key set iterates in registration order, counts its keys and finds them by kid."""
    keys = [keypairs["ES256"].public(kid="e"), keypairs["HS256"].public(kid="h")]
    key_set = KeySet(iter(keys))
    assert [k.kid for k in key_set] == ["e", "h"]
    assert len(key_set) == 2
    assert key_set.get("h") is keys[1]
    assert key_set.get("nope") is None
    disabled = keys[1].with_state(enabled=False, not_after=NOW)
    assert (disabled.enabled, disabled.not_after, keys[1].enabled) == (False, NOW, True)
    assert isinstance(disabled, VerificationKey)


def test_ed25519_and_ec_public_keys_load_from_pem(keypairs: dict[str, KeyPair]) -> None:
    """Ed25519 and every NIST curve load from SPKI PEM and report their key type."""
    kinds = {
        alg: public_key_from_pem(keypairs[alg].public_pem()).kty
        for alg in ("ES256", "ES384", "ES512", "EdDSA")
    }
    assert kinds == {"ES256": "EC", "ES384": "EC", "ES512": "EC", "EdDSA": "OKP"}
    raw = ed25519.Ed25519PrivateKey.generate().public_key()
    assert public_key_from_pem(spki_pem(raw).decode()).algorithms == frozenset({"EdDSA"})
