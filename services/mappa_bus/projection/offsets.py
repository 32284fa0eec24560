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

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, func, select, update
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
    moved = {p: n for p, n in after.items() if before.get(p) != n}
    if not moved:
        return
    numbers = sorted({partition for _, partition in moved})
    _hold(connection, projection, numbers)
    expected = {p: n for p, n in before.items() if p[1] in numbers}
    stored = _stored(connection, projection, numbers)
    stale = sorted(p for p in expected.keys() | stored.keys() if expected.get(p) != stored.get(p))
    if stale:
        raise OffsetsMovedOn(projection, stale)
    upsert(
        connection,
        offsets_table,
        [
            {"projection": projection, "topic": topic, "partition": partition, "next_offset": n}
            for (topic, partition), n in moved.items()
        ],
        keys=("projection", "topic", "partition"),
    )


def _hold(connection: Connection, projection: str, numbers: list[int]) -> None:
    """Make other transactions moving these partition numbers wait until this one ends, before
    this one reads where they stand. PostgreSQL: a transaction-scoped advisory lock per number,
    taken in order so that two members never wait on each other. SQLite lets one transaction
    write at a time: a write that changes nothing takes that turn (a read first would read
    from a snapshot that another member's commit could make stale before this one writes)."""
    if connection.dialect.name == "postgresql":
        space = zlib.crc32(projection.encode()) - 2**31  # lock keys are signed 32-bit numbers
        for number in numbers:
            connection.execute(select(func.pg_advisory_xact_lock(space, number)))
        return
    table = offsets_table
    connection.execute(
        update(table)
        .where(table.c.projection == projection, table.c.partition.in_(numbers))
        .values(next_offset=table.c.next_offset)
    )


def _stored(connection: Connection, projection: str, numbers: list[int]) -> dict[Position, int]:
    table = offsets_table
    rows = connection.execute(
        select(table.c.topic, table.c.partition, table.c.next_offset).where(
            table.c.projection == projection, table.c.partition.in_(numbers)
        )
    )
    return {(topic, partition): offset for topic, partition, offset in rows}
