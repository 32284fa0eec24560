"""Publishing each closed reporting year's statistics as typed events on the statistics topic.

A year closes when its 31 March has passed. Once the consumer has caught up with the agency
topics, every closed year's figures (each area, and England and Wales) are published; a later
event that changes a closed year's figures (late sharing) publishes a new revision. What was
published, and its digest, is kept in the store, so a restart publishes nothing twice; should a
crash fall between publishing and recording, the same revision goes out again with the same
event id, which readers ignore.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from mappa_bus.catalogue import Area, ReportingYear
from mappa_bus.catalogue.bus_event import BusEvent, derived_id
from mappa_bus.catalogue.withdrawal import WithdrawalReason
from mappa_bus.projection.database import insert_missing, upsert
from mappa_bus.reporting.count import Figures, count_years
from mappa_bus.reporting.facts import CaseFacts
from mappa_bus.reporting.formats import render_json
from mappa_bus.reporting.national import national
from mappa_bus.reporting.schema import (
    published_table,
    revision_reasons_table,
    unpublished_table,
)
from mappa_bus.reporting.tables import MappaStatistics

NATIONAL = "england-and-wales"
_ID_NAMESPACE = uuid.UUID("0d6b2f4e-5a3c-4f8e-9b21-7c4e1a9d3f60")


class RevisionReason(StrEnum):
    """Why a revision's figures changed: an agency's withdrawal reason, or the MAPPA unit's
    merge or unmerge of two case ids (counted as one person since, or as two again)."""

    ENTERED_IN_ERROR = WithdrawalReason.ENTERED_IN_ERROR.value
    WRONG_CASE = WithdrawalReason.WRONG_CASE.value
    DUPLICATE = WithdrawalReason.DUPLICATE.value
    SUPERSEDED = WithdrawalReason.SUPERSEDED.value
    CASES_MERGED = "cases-merged"
    CASES_UNMERGED = "cases-unmerged"


class StatisticsPublished(BusEvent):
    """A CloudEvent carrying one area-year's (or England and Wales's) MAPPA statistics."""

    id: str = Field(
        description="Derived from subject, year and revision: a re-send is a duplicate."
    )
    source: Literal["/mappa/reporting/consumer"] = "/mappa/reporting/consumer"
    type: Literal["uk.gov.mappa.reporting.statistics-published.v1"] = (
        "uk.gov.mappa.reporting.statistics-published.v1"
    )
    time: AwareDatetime = Field(description="When this revision was published.")
    subject: str = Field(description="The area's slug, or `england-and-wales`.")
    mappahandling: Literal["OFFICIAL"] = "OFFICIAL"
    revision: int = Field(ge=1, description="1 at first publication; +1 for each correction.")
    revised_because: tuple[RevisionReason, ...] = Field(
        default=(),
        description="Why a revision's figures changed, when events counted before were since "
        "withdrawn by their agency (the withdrawals' reasons), or when the MAPPA unit merged two "
        "case ids or undid a merge (`cases-merged`, `cases-unmerged`); empty at first "
        "publication, and when late events alone changed them.",
    )
    data: MappaStatistics


# MAPPA began in April 2001 (Criminal Justice and Court Services Act 2000): no statistics year
# before it exists, however far back a case's history reaches.
FIRST_MAPPA_YEAR = 2001


def closed_years(
    cases: Mapping[str, CaseFacts], today: date, kept: Iterable[int] = ()
) -> list[int]:
    """The reporting years (by their 1 April) whose 31 March has passed, from the first to the
    last year in which anything happened (not before MAPPA began): a year with no events at all
    is a year the bus knows nothing of, not a year of unchanged figures. `kept`: the years
    erased cases contributed to, which count as years something happened in."""
    # From `time` itself: the same calendar date as `Fact.day`, without making one.
    years = {ReportingYear.holding(fact.time).opens for facts in cases.values() for fact in facts}
    return closed_years_of(years, today, kept)


def closed_years_of(years: Iterable[int], today: date, kept: Iterable[int] = ()) -> list[int]:
    """`closed_years` from the reporting years the facts are in (by their 1 April), however
    those were found (the consumer asks its store)."""
    years = {*years, *kept}
    last_closed = ReportingYear.last_closed(today).opens
    known = [year for year in years if FIRST_MAPPA_YEAR <= year <= last_closed]
    if not known:
        return []
    return list(range(min(known), max(known) + 1))


def due(
    people: Iterable[tuple[str, CaseFacts]],
    years: Iterable[int],
    populations: Mapping[Area, int],
    today: date,
    published: Mapping[tuple[str, date], str],
    *,
    since: int | None = None,
    kept: Mapping[int, Figures] | None = None,
) -> list[tuple[str, MappaStatistics, str]]:
    """Each closed year's statistics whose digest differs from what was last published, of
    `people` (each person's facts, merged groups as one: a stream from the store will do, read
    once) whose facts are in `years` (the reporting years, by their 1 April, as the store has
    them); with `since`, only the years from it on (the earlier ones are known to be
    unchanged). `kept`: what erased cases contributed to closed years, by year (added back)."""
    erased = kept or {}
    closed = closed_years_of(years, today, erased)
    wanted = [year for year in closed if since is None or year >= since]
    counted = count_years(people, wanted, populations, kept=erased)
    changed = []
    for by_area in counted.values():
        if not by_area:
            continue
        everyone = [*by_area.items(), (None, national(by_area.values(), populations))]
        for area, statistics in everyone:
            subject = area.value if area is not None else NATIONAL
            digest = hashlib.sha256(render_json(statistics).encode()).hexdigest()
            if published.get((subject, statistics.year_start)) != digest:
                changed.append((subject, statistics, digest))
    return changed


def mark_unpublished(connection: Connection, years: Iterable[int]) -> None:
    """Record years whose figures a batch changed (inside the consumer's transaction); years
    already recorded stay as they are (another member of the group may have recorded them)."""
    insert_missing(connection, unpublished_table, [{"year": year} for year in sorted(years)])


def mark_revised(connection: Connection, reasons: Iterable[tuple[int, str]]) -> None:
    """Record why years' figures changed: (year, withdrawal reason) pairs (inside the
    consumer's transaction), for the next revision to name."""
    rows = [{"year": year, "reason": reason} for year, reason in sorted(set(reasons))]
    insert_missing(connection, revision_reasons_table, rows)


def load_revised(connection: Connection) -> set[tuple[int, str]]:
    """Why years' figures changed since they were last published: (year, reason) pairs."""
    query = select(revision_reasons_table.c.year, revision_reasons_table.c.reason)
    return {(year, reason) for year, reason in connection.execute(query)}


def revised_because(revised: Iterable[tuple[int, str]], year: int) -> tuple[RevisionReason, ...]:
    """The reasons that changed `year`'s figures: those of withdrawals in it or before it (a
    fact changes its own year and, through the state it leaves, every later one)."""
    return tuple(sorted({RevisionReason(reason) for when, reason in revised if when <= year}))


def load_unpublished(connection: Connection) -> set[int]:
    """The years changed since their figures were last published."""
    return set(connection.scalars(select(unpublished_table.c.year)))


def clear_unpublished(connection: Connection, up_to: int | None = None) -> None:
    """Forget the changed years (up to `up_to`, once those are published; all, on a rebuild)."""
    for table in (unpublished_table, revision_reasons_table):
        statement = delete(table)
        if up_to is not None:
            statement = statement.where(table.c.year <= up_to)
        connection.execute(statement)


def load_published(connection: Connection) -> dict[tuple[str, date], tuple[str, int]]:
    """What was published: digest and revision per subject and year."""
    rows = connection.execute(select(published_table))
    return {(row.subject, row.year_start): (row.digest, row.revision) for row in rows}


def record_published(
    connection: Connection, subject: str, year_start: date, digest: str, revision: int
) -> None:
    """Remember a publication (inside the caller's transaction)."""
    upsert(
        connection,
        published_table,
        [{"subject": subject, "year_start": year_start, "digest": digest, "revision": revision}],
        keys=("subject", "year_start"),
    )


def statistics_event(
    subject: str,
    statistics: MappaStatistics,
    revision: int,
    because: tuple[RevisionReason, ...] = (),
) -> StatisticsPublished:
    """The event for one revision of one subject's year (`because`: why it was revised)."""
    return StatisticsPublished(
        id=derived_id(_ID_NAMESPACE, subject, statistics.year_start.isoformat(), str(revision)),
        time=datetime.now(UTC),
        subject=subject,
        revision=revision,
        revised_because=because if revision > 1 else (),
        data=statistics,
    )
