"""Every table the alerts service keeps, and their creation: the alerts it raised (the outbox),
the case pictures its rules compare (a small current-picture row a case, its timeline as rows
written once per event), beside the shared offsets up to which it raised them and folded the
pictures, the erasures and the merge links."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Engine, Index, Integer, String, Table, Text, inspect

from mappa_bus.projection.database import create_tables
from mappa_bus.projection.erasures import erasures_table
from mappa_bus.projection.merges import merges_table
from mappa_bus.projection.offsets import metadata, offsets_table
from mappa_bus.projection.timelines import add_places, add_timeline, place_columns
from mappa_bus.projection.timelines import timeline_table as timeline_table_named

raised_table = Table(
    "alerts_raised",
    metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("area", String(64), nullable=False),
    Column("event", Text, nullable=False),
    Column("published", Boolean, nullable=False, default=False),
    Index("alerts_raised_unpublished", "published"),
)

# One row a case (issue 17): the picture the rules compare without its timeline
# (`alerts_timeline`), read per batch for the cases the
# batch touches, beside the partition number its events are on (a group member's clock asks
# only about its own) and the first day a time-driven rule may find something new of it (the
# clock reads only the rows due, by the index).
cases_table = Table(
    "alerts_cases",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("partition", Integer, nullable=True),
    Column("due_on", Date, nullable=True),
    Column("picture", Text, nullable=False),
    # Where the case's latest timeline row sits: the fold reads a case by key. A store made
    # before them has them added and filled at start (`add_places`).
    *place_columns(),
    Index("alerts_cases_by_due", "due_on", "partition"),
)

# Every event a case's picture was folded from, one row each, written once when the event is
# first folded: a batch writes what it adds, not each changed case's history again, and the fold
# reads them only for the cases that need them (a late event, a withdrawal, a redelivery, a
# merged group), so neither its memory nor its work grows with the history.
timeline_table = timeline_table_named("alerts_timeline")


def create_schema(engine: Engine) -> bool:
    """Create the service's tables where missing: raised alerts, case pictures, offsets, the
    erasures and the merge links, and the timeline rows. Whether the pictures' table had to be
    made (a new store, or one made before the pictures were kept: they are then folded again
    from the log). A store whose pictures still carry their timelines (made before the rows) has
    them moved into rows, in place: nothing is folded again for it; one made before the place
    columns has them added and filled from its timeline rows."""
    # First, and tried again as it is: the engine's first connection (SQLite's pragmas) can
    # find another member's upgrade holding the file.
    add_places(engine, cases_table, timeline_table)
    made = not inspect(engine).has_table(cases_table.name)
    create_tables(
        engine, metadata, [raised_table, cases_table, offsets_table, erasures_table, merges_table]
    )
    add_timeline(engine, timeline_table, cases_table, "picture")
    return made
