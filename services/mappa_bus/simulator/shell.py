"""What `mappa simulate` does (its options are in `cli`): a seeded area-year of agency events,
to files or onto the bus, with the statistics and plan figures it intended."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mappa_bus.adapters.publisher import publish_all
from mappa_bus.agencies import SHARING_AGENCIES, Agency
from mappa_bus.catalogue import ReportingYear
from mappa_bus.catalogue.areas import AREA_NAMES, Area
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.envelope import Envelope
from mappa_bus.cli_common import command_settings, keyring_or_exit
from mappa_bus.kafka_admin import AuthorizerDisabledError, ensure_acls, ensure_topics
from mappa_bus.principals import acl_bindings
from mappa_bus.reporting.plan_figures import ActionFacts, figures_from_actions
from mappa_bus.reporting.tables import MappaStatistics
from mappa_bus.simulator.files import write_events, write_plan_truth, write_truth
from mappa_bus.simulator.options import SimulationOptions
from mappa_bus.simulator.plan_truth import plan_figures
from mappa_bus.simulator.run import events, new_action_facts, simulate
from mappa_bus.simulator.truth import Key, statistics, tally
from mappa_bus.topics import bus_topic_specs

console = Console()


@dataclass
class RunTally:
    """What a run produced so far: people, events per agency, each year's truth counts and the
    facts of the plan actions it intended."""

    people: int = 0
    by_agency: Counter[Agency] = field(default_factory=Counter)
    truth: dict[ReportingYear, Counter[Key]] = field(default_factory=dict)
    plan_facts: list[ActionFacts] = field(default_factory=list)


def simulate_and_report(
    options: SimulationOptions, area: Area | None, out: Path | None, namespace: str
) -> None:
    """Simulate `options`' run into `out`, or else onto the bus into `namespace`'s topics, and
    print what it made and intended (for `area`, or England and Wales)."""
    started, run = time.perf_counter(), RunTally()
    with _progress() as progress:
        streams = _area_streams(options, run, progress)
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            run.by_agency = write_events(out, streams)
        else:
            _publish((event for stream in streams for event in stream), run, namespace)
    truths = {
        reporting: statistics(counts, reporting, options.populations)
        for reporting, counts in run.truth.items()
    }
    first = ReportingYear(options.year)
    if out is not None:
        write_truth(out, truths[first])
        if options.years > 1:
            for reporting, truth in truths.items():
                write_truth(out, truth, reporting)
        write_plan_truth(out, plan_figures(run.plan_facts))
    _summary(run, truths, area, time.perf_counter() - started)
    for reporting in truths:
        console.print(_plans(run.plan_facts, area, reporting))
    console.print(f"written to {out}" if out is not None else "published onto the bus")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("areas"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _area_streams(
    options: SimulationOptions, run: RunTally, progress: Progress
) -> Iterator[Iterator[Envelope[EventData]]]:
    """Each area-year's events in time order, tallying people and truth as they are made."""
    task = progress.add_task("planning", total=len(options.areas) * options.years)
    for area_year in simulate(options):
        progress.update(task, description=f"{AREA_NAMES[area_year.area]} {area_year.year.label}")
        run.people += len(area_year.people)
        counts = run.truth.setdefault(area_year.year, Counter())
        counts.update(tally(area_year.everyone, area_year.year))
        run.plan_facts += new_action_facts(area_year)
        yield events(area_year, options.seed)
        progress.advance(task)


def _publish(stream: Iterator[Envelope[EventData]], run: RunTally, namespace: str) -> None:
    """Publish as each agency's own principal, into `namespace`'s topics (set up as admin)."""
    settings = command_settings()
    admin = settings.connection()
    asyncio.run(ensure_topics(admin, bus_topic_specs(namespace)))
    with contextlib.suppress(AuthorizerDisabledError):
        asyncio.run(ensure_acls(admin, acl_bindings(namespace)))
    summary = asyncio.run(
        publish_all(
            lambda agency: settings.connection_for_role(agency.value),
            stream,
            namespace=namespace,
            system="simulator",
            # Every area's key of every agency: the simulator publishes all of them.
            keyring=keyring_or_exit(settings.signing_keyring),
        )
    )
    run.by_agency = Counter(summary.by_agency)


def _summary(
    run: RunTally,
    truths: Mapping[ReportingYear, Mapping[Area, MappaStatistics]],
    area: Area | None,
    seconds: float,
) -> None:
    agencies = Table(title=f"{run.people:,} people, {sum(run.by_agency.values()):,} events")
    agencies.add_column("agency")
    agencies.add_column("events", justify="right")
    for agency in SHARING_AGENCIES:
        agencies.add_row(agency.value, f"{run.by_agency[agency]:,}")
    console.print(agencies)
    for reporting, truth in truths.items():
        console.print(_table_1(truth, area, reporting))
    console.print(f"{seconds:.1f} s")


def _table_1(
    truth: Mapping[Area, MappaStatistics], area: Area | None, year: ReportingYear
) -> Table:
    """The truth's table 1 for `area`, or summed over England and Wales."""
    chosen = [truth[area]] if area is not None and area in truth else list(truth.values())
    place = AREA_NAMES[area] if area is not None else "England and Wales"
    table = Table(title=f"Intended: MAPPA-eligible offenders on 31 March {year.end.year}, {place}")
    for column in ("", "Category 1", "Category 2", "Category 3", "Total"):
        table.add_column(column, justify="right")
    grid = {
        level: {cat: sum(s.eligible_on_31_march[level][cat] for s in chosen) for cat in (1, 2, 3)}
        for level in (1, 2, 3)
    }
    for level, row in grid.items():
        cells = ["-" if (level, cat) == (1, 3) else f"{n:,}" for cat, n in row.items()]
        table.add_row(f"Level {level}", *cells, f"{sum(row.values()):,}")
    totals = [sum(grid[level][cat] for level in grid) for cat in (1, 2, 3)]
    table.add_row("Total", *(f"{n:,}" for n in totals), f"{sum(totals):,}")
    return table


def _plans(facts: list[ActionFacts], area: Area | None, year: ReportingYear) -> Table:
    """The intended plan figures of the year's actions, for `area` or England and Wales."""
    figures = figures_from_actions(facts, area, year.start)
    place = AREA_NAMES[area] if area is not None else "England and Wales"
    table = Table(
        title=f"Intended: plan actions agreed in {year.start.year}-{year.end:%y}, {place}"
    )
    table.add_column("agency", no_wrap=True)
    for column in ("owned", "on time", "late", "median days late", "closed", "open", "re-dated"):
        table.add_column(column, justify="right")
    for row in figures.agencies:
        median = "-" if row.median_days_late is None else f"{row.median_days_late:g}"
        counts = (row.owned, row.completed_on_time, row.completed_late)
        closed = sum(row.closed_not_completed.values())
        table.add_row(
            row.agency.value,
            *(f"{n:,}" for n in counts),
            median,
            f"{closed:,}",
            f"{row.open:,}",
            f"{row.redated:,}",
        )
    return table
