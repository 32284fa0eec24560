"""What the alerts service keeps: the offsets up to which it has raised alerts, every alert it
raised or withdrew (an outbox: written in the same transaction as those offsets, published
after), and the case pictures its rules compare, with the offsets they were folded up to, in
the same transaction (issue 17: read per batch for the cases it touches, never all at once).
A picture is kept as the picture service keeps its own (`case.timeline`,
`projection.timelines`): a small current row a case, and its timeline as rows written once per
event, read only when the fold needs them.

A store made before the pictures were kept has none: the service folds them again from the
agency topics, raising nothing for records below where alerts were raised (`CASES` offsets
absent: they start at the beginning).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from pydantic import TypeAdapter
from sqlalchemy import bindparam, delete, func, null, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from mappa_bus.alerts.model import AlertRaised, AlertWithdrawn, OnAlertsTopic
from mappa_bus.alerts.schema import cases_table, raised_table, timeline_table
from mappa_bus.case.fold import Place
from mappa_bus.case.model import CasePicture
from mappa_bus.case.timeline import current_row
from mappa_bus.projection.database import delete_in, each_row, in_pages, upsert
from mappa_bus.projection.erasures import erasures_table
from mappa_bus.projection.merges import merges_table
from mappa_bus.projection.offsets import offsets_table
from mappa_bus.projection.timelines import (
    LAST_EVENT_ID,
    LAST_TIME,
    delete_timelines,
    place_of,
    place_values,
    save_timelines,
    wholes,
)
from mappa_bus.projection.timelines import holding as holding_in

_OUTBOX: TypeAdapter[AlertRaised | AlertWithdrawn] = TypeAdapter(OnAlertsTopic)

PROJECTION = "alerts"
# The offsets and merge links the stored pictures were folded with: apart from `PROJECTION`'s,
# which say how far alerts were raised, so that pictures folded again (an upgraded store) raise
# nothing twice and dead-letter nothing twice.
CASES = "alerts-cases"
# Due cases read per query by the clock.
DUE_PAGE = 500


@dataclass(frozen=True)
class HeldCase:
    """A case as the alerts store keeps it: its picture and the partition number its events
    are on (None: known only from a merge naming it). Read without its timeline
    (`whole` false), the picture holds none (or only the entries folded since), and `last` is
    the order of the latest entry it was folded from (None: none), as in `case.fold.Current`."""

    picture: CasePicture
    home: int | None
    last: Place | None = None
    whole: bool = True
    # Its current row's length (the picture's JSON), when known: what the service's cache
    # weighs it by.
    stored_size: int = field(default=0, compare=False)


def cases_of(
    connection: Connection, case_ids: Collection[str], *, whole: bool = False
) -> tuple[dict[str, HeldCase], set[str]]:
    """The stored cases among `case_ids` (absent: none stored), each without its timeline and
    with the order of its latest entry, which its row holds (`whole`: with its timeline), and
    those of them the alerts service has erased (docs/decisions/0002): one query a page of ids,
    both tables in it (one statement reads one state of the store, so no snapshot is needed for
    the two)."""
    found: dict[str, HeldCase] = {}
    erased: set[str] = set()
    for page in in_pages(case_ids):
        rows = connection.execute(_CASES_OF, {"case_ids": page, "erased_ids": page})
        current: list[tuple[str, str]] = []
        homes: dict[str, int | None] = {}
        for case_id, home, text, moment, event_id in rows:
            if text is None:
                erased.add(case_id)
            elif whole:
                current.append((case_id, text))
                homes[case_id] = home
            else:
                picture = CasePicture.model_validate_json(text)
                place = place_of(moment, event_id)
                found[case_id] = HeldCase(picture, home, place, whole=False, stored_size=len(text))
        pictures = wholes(connection, timeline_table, current)
        found.update((p.case_id, HeldCase(p, homes[p.case_id])) for p in pictures)
    return found, erased


# Built once, not every batch (as the offsets' hold is): a page of ids each time.
_CASES_OF = union_all(
    select(
        cases_table.c.case_id,
        cases_table.c.partition,
        cases_table.c.picture,
        cases_table.c[LAST_TIME],
        cases_table.c[LAST_EVENT_ID],
    ).where(cases_table.c.case_id.in_(bindparam("case_ids", expanding=True))),
    # An erased case's row: no picture.
    select(erasures_table.c.case_id, null(), null(), null(), null()).where(
        erasures_table.c.projection == PROJECTION,
        erasures_table.c.case_id.in_(bindparam("erased_ids", expanding=True)),
    ),
)


def whole_cases(connection: Connection, case_ids: Collection[str]) -> dict[str, HeldCase]:
    """The stored cases among `case_ids` with their timelines (erased ones are absent)."""
    found, _ = cases_of(connection, case_ids, whole=True)
    return found


def holding(connection: Connection, event_ids: Mapping[str, Collection[str]]) -> set[str]:
    """The cases among `event_ids` (a batch's event ids by case) whose timeline rows already
    hold one of their ids: a redelivery the fold must see the timeline to leave out."""
    return holding_in(connection, timeline_table, event_ids)


def save_cases(
    connection: Connection,
    cases: Mapping[str, HeldCase],
    due: Mapping[str, date | None],
    before: Mapping[str, CasePicture],
    last: Mapping[str, Place | None] | None = None,
) -> dict[str, int]:
    """Write these cases with their due days (inside the caller's transaction): each one's
    current row, and the timeline rows its picture holds and `before` (the store's pictures of
    these cases as the caller read them, whole or not; a case absent had none) lacks. `last`
    has where the latest entry before sat of the cases whose pictures may hold only the
    entries folded since (`HeldCase.last`): their current rows keep the later of it and their
    own latest. Returns each current row's length (its picture's JSON), by case id."""
    ordered = sorted(cases.items())
    places = last or {}
    rows = [
        {
            "case_id": case_id,
            "partition": held.home,
            "due_on": due.get(case_id),
            "picture": current_row(held.picture),
            **place_values(held.picture, places.get(case_id)),
        }
        for case_id, held in ordered
    ]
    upsert(connection, cases_table, rows, keys=("case_id",))
    save_timelines(connection, timeline_table, [held.picture for _, held in ordered], before)
    return {str(row["case_id"]): len(str(row["picture"])) for row in rows}


def set_due(connection: Connection, due: Mapping[str, date | None]) -> None:
    """Move these stored cases' due days (inside the caller's transaction)."""
    table = cases_table
    for case_id, day in sorted(due.items(), key=lambda item: item[0]):
        connection.execute(update(table).where(table.c.case_id == case_id).values(due_on=day))


def due_cases(
    connection: Connection,
    today: date,
    numbers: Collection[int] | None,
    after: str | None = None,
    page: int = DUE_PAGE,
) -> list[str]:
    """The ids of cases due by `today` on partition numbers `numbers` (None: any), in id order
    after `after`: one page of them, read by the indexed due day."""
    table = cases_table
    query = (
        select(table.c.case_id).where(table.c.due_on <= today).order_by(table.c.case_id).limit(page)
    )
    if numbers is not None:
        query = query.where(table.c.partition.in_(sorted(numbers)))
    if after is not None:
        query = query.where(table.c.case_id > after)
    return list(connection.scalars(query))


def delete_cases(connection: Connection, case_ids: Iterable[str]) -> None:
    """Forget these cases' pictures, timelines too (inside the caller's transaction): they are
    erased."""
    ids = list(case_ids)
    delete_in(connection, cases_table, cases_table.c.case_id, ids)
    delete_timelines(connection, timeline_table, ids)


def each_case(connection: Connection, page: int = DUE_PAGE) -> Iterator[CasePicture]:
    """Every stored picture, whole, in case-id order, a page at a time (tests, tools)."""
    rows = each_row(connection, cases_table.c.case_id, cases_table.c.picture, page)
    while chunk := list(itertools.islice(rows, page)):
        yield from wholes(connection, timeline_table, chunk)


def forget_folded(connection: Connection) -> None:
    """Forget where the pictures were folded up to, and the links folded with them: their
    table is new, so they are folded again from the log (inside the caller's transaction).
    Timeline rows left without their pictures' table go too: they are folded again with them."""
    connection.execute(delete(offsets_table).where(offsets_table.c.projection == CASES))
    connection.execute(delete(merges_table).where(merges_table.c.projection == CASES))
    connection.execute(delete(timeline_table))


def count_raised(connection: Connection) -> int:
    """How many alerts and withdrawals the outbox holds."""
    return connection.execute(select(func.count()).select_from(raised_table)).scalar_one()


def record_raised(
    connection: Connection, alerts: Iterable[AlertRaised | AlertWithdrawn]
) -> list[AlertRaised | AlertWithdrawn]:
    """Add alerts (or withdrawals of alerts) to the outbox, unpublished (inside the caller's
    transaction); those it added, in the order given. An id already there is left as it is
    (raised before, or by another instance that saw the same review fall due): one statement
    both adds the new and says which they were (RETURNING), where asking the outbox first was
    a second."""
    given = {a.id: a for a in alerts}
    if not given:
        return []
    rows = [
        {"alert_id": a.id, "area": a.mappaarea.value, "event": a.model_dump_json(), "published": 0}
        for a in given.values()
    ]
    added = set(connection.scalars(_RECORD_RAISED[connection.dialect.name], rows))
    return [a for identity, a in given.items() if identity in added]


# By the store's dialect, each with its own ON CONFLICT; built once, as `_CASES_OF` is.
_ALERT_ID = raised_table.c.alert_id
_RECORD_RAISED = {
    "postgresql": postgresql.insert(raised_table).on_conflict_do_nothing().returning(_ALERT_ID),
    "sqlite": sqlite.insert(raised_table).on_conflict_do_nothing().returning(_ALERT_ID),
}


def forget_cases(connection: Connection, case_ids: Iterable[str]) -> int:
    """Delete every alert and withdrawal of these cases from the outbox, published or not
    (inside the caller's transaction): the cases are erased (docs/decisions/0002). How many."""
    doomed = []
    for case_id in sorted(set(case_ids)):
        # The JSON holds the subject as `"subject":"<case id>"`; read back to be sure.
        rows = connection.execute(
            select(raised_table.c.alert_id, raised_table.c.event).where(
                raised_table.c.event.contains(f'"subject":"{case_id}"', autoescape=True)
            )
        )
        doomed += [alert_id for alert_id, text in rows if _subject(text) == case_id]
    if doomed:
        connection.execute(delete(raised_table).where(raised_table.c.alert_id.in_(doomed)))
    return len(doomed)


def _subject(text: str) -> str:
    return _OUTBOX.validate_json(text).subject


def raised_ids(connection: Connection) -> set[str]:
    """Every alert id ever raised."""
    return set(connection.execute(select(raised_table.c.alert_id)).scalars())


def unpublished(connection: Connection) -> list[AlertRaised | AlertWithdrawn]:
    """The alerts and withdrawals not yet confirmed on the alerts topic."""
    rows = connection.execute(
        select(raised_table.c.event)
        .where(raised_table.c.published.is_(False))
        .order_by(raised_table.c.alert_id)
    ).scalars()
    return [_OUTBOX.validate_json(text) for text in rows]


def raised_alerts(connection: Connection, alert_ids: Iterable[str]) -> list[AlertRaised]:
    """Those of `alert_ids` the outbox holds, as raised."""
    wanted = sorted(set(alert_ids))
    if not wanted:
        return []
    rows = connection.execute(
        select(raised_table.c.event).where(raised_table.c.alert_id.in_(wanted))
    ).scalars()
    return [event for text in rows if isinstance(event := _OUTBOX.validate_json(text), AlertRaised)]


def mark_published(connection: Connection, alert_ids: Sequence[str]) -> None:
    """Record that these alerts are on the topic."""
    if alert_ids:
        connection.execute(_MARK_PUBLISHED, {"alert_ids": list(alert_ids)})


_MARK_PUBLISHED = (
    update(raised_table)
    .where(raised_table.c.alert_id.in_(bindparam("alert_ids", expanding=True)))
    .values(published=True)
)


def all_raised(connection: Connection) -> list[AlertRaised]:
    """Every alert raised, in id order (for comparing runs); withdrawn ones too."""
    return [event for event in _everything(connection) if isinstance(event, AlertRaised)]


def all_withdrawn(connection: Connection) -> list[AlertWithdrawn]:
    """Every withdrawal of an alert, in id order (for comparing runs)."""
    return [event for event in _everything(connection) if isinstance(event, AlertWithdrawn)]


def _everything(connection: Connection) -> list[AlertRaised | AlertWithdrawn]:
    rows = connection.execute(select(raised_table.c.event).order_by(raised_table.c.alert_id))
    return [_OUTBOX.validate_json(text) for text in rows.scalars()]
