"""Consumed offsets, stored with the state they produced (the exactly-once discipline).

A projection records, per topic partition, the offset of the next record it has not applied,
in the same transaction as the state changes those records made. On start it resumes from
there; a crash between the two cannot happen, because there is no between.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, select
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


def load_offsets(connection: Connection, projection: str) -> dict[Position, int]:
    """The next offset to read, per partition, for `projection`."""
    rows = connection.execute(
        select(offsets_table.c.topic, offsets_table.c.partition, offsets_table.c.next_offset).where(
            offsets_table.c.projection == projection
        )
    )
    return {(topic, partition): offset for topic, partition, offset in rows}


def save_offsets(connection: Connection, projection: str, offsets: Mapping[Position, int]) -> None:
    """Record where `projection` stands (inside the caller's transaction)."""
    upsert(
        connection,
        offsets_table,
        [
            {"projection": projection, "topic": topic, "partition": partition, "next_offset": n}
            for (topic, partition), n in offsets.items()
        ],
        keys=("projection", "topic", "partition"),
    )
