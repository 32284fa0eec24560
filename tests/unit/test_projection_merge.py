"""A catch-up's records merged across partitions in the bus's order (projection/merge.py)."""

from __future__ import annotations

import random
from typing import Any, TypeAlias

import pytest
from aiokafka.structs import ConsumerRecord

from mappa_bus.projection.merge import Merge, Pauses

A = ("agency-a", 0)
B = ("agency-b", 0)
E = ("erasures", 0)


Record: TypeAlias = ConsumerRecord[Any, Any]


def records(position: tuple[str, int], *stamps: int, first: int = 0) -> list[Record]:
    """Records of `position` from offset `first` on, with the append times `stamps`."""
    topic, partition = position
    return [
        ConsumerRecord(topic, partition, first + i, stamp, 1, None, b"", None, 0, 0, ())
        for i, stamp in enumerate(stamps)
    ]


def names(released: list[Record]) -> list[tuple[str, int]]:
    return [(r.topic, r.offset) for r in released]


def test_nothing_is_released_while_a_partition_short_of_its_end_is_unread() -> None:
    """A partition not read yet may still hold the earliest record."""
    merge = Merge({A: 3, B: 3}, {}, limit=10)

    merge.add(records(A, 10, 20, 30))

    assert (merge.release(), merge.watermark(), merge.waiting()) == ([], -1, [B])


def test_records_are_released_up_to_the_earliest_time_read_of_partitions_short_of_their_end() -> (
    None
):
    """B has been read to 25 and A to its end: A's records up to 25, B's up to 25, in time order."""
    merge = Merge({A: 3, B: 5}, {}, limit=10)
    merge.add([*records(A, 10, 20, 30), *records(B, 5, 15, 25)])

    released = merge.release()

    assert (names(released), merge.held()) == (
        [("agency-b", 0), ("agency-a", 0), ("agency-b", 1), ("agency-a", 1), ("agency-b", 2)],
        1,
    )


def test_once_every_partition_is_at_its_end_everything_held_flows() -> None:
    """Partitions at their end hold nothing back, records past the ends included."""
    merge = Merge({A: 2, B: 1}, {}, limit=10)
    merge.add([*records(A, 10, 40), *records(B, 30)])
    merge.release()

    merge.add(records(A, 50, first=2))  # past the catch-up's end

    assert (names(merge.release()), merge.watermark(), merge.held()) == (
        [("agency-a", 2)],
        None,
        0,
    )


def test_each_partition_is_released_as_a_prefix_even_when_its_times_step_back() -> None:
    """A time earlier than its predecessor's (a clock stepping back, the sealed record's create
    times) is read as its predecessor's: the partition's offset order is never broken."""
    merge = Merge({A: 3, B: 2}, {}, limit=10)
    merge.add([*records(A, 10, 30, 5), *records(B, 20, 40)])

    released = merge.release()

    assert names(released) == [
        ("agency-a", 0),
        ("agency-b", 0),
        ("agency-a", 1),
        ("agency-a", 2),
        ("agency-b", 1),
    ]


def test_records_already_applied_are_dropped_and_do_not_hold_the_others() -> None:
    """The store's offsets say where each partition starts: a catch-up resumed after a crash
    reads them again from the beginning, and the fold would skip them anyway."""
    merge = Merge({A: 3, B: 2}, {A: 2, B: 2}, limit=10)

    merge.add([*records(A, 1, 2, 50), *records(B, 3, 4)])

    assert (names(merge.release()), merge.held()) == ([("agency-a", 2)], 0)


def test_a_partition_read_to_its_end_without_a_record_saying_so_stops_holding_the_others() -> None:
    """A compacted log may have no record at its last offsets: the consumer's position says the
    partition is read to its end."""
    merge = Merge({A: 2, E: 4}, {}, limit=10)
    merge.add([*records(A, 10, 20), *records(E, 5)])
    merge.release()
    assert merge.waiting() == [E]

    merge.read_to(E, 4)

    assert (names(merge.release()), merge.waiting()) == ([("agency-a", 0), ("agency-a", 1)], [])


def test_a_partition_holding_more_than_the_limit_is_paused_and_resumed_at_half_of_it() -> None:
    """What the merge holds is bounded: a partition running ahead is paused until the others
    catch up with it."""
    merge = Merge({A: 100, B: 100}, {}, limit=4)
    merge.add([*records(A, *range(10, 16)), *records(B, 1)])
    merge.release()

    first = merge.pauses(paused=[])
    merge.add(records(B, 12, first=1))
    merge.release()  # A's 10, 11, 12 go: it holds 3, less than half of 4 is 2
    held = merge.pauses(paused=[A])
    merge.add(records(B, 13, first=2))
    merge.release()

    assert (first, held, merge.pauses(paused=[A])) == (
        Pauses(pause=frozenset({A})),
        Pauses(),
        Pauses(resume=frozenset({A})),
    )


def test_the_partition_setting_the_watermark_is_never_paused() -> None:
    """After a release the partition with the earliest time holds nothing, so it is fetched and
    the catch-up goes on, however far the others ran ahead."""
    merge = Merge({A: 100, B: 100, E: 100}, {}, limit=2)
    merge.add([*records(A, *range(10, 20)), *records(B, *range(10, 20)), *records(E, 1)])
    merge.release()

    pauses = merge.pauses(paused=[])

    assert (pauses.pause, merge.waiting()) == (frozenset({A, B}), [E])


def test_restart_forgets_what_is_held_and_reads_again_from_the_stored_offsets() -> None:
    """After a failed batch the consumer is sought back to the store's offsets; the merge must
    take the same records again."""
    merge = Merge({A: 3, B: 3}, {}, limit=10)
    merge.add([*records(A, 10, 20, 30), *records(B, 15)])
    merge.release()

    merge.restart({A: 1})
    merge.add([*records(A, 20, 30, first=1), *records(B, 15, 25, 35)])

    assert names(merge.release()) == [
        ("agency-b", 0),
        ("agency-a", 1),
        ("agency-b", 1),
        ("agency-a", 2),
        ("agency-b", 2),
    ]


@pytest.mark.parametrize("seed", range(5))
def test_however_the_fetches_interleave_the_release_is_the_time_order(seed: int) -> None:
    """Fetches of any size from the partitions in any turn release every record once, each
    partition in offset order, all in time order: what a consumer merging the logs would see."""
    rng = random.Random(seed)
    logs = {
        position: records(position, *sorted(rng.sample(range(1000), rng.randint(0, 40))))
        for position in (A, B, E)
    }
    merge = Merge({p: len(log) for p, log in logs.items()}, {}, limit=5)
    released: list[Record] = []
    cursors = dict.fromkeys(logs, 0)
    paused: set[tuple[str, int]] = set()
    while any(cursors[p] < len(log) for p, log in logs.items()) or merge.held():
        fetchable = [p for p in logs if p not in paused and cursors[p] < len(logs[p])]
        assert fetchable or merge.watermark() is None, "the merge waits on a paused partition"
        for position in fetchable:
            take = rng.randint(1, 7)
            merge.add(logs[position][cursors[position] : cursors[position] + take])
            cursors[position] = min(len(logs[position]), cursors[position] + take)
        released += merge.release()
        pauses = merge.pauses(paused)
        paused = (paused | pauses.pause) - pauses.resume

    expected = sorted((r for log in logs.values() for r in log), key=lambda r: r.timestamp)
    assert [r.timestamp for r in released] == [r.timestamp for r in expected]
    assert sorted(names(released)) == sorted(names(expected))
