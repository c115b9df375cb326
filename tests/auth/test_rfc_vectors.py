"""The published examples of the JOSE specifications verify, byte for byte.

RFC 7515 Appendix A (A.1 HS256, A.2 RS256, A.3 ES256, A.4 ES512), RFC 7520 section 4 (4.1 RS256,
4.2 PS384, 4.3 ES512, 4.4 HS256), RFC 8037 Appendix A.4 (Ed25519) and the RFC 7638 and RFC 8037
thumbprints. The tokens and keys are copied from the RFCs' text (only public members of the
keys). Where a full ``verify`` cannot accept a vector, its signature is checked through the
algorithm registry with the key Plaudit loads, and the test asserts what the verifier answers
and why.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from plaudit.auth import (
    KeySet,
    TokenError,
    TokenProfile,
    Verifier,
    jwk_thumbprint,
    key_from_jwk,
)
from plaudit.auth.algorithms import ALGORITHMS
from plaudit.auth.encoding import b64url_decode

# --- RFC 7515 Appendix A ------------------------------------------------------------------

# The claims of A.1, A.2 and A.3: {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}
RFC7515_PAYLOAD = (
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
)
RFC7515_EXP = 1300819380
BEFORE_RFC7515_EXP = RFC7515_EXP - 380

RFC7515_A1_KEY = {
    "kty": "oct",
    "k": "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
}
RFC7515_A1_TOKEN = (
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    + RFC7515_PAYLOAD
    + ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

RFC7515_A2_KEY = {
    "kty": "RSA",
    "n": (
        "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4Ql"
        "L-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsL"
        "A9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"
        "NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
    ),
    "e": "AQAB",
}
RFC7515_A2_TOKEN = (
    "eyJhbGciOiJSUzI1NiJ9."
    + RFC7515_PAYLOAD
    + ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujG"
    "bds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0"
    "GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6Lb"
    "gGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
)

RFC7515_A3_KEY = {
    "kty": "EC",
    "crv": "P-256",
    "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
}
RFC7515_A3_TOKEN = (
    "eyJhbGciOiJFUzI1NiJ9."
    + RFC7515_PAYLOAD
    + ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
)

RFC7515_A4_KEY = {
    "kty": "EC",
    "crv": "P-521",
    "x": "AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",
    "y": "ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2",
}
# The payload of A.4 is the five bytes "Payload", not a JSON object.
RFC7515_A4_TOKEN = (
    "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA."
    "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwF"
    "KdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn"
)

# --- RFC 7520 section 4 -------------------------------------------------------------------

# "It's a dangerous business, Frodo, going out your door. ..." (section 4 uses it for every
# signature example): plain text, its apostrophes U+2019, not a JSON object.
RFC7520_PAYLOAD = (
    "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0"
    "aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91"
    "IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4"
)
RFC7520_PAYLOAD_TEXT = (
    "It\u2019s a dangerous business, Frodo, going out your door. You step onto the road, and if "
    "you don't keep your feet, there\u2019s no knowing where you might be swept off to."
)

# Section 3.3 (public members only) and section 3.1 (public members only).
RFC7520_RSA_KEY = {
    "kty": "RSA",
    "kid": "bilbo.baggins@hobbiton.example",
    "use": "sig",
    "n": (
        "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMa"
        "JMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6"
        "cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BY"
        "wdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw"
    ),
    "e": "AQAB",
}
RFC7520_EC_KEY = {
    "kty": "EC",
    "kid": "bilbo.baggins@hobbiton.example",
    "use": "sig",
    "crv": "P-521",
    "x": "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",
    "y": "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1",
}
# Section 3.5.
RFC7520_HMAC_KEY = {
    "kty": "oct",
    "kid": "018c0ae5-4d9b-471b-bfd6-eef314bc7037",
    "use": "sig",
    "alg": "HS256",
    "k": "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg",
}

RFC7520_4_1_TOKEN = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9."
    + RFC7520_PAYLOAD
    + ".MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7P"
    "NDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eR"
    "o4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uO"
    "ZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg"
)
RFC7520_4_2_TOKEN = (
    "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9."
    + RFC7520_PAYLOAD
    + ".cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dD"
    "DItllVo6_1OLPpcbUrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ"
    "7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVK"
    "PbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw"
)
RFC7520_4_3_TOKEN = (
    "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9."
    + RFC7520_PAYLOAD
    + ".AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPB"
    "u_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2"
)
RFC7520_4_4_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxOGMwYWU1LTRkOWItNDcxYi1iZmQ2LWVlZjMxNGJjNzAzNyJ9."
    + RFC7520_PAYLOAD
    + ".s0h6KThzkfBBBkLspW1h84VsJZFTsPPqMDA7g1Md7p0"
)

# --- RFC 8037 Appendix A --------------------------------------------------------------------

RFC8037_KEY = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
RFC8037_A4_TOKEN = (
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
)

# --- RFC 7638 section 3.1 ---------------------------------------------------------------------

RFC7638_KEY = {
    "kty": "RSA",
    "n": (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWK"
        "RXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMi"
        "cAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRw"
        "r3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
    "e": "AQAB",
    "alg": "RS256",
    "kid": "2011-04-29",
}


@pytest.fixture(scope="module")
def issuer_profile() -> TokenProfile:
    """RFC 7515's example claims name no subject; its issuer stands in for the user."""
    return TokenProfile(name="rfc7515", title="RFC 7515 examples", user_id="iss")


def _signature_holds(token: str, jwk: dict[str, str]) -> bool:
    """The registry's verdict on a token's signature under the key Plaudit loads from ``jwk``."""
    signing_input, _, signature = token.rpartition(".")
    # Not parse_unverified(): most vectors' payloads are not JSON, and it parses the claims.
    alg = json.loads(b64url_decode(token.split(".", maxsplit=1)[0]))["alg"]
    key = key_from_jwk(jwk)
    assert alg in key.algorithms
    return ALGORITHMS[alg].verify(key.material, signing_input.encode(), b64url_decode(signature))


def _tamper(token: str) -> str:
    """The same token with one payload character changed (canonically)."""
    header, payload, signature = token.split(".")
    swapped = payload[:5] + ("A" if payload[5] != "A" else "B") + payload[6:]
    return f"{header}.{swapped}.{signature}"


def _code(action: Callable[[], object]) -> str:
    try:
        action()
    except TokenError as err:
        return err.code
    return "ok"


@pytest.mark.parametrize(
    ("token", "jwk"),
    [
        pytest.param(RFC7515_A1_TOKEN, RFC7515_A1_KEY, id="A.1-HS256"),
        pytest.param(RFC7515_A2_TOKEN, RFC7515_A2_KEY, id="A.2-RS256"),
        pytest.param(RFC7515_A3_TOKEN, RFC7515_A3_KEY, id="A.3-ES256"),
    ],
)
def test_rfc7515_appendix_a_tokens_verify_in_full_before_their_exp(
    token: str, jwk: dict[str, str], issuer_profile: TokenProfile
) -> None:
    """RFC 7515's A.1 to A.3 JWTs verify end to end at a moment before their ``exp``.

    The header of A.1 is ``{"typ":"JWT",\\r\\n "alg":"HS256"}``: line breaks inside JSON are
    whitespace, and the signature covers the segment as sent, so it verifies unchanged.
    """
    verified = Verifier(KeySet([key_from_jwk(jwk, kid="rfc")]), profile=issuer_profile).verify(
        token, now=BEFORE_RFC7515_EXP
    )
    assert verified.user_id == "joe"
    assert verified.claims["http://example.com/is_root"] is True
    assert verified.expires_at == RFC7515_EXP
    assert _signature_holds(token, jwk)


@pytest.mark.parametrize(
    ("token", "jwk"),
    [
        pytest.param(RFC7515_A1_TOKEN, RFC7515_A1_KEY, id="A.1-HS256"),
        pytest.param(RFC7515_A2_TOKEN, RFC7515_A2_KEY, id="A.2-RS256"),
        pytest.param(RFC7515_A3_TOKEN, RFC7515_A3_KEY, id="A.3-ES256"),
    ],
)
def test_rfc7515_appendix_a_tokens_are_expired_at_the_suite_clock(
    token: str, jwk: dict[str, str], issuer_profile: TokenProfile, now: int
) -> None:
    """The same RFC 7515 tokens, checked at the suite's clock (2025), answer ``token_expired``.

    Their ``exp`` is 1300819380 (March 2011); the signature still holds, so the answer is about
    time and names the ``exp`` claim.
    """
    verifier = Verifier(KeySet([key_from_jwk(jwk, kid="rfc")]), profile=issuer_profile)
    with pytest.raises(TokenError) as caught:
        verifier.verify(token, now=now)
    assert caught.value.code == "token_expired"
    assert caught.value.claim == "exp"


@pytest.mark.parametrize(
    ("token", "jwk"),
    [
        pytest.param(RFC7515_A1_TOKEN, RFC7515_A1_KEY, id="A.1-HS256"),
        pytest.param(RFC7515_A2_TOKEN, RFC7515_A2_KEY, id="A.2-RS256"),
        pytest.param(RFC7515_A3_TOKEN, RFC7515_A3_KEY, id="A.3-ES256"),
        pytest.param(RFC7515_A4_TOKEN, RFC7515_A4_KEY, id="A.4-ES512"),
        pytest.param(RFC7520_4_1_TOKEN, RFC7520_RSA_KEY, id="7520-4.1-RS256"),
        pytest.param(RFC7520_4_2_TOKEN, RFC7520_RSA_KEY, id="7520-4.2-PS384"),
        pytest.param(RFC7520_4_3_TOKEN, RFC7520_EC_KEY, id="7520-4.3-ES512"),
        pytest.param(RFC7520_4_4_TOKEN, RFC7520_HMAC_KEY, id="7520-4.4-HS256"),
        pytest.param(RFC8037_A4_TOKEN, RFC8037_KEY, id="8037-A.4-EdDSA"),
    ],
)
def test_every_vector_signature_holds_and_breaks_when_tampered(
    token: str, jwk: dict[str, str]
) -> None:
    """Each published signature verifies under the published key, and not over a changed payload."""
    assert _signature_holds(token, jwk)
    assert not _signature_holds(_tamper(token), jwk)


def test_rfc7515_a4_es512_signature_holds_but_its_payload_is_not_a_jwt() -> None:
    """RFC 7515 A.4 (ES512 over P-521) has a valid signature, yet ``verify`` answers ``invalid_token``.

    Its payload is the five bytes ``Payload``: a JWS, not a JWT. Plaudit parses the claims set
    before any crypto (RFC 7519 section 7.2 step 10: the payload of a JWT is a JSON object), so
    the full verifier refuses it as malformed; the registry confirms the signature itself is good.
    """
    assert _signature_holds(RFC7515_A4_TOKEN, RFC7515_A4_KEY)
    keys = KeySet([key_from_jwk(RFC7515_A4_KEY, kid="rfc")])
    assert _code(lambda: Verifier(keys).verify(RFC7515_A4_TOKEN, now=0)) == "invalid_token"


@pytest.mark.parametrize(
    ("token", "jwk", "alg"),
    [
        pytest.param(RFC7520_4_1_TOKEN, RFC7520_RSA_KEY, "RS256", id="4.1-RS256"),
        pytest.param(RFC7520_4_2_TOKEN, RFC7520_RSA_KEY, "PS384", id="4.2-PS384"),
        pytest.param(RFC7520_4_3_TOKEN, RFC7520_EC_KEY, "ES512", id="4.3-ES512"),
        pytest.param(RFC7520_4_4_TOKEN, RFC7520_HMAC_KEY, "HS256", id="4.4-HS256"),
    ],
)
def test_rfc7520_section4_signatures_hold_but_the_sentence_payload_is_invalid_token(
    token: str, jwk: dict[str, str], alg: str
) -> None:
    """RFC 7520 section 4 signatures verify; the verifier still answers ``invalid_token``.

    The cookbook signs a sentence from The Fellowship of the Ring, not a JSON claims set, so a
    JWT verifier must refuse the token as malformed however good its signature; the header's
    ``kid`` names the registered key, so nothing else stands in the way.
    """
    parsed_header = b64url_decode(token.split(".", maxsplit=1)[0])
    assert f'"alg":"{alg}"'.encode() in parsed_header
    assert b64url_decode(RFC7520_PAYLOAD).decode("utf-8") == RFC7520_PAYLOAD_TEXT
    assert _signature_holds(token, jwk)
    keys = KeySet([key_from_jwk(jwk)])
    assert keys.get(jwk["kid"]) is not None
    assert _code(lambda: Verifier(keys).verify(token, now=0)) == "invalid_token"


def test_rfc7520_hmac_key_is_pinned_by_its_jwk_alg() -> None:
    """The RFC 7520 section 3.5 symmetric key carries ``"alg": "HS256"`` and verifies HS256 only."""
    key = key_from_jwk(RFC7520_HMAC_KEY)
    assert key.kid == "018c0ae5-4d9b-471b-bfd6-eef314bc7037"
    assert key.algorithms == frozenset({"HS256"})


def test_rfc8037_a4_ed25519_signature_holds_but_the_payload_is_not_a_jwt() -> None:
    """RFC 8037 A.4's EdDSA signature verifies; the verifier answers ``invalid_token``.

    The payload is the text ``Example of Ed25519 signing``, not a JSON object, so the token is
    a valid JWS and a malformed JWT.
    """
    assert b64url_decode(RFC8037_A4_TOKEN.split(".")[1]) == b"Example of Ed25519 signing"
    assert _signature_holds(RFC8037_A4_TOKEN, RFC8037_KEY)
    keys = KeySet([key_from_jwk(RFC8037_KEY)])
    assert _code(lambda: Verifier(keys).verify(RFC8037_A4_TOKEN, now=0)) == "invalid_token"


def test_rfc7638_thumbprint_of_the_section_3_1_key() -> None:
    """RFC 7638 section 3.1's RSA key has the thumbprint the RFC prints, whatever else the JWK says."""
    expected = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert jwk_thumbprint(RFC7638_KEY) == expected
    assert key_from_jwk(RFC7638_KEY).thumbprint() == expected
    assert key_from_jwk({k: RFC7638_KEY[k] for k in ("kty", "n", "e")}).kid == expected


def test_rfc8037_a3_thumbprint_of_the_ed25519_key() -> None:
    """RFC 8037 A.3's Ed25519 key has the printed thumbprint, and it is the key's default kid."""
    expected = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert jwk_thumbprint(RFC8037_KEY) == expected
    key = key_from_jwk(RFC8037_KEY)
    assert key.kid == expected
    assert key.algorithms == frozenset({"EdDSA"})


def test_published_keys_round_trip_through_public_jwk() -> None:
    """A key loaded from an RFC JWK exports the same public members it was loaded from."""
    for jwk in (RFC7515_A2_KEY, RFC7515_A3_KEY, RFC7515_A4_KEY, RFC7520_EC_KEY, RFC8037_KEY):
        exported = key_from_jwk(jwk, kid="rfc").public_jwk()
        for member in ("kty", "n", "e", "crv", "x", "y"):
            if member in jwk:
                assert exported[member] == jwk[member], member
