"""Consumed offsets, stored with the state they produced (the exactly-once discipline).

A projection records, per topic partition, the offset of the next record it has not applied,
in the same transaction as the state changes those records made. On start it resumes from
there; a crash between the two cannot happen, because there is no between.

Members of a consumer group share one store, each writing its own partitions' offsets. An offset
moves only from where the member last read it (`advance_offsets`): a member that kept folding
a partition the group had already handed to another (a batch in hand during a rebalance, or a
member paused past its session) finds the offset moved, and its whole transaction is refused.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, and_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import bindparam

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
    inside the caller's transaction; only the ones that moved are written. Raises OffsetsMovedOn,
    for the caller's transaction to roll back, when any of them no longer stands at `before`."""
    moved = {p: n for p, n in after.items() if before.get(p) != n}
    known = [p for p in moved if p in before]
    new = [p for p in moved if p not in before]
    stale = _update_from(connection, projection, [(p, before[p], moved[p]) for p in known])
    stale += _insert_new(connection, projection, [(p, moved[p]) for p in new])
    if stale:
        raise OffsetsMovedOn(projection, stale)


def _update_from(
    connection: Connection, projection: str, moves: list[tuple[Position, int, int]]
) -> list[Position]:
    """Move each offset only where it still stands; the positions that did not."""
    table = offsets_table
    statement = (
        update(table)
        .where(
            and_(
                table.c.projection == projection,
                table.c.topic == bindparam("at_topic"),
                table.c.partition == bindparam("at_partition"),
                table.c.next_offset == bindparam("was"),
            )
        )
        .values(next_offset=bindparam("now"))
    )
    stale = []
    for (topic, partition), was, now in moves:
        # One statement per partition: a batch moves a few dozen, and each answer is needed.
        at = {"at_topic": topic, "at_partition": partition, "was": was, "now": now}
        if connection.execute(statement, at).rowcount != 1:
            stale.append((topic, partition))
    return stale


def _insert_new(
    connection: Connection, projection: str, firsts: list[tuple[Position, int]]
) -> list[Position]:
    """Record the first offset of partitions this consumer found none for; the positions another
    consumer recorded first."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    stale = []
    for (topic, partition), now in firsts:
        row = {"projection": projection, "topic": topic, "partition": partition, "next_offset": now}
        statement = insert(offsets_table).values(row).on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg reports no rowcount for an INSERT ... ON CONFLICT.
        inserted = connection.execute(statement.returning(offsets_table.c.partition)).all()
        if not inserted:
            stale.append((topic, partition))
    return stale
