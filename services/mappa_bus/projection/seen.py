"""Event ids a projection has applied, so that a re-sent event (same id, new offset) changes
nothing: the broker's offsets stop redelivery, these stop republication.

Kept one row per batch, the batch's ids in one text: an id a row would cost an index entry at a
random place of a B-tree per event (a national replay's ids were an eighth of its time), and
the ids are only ever read all at once, when a projection starts.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Column, Integer, String, Table, Text, delete, select
from sqlalchemy.engine import Connection

from mappa_bus.projection.offsets import metadata

# An event id is printable ASCII without spaces (the envelope's pattern), so a newline
# separates them unambiguously.
_SEPARATOR = "\n"

seen_batches_table = Table(
    "projection_seen_batches",
    metadata,
    Column("batch", Integer, primary_key=True, autoincrement=True),
    Column("projection", String(64), nullable=False),
    Column("event_ids", Text, nullable=False),
)

# One row per id: how stores written before the batches kept them (read, and cleared, still).
seen_table = Table(
    "projection_seen",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("event_id", String(128), primary_key=True),
)


def load_seen(connection: Connection, projection: str) -> set[str]:
    """Every event id `projection` has applied."""
    seen = set(
        connection.scalars(
            select(seen_table.c.event_id).where(seen_table.c.projection == projection)
        )
    )
    rows = connection.scalars(
        select(seen_batches_table.c.event_ids).where(seen_batches_table.c.projection == projection)
    )
    for event_ids in rows:
        seen.update(event_ids.split(_SEPARATOR))
    return seen


def save_seen(connection: Connection, projection: str, event_ids: Iterable[str]) -> None:
    """Record newly applied ids (inside the caller's transaction; they are new by construction)."""
    joined = _SEPARATOR.join(event_ids)
    if joined:
        connection.execute(
            seen_batches_table.insert(), {"projection": projection, "event_ids": joined}
        )


def clear_seen(connection: Connection, projection: str) -> None:
    """Forget every id of `projection` (a rebuild)."""
    connection.execute(delete(seen_table).where(seen_table.c.projection == projection))
    connection.execute(
        delete(seen_batches_table).where(seen_batches_table.c.projection == projection)
    )
