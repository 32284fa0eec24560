"""Event ids a projection has applied, so that a re-sent event (same id, new offset) changes
nothing: the broker's offsets stop redelivery, these stop republication.

The offsets alone cannot do it: a producer that retries a send without idempotence, or an
outside producer publishing the same event again, puts the same id at a new offset, which the
offsets let through. So the ids are kept, and checked, in the store (issue 17: nothing in memory
grows with the history): one row an id, keyed by it, and each batch asks for its own ids in one
query (`applied_among`), not the whole set.

Beside each id, the event's time (`time_key`): a projection files its own rows about an event
under (time, id), near the end of their table as the log is read in time, rather than at a
random place under the id (a random page each insert, issue 17), and finds them from an id
through this table. A redelivered event has its first delivery's time, so its rows are where
the first put them.

Stores written before kept them one row per batch (`projection_seen_batches`, the batch's ids
in one text), one row per id without the query (`projection_seen`) or one row per id without
its time (`projection_applied`); `upgrade_seen` moves them into the keyed table once, at time
`UNKNOWN_TIME`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    delete,
    literal,
    select,
)
from sqlalchemy.engine import Connection

from mappa_bus.projection.database import copy_missing, in_pages, insert_missing, insert_rows
from mappa_bus.projection.offsets import metadata

# An event id is printable ASCII without spaces (the envelope's pattern), so a newline
# separates them unambiguously.
_SEPARATOR = "\n"

# The time of ids applied before their time was kept: the rows filed under them are together
# at the start of their tables.
UNKNOWN_TIME = 0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def time_key(moment: datetime) -> int:
    """An event's time as it is filed: whole microseconds since 1970 in UTC (exact, and the
    same number on every database)."""
    return (moment - _EPOCH) // _MICROSECOND


applied_table = Table(
    "projection_applied_events",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("event_id", String(128), primary_key=True),
    # `time_key` of the event's time, or UNKNOWN_TIME.
    Column("time", BigInteger, nullable=False),
    # Written and read only by key: SQLite keeps the rows in the key's tree alone.
    sqlite_with_rowid=False,
)

# How stores written before kept the ids (read once by `upgrade_seen`, then emptied).
applied_before_table = Table(
    "projection_applied",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("event_id", String(128), primary_key=True),
    sqlite_with_rowid=False,
)
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


def applied_among(
    connection: Connection, projection: str, event_ids: Collection[str]
) -> dict[str, int]:
    """Which of `event_ids` `projection` has applied, each with the time its rows are filed
    under: one query for a batch's ids."""
    found: dict[str, int] = {}
    for page in in_pages(event_ids):
        rows = connection.execute(_APPLIED_AMONG, {"projection": projection, "ids": page})
        found.update((event_id, time) for event_id, time in rows)
    return found


# Built once: a statement built per batch is cyclic garbage holding its batch's ids (about
# 170 KB) until the collector's next full walk, which a catch-up makes once a minute.
_APPLIED_AMONG = select(applied_table.c.event_id, applied_table.c.time).where(
    applied_table.c.projection == bindparam("projection"),
    applied_table.c.event_id.in_(bindparam("ids", expanding=True)),
)


def load_seen(connection: Connection, projection: str) -> set[str]:
    """Every event id `projection` has applied, all at once (tests and tools over small stores:
    the fold asks `applied_among` for a batch's)."""
    query = select(applied_table.c.event_id).where(applied_table.c.projection == projection)
    return set(connection.scalars(query))


def save_seen(connection: Connection, projection: str, times: Mapping[str, int]) -> None:
    """Record newly applied ids, each with its event's `time_key` (inside the caller's
    transaction; they are new by construction: the fold has asked for each)."""
    rows = [
        {"projection": projection, "event_id": event_id, "time": times[event_id]}
        for event_id in sorted(times)
    ]
    insert_rows(connection, applied_table, rows)


def upgrade_seen(connection: Connection, projection: str) -> None:
    """Move the ids a store written before kept (one row per batch, or per id, or per id
    without its time) into the keyed table at UNKNOWN_TIME, and empty the old ones (inside the
    caller's transaction; nothing to do when done)."""
    batches = select(seen_batches_table.c.batch, seen_batches_table.c.event_ids).where(
        seen_batches_table.c.projection == projection
    )
    for _, event_ids in connection.execute(batches).all():
        _keep(connection, projection, event_ids.split(_SEPARATOR))
    for table in (seen_table, applied_before_table):
        kept = select(table.c.projection, table.c.event_id, literal(UNKNOWN_TIME, BigInteger))
        kept = kept.where(table.c.projection == projection)
        copy_missing(connection, applied_table, ["projection", "event_id", "time"], kept)
    for table in (seen_batches_table, seen_table, applied_before_table):
        connection.execute(delete(table).where(table.c.projection == projection))


def _keep(connection: Connection, projection: str, event_ids: Iterable[str]) -> None:
    # Another member of the group may be upgrading the same store at the same moment.
    rows = [
        {"projection": projection, "event_id": event_id, "time": UNKNOWN_TIME}
        for event_id in event_ids
    ]
    insert_missing(connection, applied_table, rows)


def clear_seen(connection: Connection, projection: str) -> None:
    """Forget every id of `projection` (a rebuild)."""
    for table in (applied_table, applied_before_table, seen_table, seen_batches_table):
        connection.execute(delete(table).where(table.c.projection == projection))
