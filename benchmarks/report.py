"""Rendering the annual report from the reporting store: every area's page and the national
one, as `mappa report --format html` renders each (tables, chart, earlier years), the store
loaded once; beside reading the store's rows with no processing.

    .venv/bin/python -m benchmarks.report --database URL [--namespace NS] [--year 2020]

Needs a reporting store (e.g. the one `benchmarks.national` or `mappa reporting rebuild` makes).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from mappa_bus.catalogue import Area
from mappa_bus.projection.database import open_engine
from mappa_bus.reporting.count import count_year
from mappa_bus.reporting.facts import CaseFacts
from mappa_bus.reporting.html_page import render_html
from mappa_bus.reporting.national import national
from mappa_bus.reporting.population import SHIPPED_POPULATIONS
from mappa_bus.reporting.queries import EARLIER_YEARS, earlier_years, statistics_for
from mappa_bus.reporting.schema import case_facts_table
from mappa_bus.reporting.service import open_projection
from mappa_bus.reporting.tables import MappaStatistics
from mappa_bus.simulator.options import ALL_AREAS
from mappa_bus.topics import NAMESPACE


@dataclass(frozen=True)
class ReportTimes:
    """Seconds to load the store and render every page; seconds to read its rows raw."""

    load_seconds: float
    render_seconds: float
    pages: int
    characters: int
    raw_read_seconds: float
    one_page_seconds: float

    @property
    def seconds(self) -> float:
        return self.load_seconds + self.render_seconds


def read_rows(url: str) -> float:
    """The ceiling: seconds to fetch, untouched, every row of the table the report counts from
    (the cases' facts; the rest of the store is the fold's bookkeeping: applied ids,
    contributions, offsets)."""
    engine = open_engine(url)
    try:
        started = time.perf_counter()
        with engine.connect() as connection:
            connection.execute(select(case_facts_table)).fetchall()
        return time.perf_counter() - started
    finally:
        engine.dispose()


def measure(url: str, namespace: str = NAMESPACE, year: int = 2020) -> ReportTimes:
    """Load the store for reporting, then render the year's page of every area and the nation.

    `mappa report` renders one page a call and counts the whole year (and each earlier year)
    for it; rendering every page, each year is counted once and every page taken from it.
    One page as the command makes it is timed apart (`one_page_seconds`)."""
    raw = read_rows(url)
    started = time.perf_counter()
    projection = open_projection(url, namespace, for_consuming=False)
    # Read from the store at once, each time it is asked for: asked once here.
    cases = projection.cases
    loaded = time.perf_counter()
    years = range(year - EARLIER_YEARS, year + 1)
    counted = {y: count_year(cases, date(y, 4, 1), SHIPPED_POPULATIONS) for y in years}
    pages = characters = 0
    for area in [*ALL_AREAS, None]:
        found = [_statistics(counted[y], area) for y in years]
        if (statistics := found[-1]) is None:
            continue
        earlier = [item for item in found[:-1] if item is not None]
        characters += len(render_html(statistics, earlier))
        pages += 1
    rendered = time.perf_counter()
    one = _one_page(cases, year)
    projection.engine.dispose()
    return ReportTimes(loaded - started, rendered - loaded, pages, characters, raw, one)


def _statistics(counted: dict[Area, MappaStatistics], area: Area | None) -> MappaStatistics | None:
    """As `statistics_for`, from a year already counted."""
    if area is None:
        return national(counted.values(), SHIPPED_POPULATIONS) if counted else None
    return counted.get(area)


def _one_page(cases: Mapping[str, CaseFacts], year: int) -> float:
    """Seconds for the national page as `mappa report --format html` makes it (store loaded)."""
    started = time.perf_counter()
    statistics = statistics_for(cases, None, year, SHIPPED_POPULATIONS)
    if statistics is not None:
        render_html(statistics, earlier_years(cases, None, year, SHIPPED_POPULATIONS))
    return time.perf_counter() - started


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="SQLAlchemy URL of a reporting store")
    parser.add_argument("--namespace", default=NAMESPACE)
    parser.add_argument("--year", type=int, default=2020)
    arguments = parser.parse_args()
    times = measure(arguments.database, arguments.namespace, arguments.year)
    print(
        f"{times.pages} pages ({times.characters:,} characters) in {times.seconds:.2f} s "
        f"(load {times.load_seconds:.2f} s, render {times.render_seconds:.2f} s); "
        f"reading the store's rows raw: {times.raw_read_seconds:.2f} s; one page as "
        f"`mappa report` makes it: {times.one_page_seconds:.2f} s"
    )
