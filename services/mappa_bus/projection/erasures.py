"""The erasures a projection has folded (docs/decisions/0002), kept in its store beside its
offsets and never cleared by a rebuild: a case erased stays erased, and its events, met again
on the log, are not folded back in. One table for every slice, a row per projection and case.

An erasure reaches a projection as a record on the erasures topic, read with the agency topics
in the same batches (`projection.batch.Batch.erasures`); each slice cuts the case from its own
state and store and calls `record_erasures` in the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Column, Date, String, Table, select
from sqlalchemy.engine import Connection

from mappa_bus.catalogue import Area
from mappa_bus.catalogue.erasure import ErasureData, ErasureGround
from mappa_bus.projection.database import insert_missing
from mappa_bus.projection.offsets import metadata

erasures_table = Table(
    "projection_erasures",
    metadata,
    Column("projection", String(64), primary_key=True),
    Column("case_id", String(64), primary_key=True),
    Column("area", String(64), nullable=False),
    Column("ground", String(16), nullable=False),
    Column("decision", String(64), nullable=False),
    Column("erased_on", Date, nullable=False),
)


def load_erasures(connection: Connection, projection: str) -> dict[str, ErasureData]:
    """Every case `projection` has erased, with its erasure."""
    table = erasures_table
    rows = connection.execute(select(table).where(table.c.projection == projection))
    return {
        row.case_id: ErasureData(
            case_id=row.case_id,
            area=Area(row.area),
            ground=ErasureGround(row.ground),
            decision=row.decision,
            erased_on=row.erased_on,
        )
        for row in rows
    }


def record_erasures(
    connection: Connection, projection: str, erasures: Iterable[ErasureData]
) -> None:
    """Keep these erasures (inside the caller's transaction); one met again changes nothing."""
    rows = [
        {
            "projection": projection,
            "case_id": erasure.case_id,
            "area": erasure.area.value,
            "ground": erasure.ground.value,
            "decision": erasure.decision,
            "erased_on": erasure.erased_on,
        }
        for erasure in erasures
    ]
    insert_missing(connection, erasures_table, rows)
