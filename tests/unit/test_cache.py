"""The bounded cache a projection keeps its most recently used cases in (issue 17)."""

from __future__ import annotations

import pytest

from mappa_bus.projection.cache import LeastRecentlyUsed


def test_putting_beyond_its_size_drops_the_least_recently_used() -> None:
    cache: LeastRecentlyUsed[str, int] = LeastRecentlyUsed(2)
    cache.put({"a": 1, "b": 2})
    assert cache.get("a") == 1  # now "b" is the least recently used

    cache.put({"c": 3})

    assert (len(cache), "a" in cache, "b" in cache, "c" in cache) == (2, True, False, True)


def test_found_splits_the_keys_into_those_kept_and_those_to_read_each_once() -> None:
    cache: LeastRecentlyUsed[str, int] = LeastRecentlyUsed(3)
    cache.put({"a": 1, "b": 2, "c": 3})

    hits, misses = cache.found(["x", "a", "x", "y", "a"])
    cache.put({"z": 26})  # "a" was used last of the three: "b" goes

    assert (hits, misses, "a" in cache, "b" in cache) == ({"a": 1}, ["x", "y"], True, False)


def test_a_batch_larger_than_the_cache_keeps_its_newest_values() -> None:
    cache: LeastRecentlyUsed[int, int] = LeastRecentlyUsed(2)

    cache.put({n: n for n in range(5)})

    assert ([n in cache for n in range(5)], len(cache)) == ([False] * 3 + [True] * 2, 2)


def test_a_cache_that_could_hold_nothing_is_refused_naming_its_size() -> None:
    with pytest.raises(ValueError, match="size: 0"):
        LeastRecentlyUsed(0)


def test_through_reads_only_the_keys_not_kept_once_and_keeps_them() -> None:
    cache: LeastRecentlyUsed[str, int] = LeastRecentlyUsed(3)
    cache.put({"a": 1})
    asked: list[list[str]] = []

    def read(keys: list[str]) -> dict[str, int]:
        asked.append(keys)
        return {key: len(key) for key in keys}

    first = cache.through(["a", "bb", "a", "ccc"], read)
    again = cache.through(["bb", "ccc"], read)

    assert (first, again, asked) == (
        {"a": 1, "bb": 2, "ccc": 3},
        {"bb": 2, "ccc": 3},
        [["bb", "ccc"]],
    )


def test_a_weighed_cache_drops_the_oldest_until_it_is_within_its_budget() -> None:
    """Values that grow (a case's picture with its history) are bounded by what they weigh:
    a value put again is weighed again, and the newest is kept whatever it weighs."""
    cache: LeastRecentlyUsed[str, str] = LeastRecentlyUsed(10, budget=10, weigh=len)
    cache.put({"a": "xxx", "b": "xxx", "c": "xxx"})
    cache.put({"a": "xxxx"})  # "a" grows, and is now the most recent: 3 + 3 + 4 = 10

    kept_at_budget = ([key for key in "abc" if key in cache], cache.weight)
    cache.put({"d": "xx"})  # 12: "b", the oldest, goes
    cache.discard(["c"])
    cache.put({"e": "x" * 20})  # over any budget alone: kept, and everything else goes

    assert (kept_at_budget, [key for key in "abcde" if key in cache], cache.weight) == (
        (["a", "b", "c"], 10),
        ["e"],
        20,
    )


def test_a_budget_without_a_weigh_is_refused() -> None:
    with pytest.raises(ValueError, match="budget"):
        LeastRecentlyUsed(3, budget=10)
