"""Erasure once retention has passed (Data Protection Act 2018 s.39: personal data kept no
longer than the purpose needs). When MAPPA management of a case has ended and the retention
period has run since, its picture is cut down to the case id, the area and the end of
management, and the erasure itself is kept: in the store's erasures (so that a rebuild from the
log, which still holds the events, does not bring the details back) and in the audit trail.

The rule itself is `case.retention`'s (one place for every store); `mappa erase-expired`
erases through the log instead, reaching every store (docs/retention.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import ColumnElement

from mappa_bus.audit import record_read
from mappa_bus.case.model import CasePicture, ManagementEnded
from mappa_bus.case.retention import due, retention_ends
from mappa_bus.catalogue import Area
from mappa_bus.picture.schema import erasures_table
from mappa_bus.picture.store import save_pictures
from mappa_bus.projection.database import upsert

__all__ = ["due", "erase", "erased", "erased_among", "erased_cases", "retention_ends"]

ERASED_BY = "retention"
REASON = "retention period passed since MAPPA management ended (DPA 2018 s.39)"


def erased(picture: CasePicture, on: date) -> CasePicture:
    """What is left of `picture` after erasure on `on`."""
    return CasePicture(
        case_id=picture.case_id,
        area=picture.area,
        management_ended=picture.management_ended,
        erased_on=on,
    )


def erase(connection: Connection, pictures: Iterable[CasePicture], on: date) -> list[str]:
    """Erase these pictures' details, record each erasure and audit it (inside the caller's
    transaction); the case ids erased."""
    stubs = [erased(picture, on) for picture in pictures]
    save_pictures(connection, stubs)
    upsert(connection, erasures_table, [_row(stub) for stub in stubs], keys=("case_id",))
    for stub in stubs:
        record_read(
            connection,
            user=ERASED_BY,
            role=ERASED_BY,
            subject=f"case:{stub.case_id}",
            reason=REASON,
            outcome="erased",
            cases=[stub.case_id],
        )
    return [stub.case_id for stub in stubs]


def _row(stub: CasePicture) -> dict[str, object]:
    assert stub.management_ended is not None  # only ended cases are erased
    return {
        "case_id": stub.case_id,
        "area": stub.area.value if stub.area else None,
        "ended_on": stub.management_ended.on,
        "end_reason": stub.management_ended.reason.value,
        "erased_on": stub.erased_on,
    }


def erased_cases(
    connection: Connection, where: ColumnElement[bool] | None = None
) -> dict[str, CasePicture]:
    """Every erased case (or those `where` picks), as its stub."""
    query = select(erasures_table)
    return _stubs(connection.execute(query if where is None else query.where(where)))


def erased_among(connection: Connection, case_ids: Iterable[str]) -> dict[str, CasePicture]:
    """Those of `case_ids` erased, as their stubs (a consumer asks of the cases it is about to
    write: the erasure may have been made by another process since it read the store)."""
    wanted = sorted(case_ids)
    if not wanted:
        return {}
    return _stubs(connection.execute(_ERASED_AMONG, {"case_ids": wanted}))


# Asked in every batch's commit: built once, not each time (docs/benchmarks.md).
_ERASED_AMONG = select(erasures_table).where(
    erasures_table.c.case_id.in_(bindparam("case_ids", expanding=True))
)


def _stubs(rows: Iterable[Row[Any]]) -> dict[str, CasePicture]:
    """The stubs of the erased cases `rows` of the erasures table hold."""
    return {
        row.case_id: CasePicture(
            case_id=row.case_id,
            area=Area(row.area) if row.area else None,
            management_ended=ManagementEnded(on=row.ended_on, reason=row.end_reason),
            erased_on=row.erased_on,
        )
        for row in rows
    }
