"""Rendering the annual report from the reporting store: every area's page and the national
one, as `mappa report --format html` renders each (tables, chart, earlier years), the store
loaded once; beside reading the store's rows with no processing.

    .venv/bin/python -m benchmarks.report --database URL [--namespace NS] [--year 2020]

Needs a reporting store (e.g. the one `benchmarks.national` or `mappa reporting rebuild` makes).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from sqlalchemy import MetaData, inspect, select

from mappa_bus.projection.database import open_engine
from mappa_bus.reporting.html_page import render_html
from mappa_bus.reporting.population import SHIPPED_POPULATIONS
from mappa_bus.reporting.queries import earlier_years, statistics_for
from mappa_bus.reporting.service import open_projection
from mappa_bus.simulator import ALL_AREAS
from mappa_bus.topics import NAMESPACE


@dataclass(frozen=True)
class ReportTimes:
    """Seconds to load the store and render every page; seconds to read its rows raw."""

    load_seconds: float
    render_seconds: float
    pages: int
    characters: int
    raw_read_seconds: float

    @property
    def seconds(self) -> float:
        return self.load_seconds + self.render_seconds


def read_rows(url: str) -> float:
    """The ceiling: seconds to fetch every row of the reporting tables, untouched."""
    engine = open_engine(url)
    try:
        started = time.perf_counter()
        names = [n for n in inspect(engine).get_table_names() if n.startswith("reporting_")]
        tables = MetaData()
        tables.reflect(engine, only=names)
        with engine.connect() as connection:
            for table in tables.sorted_tables:
                connection.execute(select(table)).fetchall()
        return time.perf_counter() - started
    finally:
        engine.dispose()


def measure(url: str, namespace: str = NAMESPACE, year: int = 2020) -> ReportTimes:
    """Load the store for reporting, then render the year's page of every area and the nation."""
    raw = read_rows(url)
    started = time.perf_counter()
    projection = open_projection(url, namespace, for_consuming=False)
    loaded = time.perf_counter()
    pages = characters = 0
    for area in [*ALL_AREAS, None]:
        statistics = statistics_for(projection.cases, area, year, SHIPPED_POPULATIONS)
        if statistics is None:
            continue
        earlier = earlier_years(projection.cases, area, year, SHIPPED_POPULATIONS)
        characters += len(render_html(statistics, earlier))
        pages += 1
    rendered = time.perf_counter()
    projection.engine.dispose()
    return ReportTimes(loaded - started, rendered - loaded, pages, characters, raw)


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
        f"reading the store's rows raw: {times.raw_read_seconds:.2f} s"
    )
