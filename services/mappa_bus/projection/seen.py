"""Event ids a projection has applied, so that a re-sent event (same id, new offset) changes
nothing: the broker's offsets stop redelivery, these stop republication.

The offsets alone cannot do it: a producer that retries a send without idempotence, or an
outside producer publishing the same event again, puts the same id at a new offset, which the
offsets let through. So the ids are kept, and checked, in the store (issue 17: nothing in memory
grows with the history): one row an id, keyed by it, and each batch asks for its own ids in one
query (`applied_among`), not the whole set.

Stores written before kept them one row per batch (`projection_seen_batches`, the batch's ids
in one text) or one row per id without the query (`projection_seen`); `upgrade_seen` moves both
into the keyed table once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import Column, Integer, String, Table, Text, delete, select
from sqlalchemy.engine import Connection

from mappa_bus.projection.database import in_pages, insert_missing
from mappa_bus.projection.offsets import metadata

# An event id is printable ASCII without spaces (the envelope's pattern), so a newline
# separates them unambiguously.
_SEPARATOR = "\n"

applied_table = Table(
    "projection_applied",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("event_id", String(128), primary_key=True),
    # Written and read only by key: SQLite keeps the rows in the key's tree alone.
    sqlite_with_rowid=False,
)

# How stores written before kept the ids (read once by `upgrade_seen`, then emptied).
seen_batches_table = Table(
    "projection_seen_batches",
    metadata,
    Column("batch", Integer, primary_key=True, autoincrement=True),
    Column("projection", String(64), nullable=False),
    Column("event_ids", Text, nullable=False),
)
seen_table = Table(
    "projection_seen",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("event_id", String(128), primary_key=True),
)


def applied_among(connection: Connection, projection: str, event_ids: Collection[str]) -> set[str]:
    """Which of `event_ids` `projection` has applied: one query for a batch's ids."""
    found: set[str] = set()
    column = applied_table.c.event_id
    for page in in_pages(event_ids):
        query = select(column).where(applied_table.c.projection == projection, column.in_(page))
        found.update(connection.scalars(query))
    return found


def load_seen(connection: Connection, projection: str) -> set[str]:
    """Every event id `projection` has applied, all at once (tests and tools over small stores:
    the fold asks `applied_among` for a batch's)."""
    query = select(applied_table.c.event_id).where(applied_table.c.projection == projection)
    return set(connection.scalars(query))


def save_seen(connection: Connection, projection: str, event_ids: Iterable[str]) -> None:
    """Record newly applied ids (inside the caller's transaction; they are new by construction:
    the fold has asked for each)."""
    rows = [{"projection": projection, "event_id": event_id} for event_id in sorted(event_ids)]
    if rows:
        connection.execute(applied_table.insert(), rows)


def upgrade_seen(connection: Connection, projection: str) -> None:
    """Move the ids a store written before kept (one row per batch, or per id) into the keyed
    table, and empty the old ones (inside the caller's transaction; nothing to do when done)."""
    batches = select(seen_batches_table.c.batch, seen_batches_table.c.event_ids).where(
        seen_batches_table.c.projection == projection
    )
    for _, event_ids in connection.execute(batches).all():
        _keep(connection, projection, event_ids.split(_SEPARATOR))
    single = select(seen_table.c.event_id).where(seen_table.c.projection == projection)
    _keep(connection, projection, connection.scalars(single).all())
    connection.execute(
        delete(seen_batches_table).where(seen_batches_table.c.projection == projection)
    )
    connection.execute(delete(seen_table).where(seen_table.c.projection == projection))


def _keep(connection: Connection, projection: str, event_ids: Iterable[str]) -> None:
    # Another member of the group may be upgrading the same store at the same moment.
    rows = [{"projection": projection, "event_id": event_id} for event_id in event_ids]
    insert_missing(connection, applied_table, rows)


def clear_seen(connection: Connection, projection: str) -> None:
    """Forget every id of `projection` (a rebuild)."""
    for table in (applied_table, seen_table, seen_batches_table):
        connection.execute(delete(table).where(table.c.projection == projection))
