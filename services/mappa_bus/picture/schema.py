"""Every table the case-picture service keeps, and their creation: the pictures (a small
current-picture row a case, its timeline as rows written once per event), the erasures past
retention, beside the shared offsets and the audit trail."""

from __future__ import annotations

import time

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
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DatabaseError

from mappa_bus.audit import audit_table
from mappa_bus.case.model import CasePicture
from mappa_bus.picture.timeline import current_row, timeline_rows
from mappa_bus.projection.database import create_tables
from mappa_bus.projection.erasures import erasures_table as decided_erasures_table
from mappa_bus.projection.merges import merges_table
from mappa_bus.projection.offsets import metadata, offsets_table

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
    Index("picture_cases_by_area_level", "area", "level"),
    Index("picture_cases_by_recorded", "last_recorded_at"),
    Index("picture_cases_by_open_due", "open_due_on"),
)

# Every event a case's picture was folded from (its timeline, the events withdrawn, the
# withdrawals), one row each, written once when the event is first folded (issue 17): a batch
# writes what it adds, not each changed case's history again. `entry` is the `TimelineEntry` as
# JSON, without any withdrawal mark (the current-picture row keeps the marked ones); `time` is
# the event's own, the timeline's order with the event id.
timeline_table = Table(
    "picture_timeline",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("entry", Text, nullable=False),
)

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
    audit trail. A store made before the timeline rows has them made from its pictures."""
    tables = [
        pictures_table,
        offsets_table,
        erasures_table,
        decided_erasures_table,
        merges_table,
        audit_table,
    ]
    create_tables(engine, metadata, tables)
    _add_timeline(engine)


# Tries at making the timeline table, as `create_tables` tries: another member starting at
# the same time may make it first, and this one then finds it there.
TIMELINE_ATTEMPTS = 5


def _add_timeline(engine: Engine) -> None:
    """Make the timeline table where missing, and when the store's pictures still carry their
    timelines (a store made before it), move every picture's entries into it, in the same
    transaction: a crash half way leaves the store as it was, and the next start does it."""
    for attempt in range(1, TIMELINE_ATTEMPTS + 1):
        try:
            with engine.begin() as connection:
                if not inspect(connection).has_table(timeline_table.name):
                    timeline_table.create(connection)
                    _move_timelines(connection)
            return
        except DatabaseError:
            if attempt == TIMELINE_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)


# Pictures moved per query while a store is upgraded: a page of them in memory at a time.
MOVE_PAGE = 500


def _move_timelines(connection: Connection) -> None:
    """Each stored picture's entries into timeline rows, its row rewritten without them."""
    table = pictures_table
    after = ""
    while True:
        rows = connection.execute(
            select(table.c.case_id, table.c.picture)
            .where(table.c.case_id > after)
            .order_by(table.c.case_id)
            .limit(MOVE_PAGE)
        ).all()
        for case_id, text in rows:
            after = case_id
            picture = CasePicture.model_validate_json(text)
            entries = timeline_rows(picture)
            if entries:
                connection.execute(timeline_table.insert(), entries)
            connection.execute(
                update(table).where(table.c.case_id == case_id).values(picture=current_row(picture))
            )
        if len(rows) < MOVE_PAGE:
            return
