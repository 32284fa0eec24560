"""Where the case-picture service keeps its pictures: one small row a case, the picture without
its timeline as JSON beside the columns the queries filter on, and the timeline as rows written
once per event (`picture.timeline`), in the same database (and transaction) as its offsets.
Every read puts the two back together, but the fold's (`current_pictures`): it reads the current
rows, each with where its case's latest entry sits (two columns of its own, written with it), and
the timeline rows only of the cases that need them."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from mappa_bus.case.fold import Current, Place
from mappa_bus.case.merges import Link, Merges, merges_of
from mappa_bus.case.model import CasePicture, Status
from mappa_bus.case.timeline import current_row
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.picture.schema import pictures_table, timeline_table
from mappa_bus.projection.database import in_pages, rows_among, upsert
from mappa_bus.projection.merges import load_links
from mappa_bus.projection.offsets import offsets_table
from mappa_bus.projection.timelines import (
    LAST_EVENT_ID,
    LAST_TIME,
    currents,
    place_values,
    save_timelines,
    utc,
    wholes,
)
from mappa_bus.projection.timelines import holding as holding_in

PROJECTION = "picture"


def _columns(picture: CasePicture) -> dict[str, object]:
    """The columns a picture's row is found by (`find_cases`, `find_overdue`, `matches`)."""
    category = picture.management.category if picture.management else None
    return {
        "case_id": picture.case_id,
        "area": picture.area.value if picture.area else None,
        "level": int(picture.level) if picture.level else None,
        "category": int(category) if category else None,
        "status": picture.status.value,
        "last_recorded_at": utc(picture.last_recorded_at),
        "open_due_on": _open_due_on(picture),
    }


def _row(picture: CasePicture, last: Place | None) -> dict[str, object]:
    return {**_columns(picture), "picture": current_row(picture), **place_values(picture, last)}


def _open_due_on(picture: CasePicture) -> date | None:
    """The earliest due date in force of `picture`'s open plan actions."""
    if picture.plan is None:
        return None
    return min((action.due_on for action in picture.plan.open_actions()), default=None)


def save_pictures(
    connection: Connection,
    pictures: Iterable[CasePicture],
    before: Mapping[str, CasePicture] | None = None,
    last: Mapping[str, Place | None] | None = None,
) -> dict[str, int]:
    """Write these pictures (inside the caller's transaction): each one's current row, and of
    its timeline rows those `before` (the store's pictures of these cases, as the caller read
    them; a case absent had none) lacks, deleting those it has and the picture no longer holds
    (an erasure's stub holds none). Without `before`, each case's timeline rows are written
    afresh. `last` has where the latest entry before sat of the cases whose pictures may hold
    only the entries folded since (`Current.last`): their current rows keep the later of it
    and their own latest. Returns each current row's length (its JSON), by case id."""
    pictures = sorted(pictures, key=lambda p: p.case_id)
    places = last or {}
    rows = [_row(picture, places.get(picture.case_id)) for picture in pictures]
    upsert(connection, pictures_table, rows, keys=("case_id",))
    save_timelines(connection, timeline_table, pictures, before)
    return {str(row["case_id"]): len(str(row["picture"])) for row in rows}


def _pictures(connection: Connection, rows: Sequence[tuple[str, str]]) -> list[CasePicture]:
    """The pictures of these current rows (case id, JSON), in their order, each with its
    timeline rows."""
    return wholes(connection, timeline_table, rows)


def load_pictures(connection: Connection) -> dict[str, CasePicture]:
    """Every picture in the store, all at once (tests, and tools over small stores: memory
    grows with the caseload; `each_picture` reads them a page at a time)."""
    return {picture.case_id: picture for picture in each_picture(connection)}


# Pictures read per query by `each_picture`: enough to make a query's cost small beside its
# rows', few enough to keep a page's memory modest.
PAGE = 500


def each_picture(connection: Connection, page: int = PAGE) -> Iterator[CasePicture]:
    """Every picture in the store, in case-id order, read `page` at a time (by keyset: each
    page starts after the last id of the one before), so that no more than a page is held."""
    table = pictures_table
    after: str | None = None
    while True:
        query = select(table.c.case_id, table.c.picture).order_by(table.c.case_id).limit(page)
        if after is not None:
            query = query.where(table.c.case_id > after)
        rows = [(case_id, text) for case_id, text in connection.execute(query)]
        if rows:
            after = rows[-1][0]
        yield from _pictures(connection, rows)
        if len(rows) < page:
            return


def pictures_of(connection: Connection, case_ids: Collection[str]) -> dict[str, CasePicture]:
    """The stored pictures of `case_ids` (those the store has none of are absent): a batch's
    cases in one query, or one a page when they are many."""
    found: dict[str, CasePicture] = {}
    for page in in_pages(case_ids):
        pictures = _pictures(connection, _current_rows(connection, page))
        found.update((picture.case_id, picture) for picture in pictures)
    return found


def _current_rows(connection: Connection, case_ids: Sequence[str]) -> list[tuple[str, str]]:
    """The current rows (case id, JSON) of those of `case_ids` (one page) the store holds."""
    table = pictures_table
    rows = connection.execute(
        select(table.c.case_id, table.c.picture).where(table.c.case_id.in_(case_ids))
    )
    return [(case_id, text) for case_id, text in rows]


def current_pictures(connection: Connection, case_ids: Collection[str]) -> dict[str, Current]:
    """What the fold reads of the stored cases among `case_ids` (`case.fold.Current`): each
    current row, without the timeline rows, and the order of the latest of them, which the row
    holds: one key lookup a case, however long its history."""
    columns = ("case_id", "picture", LAST_TIME, LAST_EVENT_ID)
    return currents(rows_among(connection, pictures_table, columns, "case_id", case_ids))


def holding(connection: Connection, event_ids: Mapping[str, Collection[str]]) -> set[str]:
    """The cases among `event_ids` (a batch's event ids by case) whose timeline rows already
    hold one of their ids: a redelivery the fold must see the timeline to leave out."""
    return holding_in(connection, timeline_table, event_ids)


def count_pictures(connection: Connection) -> int:
    """How many cases the store holds a picture of."""
    return connection.execute(select(func.count()).select_from(pictures_table)).scalar_one()


def load_picture(connection: Connection, case_id: str) -> CasePicture | None:
    """One case's picture, or None when the bus has no event of it."""
    text = connection.execute(
        select(pictures_table.c.picture).where(pictures_table.c.case_id == case_id)
    ).scalar_one_or_none()
    return None if text is None else _pictures(connection, [(case_id, text)])[0]


@dataclass(frozen=True)
class CaseFilter:
    """What `find_cases` narrows by; None means any."""

    area: Area | None = None
    level: Level | None = None
    category: Category | None = None
    status: Status | None = None
    changed_since: datetime | None = None
    areas: frozenset[Area] | None = None
    """The areas the reader may read (None: every area)."""


def _conditions(where: CaseFilter) -> Mapping[str, object | None]:
    """The columns `where` fixes, with the values their rows hold (None: any)."""
    return {
        "area": where.area.value if where.area else None,
        "level": int(where.level) if where.level else None,
        "category": int(where.category) if where.category else None,
        "status": where.status.value if where.status else None,
    }


def matches(picture: CasePicture, where: CaseFilter) -> bool:
    """Whether `picture`'s row would be found by `where`: the store's filter, for a picture
    the store does not hold as a row (a merged group's, joined)."""
    columns = _columns(picture)
    fixed = _conditions(where)
    if any(value is not None and columns[name] != value for name, value in fixed.items()):
        return False
    recorded = utc(picture.last_recorded_at)
    since = utc(where.changed_since)
    # As in SQL: a picture with nothing recorded has changed since no moment.
    if since is not None and (recorded is None or recorded <= since):
        return False
    return where.areas is None or columns["area"] in {area.value for area in where.areas}


def find_cases(
    connection: Connection, where: CaseFilter, *, limit: int = 100, offset: int = 0
) -> list[CasePicture]:
    """The pictures matching `where`, in case-id order (one page of them)."""
    table = pictures_table
    query = (
        select(table.c.case_id, table.c.picture)
        .order_by(table.c.case_id)
        .limit(limit)
        .offset(offset)
    )
    conditions = _conditions(where)
    for column, value in conditions.items():
        if value is not None:
            query = query.where(table.c[column] == value)
    if where.changed_since is not None:
        query = query.where(table.c.last_recorded_at > utc(where.changed_since))
    if where.areas is not None:
        query = query.where(table.c.area.in_(sorted(area.value for area in where.areas)))
    return _pictures(connection, [(case_id, text) for case_id, text in connection.execute(query)])


def find_overdue(
    connection: Connection,
    today: date,
    areas: frozenset[Area] | None,
    *,
    limit: int = 100,
    offset: int = 0,
) -> list[CasePicture]:
    """The pictures with an open plan action due before `today` in `areas` (None: every
    area), earliest due first (then case id): one page of them, read by the indexed column."""
    table = pictures_table
    query = (
        select(table.c.case_id, table.c.picture)
        .where(table.c.open_due_on < today)
        .order_by(table.c.open_due_on, table.c.case_id)
        .limit(limit)
        .offset(offset)
    )
    if areas is not None:
        query = query.where(table.c.area.in_(sorted(area.value for area in areas)))
    return _pictures(connection, [(case_id, text) for case_id, text in connection.execute(query)])


def clear(connection: Connection) -> None:
    """Forget every picture and the offsets they came from (the start of a rebuild)."""
    connection.execute(delete(pictures_table))
    connection.execute(delete(timeline_table))
    connection.execute(delete(offsets_table).where(offsets_table.c.projection == PROJECTION))


def stored_merges(connection: Connection, at: datetime | None = None) -> Merges:
    """The merges in force (by `at`, when given) as the picture store holds them."""
    return merges_of((Link.from_row(row) for row in load_links(connection, PROJECTION)), at)
