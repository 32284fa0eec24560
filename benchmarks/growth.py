"""Growth: each projection's rebuild as the history grows, at 1x, 2x and 4x (one area over 1, 2
and 4 consecutive years, people carried over: `mappa simulate --years`), each `mappa ...`
process timed with its peak RSS, beside raw aiokafka reading the same records in the same run.

    .venv/bin/python -m benchmarks.growth [--areas kent] [--years 1,2,4] [--services alerts]
        [--before ../other-checkout/.venv/bin/mappa] [--merges-a-year 100]

The case picture and reporting rebuild (`mappa picture rebuild`, `mappa reporting rebuild`),
and the alerts service catches up into a fresh store (`mappa alerts catch-up`, its rebuild: it
has no command of that name), each into SQLite and as its own process, measured as
`benchmarks.national` measures a rebuild. What issue 17 asks of them: memory that does not grow
with the history. Each history is published once into a namespace of its own (not timed).
`--before` names the `mappa` of another checkout (the code before a change, in its own virtual
environment): each service is then also run with it, on the same histories in the same run,
labelled "before". `--merges-a-year` adds the MAPPA unit's merges of duplicate case ids to
each history, so many a year (the simulator makes none): merges stay for good, so they pile up
with the years as the caseload does. Needs a running broker (deploy/kafka/kafka-local start).
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from operator import attrgetter
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks.common import (
    ChildRun,
    Stopwatch,
    as_the_bus_receives,
    delete_namespaces,
    machine,
    mappa_command,
    new_namespace,
    prepare_namespaces,
    run_measured,
)
from benchmarks.consume import raw_consume
from mappa_bus.adapters.publisher import publish_all
from mappa_bus.catalogue import Area, Envelope, EventData, ReportingYear, make_event
from mappa_bus.catalogue.merges import CasesMerged
from mappa_bus.cli_common import command_settings
from mappa_bus.settings import Settings
from mappa_bus.simulator.options import ALL_AREAS, Scenario, SimulationOptions
from mappa_bus.simulator.run import simulate

SERVICES = ("picture", "reporting", "alerts")
MiB = 2**20


@dataclass
class History:
    """A run of consecutive years on the bus: its namespace, how many people and events."""

    namespace: str
    years: int
    areas: int
    people: int = 0
    events: int = 0
    last_day: str = ""
    raw_seconds: float = 0.0
    rebuilds: dict[str, ChildRun] = field(default_factory=dict)

    @property
    def raw_rate(self) -> float:
        return self.events / self.raw_seconds

    def rate(self, service: str) -> float:
        return self.events / self.rebuilds[service].seconds

    def peak_mib(self, service: str) -> float:
        return self.rebuilds[service].peak_rss_bytes / MiB

    def per_cpu_second(self, service: str) -> float:
        """Events per second of the rebuild's own CPU time (start-up included): what it does
        on a machine others share, where its wall time is partly theirs."""
        return self.events / self.rebuilds[service].cpu_seconds


def options_for(areas: Sequence[Area], years: int) -> SimulationOptions:
    """Kent alone is its published 2020-21 to start with (the one-year benchmarks' workload);
    any other choice the areas' generic years."""
    scenario = Scenario.KENT_2020_21 if tuple(areas) == (Area.KENT,) else None
    return SimulationOptions(areas=tuple(areas), years=years, scenario=scenario)


def unit_merges(area: Area, count: int, first: date, last: date) -> list[Envelope[EventData]]:
    """`count` merges by `area`'s MAPPA unit, spread evenly from `first` to `last`, in time
    order: three merged ids into each kept one, ids that no other event names (so the
    statistics and pictures of the simulated people are those of the history without them)."""
    days = max(1, (last - first).days)
    merges: list[Envelope[EventData]] = []
    for n in range(count):
        day = first + timedelta(days=days * n // count)
        data = CasesMerged(merged_case_id=f"MERGED-{n:06}", merged_on=day, decision=f"MCU/{n}")
        at = datetime.combine(day, time(12), UTC)
        kept = f"KEPT-{n // 3:06}"
        merges.append(make_event(data, case_id=kept, area=area, time=at, system="simulator"))
    return merges


async def publish_history(
    settings: Settings, areas: Sequence[Area], years: int, *, merges_a_year: int = 0
) -> History:
    """Simulate `years` consecutive years of `areas` and publish them as each agency's own
    principal (as `mappa simulate --publish` does) into a fresh namespace, every area's events
    of a day handed over before any of the next day's (publish_all's `daily`); with
    `merges_a_year` of the first area's unit's merges among them (`unit_merges`)."""
    history = History(new_namespace(), years, len(areas))
    await prepare_namespaces(settings.connection(), [history.namespace])
    options = options_for(areas, years)
    start, end = ReportingYear(options.year).start, ReportingYear(options.year + years - 1).end
    history.last_day = end.isoformat()

    area_years = list(simulate(options))
    history.people = sum(len(area_year.people) for area_year in area_years)
    merges = unit_merges(areas[0], merges_a_year * years, start, end)
    summary = await publish_all(
        lambda agency: settings.connection_for_role(agency.value),
        heapq.merge(as_the_bus_receives(area_years, options.seed), merges, key=attrgetter("time")),
        namespace=history.namespace,
        system="simulator",
        # A real bus receives the events as they happen (a daily feed at most): its append
        # times, which a catch-up merges the partitions by, follow the history's days.
        daily=True,
    )
    history.events = sum(summary.by_agency.values())
    return history


def rebuild_arguments(service: str, history: History, url: str) -> list[str]:
    """`mappa`'s arguments for `service`'s rebuild of `history` into the store at `url`: for
    alerts, the catch-up into a fresh store, its review clock on the day after the history's
    last."""
    where = ["--namespace", history.namespace, "--database", url]
    if service == "alerts":
        today = (date.fromisoformat(history.last_day) + timedelta(days=1)).isoformat()
        return ["alerts", "catch-up", *where, "--today", today]
    return [service, "rebuild", *where]


def rebuild(service: str, history: History, url: str, mappa: str | None = None) -> ChildRun:
    """`service`'s rebuild of `history` into the store at `url` (`rebuild_arguments`), as its
    own process. `mappa`: another checkout's command instead of this one's."""
    arguments = rebuild_arguments(service, history, url)
    command = mappa_command(*arguments) if mappa is None else [mappa, *arguments]
    return run_measured(command)


async def measure(
    settings: Settings,
    areas: Sequence[Area],
    sizes: Sequence[int],
    folder: Path,
    services: Sequence[str] = SERVICES,
    before: str | None = None,
    merges_a_year: int = 0,
) -> list[History]:
    """Each history publishes once, then is read raw (after a warm-up read) and rebuilt by
    each of `services` into a fresh SQLite file (first by `before`'s `mappa`, when given);
    histories in turn, the smallest first."""
    histories: list[History] = []
    try:
        for years in sizes:
            history = await publish_history(settings, areas, years, merges_a_year=merges_a_year)
            histories.append(history)
            connection = settings.connection_for_role("picture")
            await raw_consume(connection, history.namespace, Stopwatch())  # warm-up
            watch = Stopwatch()
            await raw_consume(connection, history.namespace, watch)
            history.raw_seconds = watch.seconds
            for service in services:
                if before is not None:
                    url = f"sqlite:///{folder / f'{service}-{years}-before.db'}"
                    history.rebuilds[f"{service}{BEFORE}"] = rebuild(service, history, url, before)
                url = f"sqlite:///{folder / f'{service}-{years}.db'}"
                history.rebuilds[service] = rebuild(service, history, url)
    finally:
        await delete_namespaces(settings.connection(), [h.namespace for h in histories])
    return histories


# The suffix of a run by the `--before` checkout's command.
BEFORE = " (before)"


def label(service: str) -> str:
    kind = service.removesuffix(BEFORE)
    what = {"picture": "case picture rebuild", "reporting": "reporting rebuild"}.get(
        kind, "alerts catch-up into a fresh store"
    )
    return f"{what}{BEFORE}" if service.endswith(BEFORE) else what


def workload(history: History, first: History) -> str:
    """`4 years (4x): 5,301 people, 117,456 events`."""
    times = history.years / first.years
    return (
        f"{history.years} year{'s' if history.years > 1 else ''} ({times:g}x): "
        f"{history.people:,} people, {history.events:,} events"
    )


def print_histories(histories: Sequence[History], place: str) -> None:
    table = Table(title=f"Rebuilds as the history grows: {place}", caption=machine())
    columns = ("history", "what", "seconds", "events/s", "ratio to raw", "CPU s")
    for column in (*columns, "events per CPU s", "peak RSS MiB"):
        table.add_column(column)
    first = histories[0]
    services = list(first.rebuilds)
    for history in histories:
        table.add_row(
            workload(history, first),
            "raw aiokafka consume (ceiling)",
            f"{history.raw_seconds:.1f}",
            f"{history.raw_rate:,.0f}",
            "",
            "",
            "",
            "",
        )
        for service in services:
            table.add_row(
                "",
                f"mappa {service.removesuffix(BEFORE)}: {label(service)}, sqlite",
                f"{history.rebuilds[service].seconds:.1f}",
                f"{history.rate(service):,.0f}",
                f"{history.rate(service) / history.raw_rate:.3f}",
                f"{history.rebuilds[service].cpu_seconds:.1f}",
                f"{history.per_cpu_second(service):,.0f}",
                f"{history.peak_mib(service):,.0f}",
            )
    Console(width=160).print(table)
    for service in services:
        peaks = ", ".join(f"{h.peak_mib(service):,.0f}" for h in histories)
        growth = histories[-1].peak_mib(service) / first.peak_mib(service) - 1
        Console(width=160).print(
            f"{service}: peak RSS {peaks} MiB, {growth:+.0%} from {first.years} to "
            f"{histories[-1].years} years"
        )


def history_arguments(parser: argparse.ArgumentParser, years: str, services: Sequence[str]) -> None:
    """`--areas`, `--years` (`years` by default) and `--services` (all of `services` by default):
    which histories are measured, and which rebuilds of them."""
    parser.add_argument("--areas", default="kent", help="comma-separated slugs, or `all`")
    parser.add_argument("--years", default=years, help=f"history sizes in years ({years})")
    parser.add_argument(
        "--services", default=",".join(services), help=f"which rebuilds ({','.join(services)})"
    )


def areas_named(argument: str) -> list[Area]:
    """The areas an `--areas` argument names: comma-separated slugs, or `all`."""
    return list(ALL_AREAS) if argument == "all" else [Area(slug) for slug in argument.split(",")]


def place_of(areas: Sequence[Area]) -> str:
    if len(areas) == len(ALL_AREAS):
        return "England and Wales"
    return ", ".join(area.value for area in areas)


async def main(
    areas: Sequence[Area],
    sizes: Sequence[int],
    services: Sequence[str],
    before: str | None,
    merges_a_year: int,
) -> None:
    settings = command_settings()
    with tempfile.TemporaryDirectory() as folder:
        histories = await measure(
            settings, areas, sizes, Path(folder), services, before, merges_a_year
        )
    print_histories(histories, place_of(areas))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    history_arguments(parser, "1,2,4", SERVICES)
    parser.add_argument(
        "--before", default=None, help="another checkout's `mappa`, run beside this one's"
    )
    parser.add_argument(
        "--merges-a-year",
        type=int,
        default=0,
        help="the MAPPA unit's merges of duplicate case ids added to each history, a year",
    )
    arguments = parser.parse_args()
    chosen = areas_named(arguments.areas)
    sizes = [int(years) for years in arguments.years.split(",")]
    services = arguments.services.split(",")
    asyncio.run(main(chosen, sizes, services, arguments.before, arguments.merges_a_year))
