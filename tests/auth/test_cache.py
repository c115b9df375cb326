"""The verified-token cache: a hit skips the crypto, and is never more permissive than verifying again.

Crypto is counted by wrapping the registry's verify function, so "no crypto on a hit" is proved,
not assumed. Entries end at the earliest of the token's ``exp`` (+ leeway), ``iat + max_age``, the
key's ``not_after`` and the cache TTL; the size bound evicts the oldest entry.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from plaudit.auth import ClaimPolicy, KeySet, TokenProfile, VerifiedTokenCache, Verifier
from plaudit.auth import algorithms as algs

from .conftest import NOW, KeyPair, outcome_of


class CryptoCounter:
    """Counts the signature checks made while it is installed in the registry."""

    def __init__(self) -> None:
        self.calls = 0


@pytest.fixture
def crypto(monkeypatch: pytest.MonkeyPatch) -> CryptoCounter:
    """Every HS256 and RS256 signature check in this test, counted."""
    counter = CryptoCounter()
    for name in ("HS256", "RS256"):
        spec = algs.ALGORITHMS[name]

        def counting(
            material: Any, signing_input: bytes, signature: bytes, _inner: Any = spec.verify
        ) -> bool:
            counter.calls += 1
            return bool(_inner(material, signing_input, signature))

        monkeypatch.setitem(algs.ALGORITHMS, name, dataclasses.replace(spec, verify=counting))
    return counter


def cached_verifier(
    *keys: Any, profile: TokenProfile, cache: VerifiedTokenCache[Any] | None = None, **policy: Any
) -> Verifier:
    return Verifier(
        KeySet(keys),
        policy=ClaimPolicy(**policy),
        profile=profile,
        cache=cache if cache is not None else VerifiedTokenCache(),
    )


def test_a_hit_returns_the_same_object_without_crypto(
    crypto: CryptoCounter, hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """The second verification of a token is the first one's result, with no signature check."""
    verifier = cached_verifier(hs256.public(kid="k"), profile=plain_profile)
    token = hs256.sign({"sub": "u", "exp": NOW + 60})
    first = verifier.verify(token, now=NOW)
    assert crypto.calls == 1
    assert verifier.verify(token, now=NOW + 30) is first
    assert crypto.calls == 1
    assert verifier.cache is not None
    assert len(verifier.cache) == 1


def test_an_expired_token_is_refused_not_served_from_the_cache(
    crypto: CryptoCounter, hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """At ``now >= exp`` a cached token is verified again, and refused as ``token_expired``."""
    verifier = cached_verifier(hs256.public(kid="k"), profile=plain_profile)
    token = hs256.sign({"sub": "u", "exp": NOW + 60})
    verifier.verify(token, now=NOW)
    verifier.verify(token, now=NOW + 59)
    assert crypto.calls == 1
    assert outcome_of(lambda: verifier.verify(token, now=NOW + 60)) == "token_expired"
    assert crypto.calls == 2


def test_entries_live_until_exp_plus_leeway(
    crypto: CryptoCounter, hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """With leeway, the cache serves until ``exp + leeway`` exclusive, exactly as verifying would."""
    verifier = cached_verifier(hs256.public(kid="k"), profile=plain_profile, leeway=30)
    token = hs256.sign({"sub": "u", "exp": NOW + 60})
    first = verifier.verify(token, now=NOW)
    assert verifier.verify(token, now=NOW + 89) is first
    assert crypto.calls == 1
    assert outcome_of(lambda: verifier.verify(token, now=NOW + 90)) == "token_expired"


def test_entries_die_at_iat_plus_max_age(
    crypto: CryptoCounter, hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """A token bounded by ``max_age`` leaves the cache when it ages out."""
    verifier = cached_verifier(hs256.public(kid="k"), profile=plain_profile, max_age=120)
    token = hs256.sign({"sub": "u", "iat": NOW})
    first = verifier.verify(token, now=NOW)
    assert first.expires_at == NOW + 120
    assert verifier.verify(token, now=NOW + 119) is first
    assert crypto.calls == 1
    err = outcome_of(lambda: verifier.verify(token, now=NOW + 120))
    assert err == "token_expired"
    assert crypto.calls == 2


def test_entries_die_at_the_keys_not_after(
    crypto: CryptoCounter, hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """A token verified by a key in its grace period is not served after the grace period ends."""
    verifier = cached_verifier(hs256.public(kid="old", not_after=NOW + 100), profile=plain_profile)
    token = hs256.sign({"sub": "u", "exp": NOW + 3600}, kid="old")
    first = verifier.verify(token, now=NOW)
    assert verifier.verify(token, now=NOW + 99) is first
    assert crypto.calls == 1
    assert outcome_of(lambda: verifier.verify(token, now=NOW + 100)) == "key_disabled"


def test_entries_die_at_the_ttl(
    crypto: CryptoCounter, hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """A token without any end of its own is cached for the TTL, then verified again."""
    cache: VerifiedTokenCache[Any] = VerifiedTokenCache(ttl=60)
    verifier = cached_verifier(hs256.public(kid="k"), profile=plain_profile, cache=cache)
    token = hs256.sign({"sub": "u"})
    first = verifier.verify(token, now=NOW)
    assert verifier.verify(token, now=NOW + 59) is first
    assert crypto.calls == 1
    second = verifier.verify(token, now=NOW + 60)
    assert second is not first
    assert crypto.calls == 2


def test_the_ttl_also_caps_long_lived_tokens(
    crypto: CryptoCounter, hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """A token valid for a day is still re-verified once the TTL has passed."""
    cache: VerifiedTokenCache[Any] = VerifiedTokenCache(ttl=300)
    verifier = cached_verifier(hs256.public(kid="k"), profile=plain_profile, cache=cache)
    token = hs256.sign({"sub": "u", "exp": NOW + 86400})
    verifier.verify(token, now=NOW)
    verifier.verify(token, now=NOW + 299)
    verifier.verify(token, now=NOW + 300)
    assert crypto.calls == 2


def test_max_entries_evicts_the_oldest(
    crypto: CryptoCounter, hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """With room for two, a third token evicts the first one stored."""
    cache: VerifiedTokenCache[Any] = VerifiedTokenCache(max_entries=2)
    verifier = cached_verifier(hs256.public(kid="k"), profile=plain_profile, cache=cache)
    tokens = [hs256.sign({"sub": f"u{i}", "exp": NOW + 60}) for i in range(3)]
    results = [verifier.verify(t, now=NOW) for t in tokens]
    assert len(cache) == 2
    assert crypto.calls == 3
    assert verifier.verify(tokens[2], now=NOW) is results[2]
    assert verifier.verify(tokens[1], now=NOW) is results[1]
    assert crypto.calls == 3
    assert verifier.verify(tokens[0], now=NOW) is not results[0]
    assert crypto.calls == 4
    assert len(cache) == 2


def test_a_zero_sized_cache_stores_nothing(
    crypto: CryptoCounter, hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """``max_entries=0`` turns caching off without turning verification off."""
    cache: VerifiedTokenCache[Any] = VerifiedTokenCache(max_entries=0)
    verifier = cached_verifier(hs256.public(kid="k"), profile=plain_profile, cache=cache)
    token = hs256.sign({"sub": "u"})
    verifier.verify(token, now=NOW)
    verifier.verify(token, now=NOW)
    assert (len(cache), crypto.calls) == (0, 2)


def test_failures_are_never_cached(
    crypto: CryptoCounter, hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """A refused token is judged afresh every time (and an honest one after it is not affected)."""
    verifier = cached_verifier(hs256.public(kid="k"), profile=plain_profile)
    forged = KeyPair("HS256", b"f" * 32).sign({"sub": "u"})
    for _ in range(3):
        assert outcome_of(lambda: verifier.verify(forged, now=NOW)) == "invalid_signature"
    assert crypto.calls == 3
    assert verifier.cache is not None
    assert len(verifier.cache) == 0


def test_the_cache_key_is_the_exact_token(
    crypto: CryptoCounter, hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """A token differing in one character is another token: checked, and here refused."""
    verifier = cached_verifier(hs256.public(kid="k"), profile=plain_profile)
    token = hs256.sign({"sub": "u", "exp": NOW + 60})
    verifier.verify(token, now=NOW)
    header, payload, signature = token.split(".")
    twisted = (
        f"{header}.{payload}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}{signature[-1]}"
    )
    assert outcome_of(lambda: verifier.verify(twisted, now=NOW)) == "invalid_signature"
    assert crypto.calls == 2


def test_a_new_verifier_with_new_keys_does_not_see_old_entries(
    crypto: CryptoCounter, hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """After a key is removed, the product's new verifier (and its new cache) refuses its tokens."""
    token = hs256.sign({"sub": "u", "exp": NOW + 3600}, kid="k")
    before = cached_verifier(hs256.public(kid="k"), profile=plain_profile)
    before.verify(token, now=NOW)
    other = KeyPair("HS256", b"n" * 32)
    after = cached_verifier(other.public(kid="n"), profile=plain_profile)
    assert outcome_of(lambda: after.verify(token, now=NOW + 1)) == "unknown_key"
    disabled = cached_verifier(hs256.public(kid="k", enabled=False), profile=plain_profile)
    assert outcome_of(lambda: disabled.verify(token, now=NOW + 1)) == "key_disabled"
    assert before.verify(token, now=NOW + 1).user_id == "u"


def test_a_cached_answer_is_never_given_for_an_earlier_moment(
    crypto: CryptoCounter, hs256: KeyPair, plain_profile: TokenProfile
) -> None:
    """A token cached at its ``nbf`` is not served for a ``now`` before ``nbf``.

    Found by this suite: an entry remembers only when it ends, so after the clock steps back (an
    NTP correction, or a caller passing its own ``now``) the cache answered for a moment at which
    verifying would say ``token_not_yet_valid``, against the module's promise that a cached
    answer is never more permissive than verifying again.
    """
    verifier = cached_verifier(hs256.public(kid="k"), profile=plain_profile)
    token = hs256.sign({"sub": "u", "nbf": NOW, "exp": NOW + 3600})
    verifier.verify(token, now=NOW)
    uncached = Verifier(KeySet([hs256.public(kid="k")]), profile=plain_profile)
    assert outcome_of(lambda: uncached.verify(token, now=NOW - 60)) == "token_not_yet_valid"
    assert outcome_of(lambda: verifier.verify(token, now=NOW - 60)) == "token_not_yet_valid"


def test_the_cache_alone_bounds_and_expires_entries() -> None:
    """The cache itself keeps an entry until the earlier of its deadline and now + TTL."""
    cache: VerifiedTokenCache[str] = VerifiedTokenCache(ttl=10, max_entries=5)
    cache.put("a", "A", NOW, NOW + 5)
    cache.put("b", "B", NOW, None)
    cache.put("c", "C", NOW, NOW)  # already over: not stored
    cache.put("d", "D", NOW, NOW - 1)
    assert (cache.get("a", NOW + 4), cache.get("b", NOW + 9)) == ("A", "B")
    assert cache.get("a", NOW + 5) is None
    assert cache.get("b", NOW + 10) is None
    assert cache.get("c", NOW) is None
    assert cache.get("d", NOW) is None
    assert len(cache) == 0
    cache.put("e", "E", NOW, None)
    cache.discard("e")
    cache.discard("missing")
    assert cache.get("e", NOW) is None
    cache.put("f", "F", NOW, None)
    cache.clear()
    assert len(cache) == 0


def test_putting_an_existing_token_again_does_not_evict_another() -> None:
    """Refreshing an entry at capacity replaces it in place."""
    cache: VerifiedTokenCache[str] = VerifiedTokenCache(max_entries=2)
    cache.put("a", "A", NOW, None)
    cache.put("b", "B", NOW, None)
    cache.put("a", "A2", NOW, None)
    assert (cache.get("a", NOW), cache.get("b", NOW), len(cache)) == ("A2", "B", 2)
