"""Differential tests: Plaudit, PyJWT and joserfc agree on which tokens verify.

Hypothesis generates claims, headers and keys (HS256/384/512, RS256, ES256, EdDSA), PyJWT signs,
and the three libraries judge the token at the same pinned clock, untouched and mutated (a
flipped character, a dropped segment, a changed ``alg``, a padded segment). Where the libraries
legitimately differ, the generator leaves the case out and a dedicated example test below says
why Plaudit's answer is the right one:

* ``aud`` with no audience configured (PyJWT refuses, Plaudit and joserfc accept);
* duplicate JSON members, NaN, a byte-order mark, lone surrogates (PyJWT and joserfc accept);
* non-canonical base64url spellings of the same bytes (PyJWT accepts a padded signature);
* fractional NumericDates (PyJWT truncates them to integers);
* NumericDates written as strings (PyJWT converts them with ``int()``).
"""

from __future__ import annotations

import contextlib
import datetime
import string
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import jwt as pyjwt
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from joserfc import jwt as jose_jwt
from joserfc.jwk import import_key

from plaudit.auth import AuthError, ClaimPolicy, KeySet, TokenProfile, Verifier

from .conftest import NOW, KeyPair, b64url, b64url_lenient, compact

ALGS = ("HS256", "HS384", "HS512", "RS256", "ES256", "EdDSA")
RESERVED = {"sub", "exp", "nbf", "iat", "aud", "iss", "jti", "scope", "scp"}
B64URL_ALPHABET = string.ascii_letters + string.digits + "-_"
DIFFERENTIAL = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class _PinnedDatetime(datetime.datetime):
    """PyJWT reads ``datetime.now()``; this one always answers the pinned clock."""

    pinned: float = NOW

    @classmethod
    def now(cls, tz: datetime.tzinfo | None = None) -> _PinnedDatetime:  # type: ignore[override]
        moment = datetime.datetime.fromtimestamp(cls.pinned, tz or datetime.UTC)
        return cls(*moment.timetuple()[:6], tzinfo=moment.tzinfo)


@contextlib.contextmanager
def pyjwt_clock(now: float) -> Iterator[None]:
    with mock.patch.object(pyjwt.api_jwt, "datetime", _PinnedDatetime):
        _PinnedDatetime.pinned = now
        yield


@dataclass(frozen=True)
class Judges:
    """The three verifiers of one key, each configured as closely alike as they allow."""

    alg: str
    pair: KeyPair
    plaudit: Verifier
    pyjwt_key: Any
    jose_key: Any

    def plaudit_accepts(self, token: str, now: float = NOW) -> bool:
        try:
            self.plaudit.verify(token, now=now)
        except AuthError:
            return False
        return True

    def pyjwt_accepts(self, token: str, now: float = NOW) -> bool:
        with pyjwt_clock(now):
            try:
                pyjwt.decode(token, self.pyjwt_key, algorithms=[self.alg])
            except Exception:  # a reference: any refusal counts as one
                return False
        return True

    def jose_accepts(self, token: str, now: float = NOW) -> bool:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # joserfc warns that RFC 9864 deprecates "EdDSA"
            try:
                decoded = jose_jwt.decode(token, self.jose_key, algorithms=[self.alg])
                jose_jwt.JWTClaimsRegistry(now=int(now), leeway=0).validate(decoded.claims)
            except Exception:  # a reference: any refusal counts as one
                return False
        return True

    def verdicts(self, token: str, now: float = NOW) -> tuple[bool, bool, bool]:
        return (
            self.plaudit_accepts(token, now),
            self.pyjwt_accepts(token, now),
            self.jose_accepts(token, now),
        )


@pytest.fixture(scope="module")
def judges(keypairs: dict[str, KeyPair], plain_profile: TokenProfile) -> dict[str, Judges]:
    found = {}
    for alg in ALGS:
        pair = keypairs[alg]
        if pair.is_hmac:
            pyjwt_key, jose_key = pair.private, import_key(pair.private, "oct")
        else:
            kty = {"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}[alg]
            pyjwt_key, jose_key = pair.public_pem(), import_key(pair.public_pem(), kty)
        plaudit = Verifier(
            KeySet([pair.public(kid="k")]), policy=ClaimPolicy(), profile=plain_profile
        )
        found[alg] = Judges(alg, pair, plaudit, pyjwt_key, jose_key)
    return found


# --- strategies ------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
claim_names = st.text(min_size=1, max_size=12).filter(lambda name: name not in RESERVED)
offsets = st.integers(min_value=-(10**6), max_value=10**6)


@st.composite
def tokens(draw: st.DrawFn) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """An algorithm, a header and claims to sign: valid or not in time, never ambiguous JSON."""
    alg = draw(st.sampled_from(ALGS))
    claims: dict[str, Any] = {
        "sub": draw(
            st.text(string.ascii_letters + string.digits + "-_@.|", min_size=1, max_size=40)
        )
    }
    for name, spread in (
        ("exp", offsets),
        ("nbf", st.integers(-3600, 3600)),
        ("iat", st.integers(-(10**6), 120)),
    ):
        if draw(st.booleans()):
            claims[name] = NOW + draw(spread)
    if draw(st.booleans()):
        claims["iss"] = draw(st.text(max_size=20))
    if draw(st.booleans()):
        claims["jti"] = draw(st.text(min_size=1, max_size=20))
    claims.update(draw(st.dictionaries(claim_names, json_values, max_size=4)))
    headers: dict[str, Any] = {}
    if draw(st.booleans()):
        headers["kid"] = "k"
    typ = draw(st.sampled_from([None, "JWT", "at+jwt"]))
    headers["typ"] = typ
    if draw(st.booleans()):
        headers["cty"] = draw(st.text(string.ascii_letters, max_size=8))
    return alg, headers, claims


def _sign(judge: Judges, headers: dict[str, Any], claims: dict[str, Any]) -> str:
    return pyjwt.encode(claims, judge.pair.pyjwt_key(), algorithm=judge.alg, headers=headers)


def _same_bytes_respelled(original: str, mutated: str) -> bool:
    """True when ``mutated`` spells the very same three segments differently (padding, tail bits)."""
    a, b = original.split("."), mutated.split(".")
    if len(a) != 3 or len(b) != 3 or original == mutated:
        return False
    try:
        return all(b64url_lenient(x) == b64url_lenient(y) for x, y in zip(a, b, strict=True))
    except ValueError:
        return False


# --- properties --------------------------------------------------------------------------------


@DIFFERENTIAL
@given(case=tokens())
def test_the_three_libraries_agree_on_honestly_signed_tokens(
    judges: dict[str, Judges], case: tuple[str, dict[str, Any], dict[str, Any]]
) -> None:
    """For tokens PyJWT signs, Plaudit, PyJWT and joserfc accept and refuse exactly the same ones."""
    alg, headers, claims = case
    judge = judges[alg]
    token = _sign(judge, headers, claims)
    plaudit, reference, jose = judge.verdicts(token)
    event(f"{alg} {'accepted' if plaudit else 'refused'}")
    assert plaudit == reference == jose, (plaudit, reference, jose, claims)
    # The oracle of RFC 7519 section 4.1: before exp, not before nbf, not issued in the future.
    in_time = claims.get("exp", NOW + 1) > NOW and claims.get("nbf", NOW) <= NOW >= claims.get(
        "iat", NOW
    )
    assert plaudit == in_time
    if plaudit:
        assert dict(judge.plaudit.verify(token, now=NOW).claims) == pyjwt.decode(
            token, options={"verify_signature": False}
        )


MUTATIONS = (
    "flip",
    "drop-segment",
    "change-alg",
    "pad-segment",
    "truncate",
    "swap-payload",
    "append-segment",
)


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, int, int, str]:
    kind = draw(st.sampled_from(MUTATIONS))
    return (
        kind,
        draw(st.integers(min_value=0, max_value=10**6)),
        draw(st.integers(0, 2)),
        draw(
            st.sampled_from(
                ["HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "EdDSA", "none", "hs256"]
            )
        ),
    )


def _mutate(token: str, judge: Judges, mutation: tuple[str, int, int, str]) -> str:
    kind, position, segment, alg = mutation
    parts = token.split(".")
    if kind == "flip":
        indices = [i for i, c in enumerate(token) if c != "."]
        index = indices[position % len(indices)]
        current = B64URL_ALPHABET.index(token[index])
        replacement = B64URL_ALPHABET[(current + 1 + position % 63) % 64]
        return token[:index] + replacement + token[index + 1 :]
    if kind == "drop-segment":
        del parts[segment]
        return ".".join(parts)
    if kind == "change-alg":
        header = pyjwt.get_unverified_header(token)
        header["alg"] = alg
        parts[0] = b64url(compact(header))
        return ".".join(parts)
    if kind == "pad-segment":
        parts[segment] += "=" * (-len(parts[segment]) % 4 or 2)
        return ".".join(parts)
    if kind == "truncate":
        cut = 1 + position % max(1, len(parts[segment]) - 1)
        parts[segment] = parts[segment][:-cut]
        return ".".join(parts)
    if kind == "swap-payload":
        claims = pyjwt.decode(token, options={"verify_signature": False})
        claims["sub"] = "admin"
        parts[1] = b64url(compact(claims))
        return ".".join(parts)
    return token + "." + parts[segment]


@DIFFERENTIAL
@given(case=tokens(), mutation=mutations())
def test_the_three_libraries_refuse_mutated_tokens(
    judges: dict[str, Judges],
    case: tuple[str, dict[str, Any], dict[str, Any]],
    mutation: tuple[str, int, int, str],
) -> None:
    """A mutated token never verifies in Plaudit, and the references refuse it too.

    The one legitimate difference, a re-spelling of the same bytes (padding, set tail bits), is
    left out of the comparison: Plaudit must refuse it as ``invalid_token`` while a lenient
    decoder may accept it (see the example test below).
    """
    alg, headers, claims = case
    claims = {**claims, "exp": NOW + 3600, "iat": NOW - 5}
    claims.pop("nbf", None)
    judge = judges[alg]
    token = _sign(judge, headers, claims)
    mutated = _mutate(token, judge, mutation)
    assume(mutated != token)
    event(mutation[0])
    assert judge.plaudit_accepts(token)
    with pytest.raises(AuthError) as caught:
        judge.plaudit.verify(mutated, now=NOW)
    if _same_bytes_respelled(token, mutated):
        event("same bytes, another spelling")
        assert caught.value.code == "invalid_token"
        return
    assert not judge.pyjwt_accepts(mutated), mutation
    assert not judge.jose_accepts(mutated), mutation


# --- the documented differences, one example each ----------------------------------------------------


@pytest.fixture(scope="module")
def hs(judges: dict[str, Judges]) -> Judges:
    return judges["HS256"]


def test_aud_without_a_configured_audience_is_accepted(hs: Judges) -> None:
    """A token with ``aud`` verifies in a product that configured no audience; PyJWT refuses it.

    Plaudit keys belong to one product, so a good signature already binds the token to that
    product; ``aud`` is the extra check a product opts into with ``ClaimPolicy(audience=...)``,
    and then it is exact. PyJWT's refusal protects verifiers whose one key serves many
    audiences, which is not Plaudit's shape; joserfc, like Plaudit, leaves it to the caller.
    """
    token = _sign(hs, {}, {"sub": "u", "aud": "someone-else"})
    assert hs.verdicts(token) == (True, False, True)
    strict = Verifier(
        KeySet([hs.pair.public(kid="k")]),
        policy=ClaimPolicy(audience="app"),
        profile=hs.plaudit.profile,
    )
    assert not _accepts(strict, token)


def _accepts(verifier: Verifier, token: str) -> bool:
    try:
        verifier.verify(token, now=NOW)
    except AuthError:
        return False
    return True


@pytest.mark.parametrize(
    "payload",
    [
        b'{"sub":"user","sub":"admin"}',
        b'{"sub":"admin","exp":1,"exp":9999999999}',
        b'{"sub":"u","x":NaN}',
        b'\xef\xbb\xbf{"sub":"u"}',
        b'{"sub":"\\ud800"}',
    ],
    ids=["duplicate-sub", "duplicate-exp", "nan", "bom", "lone-surrogate"],
)
def test_ambiguous_json_is_refused_where_python_json_accepts_it(hs: Judges, payload: bytes) -> None:
    """Duplicate members, NaN, a BOM and lone surrogates verify in PyJWT and joserfc, not in Plaudit.

    RFC 7519 section 4 lets a parser either refuse duplicate claim names or keep the last one;
    keeping the last is how one token reads differently to two parsers (a gateway sees ``sub``
    "user", the application "admin"). RFC 8259 has no NaN, asks parsers not to need a BOM, and
    I-JSON (RFC 7493) forbids unpaired surrogates. Refusing all of them leaves one reading.
    """
    token = hs.pair.sign_raw(b'{"alg":"HS256","typ":"JWT"}', payload)
    assert hs.verdicts(token) == (False, True, True)


def test_a_padded_signature_is_refused_where_pyjwt_accepts_it(hs: Judges) -> None:
    """``sig=`` decodes to the same bytes as ``sig`` in PyJWT; Plaudit refuses the padded spelling.

    RFC 7515 section 2 defines base64url without padding, and one signature must have one
    spelling: a token's string is its cache key and the handle by which it is revoked.
    """
    token = _sign(hs, {}, {"sub": "u"})
    assert len(token.rpartition(".")[2]) % 4 != 0
    padded = token + "=" * (-len(token.rpartition(".")[2]) % 4)
    plaudit, reference, _ = hs.verdicts(padded)
    assert (plaudit, reference) == (False, True)
    with pytest.raises(AuthError) as caught:
        hs.plaudit.verify(padded, now=NOW)
    assert caught.value.code == "invalid_token"


def test_fractional_numeric_dates_are_honoured_where_pyjwt_truncates(hs: Judges) -> None:
    """``exp = now + 0.5`` is still valid at ``now``: RFC 7519 NumericDates may be non-integers.

    PyJWT converts ``exp`` with ``int()``, so it expires the token half a second early; Plaudit
    and joserfc compare the number as written.
    """
    token = _sign(hs, {}, {"sub": "u", "exp": NOW + 0.5})
    assert hs.verdicts(token) == (True, False, True)


def test_numeric_dates_written_as_strings_are_invalid_where_pyjwt_converts_them(hs: Judges) -> None:
    """``"exp": "9999999999"`` is a string, not a NumericDate: Plaudit and joserfc refuse it, PyJWT does not."""
    token = _sign(hs, {}, {"sub": "u", "exp": "9999999999"})
    assert hs.verdicts(token) == (False, True, False)
    with pytest.raises(AuthError) as caught:
        hs.plaudit.verify(token, now=NOW)
    assert (caught.value.code, caught.value.claim) == ("invalid_claim", "exp")


def test_the_pinned_pyjwt_clock_is_the_suite_clock(hs: Judges) -> None:
    """The differential compares like with like: PyJWT sees the same ``now`` as Plaudit."""
    token = _sign(hs, {}, {"sub": "u", "exp": NOW + 1})
    assert hs.verdicts(token, now=NOW) == (True, True, True)
    assert hs.verdicts(token, now=NOW + 1) == (False, False, False)
