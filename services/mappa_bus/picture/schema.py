"""Every table the case-picture service keeps, and their creation: the pictures (a small
current-picture row a case, its timeline as rows written once per event), the erasures past
retention, beside the shared offsets and the audit trail."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from mappa_bus.audit import audit_table
from mappa_bus.projection.database import create_tables
from mappa_bus.projection.erasures import erasures_table as decided_erasures_table
from mappa_bus.projection.merges import merges_table
from mappa_bus.projection.offsets import metadata, offsets_table
from mappa_bus.projection.timelines import add_places, add_timeline, place_columns
from mappa_bus.projection.timelines import timeline_table as timeline_table_named

# One row a case: the picture without its timeline (`picture_timeline`) as JSON, beside the
# columns the queries filter on.
pictures_table = Table(
    "picture_cases",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("area", String(64), nullable=True),
    Column("level", Integer, nullable=True),
    Column("category", Integer, nullable=True),
    Column("status", String(16), nullable=False),
    Column("last_recorded_at", DateTime(timezone=True), nullable=True),
    # The earliest due date of the case's open plan actions: the overdue listing reads only the
    # rows due before today, not every picture. Added with the plans (issue 19): a store made
    # before lacks it and is rebuilt (docs/picture.md).
    Column("open_due_on", Date, nullable=True),
    Column("picture", Text, nullable=False),
    # Where the case's latest timeline row sits: the fold reads a case by key (issue 17). A
    # store made before them has them added and filled at start (`add_places`).
    *place_columns(),
    Index("picture_cases_by_area_level", "area", "level"),
    Index("picture_cases_by_recorded", "last_recorded_at"),
    Index("picture_cases_by_open_due", "open_due_on"),
)

# Every event a case's picture was folded from, one row each, written once when the event is
# first folded (issue 17): a batch writes what it adds, not each changed case's history again.
timeline_table = timeline_table_named("picture_timeline")

# The erasures, so that a rebuild from the log does not bring the details back.
erasures_table = Table(
    "picture_erasures",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("area", String(64), nullable=True),
    Column("ended_on", Date, nullable=False),
    Column("end_reason", String(64), nullable=False),
    Column("erased_on", Date, nullable=False),
)


def create_schema(engine: Engine) -> None:
    """Create the service's tables where missing: pictures and their timelines, offsets,
    erasures (past retention, and every erasure folded from the log), merge links, and the
    audit trail. A store made before the timeline rows has them made from its pictures, one
    made before the place columns has them added."""
    tables = [
        pictures_table,
        offsets_table,
        erasures_table,
        decided_erasures_table,
        merges_table,
        audit_table,
    ]
    add_places(engine, pictures_table, timeline_table)
    create_tables(engine, metadata, tables)
    add_timeline(engine, timeline_table, pictures_table, "picture")
