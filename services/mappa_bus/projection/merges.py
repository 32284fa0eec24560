"""The merge links a projection has applied (case/merges.py), kept with its state: each slice
folds the MAPPA unit's merges and unmerges into its own rows here, keyed by projection as the
offsets and seen ids are, in its batch's transaction. A link is stored as the JSON its core
writes (`Link.as_row`), so the shell knows nothing of what a link means."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson
from sqlalchemy import Column, String, Table, Text, delete, select
from sqlalchemy.engine import Connection

from mappa_bus.projection.database import insert_missing
from mappa_bus.projection.offsets import metadata

merges_table = Table(
    "projection_merges",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("event_id", String(128), primary_key=True),
    Column("link", Text, nullable=False),
)


def load_links(connection: Connection, projection: str) -> list[dict[str, object]]:
    """Every link `projection` has applied, as stored."""
    rows = connection.scalars(
        select(merges_table.c.link).where(merges_table.c.projection == projection)
    )
    return [orjson.loads(text) for text in rows]


def save_links(
    connection: Connection, projection: str, links: Iterable[Mapping[str, object]]
) -> None:
    """Record newly applied links (inside the caller's transaction); one met again changes
    nothing."""
    rows = [
        {
            "projection": projection,
            "event_id": link["event_id"],
            "link": orjson.dumps(link).decode(),
        }
        for link in links
    ]
    insert_missing(connection, merges_table, rows)


def clear_links(connection: Connection, projection: str) -> None:
    """Forget every link of `projection` (a rebuild)."""
    connection.execute(delete(merges_table).where(merges_table.c.projection == projection))
