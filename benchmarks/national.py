"""National replay: rebuild the stores from a simulated year of England and Wales (42 areas,
every event of about 90,000 people's year), as `mappa picture rebuild` and `mappa reporting
rebuild` do it, each its own process, timed and its peak RSS read; beside raw aiokafka reading
the same records.

    .venv/bin/python -m benchmarks.national [--areas kent,...]

Publishes the year once into a namespace of its own (not timed). Needs a running broker
(deploy/kafka/kafka-local start); PostgreSQL as in `benchmarks.consume`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.common import (
    ChildRun,
    Stopwatch,
    as_the_bus_receives,
    delete_namespaces,
    fresh_database,
    machine,
    mappa_command,
    new_namespace,
    postgres_url,
    prepare_namespaces,
    run_measured,
)
from benchmarks.consume import raw_consume
from mappa_bus.adapters.publisher import publish_all
from mappa_bus.catalogue import Area
from mappa_bus.cli_common import command_settings
from mappa_bus.settings import Settings
from mappa_bus.simulator.options import ALL_AREAS, SimulationOptions
from mappa_bus.simulator.run import simulate


@dataclass
class NationalYear:
    """A simulated year on the bus: its namespace, how many people and events."""

    namespace: str
    areas: int
    people: int = 0
    events: int = 0


async def publish_year(settings: Settings, areas: Sequence[Area]) -> NationalYear:
    """Simulate `areas`' 2020-21 and publish it as each agency's own principal (as `mappa
    simulate --publish` does) into a fresh namespace, in the order the bus would receive it."""
    year = NationalYear(new_namespace(), len(areas))
    await prepare_namespaces(settings.connection(), [year.namespace])
    options = SimulationOptions(areas=tuple(areas))

    area_years = list(simulate(options))
    year.people = sum(len(area_year.people) for area_year in area_years)
    summary = await publish_all(
        lambda agency: settings.connection_for_role(agency.value),
        as_the_bus_receives(area_years, options.seed),
        namespace=year.namespace,
        system="simulator",
        # As every area's feed would deliver it, day by day: benchmarks.common.
        daily=True,
    )
    year.events = sum(summary.by_agency.values())
    return year


@dataclass
class Replays:
    """Seconds of raw aiokafka reading the year, and each rebuild (`picture sqlite`, ...)."""

    raw_seconds: float
    rebuilds: dict[str, ChildRun] = field(default_factory=dict)


def rebuild(service: str, namespace: str, url: str) -> ChildRun:
    """`mappa <service> rebuild` into the store at `url`, as its own process."""
    return run_measured(
        mappa_command(service, "rebuild", "--namespace", namespace, "--database", url)
    )


async def measure(
    settings: Settings, year: NationalYear, folder: Path, postgres: str | None
) -> Replays:
    """Replay the year: raw, then each service into SQLite (left in `folder`, as
    `picture.db` and `reporting.db`, for the report benchmark) and PostgreSQL."""
    watch = Stopwatch()
    connection = settings.connection_for_role("picture")
    await raw_consume(connection, year.namespace, Stopwatch())  # warm-up: the page cache
    await raw_consume(connection, year.namespace, watch)
    replays = Replays(watch.seconds)
    for service in ("picture", "reporting"):
        url = f"sqlite:///{folder / service}.db"
        replays.rebuilds[f"{service} sqlite"] = rebuild(service, year.namespace, url)
        if postgres is not None:
            with fresh_database(postgres) as url:
                replays.rebuilds[f"{service} postgresql"] = rebuild(service, year.namespace, url)
    return replays


async def main(areas: Sequence[Area]) -> None:
    settings = command_settings()
    year = await publish_year(settings, areas)
    try:
        with tempfile.TemporaryDirectory() as folder:
            replays = await measure(settings, year, Path(folder), postgres_url())
    finally:
        await delete_namespaces(settings.connection(), [year.namespace])
    table = Table(
        title=f"Replaying {year.areas} areas' year: {year.people:,} people, {year.events:,} events",
        caption=machine(),
    )
    for column in ("what", "seconds", "events/s", "peak RSS MiB"):
        table.add_column(column)
    table.add_row(
        "raw aiokafka consume (ceiling)",
        f"{replays.raw_seconds:.1f}",
        f"{year.events / replays.raw_seconds:,.0f}",
        "",
    )
    for name, run in replays.rebuilds.items():
        table.add_row(
            f"mappa {name.replace(' ', ' rebuild, ')}",
            f"{run.seconds:.1f}",
            f"{year.events / run.seconds:,.0f}",
            f"{run.peak_rss_bytes / 2**20:,.0f}",
        )
    Console().print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", help="comma-separated area slugs (default: all 42)")
    arguments = parser.parse_args()
    chosen = [Area(slug) for slug in arguments.areas.split(",")] if arguments.areas else ALL_AREAS
    asyncio.run(main(chosen))
