"""Every table the alerts service keeps, and their creation: the alerts it raised (the outbox),
beside the shared offsets up to which it raised them."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Engine, Index, String, Table, Text

from mappa_bus.projection.database import create_tables
from mappa_bus.projection.erasures import erasures_table
from mappa_bus.projection.offsets import metadata, offsets_table

raised_table = Table(
    "alerts_raised",
    metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("area", String(64), nullable=False),
    Column("event", Text, nullable=False),
    Column("published", Boolean, nullable=False, default=False),
    Index("alerts_raised_unpublished", "published"),
)


def create_schema(engine: Engine) -> None:
    """Create the service's tables where missing: raised alerts, offsets and the erasures."""
    create_tables(engine, metadata, [raised_table, offsets_table, erasures_table])
