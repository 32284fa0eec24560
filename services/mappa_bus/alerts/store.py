"""What the alerts service keeps: the offsets up to which it has raised alerts, every alert it
raised or withdrew (an outbox: written in the same transaction as those offsets, published
after), and the case pictures its rules compare, with the offsets they were folded up to, in
the same transaction (issue 17: read per batch for the cases it touches, never all at once).

A store made before the pictures were kept has none: the service folds them again from the
agency topics, raising nothing for records below where alerts were raised (`CASES` offsets
absent: they start at the beginning).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from pydantic import TypeAdapter
from sqlalchemy import delete, func, null, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from mappa_bus.alerts.model import AlertRaised, AlertWithdrawn, OnAlertsTopic
from mappa_bus.alerts.schema import cases_table, raised_table
from mappa_bus.case.model import CasePicture
from mappa_bus.projection.database import delete_in, each_row, in_pages, upsert
from mappa_bus.projection.erasures import erasures_table
from mappa_bus.projection.merges import merges_table
from mappa_bus.projection.offsets import offsets_table

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
    are on (None: known only from a merge naming it)."""

    picture: CasePicture
    home: int | None


def cases_of(
    connection: Connection, case_ids: Collection[str]
) -> tuple[dict[str, HeldCase], set[str]]:
    """The stored cases among `case_ids` (absent: none stored), and those of them the alerts
    service has erased (docs/decisions/0002): one query a page of ids, both tables in it (one
    statement reads one state of the store, so no snapshot is needed for the two)."""
    found: dict[str, HeldCase] = {}
    erased: set[str] = set()
    cases, erasures = cases_table, erasures_table
    for page in in_pages(case_ids):
        rows = connection.execute(
            union_all(
                select(cases.c.case_id, cases.c.partition, cases.c.picture).where(
                    cases.c.case_id.in_(page)
                ),
                # An erased case's row: no picture.
                select(erasures.c.case_id, null(), null()).where(
                    erasures.c.projection == PROJECTION, erasures.c.case_id.in_(page)
                ),
            )
        )
        for case_id, home, text in rows:
            if text is None:
                erased.add(case_id)
            else:
                found[case_id] = HeldCase(CasePicture.model_validate_json(text), home)
    return found, erased


def save_cases(
    connection: Connection, cases: Mapping[str, HeldCase], due: Mapping[str, date | None]
) -> None:
    """Write these cases with their due days (inside the caller's transaction)."""
    rows = [
        {
            "case_id": case_id,
            "partition": held.home,
            "due_on": due.get(case_id),
            "picture": held.picture.model_dump_json(),
        }
        for case_id, held in sorted(cases.items())
    ]
    upsert(connection, cases_table, rows, keys=("case_id",))


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
    """Forget these cases' pictures (inside the caller's transaction): they are erased."""
    delete_in(connection, cases_table, cases_table.c.case_id, list(case_ids))


def each_case(connection: Connection, page: int = DUE_PAGE) -> Iterator[CasePicture]:
    """Every stored picture, in case-id order, a page at a time (tests, tools)."""
    for _, text in each_row(connection, cases_table.c.case_id, cases_table.c.picture, page):
        yield CasePicture.model_validate_json(text)


def forget_folded(connection: Connection) -> None:
    """Forget where the pictures were folded up to, and the links folded with them: their
    table is new, so they are folded again from the log (inside the caller's transaction)."""
    connection.execute(delete(offsets_table).where(offsets_table.c.projection == CASES))
    connection.execute(delete(merges_table).where(merges_table.c.projection == CASES))


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
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    added = set(
        connection.scalars(
            insert(raised_table).on_conflict_do_nothing().returning(raised_table.c.alert_id),
            rows,
        )
    )
    return [a for identity, a in given.items() if identity in added]


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
        connection.execute(
            update(raised_table)
            .where(raised_table.c.alert_id.in_(alert_ids))
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
