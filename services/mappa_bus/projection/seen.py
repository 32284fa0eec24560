"""Event ids a projection has applied, so that a re-sent event (same id, new offset) changes
nothing: the broker's offsets stop redelivery, these stop republication."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Column, String, Table, delete, select
from sqlalchemy.engine import Connection

from mappa_bus.projection.offsets import metadata

seen_table = Table(
    "projection_seen",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("event_id", String(128), primary_key=True),
)


def load_seen(connection: Connection, projection: str) -> set[str]:
    """Every event id `projection` has applied."""
    rows = connection.execute(
        select(seen_table.c.event_id).where(seen_table.c.projection == projection)
    )
    return {event_id for (event_id,) in rows}


def save_seen(connection: Connection, projection: str, event_ids: Iterable[str]) -> None:
    """Record newly applied ids (inside the caller's transaction; they are new by construction)."""
    rows = [{"projection": projection, "event_id": event_id} for event_id in event_ids]
    if rows:
        connection.execute(seen_table.insert(), rows)


def clear_seen(connection: Connection, projection: str) -> None:
    """Forget every id of `projection` (a rebuild)."""
    connection.execute(delete(seen_table).where(seen_table.c.projection == projection))
