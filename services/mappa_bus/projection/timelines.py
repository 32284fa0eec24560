"""The store's side of a timeline kept as rows (issue 17), the same for every slice that keeps
case pictures (the picture's `picture_timeline`, the alerts' `alerts_timeline`): one row per
event a case's picture was folded from, written once when the event is first folded, beside the
slice's own small current-picture row (`case.timeline` splits and assembles the two).

Every function takes the slice's timeline table, made by `timeline_table`, so that one piece of
code reads and writes both slices' rows and each slice keeps its own tables.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    String,
    Table,
    Text,
    delete,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DatabaseError
from sqlalchemy.schema import CreateColumn

from mappa_bus.case.fold import Current, Place, latest_place
from mappa_bus.case.model import CasePicture, TimelineEntry
from mappa_bus.case.timeline import assembled, current_row, entries_of
from mappa_bus.projection.database import delete_in, insert_rows, rows_among, wanted_rows
from mappa_bus.projection.offsets import metadata


def timeline_table(name: str) -> Table:
    """A slice's timeline table, `name`: every event a case's picture was folded from (its
    timeline, the events withdrawn, the withdrawals), one row each. `entry` is the
    `TimelineEntry` as JSON, without any withdrawal mark (the current-picture row keeps the
    marked ones); `time` is the event's own, the timeline's order with the event id."""
    return Table(
        name,
        metadata,
        Column("case_id", String(64), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("time", DateTime(timezone=True), nullable=False),
        Column("entry", Text, nullable=False),
    )


# The columns of a slice's cases table that hold where the case's latest timeline row sits
# (`Place`): the fold's read of a case not cached is one key lookup of its current row, not a
# search of its timeline rows. Both NULL: the case has no timeline rows.
LAST_TIME = "last_time"
LAST_EVENT_ID = "last_event_id"


def place_columns() -> list[Column[Any]]:
    """The place columns of a slice's cases table (each table its own)."""
    return [
        Column(LAST_TIME, DateTime(timezone=True), nullable=True),
        Column(LAST_EVENT_ID, String(64), nullable=True),
    ]


def place_values(picture: CasePicture, last: Place | None) -> dict[str, object]:
    """The place columns of `picture`'s current row as `save_timelines` leaves its timeline
    rows: the latest of its entries, or `last` (the latest before them, when `picture` holds
    only those folded since) if later; none for a picture that holds no entry (an erasure's
    stub: every row of its case goes)."""
    place = latest_place(picture, last) if entries_held(picture) else None
    return {
        LAST_TIME: None if place is None else place[0].astimezone(UTC),
        LAST_EVENT_ID: None if place is None else place[1],
    }


def place_of(moment: datetime | None, event_id: str | None) -> Place | None:
    """The place a current row's place columns hold (None: no timeline rows)."""
    found = utc(moment)
    return None if found is None or event_id is None else (found, event_id)


def entries_held(picture: CasePicture) -> bool:
    """Whether `picture` holds any entry it was folded from: a stub holds none."""
    return bool(picture.timeline or picture.withdrawn or picture.withdrawals)


def utc(moment: datetime | None) -> datetime | None:
    """`moment` in UTC: SQLite keeps no offset, so everything is stored in UTC and read back as
    UTC (a moment without one is UTC)."""
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def timeline_row(case_id: str, entry: TimelineEntry) -> dict[str, object]:
    """The row of one of `case_id`'s entries."""
    return {
        "case_id": case_id,
        "event_id": entry.event_id,
        "time": entry.time.astimezone(UTC),
        "entry": entry.model_dump_json(),
    }


def timeline_rows(picture: CasePicture) -> list[dict[str, object]]:
    """The rows of every entry `picture` was folded from."""
    return [timeline_row(picture.case_id, entry) for entry in entries_of(picture).values()]


def save_timelines(
    connection: Connection,
    table: Table,
    pictures: Sequence[CasePicture],
    before: Mapping[str, CasePicture] | None = None,
) -> None:
    """Write the timeline rows of these pictures (inside the caller's transaction): those
    `before` (the store's pictures of these cases, as the caller read them, whole or without
    their timeline; a case absent had none) lacks, deleting those it has and the picture no
    longer holds (an erasure's stub holds none: every row of its case goes). Without `before`,
    each case's rows are written afresh."""
    if before is None:
        delete_timelines(connection, table, [picture.case_id for picture in pictures])
    added: list[dict[str, object]] = []
    emptied: list[str] = []
    for picture in pictures:
        entries = entries_of(picture)
        if not entries:
            # An erasure's stub: `before` may be the case without its timeline (the fold's read),
            # so every row of the case goes, not only those `before` names.
            emptied.append(picture.case_id)
            continue
        had = entries_of(before[picture.case_id]) if before and picture.case_id in before else {}
        gone = [event_id for event_id in had if event_id not in entries]
        if gone:
            connection.execute(
                delete(table).where(table.c.case_id == picture.case_id, table.c.event_id.in_(gone))
            )
        added.extend(
            timeline_row(picture.case_id, entry)
            for event_id, entry in entries.items()
            if event_id not in had
        )
    if before is not None:
        delete_timelines(connection, table, emptied)
    insert_rows(connection, table, added)


def delete_timelines(connection: Connection, table: Table, case_ids: Collection[str]) -> None:
    """Delete every timeline row of these cases (inside the caller's transaction)."""
    delete_in(connection, table, table.c.case_id, case_ids)


def entries_by_case(
    connection: Connection, table: Table, case_ids: Collection[str]
) -> dict[str, list[str]]:
    """The timeline rows' entries (as JSON) of each of `case_ids`, one query a page of ids."""
    entries: dict[str, list[str]] = {case_id: [] for case_id in case_ids}
    for case_id, text in rows_among(connection, table, ("case_id", "entry"), "case_id", entries):
        entries[case_id].append(text)
    return entries


def holding(
    connection: Connection, table: Table, event_ids: Mapping[str, Collection[str]]
) -> set[str]:
    """The cases among `event_ids` (a batch's event ids by case) whose timeline rows already
    hold one of their ids: a redelivery the fold must see the timeline to leave out. Looked up
    by the rows' key, (case, event) pairs (the case and id lists crossed made SQLite probe every
    pair)."""
    pairs = [(case_id, event_id) for case_id, ids in event_ids.items() for event_id in ids]
    if not pairs:
        return set()
    wanted, on = wanted_rows(connection, (table.c.case_id, table.c.event_id), pairs)
    read = connection.execute(
        select(table.c.case_id).select_from(wanted).join(table, on).distinct()
    )
    return {case_id for (case_id,) in read}


# Tries at an upgrade of the store (a timeline table made, the place columns added), as
# `create_tables` tries: another member starting at the same time may make it first, and this
# one then finds it there.
TIMELINE_ATTEMPTS = 5
# Pictures moved per query while a store is upgraded: a page of them in memory at a time.
MOVE_PAGE = 500


def add_timeline(engine: Engine, table: Table, cases: Table, picture: str) -> bool:
    """Make the timeline `table` where missing, and when the `picture` column of the `cases`
    table still holds whole pictures (a store made before the rows), move every picture's
    entries into it, in the same transaction: a crash half way leaves the store as it was, and
    the next start does it. Whether the table had to be made."""

    def add(connection: Connection) -> bool:
        if inspect(connection).has_table(table.name):
            return False
        table.create(connection)
        _move_timelines(connection, table, cases, picture)
        return True

    return upgraded(engine, add)


def upgraded(engine: Engine, upgrade: Callable[[Connection], bool]) -> bool:
    """What `upgrade` says (whether it changed the store), run in one transaction
    (`upgrading`), tried again when it fails as another member's same upgrade makes it fail."""
    for attempt in range(1, TIMELINE_ATTEMPTS + 1):
        try:
            with upgrading(engine) as connection:
                return upgrade(connection)
        except DatabaseError:
            if attempt == TIMELINE_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)
    return False  # never: the last attempt returns or raises


@contextlib.contextmanager
def upgrading(engine: Engine) -> Iterator[Connection]:
    """One transaction for an upgrade of the store, its schema changes in it: a crash half way
    leaves the store as it was. The sqlite3 module opens a transaction only before a write, so
    a CREATE or ALTER alone ran outside one, committed at once: SQLite's is begun here, holding
    the write lock from the start (another member starting at the same time waits, then finds
    the upgrade made). PostgreSQL's DDL is transactional; the other member's fails and is tried
    again."""
    with engine.connect() as connection, connection.begin():
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield connection


def add_places(engine: Engine, cases: Table, table: Table) -> bool:
    """Add the place columns to the `cases` table of a store made before them, and fill them
    from its timeline rows, `table` (where it has them yet: a store made before the rows has
    them filled by `add_timeline`'s move), in one transaction. Run before the tables' creation,
    which refuses a table without them. Whether the columns had to be added."""

    def add(connection: Connection) -> bool:
        inspector = inspect(connection)
        if not inspector.has_table(cases.name):
            return False  # a new store: made with them
        if LAST_TIME in {column["name"] for column in inspector.get_columns(cases.name)}:
            return False
        name = connection.dialect.identifier_preparer.format_table(cases)
        for column in (cases.c[LAST_TIME], cases.c[LAST_EVENT_ID]):
            made = CreateColumn(column).compile(dialect=connection.dialect)
            connection.exec_driver_sql(f"ALTER TABLE {name} ADD COLUMN {made}")
        if inspector.has_table(table.name):
            _fill_places(connection, cases, table)
        return True

    return upgraded(engine, add)


def _fill_places(connection: Connection, cases: Table, table: Table) -> None:
    """Every case's place columns from its latest timeline row (one statement; each case's
    rows found by their key)."""

    def latest(column: Column[Any]) -> Any:
        return (
            select(column)
            .where(table.c.case_id == cases.c.case_id)
            .order_by(table.c.time.desc(), table.c.event_id.desc())
            .limit(1)
            .scalar_subquery()
        )

    found = {LAST_TIME: latest(table.c.time), LAST_EVENT_ID: latest(table.c.event_id)}
    connection.execute(update(cases).values(found))


def _move_timelines(connection: Connection, table: Table, cases: Table, column: str) -> None:
    """Each stored picture's entries into timeline rows, its row rewritten without them."""
    key, held = cases.c.case_id, cases.c[column]
    after = ""
    while True:
        rows = connection.execute(
            select(key, held).where(key > after).order_by(key).limit(MOVE_PAGE)
        ).all()
        for case_id, text in rows:
            after = case_id
            whole = CasePicture.model_validate_json(text)
            entries = timeline_rows(whole)
            if entries:
                insert_rows(connection, table, entries)
            written = {column: current_row(whole), **place_values(whole, None)}
            connection.execute(update(cases).where(key == case_id).values(written))
        if len(rows) < MOVE_PAGE:
            return


def wholes(
    connection: Connection, table: Table, rows: Sequence[tuple[str, str]]
) -> list[CasePicture]:
    """The whole pictures of these current rows (case id, JSON), in their order, each with its
    timeline rows (read in one query a page of cases)."""
    entries = entries_by_case(connection, table, [case_id for case_id, _ in rows])
    return [assembled(text, entries[case_id]) for case_id, text in rows]


def currents(rows: Iterable[tuple[str, str, datetime | None, str | None]]) -> dict[str, Current]:
    """What the fold reads of the cases of these current rows (case id, JSON, the place
    columns): each picture without its timeline, and the order of its latest timeline row
    (`case.fold.Current`)."""
    return {
        case_id: Current(
            CasePicture.model_validate_json(text), place_of(moment, event_id), len(text)
        )
        for case_id, text, moment, event_id in rows
    }
