"""A bounded cache of a projection's per-case state, least recently used out first (issue 17:
state in the store, not in memory). A projection reads each batch's cases here first and from
its store only for the misses, in one read; its memory then stays at `size` cases (and, weighed,
at `budget`) however large the caseload or long the history grows. Pure: no I/O.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LeastRecentlyUsed(Generic[K, V]):
    """At most `size` values by key; putting one more drops the one used longest ago. With
    `weigh`, also at most `budget` of what `weigh` says the values weigh together (what a
    value holds can grow with its case's history, where their number does not); the value put
    last is kept whatever it weighs."""

    def __init__(
        self, size: int, *, budget: int | None = None, weigh: Callable[[V], int] | None = None
    ) -> None:
        if size < 1:
            raise ValueError(f"size: {size} holds nothing; a cache holds at least 1")
        if (budget is None) != (weigh is None):
            raise ValueError("a budget needs a weigh of the values, and a weigh a budget")
        self.size = size
        self.budget = budget
        self._weigh = weigh
        self._values: OrderedDict[K, V] = OrderedDict()
        self._weights: dict[K, int] = {}
        self.weight = 0

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def get(self, key: K) -> V | None:
        """The value kept for `key` (now the most recently used), or None when not kept."""
        value = self._values.get(key)
        if value is not None:
            self._values.move_to_end(key)
        return value

    def found(self, keys: Iterable[K]) -> tuple[dict[K, V], list[K]]:
        """The values kept for `keys`, and the keys not kept (each once, in the order given)."""
        hits: dict[K, V] = {}
        misses: list[K] = []
        asked: set[K] = set()
        for key in keys:
            if key in asked:
                continue
            asked.add(key)
            value = self.get(key)
            if value is None:
                misses.append(key)
            else:
                hits[key] = value
        return hits, misses

    def through(self, keys: Iterable[K], read: Callable[[list[K]], Mapping[K, V]]) -> dict[K, V]:
        """The values of `keys`: those kept, the rest from `read` (called once, with the keys
        not kept, and only if there are any), which are then kept."""
        hits, misses = self.found(keys)
        if misses:
            fetched = read(misses)
            self.put(fetched)
            hits.update(fetched)
        return hits

    def put(self, values: Mapping[K, V]) -> None:
        """Keep `values` as the most recently used, dropping the oldest beyond `size` (and
        `budget`)."""
        for key, value in values.items():
            self._values[key] = value
            self._values.move_to_end(key)
            if self._weigh is not None:
                weight = self._weigh(value)
                self.weight += weight - self._weights.get(key, 0)
                self._weights[key] = weight
        while len(self._values) > self.size or self._over_budget():
            self._drop_oldest()

    def _over_budget(self) -> bool:
        return self.budget is not None and self.weight > self.budget and len(self._values) > 1

    def _drop_oldest(self) -> None:
        key, _ = self._values.popitem(last=False)
        self.weight -= self._weights.pop(key, 0)

    def discard(self, keys: Iterable[K]) -> None:
        """Forget the values of `keys` (their state left the store: an erased case's)."""
        for key in keys:
            self._values.pop(key, None)
            self.weight -= self._weights.pop(key, 0)

    def clear(self) -> None:
        """Forget everything (the store is read again from here on)."""
        self._values.clear()
        self._weights.clear()
        self.weight = 0
