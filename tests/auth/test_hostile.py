"""Hostile tokens: RFC 8725's attacks and the public JWT CVEs, each refused with one exact code.

Every case here is built so that its one hostile feature is the only thing wrong with it (the
rest is correctly signed with a registered key), and every refusal is a ``TokenError`` with a
stable code: never an unexpected exception, never a token that verifies.
"""

from __future__ import annotations

import base64
import json
import socket
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from plaudit.auth import (
    DEFAULT_MAX_TOKEN_BYTES,
    ClaimPolicy,
    KeyError_,
    KeySet,
    TokenError,
    TokenParser,
    TokenProfile,
    VerifiedTokenCache,
    Verifier,
    hmac_key,
    key_from_jwk,
    public_key_from_pem,
)
from plaudit.auth.algorithms import ALGORITHMS

from .conftest import NOW, KeyPair, b64url, b64url_lenient, compact

# Orders of the NIST curves' base points, as `openssl ecparam -param_enc explicit` prints them.
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P384_N = int(
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
    16,
)
P521_N = int(
    "01FF"
    + "FFFFFFFF" * 7
    + "FFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
    16,
)
# Ed25519's group order (RFC 8032 section 5.1).
ED25519_L = 2**252 + 27742317777372353535851937790883648493

CLAIMS = {"sub": "user-1", "iat": NOW - 10, "exp": NOW + 3600}


def refusal(verifier: Verifier, token: object, *, now: float = NOW) -> TokenError:
    """The ``TokenError`` a token is refused with; any other outcome fails the test."""
    with pytest.raises(TokenError) as caught:
        verifier.verify(token, now=now)  # type: ignore[arg-type]  # hostile input on purpose
    assert isinstance(caught.value, TokenError)
    return caught.value


def code_of(verifier: Verifier, token: object, *, now: float = NOW) -> str:
    return refusal(verifier, token, now=now).code


@pytest.fixture(scope="module")
def hs(hs256: KeyPair, plain_profile: TokenProfile) -> Verifier:
    """A product with one HS256 secret, kid ``k-HS256``."""
    return Verifier(KeySet([hs256.public(kid="k-HS256")]), profile=plain_profile)


@pytest.fixture(scope="module")
def rs(rs256: KeyPair, plain_profile: TokenProfile) -> Verifier:
    """A product with one RS256 public key, kid ``rsa``."""
    return Verifier(KeySet([rs256.public(kid="rsa")]), profile=plain_profile)


def test_the_fixtures_own_tokens_verify(
    hs: Verifier, rs: Verifier, hs256: KeyPair, rs256: KeyPair
) -> None:
    """The baseline: the untouched tokens every hostile case is derived from verify."""
    assert hs.verify(hs256.sign_raw({"alg": "HS256"}, CLAIMS), now=NOW).user_id == "user-1"
    assert rs.verify(rs256.sign(CLAIMS, kid="rsa"), now=NOW).key_id == "rsa"


# --- alg ---------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", ["empty", "hmac", "garbage"])
def test_alg_none_in_any_case_is_unsupported_algorithm(
    hs: Verifier, hs256: KeyPair, alg: str, signature: str
) -> None:
    """An unsigned token (``alg`` none in any letter case) is refused, signed or not."""
    signing_input = b64url(compact({"alg": alg, "typ": "JWT"})) + "." + b64url(compact(CLAIMS))
    tail = {
        "empty": "",
        "hmac": b64url(hs256.signature(signing_input.encode())),
        "garbage": "c2lnbmF0dXJl",
    }[signature]
    assert code_of(hs, signing_input + "." + tail) == "unsupported_algorithm"


def test_missing_alg_is_unsupported_algorithm(hs: Verifier, hs256: KeyPair) -> None:
    """A header without ``alg`` (or with ``alg`` null) names no algorithm Plaudit verifies."""
    assert code_of(hs, hs256.sign_raw({"typ": "JWT"}, CLAIMS)) == "unsupported_algorithm"
    assert code_of(hs, hs256.sign_raw({"alg": None}, CLAIMS)) == "unsupported_algorithm"


@pytest.mark.parametrize("alg", [256, True, ["HS256"], {"name": "HS256"}, 1.5])
def test_non_string_alg_is_invalid_token(hs: Verifier, hs256: KeyPair, alg: object) -> None:
    """An ``alg`` that is not a string is a malformed header."""
    assert code_of(hs, hs256.sign_raw({"alg": alg}, CLAIMS)) == "invalid_token"


@pytest.mark.parametrize(
    "alg",
    [
        "hs256",
        "HS1",
        "HS128",
        "RS1",
        "ES256K",
        "Ed25519",
        "Ed448",
        "HS256 ",
        " HS256",
        "HS256\u0000",
        "",
    ],
)
def test_unknown_algorithms_are_unsupported(hs: Verifier, hs256: KeyPair, alg: str) -> None:
    """An ``alg`` is looked up exactly: near-misses, new names and empty strings do not exist."""
    assert code_of(hs, hs256.sign_raw({"alg": alg}, CLAIMS)) == "unsupported_algorithm"


# --- JWE shapes --------------------------------------------------------------------------


def test_five_part_jwe_is_invalid_token_with_a_jwe_message(hs: Verifier) -> None:
    """A five-part compact JWE is not a signed token, and the message says so."""
    header = b64url(compact({"alg": "RSA-OAEP", "enc": "A256GCM"}))
    err = refusal(hs, f"{header}.ZW5jcnlwdGVka2V5.aXY.Y2lwaGVydGV4dA.dGFn")
    assert err.code == "invalid_token"
    assert "JWE" in err.message


def test_enc_header_marks_an_encrypted_token_invalid(hs: Verifier, hs256: KeyPair) -> None:
    """A three-part token whose header carries ``enc`` is refused as a JWE in disguise."""
    token = hs256.sign_raw({"alg": "HS256", "enc": "A128GCM"}, CLAIMS)
    assert code_of(hs, token) == "invalid_token"


@pytest.mark.parametrize(
    "alg", ["PBES2-HS256+A128KW", "RSA-OAEP", "RSA-OAEP-256", "RSA1_5", "ECDH-ES", "A128KW", "dir"]
)
def test_jwe_key_management_algorithms_are_unsupported_with_a_jwe_hint(
    hs: Verifier, hs256: KeyPair, alg: str
) -> None:
    """JWE key-management ``alg`` values are refused with a hint that Plaudit takes JWS only."""
    err = refusal(hs, hs256.sign_raw({"alg": alg, "enc": "A256GCM"}, CLAIMS))
    assert err.code == "unsupported_algorithm"
    assert "JWE" in err.hint


# --- key confusion (CVE-2015-9235, CVE-2016-10555, CVE-2022-29217) ------------------------


def _public_forms(rs256: KeyPair) -> dict[str, bytes]:
    public = rs256.private.public_key()
    numbers = public.public_numbers()
    jwk = rs256.public(kid="rsa").public_jwk()
    return {
        "pem": rs256.public_pem().encode(),
        "pem-without-newline": rs256.public_pem().strip().encode(),
        "pkcs1-pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        ),
        "der": public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk": json.dumps(jwk).encode(),
        "n-bytes": numbers.n.to_bytes(256, "big"),
    }


@pytest.mark.parametrize(
    "form", ["pem", "pem-without-newline", "pkcs1-pem", "der", "jwk", "n-bytes"]
)
@pytest.mark.parametrize("kid", [None, "rsa"])
def test_public_key_used_as_hmac_secret_is_algorithm_not_allowed(
    rs: Verifier, rs256: KeyPair, form: str, kid: str | None
) -> None:
    """HS256 signed with the product's own RSA public key (as PEM, DER, JWK or n) is refused.

    The RSA key is pinned to RS*/PS*; the token's ``alg`` only chooses among the product's keys,
    so no HMAC check ever runs with public key bytes as its secret.
    """
    attacker = KeyPair("HS256", _public_forms(rs256)[form])
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    assert code_of(rs, attacker.sign_raw(header, CLAIMS)) == "algorithm_not_allowed"


@pytest.mark.parametrize("form", ["pem", "pem-without-newline", "pkcs1-pem", "jwk"])
def test_registering_a_public_key_as_an_hmac_secret_is_invalid_key(
    rs256: KeyPair, form: str
) -> None:
    """A PEM or a JWK pasted into the HMAC secret field is refused at registration."""
    secret = _public_forms(rs256)[form]
    for value in (secret, secret.decode(), b"  \n" + secret):
        with pytest.raises(KeyError_) as caught:
            hmac_key(value)
        assert getattr(caught.value, "code", None) == "invalid_key", form


def test_registering_an_openssh_or_bare_base64_rsa_key_as_a_secret_is_invalid_key(
    rs256: KeyPair,
) -> None:
    """An OpenSSH public key line or a bare base64 RSA DER body is not a secret either."""
    public = rs256.private.public_key()
    openssh = public.public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    bare = base64.b64encode(
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    for value in (openssh, bare):
        with pytest.raises(KeyError_) as caught:
            hmac_key(value)
        assert getattr(caught.value, "code", None) == "invalid_key"


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_registering_a_bare_base64_ec_or_ed25519_key_as_a_secret_is_invalid_key(
    keypairs: dict[str, KeyPair], alg: str
) -> None:
    """The base64 body of an EC or Ed25519 public key (``MFkw...``, ``MCow...``) is not a secret.

    Such a body is public by definition (it is the PEM without its armour lines); registered as
    an HMAC secret it lets anyone who has the public key sign tokens, exactly as an RSA body would.
    """
    public = keypairs[alg].private.public_key()
    bare = base64.b64encode(
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    assert len(bare) >= 32  # long enough to pass the length rule for HS256
    with pytest.raises(KeyError_) as caught:
        hmac_key(bare)
    assert getattr(caught.value, "code", None) == "invalid_key"


# --- psychic and malformed ECDSA signatures (CVE-2022-21449) -------------------------------


def _ecdsa_verifier(pair: KeyPair, profile: TokenProfile) -> Verifier:
    return Verifier(KeySet([pair.public(kid="ec")]), profile=profile)


@pytest.mark.parametrize(
    ("alg", "size", "order"),
    [("ES256", 32, P256_N), ("ES384", 48, P384_N), ("ES512", 66, P521_N)],
    ids=["ES256", "ES384", "ES512"],
)
def test_psychic_ecdsa_signatures_are_invalid_signature(
    keypairs: dict[str, KeyPair], plain_profile: TokenProfile, alg: str, size: int, order: int
) -> None:
    """r = s = 0, r or s equal to the curve order, and all-zero bytes never verify."""
    pair = keypairs[alg]
    verifier = _ecdsa_verifier(pair, plain_profile)
    good = pair.sign_raw({"alg": alg}, CLAIMS)
    signing_input, _, sig = good.rpartition(".")
    raw = b64url_lenient(sig)
    r, s = raw[:size], raw[size:]
    n = order.to_bytes(size, "big")
    zero = bytes(size)
    for forged in (zero + zero, n + n, zero + s, r + zero, n + s, r + n, bytes(2 * size)):
        assert code_of(verifier, signing_input + "." + b64url(forged)) == "invalid_signature"
    assert verifier.verify(good, now=NOW).algorithm == alg


@pytest.mark.parametrize(
    ("curve", "order"),
    [("P-256", P256_N), ("P-384", P384_N), ("P-521", P521_N)],
    ids=["P-256", "P-384", "P-521"],
)
def test_curve_orders_used_for_the_range_check_are_the_real_ones(curve: str, order: int) -> None:
    """The (r, s) range check uses each curve's true order, a 256-, 384- and 521-bit number.

    Found by this suite: the P-521 constant carries 26 extra hex digits (a 625-bit number), so
    for ES512 no 66-byte r or s can ever reach it and the check is a no-op; only OpenSSL's own
    check keeps r = n or s = n out.
    """
    from plaudit.auth import algorithms

    assert order.bit_length() == int(curve[2:])
    assert algorithms._CURVE_ORDER[curve] == order
    assert algorithms._ED25519_L == ED25519_L


def test_der_encoded_ecdsa_signature_is_invalid_signature(
    keypairs: dict[str, KeyPair], plain_profile: TokenProfile
) -> None:
    """A DER-encoded ECDSA signature (what OpenSSL emits) is not JWS's fixed-width R || S."""
    pair = keypairs["ES256"]
    signing_input = b64url(compact({"alg": "ES256"})) + "." + b64url(compact(CLAIMS))
    der = pair.private.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    token = signing_input + "." + b64url(der)
    assert code_of(_ecdsa_verifier(pair, plain_profile), token) == "invalid_signature"


def test_high_s_ecdsa_signature_verifies_as_jws_allows(
    keypairs: dict[str, KeyPair], plain_profile: TokenProfile
) -> None:
    """(r, n - s) is as valid an ECDSA signature as (r, s): RFC 7518 does not ask for low S.

    This is the documented, accepted malleability of ECDSA: both spellings carry the same claims
    signed by the same key, so accepting both grants nothing a bearer of either could not do.
    """
    pair = keypairs["ES256"]
    good = pair.sign_raw({"alg": "ES256"}, CLAIMS)
    signing_input, _, sig = good.rpartition(".")
    raw = b64url_lenient(sig)
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    flipped = r.to_bytes(32, "big") + (P256_N - s).to_bytes(32, "big")
    verifier = _ecdsa_verifier(pair, plain_profile)
    assert verifier.verify(signing_input + "." + b64url(flipped), now=NOW).user_id == "user-1"


# --- Ed25519 --------------------------------------------------------------------------------


def test_ed25519_signature_with_s_not_below_l_is_invalid_signature(
    keypairs: dict[str, KeyPair], plain_profile: TokenProfile
) -> None:
    """Adding L to a valid S gives a non-canonical Ed25519 signature, refused (RFC 8032 5.1.7)."""
    pair = keypairs["EdDSA"]
    verifier = Verifier(KeySet([pair.public(kid="ed")]), profile=plain_profile)
    good = pair.sign_raw({"alg": "EdDSA"}, CLAIMS)
    signing_input, _, sig = good.rpartition(".")
    raw = b64url_lenient(sig)
    s = int.from_bytes(raw[32:], "little")
    assert s + ED25519_L < 2**256
    forged = raw[:32] + (s + ED25519_L).to_bytes(32, "little")
    assert code_of(verifier, signing_input + "." + b64url(forged)) == "invalid_signature"
    assert not ALGORITHMS["EdDSA"].verify(pair.private.public_key(), signing_input.encode(), forged)
    assert verifier.verify(good, now=NOW).algorithm == "EdDSA"


# --- wrong-length signatures -------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["HS256", "HS512", "RS256", "PS256", "ES256", "ES512", "EdDSA"])
@pytest.mark.parametrize(
    "change", ["empty", "drop-last-byte", "add-zero-byte", "prepend-zero-byte", "doubled"]
)
def test_wrong_length_signatures_are_invalid_signature(
    keypairs: dict[str, KeyPair], plain_profile: TokenProfile, alg: str, change: str
) -> None:
    """A signature one byte short or long, empty or doubled, never verifies."""
    pair = keypairs[alg]
    verifier = Verifier(KeySet([pair.public(kid="k")]), profile=plain_profile)
    signing_input, _, sig = pair.sign_raw({"alg": alg}, CLAIMS).rpartition(".")
    raw = b64url_lenient(sig)
    changed = {
        "empty": b"",
        "drop-last-byte": raw[:-1],
        "add-zero-byte": raw + b"\x00",
        "prepend-zero-byte": b"\x00" + raw,
        "doubled": raw + raw,
    }[change]
    assert code_of(verifier, signing_input + "." + b64url(changed)) == "invalid_signature"


# --- kid ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kid",
    [
        "../../dev/null",
        "/etc/passwd",
        "' OR '1'='1' --",
        "k-HS256'; DROP TABLE keys; --",
        "%00",
        "k-hs256",
    ],
)
def test_injected_kid_is_unknown_key(hs: Verifier, hs256: KeyPair, kid: str) -> None:
    """A kid is only ever looked up in the product's key set: paths and SQL are unknown keys."""
    assert code_of(hs, hs256.sign_raw({"alg": "HS256", "kid": kid}, CLAIMS)) == "unknown_key"


@pytest.mark.parametrize(
    "kid", [123, True, ["k-HS256"], {"id": "k-HS256"}, "", "k\u0000", "k\n", "x" * 257]
)
def test_malformed_kid_is_invalid_token(hs: Verifier, hs256: KeyPair, kid: object) -> None:
    """A kid that is not 1 to 256 printable characters makes the header malformed."""
    assert code_of(hs, hs256.sign_raw({"alg": "HS256", "kid": kid}, CLAIMS)) == "invalid_token"


def test_ten_kilobyte_kid_is_refused_by_size_then_by_shape(
    hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """A 10 KB kid makes the token too large; a parser allowing it still refuses the kid."""
    token = hs256.sign_raw({"alg": "HS256", "kid": "k" * 10_240}, CLAIMS)
    keys = KeySet([hs256.public(kid="k-HS256")])
    assert code_of(Verifier(keys, profile=plain_profile), token) == "token_too_large"
    roomy = Verifier(keys, profile=plain_profile, parser=TokenParser(max_bytes=64 * 1024))
    assert code_of(roomy, token) == "invalid_token"


def test_longest_allowed_unknown_kid_gets_a_bounded_message(hs: Verifier, hs256: KeyPair) -> None:
    """A 256-character unknown kid is quoted in the message cut short, never echoed whole."""
    err = refusal(hs, hs256.sign_raw({"alg": "HS256", "kid": "z" * 256}, CLAIMS))
    assert err.code == "unknown_key"
    assert "z" * 41 not in err.message


def test_kid_of_a_disabled_key_is_key_disabled(hs256: KeyPair, plain_profile: TokenProfile) -> None:
    """A token naming a disabled key is refused even though the signature is good."""
    verifier = Verifier(KeySet([hs256.public(kid="old", enabled=False)]), profile=plain_profile)
    assert code_of(verifier, hs256.sign(CLAIMS, kid="old")) == "key_disabled"


# --- header-supplied keys (CVE-2018-0114 and kin) -------------------------------------------


def _self_signed_certificate_der(private: Any) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker.example")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(1)
        .not_valid_before(__import__("datetime").datetime(2020, 1, 1))
        .not_valid_after(__import__("datetime").datetime(2040, 1, 1))
        .sign(private, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


@pytest.mark.parametrize("member", ["jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"])
def test_header_supplied_attacker_key_is_ignored(
    rs: Verifier,
    attacker_keypairs: dict[str, KeyPair],
    member: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A token signed by an attacker who puts their key (or its URL) in the header fails.

    ``jwk``, ``jku``, ``x5u``, ``x5c`` and ``x5t`` are ignored: only registered keys verify, so
    the attacker's signature meets the product's key and is ``invalid_signature``. No network is
    touched (sockets are disabled for the test).
    """

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the verifier tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    attacker = attacker_keypairs["RS256"]
    values: dict[str, object] = {
        "jwk": attacker.public(kid="evil").public_jwk(),
        "jku": "https://attacker.example/jwks.json",
        "x5u": "https://attacker.example/cert.pem",
        "x5c": [base64.b64encode(_self_signed_certificate_der(attacker.private)).decode()],
        "x5t": b64url(b"\x00" * 20),
        "x5t#S256": b64url(b"\x00" * 32),
    }
    token = attacker.sign_raw({"alg": "RS256", "typ": "JWT", member: values[member]}, CLAIMS)
    assert code_of(rs, token) == "invalid_signature"
    # Naming the product's own key id does not help, and the attacker's kid is simply unknown.
    named = attacker.sign_raw({"alg": "RS256", "kid": "rsa", member: values[member]}, CLAIMS)
    assert code_of(rs, named) == "invalid_signature"
    own = attacker.sign_raw({"alg": "RS256", "kid": "evil", member: values[member]}, CLAIMS)
    assert code_of(rs, own) == "unknown_key"


# --- crit, b64, zip ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "crit", [["exp"], [], ["b64"], "b64", 1, None, ["http://example.invalid/x"]]
)
def test_any_crit_is_unsupported_critical_header(
    hs: Verifier, hs256: KeyPair, crit: object
) -> None:
    """Plaudit understands no JWS extension, so any ``crit`` at all is refused."""
    header: dict[str, Any] = {"alg": "HS256", "crit": crit}
    if crit == ["b64"]:
        header["b64"] = False
    assert code_of(hs, hs256.sign_raw(header, CLAIMS)) == "unsupported_critical_header"


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "HS256", "b64": False},
        {"alg": "HS256", "b64": 0},
        {"alg": "HS256", "zip": "DEF"},
        {"alg": "HS256", "zip": None},
    ],
)
def test_unencoded_or_compressed_payloads_are_invalid_token(
    hs: Verifier, hs256: KeyPair, header: dict[str, object]
) -> None:
    """``b64`` other than true (RFC 7797) and any ``zip`` are refused as malformed."""
    assert code_of(hs, hs256.sign_raw(header, CLAIMS)) == "invalid_token"


def test_b64_true_is_the_default_and_accepted(hs: Verifier, hs256: KeyPair) -> None:
    """``"b64": true`` says what every JWS already is, so it changes nothing."""
    assert (
        hs.verify(hs256.sign_raw({"alg": "HS256", "b64": True}, CLAIMS), now=NOW).user_id
        == "user-1"
    )


# --- duplicate members ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "payload"),
    [
        pytest.param(b'{"alg":"HS256","alg":"none"}', None, id="alg-then-none"),
        pytest.param(b'{"alg":"none","alg":"HS256"}', None, id="none-then-alg"),
        pytest.param(b'{"alg":"HS256","alg":"HS256"}', None, id="same-alg-twice"),
        pytest.param(b'{"alg":"HS256","kid":"a","kid":"k-HS256"}', None, id="kid-twice"),
        pytest.param(b'{"alg":"HS256","typ":"JWT","typ":"JWT"}', None, id="typ-twice"),
        pytest.param(None, b'{"sub":"user-1","sub":"admin"}', id="sub-twice"),
        pytest.param(None, b'{"sub":"user-1","exp":1,"exp":9999999999}', id="exp-twice"),
        pytest.param(None, b'{"sub":"user-1","user":{"id":"1","id":"2"}}', id="nested-twice"),
        pytest.param(None, b'{"sub":"user-1","\\u0073ub":"admin"}', id="escaped-twice"),
    ],
)
def test_duplicate_members_are_invalid_token(
    hs: Verifier, hs256: KeyPair, header: bytes | None, payload: bytes | None
) -> None:
    """A member named twice, in header or payload, is refused: parsers disagree on which wins."""
    token = hs256.sign_raw(header or b'{"alg":"HS256"}', payload or compact(CLAIMS))
    assert code_of(hs, token) == "invalid_token"


# --- encoding of the JSON ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "payload"),
    [
        pytest.param(b'\xef\xbb\xbf{"alg":"HS256"}', None, id="bom-header"),
        pytest.param(None, b'\xef\xbb\xbf{"sub":"user-1"}', id="bom-payload"),
        pytest.param(None, b'{"sub":"user-\xff"}', id="invalid-utf8"),
        pytest.param(None, b'{"sub":"user-\xc0\xaf"}', id="overlong-utf8"),
        pytest.param(None, b'{"sub":"user-\xed\xa0\x80"}', id="encoded-surrogate"),
        pytest.param(b'{"alg":"HS256\xfe"}', None, id="invalid-utf8-header"),
        pytest.param(None, b'{"sub":"\\ud800"}', id="lone-high-surrogate"),
        pytest.param(None, b'{"sub":"a\\udfff"}', id="lone-low-surrogate"),
        pytest.param(None, b'{"sub":"user-1","\\ud800":1}', id="lone-surrogate-name"),
        pytest.param(None, b'{"sub":"user-1","x":["\\udc00"]}', id="lone-surrogate-nested"),
        pytest.param(b'{"alg":"HS256","x":"\\ud800"}', None, id="lone-surrogate-header"),
        pytest.param(None, b'{"sub":"user-1","x":NaN}', id="nan"),
        pytest.param(None, b'{"sub":"user-1","x":Infinity}', id="infinity"),
        pytest.param(None, b'{"sub":"user-1","x":-Infinity}', id="minus-infinity"),
        pytest.param(None, b'{"sub":"user-1","x":1e400}', id="1e400"),
        pytest.param(None, b'{"sub":"user-1","exp":-1e400}', id="minus-1e400"),
        pytest.param(b'{"alg":"HS256","x":NaN}', None, id="nan-header"),
        pytest.param(None, b'{"sub":"user-1","x":' + b"9" * 5000 + b"}", id="5000-digit-int"),
        pytest.param(None, b'{"sub":"user-1"} {"sub":"admin"}', id="two-objects"),
        pytest.param(None, b'{"sub":"user-1"}\x00', id="trailing-nul"),
        pytest.param(None, b'{"sub":"user-1",}', id="trailing-comma"),
        pytest.param(None, b"{'sub':'user-1'}", id="single-quotes"),
        pytest.param(None, b'{"sub":"a\x01"}', id="raw-control-character"),
    ],
)
def test_ambiguous_or_invalid_json_is_invalid_token(
    hs: Verifier, hs256: KeyPair, header: bytes | None, payload: bytes | None
) -> None:
    """BOMs, invalid UTF-8, lone surrogates, NaN, Infinity and 1e400 are refused as malformed."""
    token = hs256.sign_raw(header or b'{"alg":"HS256"}', payload or compact(CLAIMS))
    assert code_of(hs, token) == "invalid_token"


def test_a_proper_surrogate_pair_and_trailing_whitespace_are_valid_json(
    hs: Verifier, hs256: KeyPair
) -> None:
    """An escaped surrogate pair is one character, and whitespace around JSON is allowed."""
    payload = b'{"sub":"\\ud83d\\ude00","iat":' + str(NOW).encode() + b"}\r\n "
    verified = hs.verify(hs256.sign_raw(b' {"alg":"HS256"}\n', payload), now=NOW)
    assert verified.user_id == "\U0001f600"


@pytest.mark.parametrize(
    "payload", [b"[]", b'["sub"]', b'"user-1"', b"1", b"null", b"true", b"", b"  "]
)
def test_non_object_payload_is_invalid_token(hs: Verifier, hs256: KeyPair, payload: bytes) -> None:
    """A JWT's claims set is a JSON object: arrays, strings, numbers and nothing are refused."""
    if not payload.strip():
        # An empty payload segment fails the shape check; a blank one fails JSON parsing.
        signing_input = b64url(b'{"alg":"HS256"}') + "." + b64url(payload)
        token = signing_input + "." + b64url(hs256.signature(signing_input.encode()))
    else:
        token = hs256.sign_raw(b'{"alg":"HS256"}', payload)
    assert code_of(hs, token) == "invalid_token"


@pytest.mark.parametrize("header", [b'["alg","HS256"]', b'"HS256"', b"1", b"null"])
def test_non_object_header_is_invalid_token(hs: Verifier, hs256: KeyPair, header: bytes) -> None:
    """A protected header is a JSON object too."""
    assert code_of(hs, hs256.sign_raw(header, compact(CLAIMS))) == "invalid_token"


# --- base64url malleability -------------------------------------------------------------------


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _non_canonical(segment: str) -> str:
    """The same bytes spelled with non-zero trailing bits in the last character."""
    rem = len(segment) % 4
    assert rem in (2, 3), "no spare bits to set"
    spare = 4 if rem == 2 else 2
    index = _ALPHABET.index(segment[-1])
    assert index % (1 << spare) == 0
    return segment[:-1] + _ALPHABET[index + 1]


def _with_spare_bits(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with a filler member so that its encoding ends in a partial quantum."""
    for n in range(3):
        candidate = {**obj, "pad": "x" * n}
        if len(b64url(compact(candidate))) % 4 in (2, 3):
            return candidate
    raise AssertionError("unreachable")


@pytest.mark.parametrize("segment", ["header", "payload", "signature"])
def test_the_same_bytes_never_verify_under_two_spellings(
    hs: Verifier, hs256: KeyPair, segment: str
) -> None:
    """Setting the unused trailing bits of a segment's last character gives invalid_token.

    A lenient decoder reads both spellings as the same bytes, so a token would have two valid
    forms (two cache keys, two revocation entries). Plaudit accepts only the canonical one; the
    non-canonical header and payload are signed correctly over their own spelling.
    """
    header = b64url(compact(_with_spare_bits({"alg": "HS256"})))
    payload = b64url(compact(_with_spare_bits(CLAIMS)))
    canonical = hs256.sign_segments(header, payload)
    assert hs.verify(canonical, now=NOW).user_id == "user-1"
    if segment == "header":
        spelled = hs256.sign_segments(_non_canonical(header), payload)
    elif segment == "payload":
        spelled = hs256.sign_segments(header, _non_canonical(payload))
    else:
        signing_input, _, sig = canonical.rpartition(".")
        spelled = signing_input + "." + _non_canonical(sig)
    index = ["header", "payload", "signature"].index(segment)
    original, other = canonical.split(".")[index], spelled.split(".")[index]
    assert original != other
    assert b64url_lenient(original) == b64url_lenient(other)
    assert code_of(hs, spelled) == "invalid_token"


@pytest.mark.parametrize("segment", [0, 1, 2])
@pytest.mark.parametrize(
    "respell",
    [
        "padding",
        "plus-slash",
        "inner-space",
        "trailing-newline",
        "leading-space",
        "tab",
        "length-mod-4-is-1",
    ],
)
def test_non_canonical_base64url_is_invalid_token(
    hs: Verifier, hs256: KeyPair, segment: int, respell: str
) -> None:
    """Padding, the ``+``/``/`` alphabet, whitespace and impossible lengths are refused per segment."""
    parts = hs256.sign_raw(
        {"alg": "HS256", "typ": "JWT", "kid": "k-HS256"}, {**CLAIMS, "n": "//??>>"}
    ).split(".")
    part = parts[segment]
    if respell == "padding":
        part = part + "=" * (-len(part) % 4 or 4)
    elif respell == "plus-slash":
        raw = b64url_lenient(part)
        std = base64.b64encode(raw).decode().rstrip("=")
        if std == part:  # no '-' or '_' to translate: force one
            std = std[:-1] + "+"
        part = std
    elif respell == "inner-space":
        part = part[:4] + " " + part[4:]
    elif respell == "trailing-newline":
        part = part + "\n"
    elif respell == "leading-space":
        part = " " + part
    elif respell == "tab":
        part = part[:2] + "\t" + part[2:]
    else:
        part = part + ("A" if len(part) % 4 == 0 else "AAAA"[: (1 - len(part)) % 4])
        assert len(part) % 4 == 1
    parts[segment] = part
    assert code_of(hs, ".".join(parts)) == "invalid_token"


@pytest.mark.parametrize(
    "token",
    [
        "a.b",
        "a.b.c.d",
        "abc",
        "..",
        "...",
        ".e30.sig",
        "eyJhbGciOiJIUzI1NiJ9..sig",
        "e30.e30.sig.",
        ".",
        "a..b",
    ],
)
def test_wrong_shapes_are_invalid_token(hs: Verifier, token: str) -> None:
    """Anything but three dot-separated parts with a non-empty header and payload is malformed."""
    assert code_of(hs, token) == "invalid_token"


@pytest.mark.parametrize(
    "intruder", ["é", "ａ", "٣", "\u200b", "\u00a0", "е", "ｅｙＪ", "\U0001f600", "\x00"]
)
def test_non_ascii_characters_anywhere_are_invalid_token(
    hs: Verifier, hs256: KeyPair, intruder: str
) -> None:
    """Letters and digits outside ASCII (fullwidth, Cyrillic, Arabic-Indic, zero-width) are refused."""
    token = hs256.sign_raw({"alg": "HS256"}, CLAIMS)
    for position in (0, len(token) // 2, len(token)):
        assert code_of(hs, token[:position] + intruder + token[position:]) == "invalid_token"
    assert code_of(hs, token.replace("e", "е", 1)) == "invalid_token"


# --- size and nesting -----------------------------------------------------------------------


def _token_of_length(pair: KeyPair, length: int) -> str:
    """A correctly signed HS256 token of exactly ``length`` characters."""
    for extra in range(4):
        header = {"alg": pair.alg, "x": "h" * extra}
        for filler in range(length):
            token = pair.sign_raw(header, {**CLAIMS, "f": "f" * filler})
            if len(token) == length:
                return token
            if len(token) > length:
                break
    raise AssertionError(f"no token of length {length}")


def test_the_8_kib_cap_is_inclusive(hs: Verifier, hs256: KeyPair) -> None:
    """A token of exactly 8192 bytes verifies; one byte more is ``token_too_large``."""
    assert DEFAULT_MAX_TOKEN_BYTES == 8192
    exact = _token_of_length(hs256, 8192)
    assert hs.verify(exact, now=NOW).user_id == "user-1"
    assert code_of(hs, _token_of_length(hs256, 8193)) == "token_too_large"
    assert code_of(hs, "a" * 1_000_000) == "token_too_large"


def test_a_parser_with_a_smaller_cap_is_respected(
    hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """``TokenParser(max_bytes=...)`` moves the cap: 1024 passes, 1025 is ``token_too_large``."""
    verifier = Verifier(
        KeySet([hs256.public(kid="k")]), profile=plain_profile, parser=TokenParser(max_bytes=1024)
    )
    assert verifier.verify(_token_of_length(hs256, 1024), now=NOW).user_id == "user-1"
    err = refusal(verifier, _token_of_length(hs256, 1025))
    assert err.code == "token_too_large"
    assert "1024" in err.message


@pytest.mark.parametrize(
    ("where", "bomb"),
    [
        pytest.param(
            "payload", b'{"sub":"user-1","x":' + b"[" * 2900 + b"]" * 2900 + b"}", id="arrays"
        ),
        pytest.param("payload", b"[" * 5900, id="unclosed-arrays"),
        pytest.param("payload", b'{"":' * 1200 + b"1" + b"}" * 1200, id="objects"),
        pytest.param(
            "header", b'{"alg":"HS256","x":' + b"[" * 2900 + b"]" * 2900 + b"}", id="header-arrays"
        ),
    ],
)
def test_nesting_bombs_within_the_cap_are_invalid_token(
    hs: Verifier, hs256: KeyPair, where: str, bomb: bytes
) -> None:
    """Thousands of nested arrays or objects under 8 KiB are ``invalid_token``, not RecursionError."""
    header, payload = (bomb, compact(CLAIMS)) if where == "header" else (b'{"alg":"HS256"}', bomb)
    token = hs256.sign_raw(header, payload)
    assert len(token) <= DEFAULT_MAX_TOKEN_BYTES
    assert code_of(hs, token) == "invalid_token"


@pytest.mark.parametrize("where", ["header", "payload"])
def test_moderate_nesting_with_a_unicode_escape_never_raises_recursion_error(
    hs: Verifier, where: str
) -> None:
    """500 nested arrays around one ``\\u0041`` escape are refused as a TokenError, unsigned.

    Found by this suite: the JSON parser copes with that depth, but the lone-surrogate walk that
    follows any ``\\u`` escape recurses about three frames per level and overflows the stack, so
    an unauthenticated 1.5 KB token raised RecursionError before any signature check. The answer
    must be ``invalid_token`` (too deep) or ``invalid_signature`` (the garbage signature).
    """
    bomb = b'{"x":' + b"[" * 500 + b'"\\u0041"' + b"]" * 500 + b"}"
    header, payload = (bomb, compact(CLAIMS)) if where == "header" else (b'{"alg":"HS256"}', bomb)
    if where == "header":
        header = b'{"alg":"HS256",' + bomb[1:]
    token = b64url(header) + "." + b64url(payload) + ".c2lnbmF0dXJl"
    assert code_of(hs, token) in {"invalid_token", "invalid_signature"}


# --- claims that a signature cannot make sane -------------------------------------------------


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value", ["1700000000", True, False, None, [], [NOW], {}, {"$date": NOW}, ""]
)
def test_non_numeric_dates_are_invalid_claim(
    hs: Verifier, hs256: KeyPair, claim: str, value: object
) -> None:
    """NumericDates are JSON numbers: strings, booleans, null, arrays and objects are ``invalid_claim``."""
    err = refusal(hs, hs256.sign_raw({"alg": "HS256"}, {**CLAIMS, claim: value}))
    assert err.code == "invalid_claim"
    assert err.claim == claim


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize(
    "value", [10**400, -(10**400), 10**309, 10**15], ids=["1e400", "-1e400", "1e309", "1e15"]
)
def test_numeric_dates_no_clock_can_reach_are_invalid_claim(
    hs: Verifier, hs256: KeyPair, claim: str, value: int
) -> None:
    """An integer date beyond any clock (10**400) is ``invalid_claim``, never OverflowError.

    Found by this suite (and fixed in the core while it was written): such integers are valid
    JSON and reached the time checks, where adding the float leeway, or formatting the date for
    the message, raised OverflowError.
    """
    payload = b'{"sub":"user-1","' + claim.encode() + b'":' + str(value).encode() + b"}"
    err = refusal(hs, hs256.sign_raw(b'{"alg":"HS256"}', payload))
    assert (err.code, err.claim) == ("invalid_claim", claim)


def test_iat_in_the_future_is_token_not_yet_valid(hs: Verifier, hs256: KeyPair) -> None:
    """A token issued after ``now`` (beyond the leeway) was not signed by a sane clock."""
    err = refusal(hs, hs256.sign_raw({"alg": "HS256"}, {**CLAIMS, "iat": NOW + 60}))
    assert err.code == "token_not_yet_valid"
    assert err.claim == "iat"


def test_signature_is_checked_before_any_claim(
    hs: Verifier, attacker_keypairs: dict[str, KeyPair]
) -> None:
    """A forged token with expired or malformed claims answers ``invalid_signature``, nothing else.

    An attacker learns nothing about the claim policy from a token they could not sign.
    """
    forger = attacker_keypairs["HS256"]
    for claims in ({**CLAIMS, "exp": NOW - 100}, {**CLAIMS, "iat": "yesterday"}, {"iss": "no sub"}):
        assert code_of(hs, forger.sign_raw({"alg": "HS256"}, claims)) == "invalid_signature"


# --- what is not a token ----------------------------------------------------------------------


def test_empty_string_is_missing_token(hs: Verifier) -> None:
    """No token at all is ``missing_token`` (RFC 6750 ``invalid_request``)."""
    err = refusal(hs, "")
    assert err.code == "missing_token"
    assert err.rfc6750 == "invalid_request"


@pytest.mark.parametrize(
    "value",
    [
        None,
        b"eyJhbGciOiJIUzI1NiJ9.e30.",
        bytearray(b"a.b.c"),
        123,
        1.5,
        ["a.b.c"],
        {"token": "a.b.c"},
        object(),
    ],
    ids=["None", "bytes", "bytearray", "int", "float", "list", "dict", "object"],
)
@pytest.mark.parametrize("cached", [False, True], ids=["uncached", "cached"])
def test_non_string_input_is_invalid_token(
    hs256: KeyPair, plain_profile: TokenProfile, value: object, cached: bool
) -> None:
    """Bytes, numbers, lists, dicts and None are not tokens: ``invalid_token``, with or without a cache."""
    verifier = Verifier(
        KeySet([hs256.public(kid="k")]),
        profile=plain_profile,
        cache=VerifiedTokenCache() if cached else None,
    )
    assert code_of(verifier, value) == "invalid_token"


def test_hostile_headers_never_reach_the_header_cache_as_valid(
    hs: Verifier, hs256: KeyPair
) -> None:
    """A header refused once is refused again: only validated headers are remembered."""
    token = hs256.sign_raw({"alg": "HS256", "crit": ["exp"]}, CLAIMS)
    for _ in range(3):
        assert code_of(hs, token) == "unsupported_critical_header"


def test_key_confusion_across_a_mixed_key_set(
    keypairs: dict[str, KeyPair], plain_profile: TokenProfile
) -> None:
    """With an HMAC secret and an RSA key registered, each verifies only its own algorithms."""
    hs_pair, rs_pair = keypairs["HS256"], keypairs["RS256"]
    verifier = Verifier(
        KeySet([hs_pair.public(kid="secret"), rs_pair.public(kid="rsa")]), profile=plain_profile
    )
    assert verifier.verify(hs_pair.sign(CLAIMS), now=NOW).key_id == "secret"
    assert verifier.verify(rs_pair.sign(CLAIMS), now=NOW).key_id == "rsa"
    forged = KeyPair("HS256", rs_pair.public_pem().encode()).sign_raw(
        {"alg": "HS256", "kid": "rsa"}, CLAIMS
    )
    assert code_of(verifier, forged) == "algorithm_not_allowed"
    kidless = KeyPair("HS256", rs_pair.public_pem().encode()).sign_raw({"alg": "HS256"}, CLAIMS)
    assert code_of(verifier, kidless) == "invalid_signature"


def test_ec_key_of_one_curve_never_verifies_another_curves_algorithm(
    keypairs: dict[str, KeyPair], plain_profile: TokenProfile
) -> None:
    """A P-256 key verifies ES256 only; an ES384 or ES512 token naming it is refused."""
    verifier = Verifier(KeySet([keypairs["ES256"].public(kid="p256")]), profile=plain_profile)
    for alg in ("ES384", "ES512"):
        token = keypairs[alg].sign_raw({"alg": alg, "kid": "p256"}, CLAIMS)
        assert code_of(verifier, token) == "algorithm_not_allowed"
        assert (
            code_of(verifier, keypairs[alg].sign_raw({"alg": alg}, CLAIMS))
            == "algorithm_not_allowed"
        )


def test_a_jwk_with_a_curve_that_does_not_match_its_alg_is_refused() -> None:
    """An EC JWK claiming ``alg`` of another curve cannot be registered."""
    private = ec.generate_private_key(ec.SECP256R1())
    numbers = private.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url(numbers.x.to_bytes(32, "big")),
        "y": b64url(numbers.y.to_bytes(32, "big")),
        "alg": "ES512",
    }
    with pytest.raises(KeyError_) as caught:
        key_from_jwk(jwk)
    assert getattr(caught.value, "code", None) == "unsupported_key"


def test_a_certificate_in_the_key_store_does_not_make_header_certificates_trusted(
    rs256: KeyPair, attacker_keypairs: dict[str, KeyPair], plain_profile: TokenProfile
) -> None:
    """A product that registered a certificate still ignores an ``x5c`` chain in a token."""
    pem = x509.load_der_x509_certificate(_self_signed_certificate_der(rs256.private)).public_bytes(
        serialization.Encoding.PEM
    )
    verifier = Verifier(KeySet([public_key_from_pem(pem, kid="cert")]), profile=plain_profile)
    assert verifier.verify(rs256.sign(CLAIMS), now=NOW).key_id == "cert"
    attacker = attacker_keypairs["RS256"]
    chain = [base64.b64encode(_self_signed_certificate_der(attacker.private)).decode()]
    token = attacker.sign_raw({"alg": "RS256", "x5c": chain}, CLAIMS)
    assert code_of(verifier, token) == "invalid_signature"


def test_policy_errors_come_after_crypto_for_hostile_and_honest_tokens_alike(
    hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """A strict policy does not change hostile answers: shape and header errors come first."""
    verifier = Verifier(
        KeySet([hs256.public(kid="k")]),
        profile=plain_profile,
        policy=ClaimPolicy(issuer="iss", audience="aud", token_type="JWT"),
    )
    assert code_of(verifier, "a.b") == "invalid_token"
    assert (
        code_of(verifier, hs256.sign_raw({"alg": "none", "typ": "JWT"}, CLAIMS))
        == "unsupported_algorithm"
    )
    assert code_of(
        verifier, hs256.sign_raw({"alg": "HS256", "typ": "JWT", "crit": []}, CLAIMS)
    ) == ("unsupported_critical_header")
