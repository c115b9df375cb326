"""The one bounded cache: full, it forgets the least recently used key, never everything."""

from __future__ import annotations

import pytest

from plaudit.access.cache import BoundedCache


def test_a_full_cache_evicts_only_the_least_recently_used_entry() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recent
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_a_flood_of_new_keys_never_grows_it_past_its_cap() -> None:
    cache: BoundedCache[int, int] = BoundedCache(100)
    for key in range(10_000):
        cache.put(key, key)
    assert len(cache) == 100
    assert cache.get(9_999) == 9_999
    assert cache.get(0) is None


def test_discard_and_clear_forget() -> None:
    cache: BoundedCache[str, int] = BoundedCache(3)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.discard("a")
    assert "a" not in cache
    cache.clear()
    assert len(cache) == 0


def test_a_cache_holds_at_least_one_entry() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BoundedCache(0)
