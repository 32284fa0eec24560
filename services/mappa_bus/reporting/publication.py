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
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Column, Date, Integer, String, Table, select
from sqlalchemy.engine import Connection

from mappa_bus.catalogue import Area
from mappa_bus.projection.database import upsert
from mappa_bus.projection.offsets import metadata
from mappa_bus.reporting.count import count_year
from mappa_bus.reporting.facts import CaseFacts
from mappa_bus.reporting.formats import render_json
from mappa_bus.reporting.national import national
from mappa_bus.reporting.tables import MappaStatistics

NATIONAL = "england-and-wales"
_ID_NAMESPACE = uuid.UUID("0d6b2f4e-5a3c-4f8e-9b21-7c4e1a9d3f60")

published_table = Table(
    "reporting_published",
    metadata,
    Column("subject", String(64), primary_key=True),
    Column("year_start", Date, primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("revision", Integer, nullable=False),
)


class StatisticsPublished(BaseModel):
    """A CloudEvent carrying one area-year's (or England and Wales's) MAPPA statistics."""

    model_config = ConfigDict(frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(
        description="Derived from subject, year and revision: a re-send is a duplicate."
    )
    source: Literal["/mappa/reporting/consumer"] = "/mappa/reporting/consumer"
    type: Literal["uk.gov.mappa.reporting.statistics-published.v1"] = (
        "uk.gov.mappa.reporting.statistics-published.v1"
    )
    time: datetime = Field(description="When this revision was published.")
    subject: str = Field(description="The area's slug, or `england-and-wales`.")
    datacontenttype: Literal["application/json"] = "application/json"
    mappahandling: Literal["OFFICIAL"] = "OFFICIAL"
    revision: int = Field(ge=1, description="1 at first publication; +1 for each correction.")
    data: MappaStatistics


# MAPPA began in April 2001 (Criminal Justice and Court Services Act 2000): no statistics year
# before it exists, however far back a case's history reaches.
FIRST_MAPPA_YEAR = 2001


def closed_years(cases: Mapping[str, CaseFacts], today: date) -> list[int]:
    """The reporting years (by their 1 April) whose 31 March has passed, from the first to the
    last year in which anything happened (not before MAPPA began): a year with no events at all
    is a year the bus knows nothing of, not a year of unchanged figures."""
    years = {_year_of(fact.day) for facts in cases.values() for fact in facts}
    last_closed = today.year - (2 if today.month < 4 else 1)
    known = [year for year in years if FIRST_MAPPA_YEAR <= year <= last_closed]
    if not known:
        return []
    return list(range(min(known), max(known) + 1))


def _year_of(day: date) -> int:
    return day.year - (1 if day.month < 4 else 0)


def due(
    cases: Mapping[str, CaseFacts],
    populations: Mapping[Area, int],
    today: date,
    published: Mapping[tuple[str, date], str],
) -> Iterator[tuple[str, MappaStatistics, str]]:
    """Each closed year's statistics whose digest differs from what was last published."""
    for year in closed_years(cases, today):
        counted = count_year(cases, date(year, 4, 1), populations)
        if not counted:
            continue
        everyone = [*counted.items(), (None, national(counted.values(), populations))]
        for area, statistics in everyone:
            subject = area.value if area is not None else NATIONAL
            digest = hashlib.sha256(render_json(statistics).encode()).hexdigest()
            if published.get((subject, statistics.year_start)) != digest:
                yield subject, statistics, digest


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
    subject: str, statistics: MappaStatistics, revision: int
) -> StatisticsPublished:
    """The event for one revision of one subject's year."""
    key = f"{subject}|{statistics.year_start.isoformat()}|{revision}"
    return StatisticsPublished(
        id=str(uuid.uuid5(_ID_NAMESPACE, key)),
        time=datetime.now(UTC),
        subject=subject,
        revision=revision,
        data=statistics,
    )
