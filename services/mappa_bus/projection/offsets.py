"""Consumed offsets, stored with the state they produced (the exactly-once discipline).

A projection records, per topic partition, the offset of the next record it has not applied,
in the same transaction as the state changes those records made. On start it resumes from
there; a crash between the two cannot happen, because there is no between.

Members of a consumer group share one store, each writing its own partitions' offsets. Offsets
move only from where the member last read them (`advance_offsets`): a member that kept folding
a partition the group had already handed to another (a batch in hand during a rebalance, or a
member paused past its session) finds them moved, and its whole transaction is refused.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection

from mappa_bus.projection.database import upsert

metadata = MetaData()

offsets_table = Table(
    "projection_offsets",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("topic", String(249), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("next_offset", BigInteger, nullable=False),
)

Position = tuple[str, int]  # topic, partition


class OffsetsMovedOn(Exception):
    """Another consumer moved an offset on since this one read it: what this one folded from
    there is stale, and is not to be stored."""

    def __init__(self, projection: str, positions: list[Position]) -> None:
        self.positions = positions
        shown = ", ".join(f"{topic}/{partition}" for topic, partition in positions)
        super().__init__(f"{projection}: another consumer moved {shown} on")


def load_offsets(connection: Connection, projection: str) -> dict[Position, int]:
    """The next offset to read, per partition, for `projection`."""
    rows = connection.execute(
        select(offsets_table.c.topic, offsets_table.c.partition, offsets_table.c.next_offset).where(
            offsets_table.c.projection == projection
        )
    )
    return {(topic, partition): offset for topic, partition, offset in rows}


def advance_offsets(
    connection: Connection,
    projection: str,
    before: Mapping[Position, int],
    after: Mapping[Position, int],
) -> None:
    """Move `projection`'s offsets from `before` (where this consumer read them) to `after`,
    inside the caller's transaction, which must begin with this call. Only the offsets that
    moved are written. Raises OffsetsMovedOn, for the caller's transaction to roll back, when
    the store no longer holds `before` for every partition of the partition numbers moved.

    Whole partition numbers, not single partitions: a case's events are on the same number of
    every agency topic, so a member that had folded police's partition 3 from a stale picture
    of a case would otherwise overwrite what another member stored from probation's partition
    3 of the same case."""
    advance_together(connection, {projection: (before, after)})


def advance_together(
    connection: Connection,
    moves: Mapping[str, tuple[Mapping[Position, int], Mapping[Position, int]]],
) -> None:
    """`advance_offsets` for several projections of one store at once, each from its `before`
    to its `after` (`moves`, by projection): three statements for them all, not three each
    (the alerts service moves two sets of offsets in every batch's transaction). Each is
    checked on its own partition numbers; OffsetsMovedOn names the first found moved on."""
    moved = {
        projection: {p: n for p, n in after.items() if before.get(p) != n}
        for projection, (before, after) in moves.items()
    }
    numbers = {
        projection: sorted({partition for _, partition in positions})
        for projection, positions in moved.items()
        if positions
    }
    if not numbers:
        return
    stored = _hold(connection, numbers)
    for projection, held in numbers.items():
        expected = {p: n for p, n in moves[projection][0].items() if p[1] in held}
        theirs = stored.get(projection, {})
        stale = sorted(
            p for p in expected.keys() | theirs.keys() if expected.get(p) != theirs.get(p)
        )
        if stale:
            raise OffsetsMovedOn(projection, stale)
    upsert(
        connection,
        offsets_table,
        [
            {"projection": projection, "topic": topic, "partition": partition, "next_offset": n}
            for projection, positions in moved.items()
            for (topic, partition), n in positions.items()
        ],
        keys=("projection", "topic", "partition"),
    )


def _hold(
    connection: Connection, numbers: Mapping[str, list[int]]
) -> dict[str, dict[Position, int]]:
    """Make other transactions moving these partition numbers (by projection) wait until this
    one ends, then read where they stand. PostgreSQL: a transaction-scoped advisory lock per
    projection and number, taken in one order so that two members never wait on each other,
    then a read. SQLite lets one transaction write at a time: a write that changes nothing
    takes that turn (a read first would read from a snapshot that another member's commit
    could make stale before this one writes), and says where they stand (RETURNING), in one
    statement."""
    values = {"projections": sorted(numbers), "numbers": _union(numbers)}
    if connection.dialect.name == "postgresql":
        keys = sorted(
            # Lock keys are signed 32-bit numbers.
            (zlib.crc32(projection.encode()) - 2**31, number)
            for projection, held in numbers.items()
            for number in held
        )
        for space, number in keys:
            connection.execute(_LOCK, {"space": space, "number": number})
        rows = connection.execute(_READ, values)
    else:
        rows = connection.execute(_HOLD, values)
    stored: dict[str, dict[Position, int]] = {}
    for projection, topic, partition, offset in rows:
        if partition in numbers[projection]:
            stored.setdefault(projection, {})[(topic, partition)] = offset
    return stored


# Built once, not every batch: building them again was a tenth of a live alerts batch's CPU
# (docs/benchmarks.md). Which projections, and which partition numbers of them.
_COLUMNS = (
    offsets_table.c.projection,
    offsets_table.c.topic,
    offsets_table.c.partition,
    offsets_table.c.next_offset,
)
_WHERE = (
    offsets_table.c.projection.in_(bindparam("projections", expanding=True)),
    offsets_table.c.partition.in_(bindparam("numbers", expanding=True)),
)
_LOCK = select(func.pg_advisory_xact_lock(bindparam("space"), bindparam("number")))
_READ = select(*_COLUMNS).where(*_WHERE)
_HOLD = (
    update(offsets_table)
    .where(*_WHERE)
    .values(next_offset=offsets_table.c.next_offset)
    .returning(*_COLUMNS)
)


def _union(numbers: Mapping[str, list[int]]) -> list[int]:
    return sorted({number for held in numbers.values() for number in held})
