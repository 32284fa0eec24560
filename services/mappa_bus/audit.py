"""The audit trail of reads of case-level information: who, in what role, when, what, and why.

Append-only by construction: this module offers a way to add a record and ways to read them,
and nothing that changes or removes one (DPA 2018 s.62 logging for law-enforcement processing).

One record per request, whatever it read: a listing of 500 cases is one record naming the 500
case ids (`cases`), not 500 copies of its reason. Refusals are records too, with the status the
caller was answered with. Names are stored as the issuer gave them (any Unicode, any length);
the reason and any caller-supplied text arrive already bounded and escaped (`access.reasons`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Integer, String, Table, Text, insert, or_, select
from sqlalchemy.engine import Connection

from mappa_bus.projection.offsets import metadata

audit_table = Table(
    "audit_reads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user", Text, nullable=False),
    Column("role", String(64), nullable=False),
    Column("areas", Text, nullable=False, default=""),
    Column("subject", Text, nullable=False),
    Column("cases", Text, nullable=False, default="[]"),
    Column("reason", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("status", Integer, nullable=True),
)

MAX_PAGE = 1_000
"""The most records one read of the trail returns; the next page starts after the last id."""


@dataclass(frozen=True)
class AuditRecord:
    """One read (or refused attempt) as the trail keeps it."""

    at: datetime
    user: str
    role: str
    subject: str
    reason: str
    outcome: str
    cases: tuple[str, ...] = ()
    areas: str = ""
    """The reader's areas when the record was made (comma-separated, or `national`)."""
    status: int | None = None
    """The HTTP status the caller was answered with, where the read came over HTTP."""
    id: int | None = field(default=None, compare=False)


def record_read(
    connection: Connection,
    *,
    user: str,
    role: str,
    subject: str,
    reason: str,
    outcome: str,
    cases: Sequence[str] = (),
    areas: str = "",
    status: int | None = None,
) -> AuditRecord:
    """Append one record (inside the caller's transaction) and return it."""
    record = AuditRecord(
        datetime.now(UTC), user, role, subject, reason, outcome, tuple(cases), areas, status
    )
    connection.execute(
        insert(audit_table).values(
            at=record.at,
            user=user,
            role=role,
            areas=areas,
            subject=subject,
            cases=json.dumps(list(cases)),
            reason=reason,
            outcome=outcome,
            status=status,
        )
    )
    return record


def reads(
    connection: Connection,
    *,
    subject_prefix: str | None = None,
    case_id: str | None = None,
    user: str | None = None,
    after: int = 0,
    limit: int = MAX_PAGE,
    case_ids: Sequence[str] | None = None,
) -> list[AuditRecord]:
    """A page of the trail, oldest first, from the record after id `after`: optionally only
    the records about one subject (by prefix), naming one case (or any of `case_ids`: the ids
    of one person), or of one user."""
    query = (
        select(audit_table)
        .where(audit_table.c.id > after)
        .order_by(audit_table.c.id)
        .limit(min(limit, MAX_PAGE))
    )
    if subject_prefix is not None:
        query = query.where(audit_table.c.subject.startswith(subject_prefix, autoescape=True))
    if case_id is not None:
        case_ids = (case_id, *(case_ids or ()))
    if case_ids is not None:
        # `cases` is a JSON list of ids: an id in quotes matches it and nothing it is part of.
        query = query.where(
            or_(
                *(
                    audit_table.c.cases.contains(json.dumps(one), autoescape=True)
                    for one in case_ids
                )
            )
        )
    if user is not None:
        query = query.where(audit_table.c.user == user)
    return [
        AuditRecord(
            at=row.at,
            user=row.user,
            role=row.role,
            subject=row.subject,
            reason=row.reason,
            outcome=row.outcome,
            cases=tuple(json.loads(row.cases)),
            areas=row.areas,
            status=row.status,
            id=row.id,
        )
        for row in connection.execute(query)
    ]
