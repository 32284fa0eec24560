"""Where the reporting consumer keeps every case's facts, beside its offsets: one row a fact,
keyed by case and event, so that a batch reads the facts of the cases it touches and nothing
else (issue 17: state in the store, not in memory), appends its new facts, and deletes those
withdrawn; an erasure deletes its case's rows.

Stores written before kept whole-case rows (`reporting_cases`) or one row a batch
(`reporting_facts`): `upgrade_facts` moves them into rows a fact once, on load."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import datetime

import orjson
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from mappa_bus.catalogue import Area, ReportingYear
from mappa_bus.projection.database import delete_in, insert_missing, insert_rows, rows_among
from mappa_bus.projection.offsets import offsets_table
from mappa_bus.reporting.facts import CaseFacts, Fact, Kind
from mappa_bus.reporting.schema import (
    case_facts_table,
    cases_table,
    facts_table,
    withdrawn_table,
)

# Enum lookups by value through a dict: `Kind(value)` costs a call into the enum machinery for
# each of millions of facts on a full read.
_KINDS = {kind.value: kind for kind in Kind}
_AREAS = {area.value: area for area in Area}


def _row(case_id: str, fact: Fact) -> dict[str, object]:
    return {
        "case_id": case_id,
        "event_id": fact.event_id,
        "year": ReportingYear.holding(fact.day).opens,
        "fact": orjson.dumps(
            [fact.time.isoformat(), fact.kind.value, fact.area.value, fact.value]
        ).decode(),
    }


def _fact(event_id: str, text: str) -> Fact:
    time, kind, area, value = orjson.loads(text)
    return Fact(datetime.fromisoformat(time), event_id, _KINDS[kind], _AREAS[area], value)


def facts_of(connection: Connection, case_ids: Collection[str]) -> dict[str, CaseFacts]:
    """The facts of each of `case_ids` (empty for a case with none), in the order the rules
    apply them: a batch's cases in one query, or one a page when they are many."""
    found: dict[str, list[Fact]] = {case_id: [] for case_id in case_ids}
    columns = ("case_id", "event_id", "fact")
    for case_id, event_id, text in rows_among(
        connection, case_facts_table, columns, "case_id", found
    ):
        found[case_id].append(_fact(event_id, text))
    return {case_id: tuple(sorted(facts)) for case_id, facts in found.items()}


# Rows `each_case` fetches at a time.
STREAM_ROWS = 2_000


def each_case(connection: Connection) -> Iterator[tuple[str, CaseFacts]]:
    """Every case with its facts, in case-id order, read as one stream of rows (a case's facts
    are held only until the next case's begin)."""
    table = case_facts_table
    query = (
        select(table.c.case_id, table.c.event_id, table.c.fact)
        .order_by(table.c.case_id, table.c.event_id)
        # Fetched a page at a time (PostgreSQL: a server-side cursor), not all rows at once.
        .execution_options(yield_per=STREAM_ROWS)
    )
    current: str | None = None
    facts: list[Fact] = []
    for case_id, event_id, text in connection.execute(query):
        if case_id != current:
            if current is not None:
                yield current, tuple(sorted(facts))
            current, facts = case_id, []
        facts.append(_fact(event_id, text))
    if current is not None:
        yield current, tuple(sorted(facts))


def load_cases(connection: Connection) -> dict[str, CaseFacts]:
    """Every case's facts as stored, all at once (publication, reports and tests: the fold
    reads a batch's cases with `facts_of`)."""
    return dict(each_case(connection))


def count_cases(connection: Connection) -> int:
    """How many cases the store holds a fact of."""
    table = case_facts_table
    return len(connection.scalars(select(table.c.case_id).distinct()).all())


def fact_years(connection: Connection, leaving_out: Collection[str] = ()) -> set[int]:
    """The reporting years the stored facts are in, those of the `leaving_out` cases aside."""
    table = case_facts_table
    query = select(table.c.year).distinct()
    if leaving_out:
        query = query.where(table.c.case_id.not_in(sorted(leaving_out)))
    return set(connection.scalars(query))


def withdraw_facts(connection: Connection, withdrawn: Sequence[tuple[str, Fact, str]]) -> None:
    """Take out facts withdrawn by their agency, each with its case and the reason, and record
    why (inside the caller's transaction)."""
    if withdrawn:
        table = case_facts_table
        for case_id, fact, _ in withdrawn:
            connection.execute(
                delete(table).where(table.c.case_id == case_id, table.c.event_id == fact.event_id)
            )
        connection.execute(
            withdrawn_table.insert(),
            [
                {"event_id": fact.event_id, "case_id": case_id, "reason": reason}
                for case_id, fact, reason in withdrawn
            ],
        )


def has_cases(connection: Connection) -> bool:
    """Whether the store holds any case (in rows of this format or of those before)."""
    tables = (case_facts_table.c.case_id, cases_table.c.case_id, facts_table.c.batch)
    return any(connection.execute(select(column).limit(1)).first() is not None for column in tables)


def append_facts(connection: Connection, added: Sequence[tuple[str, Fact]]) -> None:
    """Store facts new to their cases, each with its case id (inside the caller's
    transaction)."""
    if added:
        insert_rows(connection, case_facts_table, [_row(case_id, f) for case_id, f in added])


def delete_case_facts(connection: Connection, case_ids: Collection[str]) -> None:
    """Delete every fact of these cases (inside the caller's transaction): an erasure."""
    delete_in(connection, case_facts_table, case_facts_table.c.case_id, case_ids)


def upgrade_facts(connection: Connection) -> None:
    """Move the facts a store written before kept (a row a case, or a row a batch) into rows a
    fact, those withdrawn left out, and empty the old tables (inside the caller's transaction;
    nothing to do when done). Read row by row, as the old load read them: a whole-case row
    first, then the batches in order, the first fact of an event id kept. Another member of the
    group may be doing the same: rows already there stay."""
    old = (cases_table.c.case_id, facts_table.c.batch)
    if all(connection.execute(select(column).limit(1)).first() is None for column in old):
        return
    withdrawn = set(connection.scalars(select(withdrawn_table.c.event_id)))
    for case_id, text in connection.execute(select(cases_table.c.case_id, cases_table.c.facts)):
        facts = [
            (case_id, Fact(datetime.fromisoformat(time), event_id, Kind(kind), Area(area), value))
            for time, event_id, kind, area, value in orjson.loads(text)
        ]
        _keep(connection, facts, withdrawn)
    batches = connection.execute(select(facts_table.c.facts).order_by(facts_table.c.batch))
    for (text,) in batches.all():
        facts = [
            (case_id, Fact(datetime.fromisoformat(time), event_id, _KINDS[kind], _AREAS[area], v))
            for case_id, time, event_id, kind, area, v in orjson.loads(text)
        ]
        _keep(connection, facts, withdrawn)
    connection.execute(delete(cases_table))
    connection.execute(delete(facts_table))


def _keep(connection: Connection, facts: list[tuple[str, Fact]], withdrawn: set[str]) -> None:
    rows = [_row(case_id, f) for case_id, f in facts if f.event_id not in withdrawn]
    insert_missing(connection, case_facts_table, rows)


def clear(connection: Connection, projection: str) -> None:
    """Forget every case and offset (inside the caller's transaction): the start of a rebuild.
    What was published is kept: the replay publishes only figures that come out different."""
    from mappa_bus.reporting.publication import clear_unpublished

    for table in (case_facts_table, cases_table, facts_table, withdrawn_table):
        connection.execute(delete(table))
    clear_unpublished(connection)
    connection.execute(delete(offsets_table).where(offsets_table.c.projection == projection))


def save_cases(
    connection: Connection, cases: Mapping[str, CaseFacts], changed: Iterable[str]
) -> None:
    """Write the changed cases' facts whole, in place of what the store had of them (inside
    the caller's transaction): for tools and tests that make a store without folding."""
    wanted = sorted(changed)
    delete_case_facts(connection, wanted)
    append_facts(connection, [(case_id, fact) for case_id in wanted for fact in cases[case_id]])
