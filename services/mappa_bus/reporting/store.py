"""Where the reporting consumer keeps every case's facts: one row a case, beside its offsets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import orjson
from sqlalchemy import Column, Engine, String, Table, Text, delete, select
from sqlalchemy.engine import Connection

from mappa_bus.catalogue import Area
from mappa_bus.projection.database import upsert
from mappa_bus.projection.offsets import metadata, offsets_table
from mappa_bus.reporting.facts import CaseFacts, Fact, Kind

cases_table = Table(
    "reporting_cases",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("facts", Text, nullable=False),
)


def create_schema(engine: Engine) -> None:
    """Create the projection's tables where they are missing: its cases, offsets and seen ids,
    the partnership indicators, what it published, and the audit trail of figure openings."""
    # Imported here: those modules import this one (or its neighbours) themselves.
    from mappa_bus.audit import audit_table
    from mappa_bus.projection.seen import seen_batches_table, seen_table
    from mappa_bus.reporting.partnership_store import partnership_table
    from mappa_bus.reporting.publication import published_table, unpublished_table

    tables = [cases_table, offsets_table, seen_table, partnership_table, published_table]
    tables += [unpublished_table, seen_batches_table]
    metadata.create_all(engine, tables=[*tables, audit_table])


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
    """Every case's facts as stored."""
    rows = connection.execute(select(cases_table.c.case_id, cases_table.c.facts))
    return {case_id: _decode(facts) for case_id, facts in rows}


def has_cases(connection: Connection) -> bool:
    """Whether the store holds any case."""
    return connection.execute(select(cases_table.c.case_id).limit(1)).first() is not None


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
    clear_unpublished(connection)
    connection.execute(delete(offsets_table).where(offsets_table.c.projection == projection))
