"""A catch-up's records merged across partitions in the bus's order (issue 17), with no I/O.

A catch-up reads every partition of the topics a projection folds, and Kafka hands it the same
number of records of each in turn, not the same stretch of time: the sparse topics run ahead,
and over half the events reached their case after a later one of it (benchmarks/late_events.py),
each costing a re-fold of the case. `Merge` holds what the consumer fetched and releases it in
the order the records reached the bus: their Kafka timestamps (the log-append time of the agency
topics and the erasures; the sealed record carries the ingress append time as its create time).

Each partition's records are released as a prefix, in offset order, so the offsets a projection
stores stay exact: what is held and not released is simply read again after a crash. A record
is released once every partition that has not reached its catch-up end has been read to a time
at or after it (the watermark): nothing still to come from those can be earlier. A partition at
its end holds nothing back, so what arrives past the ends flows on.

A partition's times are made non-decreasing (each record's is at least its predecessor's): a
broker's clock may step back, and the sealed record's create times follow the intake's fold,
not its appends. The order of release never breaks a partition's offset order.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from mappa_bus.projection.offsets import Position


class Stamped(Protocol):
    """What the merge reads of a record (aiokafka's ConsumerRecord has it all)."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def timestamp(self) -> int: ...


@dataclass
class _Partition:
    """One partition's records fetched and not yet released, and how far it has been read."""

    end: int  # the catch-up's end: the offset its next record had when the catch-up began
    next_offset: int  # the next offset to read: what is below is held, released or applied
    time: int | None = None  # the latest time read (non-decreasing), None before any record
    held: deque[tuple[int, Any]] = field(default_factory=deque)

    @property
    def at_end(self) -> bool:
        return self.next_offset >= self.end


@dataclass(frozen=True)
class Pauses:
    """Which partitions to pause and which to resume, to bound what the merge holds."""

    pause: frozenset[Position] = frozenset()
    resume: frozenset[Position] = frozenset()


class Merge:
    """The records of `ends`' partitions, released in time order (see the module's docstring).

    `applied` is what the projection has applied of each (its stored offsets): records below are
    dropped, as the fold would skip them. `limit` is how many records one partition may hold
    before `pauses` says to pause it."""

    def __init__(
        self, ends: Mapping[Position, int], applied: Mapping[Position, int], *, limit: int
    ) -> None:
        if limit < 1:
            raise ValueError("a partition must be able to hold a record")
        self.limit = limit
        self._ends = dict(sorted(ends.items()))
        self._partitions: dict[Position, _Partition] = {}
        self.restart(applied)

    def restart(self, applied: Mapping[Position, int]) -> None:
        """Forget what is held: the partitions are read again from `applied` (after a batch
        failed, the consumer is sought back there)."""
        self._partitions = {
            position: _Partition(end=end, next_offset=applied.get(position, 0))
            for position, end in self._ends.items()
        }

    def add(self, records: Iterable[Stamped]) -> None:
        """Hold `records` (each partition's in offset order, as a consumer fetches them)."""
        for record in records:
            position = (record.topic, record.partition)
            partition = self._partitions.get(position)
            if partition is None:
                # A partition the catch-up did not know of has no end: it never holds the others.
                partition = self._partitions[position] = _Partition(end=0, next_offset=0)
            if record.offset < partition.next_offset:
                continue  # applied already (or held: a fetch repeated)
            time = record.timestamp
            if partition.time is not None:
                time = max(partition.time, time)
            partition.time = time
            partition.next_offset = record.offset + 1
            partition.held.append((time, record))

    def read_to(self, position: Position, next_offset: int) -> None:
        """The consumer's position in `position` is `next_offset`: where no record sits below it
        (a compacted log's gap), the partition may be at its end with no record saying so."""
        partition = self._partitions[position]
        partition.next_offset = max(partition.next_offset, next_offset)

    def waiting(self) -> list[Position]:
        """The partitions short of their end with nothing held: each holds the release back
        until it is read further (the shell asks the consumer where each stands)."""
        return [p for p, part in self._partitions.items() if not part.at_end and not part.held]

    def watermark(self) -> int | None:
        """The time up to which records may be released: the earliest time read of the
        partitions short of their end; None when all are at their end (everything flows), and
        -1 while one of those has not been read at all."""
        times = [part.time for part in self._partitions.values() if not part.at_end]
        if not times:
            return None
        if any(time is None for time in times):
            return -1
        return min(time for time in times if time is not None)

    def release(self) -> list[Any]:
        """Take every record at or before the watermark, merged in time order (a tie keeps the
        partitions' order), each partition's as a prefix of what it holds."""
        watermark = self.watermark()
        prefixes = [
            list(_prefix(part.held, watermark)) for part in self._partitions.values() if part.held
        ]
        return [record for _, record in heapq.merge(*prefixes, key=lambda held: held[0])]

    def held(self) -> int:
        """How many records are held, in all."""
        return sum(len(part.held) for part in self._partitions.values())

    def pauses(self, paused: Iterable[Position]) -> Pauses:
        """Pause the partitions holding more than `limit` records; resume those paused that hold
        half of it or less. A partition short of its end with nothing held is never paused: the
        watermark waits on it (after `release`, the partition setting the watermark holds
        nothing, so the catch-up can always go on)."""
        paused = set(paused)
        pause = {
            position
            for position, part in self._partitions.items()
            if len(part.held) > self.limit and position not in paused
        }
        resume = {
            position
            for position in paused
            if (part := self._partitions.get(position)) is None or len(part.held) <= self.limit // 2
        }
        return Pauses(pause=frozenset(pause), resume=frozenset(resume))


def _prefix(held: deque[tuple[int, Any]], watermark: int | None) -> Iterator[tuple[int, Any]]:
    """Take from the front of `held` the records at or before `watermark` (all, when None)."""
    while held and (watermark is None or held[0][0] <= watermark):
        yield held.popleft()
