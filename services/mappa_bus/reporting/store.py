"""Where the reporting consumer keeps every case's facts, beside its offsets: appended, one row a
batch holding the facts the batch added (case by case), and read back case by case in order.

Appending, not rewriting: a row a case would re-encode and rewrite the whole of every case a
batch touches to add one fact to it, and a national replay touches each case a dozen times.
Whole-case rows (`save_cases`) are still read: stores written before, and stores written by
tests, hold them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import orjson
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from mappa_bus.catalogue import Area
from mappa_bus.projection.database import upsert
from mappa_bus.projection.offsets import offsets_table
from mappa_bus.reporting.facts import CaseFacts, Fact, Kind
from mappa_bus.reporting.schema import (
    cases_table,
    facts_table,
    withdrawn_table,
)

# Enum lookups by value through a dict: `Kind(value)` costs a call into the enum machinery for
# each of millions of facts on load.
_KINDS = {kind.value: kind for kind in Kind}
_AREAS = {area.value: area for area in Area}


def _encode(facts: CaseFacts) -> str:
    return orjson.dumps(
        [[f.time.isoformat(), f.event_id, f.kind.value, f.area.value, f.value] for f in facts]
    ).decode()


def _decode(text: str) -> CaseFacts:
    return tuple(
        Fact(datetime.fromisoformat(time), event_id, Kind(kind), Area(area), value)
        for time, event_id, kind, area, value in orjson.loads(text)
    )


def load_cases(connection: Connection) -> dict[str, CaseFacts]:
    """Every case's facts as stored: in the order the rules apply them, each event id once
    (as `facts.tally` keeps them), however they were written."""
    by_case: dict[str, dict[str, Fact]] = {}
    for case_id, facts in connection.execute(select(cases_table.c.case_id, cases_table.c.facts)):
        by_case[case_id] = {fact.event_id: fact for fact in _decode(facts)}
    for (text,) in connection.execute(select(facts_table.c.facts).order_by(facts_table.c.batch)):
        for case_id, time, event_id, kind, area, value in orjson.loads(text):
            known = by_case.setdefault(case_id, {})
            if event_id not in known:
                fact = Fact(
                    datetime.fromisoformat(time), event_id, _KINDS[kind], _AREAS[area], value
                )
                known[event_id] = fact
    withdrawn = set(connection.scalars(select(withdrawn_table.c.event_id)))
    return {
        case_id: tuple(sorted(f for f in facts.values() if f.event_id not in withdrawn))
        for case_id, facts in by_case.items()
    }


def withdraw_facts(connection: Connection, withdrawn: Sequence[tuple[str, Fact, str]]) -> None:
    """Record facts withdrawn by their agency, each with its case and the reason (inside the
    caller's transaction): they are left out of the case from now on, and on every load."""
    if withdrawn:
        connection.execute(
            withdrawn_table.insert(),
            [
                {"event_id": fact.event_id, "case_id": case_id, "reason": reason}
                for case_id, fact, reason in withdrawn
            ],
        )


def has_cases(connection: Connection) -> bool:
    """Whether the store holds any case."""
    return any(
        connection.execute(select(table.c.facts).limit(1)).first() is not None
        for table in (cases_table, facts_table)
    )


def append_facts(connection: Connection, added: Sequence[tuple[str, Fact]]) -> None:
    """Store facts new to their cases, each with its case id (inside the caller's
    transaction): one row for them all."""
    if added:
        text = orjson.dumps(
            [
                [case_id, f.time.isoformat(), f.event_id, f.kind.value, f.area.value, f.value]
                for case_id, f in added
            ]
        ).decode()
        connection.execute(facts_table.insert(), {"facts": text})


def save_cases(
    connection: Connection, cases: Mapping[str, CaseFacts], changed: Iterable[str]
) -> None:
    """Write the changed cases' facts (inside the caller's transaction)."""
    upsert(
        connection,
        cases_table,
        [{"case_id": case_id, "facts": _encode(cases[case_id])} for case_id in sorted(changed)],
        keys=("case_id",),
    )


def clear(connection: Connection, projection: str) -> None:
    """Forget every case and offset (inside the caller's transaction): the start of a rebuild.
    What was published is kept: the replay publishes only figures that come out different."""
    from mappa_bus.reporting.publication import clear_unpublished

    connection.execute(delete(cases_table))
    connection.execute(delete(facts_table))
    connection.execute(delete(withdrawn_table))
    clear_unpublished(connection)
    connection.execute(delete(offsets_table).where(offsets_table.c.projection == projection))
