"""Every table the reporting consumer keeps, and their creation: each case's facts, the
partnership tallies, the plan actions' steps, what it published and which years changed since,
beside the shared offsets and seen ids and the audit trail of figure openings."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Date, Engine, Integer, String, Table, Text

from mappa_bus.audit import audit_table
from mappa_bus.projection.database import create_tables
from mappa_bus.projection.erasures import erasures_table
from mappa_bus.projection.merges import merges_table
from mappa_bus.projection.offsets import metadata, offsets_table
from mappa_bus.projection.seen import (
    applied_before_table,
    applied_table,
    seen_batches_table,
    seen_table,
)

# Each case's facts, one row a fact keyed by case first: a batch reads the facts of the cases
# it touches in one query by case id (issue 17: state in the store, not in memory), a
# withdrawal deletes its fact's row, an erasure its case's. `year`: the reporting year the fact
# is in (by its 1 April), for the closed years an erasure keeps without reading every fact.
# The fact itself: [time, kind, area, value].
case_facts_table = Table(
    "reporting_case_facts",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("event_id", String(128), primary_key=True),
    Column("year", Integer, nullable=False),
    Column("fact", Text, nullable=False),
    sqlite_with_rowid=False,
)

# How stores written before kept the facts: a row a case (`reporting_cases`), or a row a batch
# (`reporting_facts`). Read once on load into `reporting_case_facts`, then emptied.
cases_table = Table(
    "reporting_cases",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("facts", Text, nullable=False),
)

facts_table = Table(
    "reporting_facts",
    metadata,
    Column("batch", Integer, primary_key=True, autoincrement=True),
    # [[case_id, time, event_id, kind, area, value], ...]
    Column("facts", Text, nullable=False),
)

published_table = Table(
    "reporting_published",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("year_start", Date, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
)

# The reporting years (by the calendar year of their 1 April) in which a fact was applied since
# their figures were last published, written in the consumer's own transaction. Publication
# recounts only from the earliest of them (a fact changes its own year and, through the state it
# leaves, every later one), so an idle restart counts nothing and a live consumer recounts a
# closed year only when a late event reaches back into it.
unpublished_table = Table(
    "reporting_unpublished",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
)

# Events their agency withdrew: their facts are left out of every count (docs/statistics.md,
# "Withdrawn events"). The facts themselves stay in `reporting_facts`, which is only appended to.
withdrawn_table = Table(
    "reporting_withdrawn",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("case_id", String(64), nullable=False),
    Column("reason", String(32), nullable=False),
)

# Why figures changed since they were last published, by the reporting year a withdrawn fact
# was in: the next revision of that year's statistics (and later years') names these reasons.
revision_reasons_table = Table(
    "reporting_revision_reasons",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("reason", String(32), primary_key=True),
)


def _contribution_columns() -> list[Column[Any]]:
    """A kept contribution's columns beside its key."""
    return [
        Column("case_id", String(64), nullable=False),
        # The partition whose counts hold it (`reporting_partnership.partition`).
        Column("partition", Integer, nullable=False),
        Column("area", String(64), nullable=False),
        Column("year_start", Date, nullable=False),
        Column("agency", String(64), nullable=False),
        Column("delay_bucket", Integer, nullable=False),
        Column("meeting_held", Boolean, nullable=False),
        # For a meeting, the agencies present, comma-separated (agency names hold no comma).
        Column("present", Text, nullable=False),
    ]


partnership_table = Table(
    "reporting_partnership",
    metadata,
    # The number of the agency topics' partition the events came from (the same on every
    # topic: a member of the group holds a partition number on all of them).
    Column("partition", Integer, primary_key=True),
    Column("area", String(64), primary_key=True),
    Column("year_start", Date, primary_key=True),
    Column("agency", String(64), primary_key=True),
    # [[bucket, number], ...] by bucket: see mappa_bus.reporting.partnership for the buckets.
    Column("delays", Text, nullable=False),
    Column("meetings_held", Integer, nullable=False),
    Column("meetings_attended", Integer, nullable=False),
)

# What each shared event added to the partnership counts (`partnership.Contribution`), kept
# until its agency withdraws it (the row is deleted as its contribution is subtracted, in the
# same transaction) or its case is erased (deleted; the counts keep it, docs/retention.md).
# Case data: an event id and case id beside the event's area, year, agency, delay bucket and
# meeting attendance.
#
# A row a shared event, written in every batch, filed under the event's time and id: the log
# is read in about the order of time, so a batch's rows go near the end of the key, together,
# where under the id alone each went to a random page of a tree as large as the history
# (issue 17; docs/benchmarks.md, 2026-12-06). Read only for the events withdrawals name, whose
# time the applied ids keep (`projection_applied_events`): a probe of the key each. SQLite keeps
# it in its primary key's tree alone, not in a second tree by rowid. No index by case: only an
# erasure looks a case up, and scans; one cost a fifth more on every write (Kent's year folded
# with and without, docs/benchmarks.md).
partnership_contributions_table = Table(
    "reporting_contributions",
    metadata,
    # `projection.seen.time_key` of the event's time (UNKNOWN_TIME for rows kept before).
    Column("time", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", String(128), primary_key=True),
    *_contribution_columns(),
    sqlite_with_rowid=False,
)

# How stores written before kept the contributions: by event id alone. Read once on load into
# `reporting_contributions` (partnership_store.upgrade_contributions), then emptied.
contributions_before_table = Table(
    "reporting_partnership_contributions",
    metadata,
    Column("event_id", String(128), primary_key=True),
    *_contribution_columns(),
    sqlite_with_rowid=False,
)


# How stores written before kept the plan steps: one row a batch, the batch's steps as
# [[case_id, action_id, time, event_id, kind, publisher, area, on, owner, due_on, reason], ...].
# Read once on load into `reporting_action_steps`, then emptied (plan_store.upgrade_plan_steps).
plan_steps_table = Table(
    "reporting_plan_steps",
    metadata,
    Column("batch", Integer, primary_key=True, autoincrement=True),
    Column("steps", Text, nullable=False),
)

# The plan events' steps (see mappa_bus.reporting.plan_actions), one row a step keyed by case
# first: a batch reads the steps of the cases it touches in one query by case id (issue 17),
# a withdrawal deletes its step's row, an erasure its case's. The figures are folded from the
# steps when read. The step itself: [time, kind, publisher, area, on, owner, due_on, reason].
action_steps_table = Table(
    "reporting_action_steps",
    metadata,
    Column("case_id", String(64), primary_key=True),
    Column("action_id", String(128), primary_key=True),
    Column("event_id", String(128), primary_key=True),
    Column("step", Text, nullable=False),
    sqlite_with_rowid=False,
)


# What erased cases contributed to closed years' figures (docs/retention.md): per reporting
# year, area and published cell, how many; no case id. Kept through a rebuild (the cases'
# events are no longer folded), and added back whenever a closed year is counted, so that
# figures published before an erasure stay as they were.
erased_counts_table = Table(
    "reporting_erased_counts",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("area", String(64), primary_key=True),
    Column("table_name", String(16), primary_key=True),
    Column("row_name", String(128), primary_key=True),
    Column("column_name", String(32), primary_key=True),
    Column("figure", Integer, nullable=False),
)


def create_schema(engine: Engine) -> None:
    """Create the projection's tables where they are missing: its cases, offsets and seen ids,
    the partnership indicators and plan steps, what it published, and the audit trail of
    figure openings."""
    tables = [
        case_facts_table,
        cases_table,
        facts_table,
        offsets_table,
        seen_table,
        applied_table,
        applied_before_table,
        partnership_table,
        partnership_contributions_table,
        contributions_before_table,
        plan_steps_table,
        action_steps_table,
        published_table,
        unpublished_table,
        withdrawn_table,
        revision_reasons_table,
        seen_batches_table,
        merges_table,
        erasures_table,
        erased_counts_table,
        audit_table,
    ]
    create_tables(engine, metadata, tables)
