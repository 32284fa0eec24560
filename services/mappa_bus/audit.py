"""The audit trail of reads of case-level information: who, in what role, when, what, and why.

Append-only by construction: this module offers a way to add a record and ways to read them,
and nothing that changes or removes one (DPA 2018 s.62 logging for law-enforcement processing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Integer, String, Table, Text, insert, select
from sqlalchemy.engine import Connection

from mappa_bus.projection.offsets import metadata

audit_table = Table(
    "audit_reads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user", String(128), nullable=False),
    Column("role", String(64), nullable=False),
    Column("subject", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("outcome", String(16), nullable=False),
)


@dataclass(frozen=True)
class AuditRecord:
    """One read (or refused attempt) as the trail keeps it."""

    at: datetime
    user: str
    role: str
    subject: str
    reason: str
    outcome: str


def record_read(
    connection: Connection, *, user: str, role: str, subject: str, reason: str, outcome: str
) -> AuditRecord:
    """Append one record (inside the caller's transaction) and return it."""
    record = AuditRecord(datetime.now(UTC), user, role, subject, reason, outcome)
    connection.execute(insert(audit_table).values(**record.__dict__))
    return record


def reads(
    connection: Connection, *, subject_prefix: str | None = None, user: str | None = None
) -> list[AuditRecord]:
    """The trail, oldest first, optionally for one subject (by prefix) or one user."""
    query = select(audit_table).order_by(audit_table.c.id)
    if subject_prefix is not None:
        query = query.where(audit_table.c.subject.startswith(subject_prefix))
    if user is not None:
        query = query.where(audit_table.c.user == user)
    return [
        AuditRecord(row.at, row.user, row.role, row.subject, row.reason, row.outcome)
        for row in connection.execute(query)
    ]
