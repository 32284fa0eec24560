"""The benchmark suite: every row of the issue against the real local broker, each figure
beside its ceiling measured in the same run, printed as one table and written into
docs/benchmarks.md (between the suite's markers) with the machine's description and the date.

    .venv/bin/python -m benchmarks.suite            # the full suite, about 30 minutes
    .venv/bin/python -m benchmarks.suite --quick    # a smoke run of a few minutes (no docs)

Needs a running broker (deploy/kafka/kafka-local start); PostgreSQL is deploy/postgres/pg-local
on port 55460, started if need be (or MAPPA_BENCH_POSTGRES_URL). Every topic the suite creates
is deleted at its end.

The ratio column is always the share of the ceiling's speed reached: events per second over
the ceiling's events per second, or the ceiling's seconds (or milliseconds) over the figure's.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from benchmarks import alerts_latency, consume, growth, national, publish, report, scale_out
from benchmarks.alerts_latency import percentile
from benchmarks.common import REPOSITORY, delete_namespaces, machine, postgres_url
from benchmarks.workload import write_feeds
from mappa_bus.catalogue import Area
from mappa_bus.cli_common import command_settings
from mappa_bus.simulator.options import ALL_AREAS

DOCS = REPOSITORY / "docs" / "benchmarks.md"
BEGIN = "<!-- benchmarks.suite: generated from here; edits below are overwritten -->"
END = "<!-- benchmarks.suite: generated up to here -->"
MiB = 2**20


@dataclass(frozen=True)
class Row:
    """One line of the suite's table."""

    what: str
    workload: str
    figure: str
    ceiling: str
    ratio: str


@dataclass(frozen=True)
class Plan:
    """How big a suite run is."""

    events: int
    runs: int
    areas: tuple[Area, ...]
    alert_rate: int
    alert_seconds: int
    growth_areas: tuple[Area, ...]
    """Whose history grows in the growth benchmark (an area: the nation's 4 years would take
    longer than the rest of the suite together)."""
    growth_years: tuple[int, ...]


FULL = Plan(
    events=200_000,
    runs=3,
    areas=ALL_AREAS,
    alert_rate=1000,
    alert_seconds=15,
    growth_areas=(Area.KENT,),
    growth_years=(1, 2, 4),
)
QUICK = Plan(
    events=20_000,
    runs=1,
    areas=(Area.KENT,),
    alert_rate=1000,
    alert_seconds=5,
    growth_areas=(Area.CUMBRIA,),
    growth_years=(1, 2),
)


# Issue 17's targets, each judged in the run that measures it.
CATCH_UP_FLOOR = {"sqlite": 50_000, "postgresql": 35_000}
"""Events a second a catch-up must reach on each store, in one process."""
CATCH_UP_SHARE_OF_RAW = 0.15
PUBLISH_FLOOR, PUBLISH_SHARE_OF_RAW = 50_000, 0.7
NATIONAL_SECONDS, NATIONAL_PEAK_MIB = 30, 512
GROWTH_ALLOWED = 0.10
"""How much a rebuild's peak RSS may grow from the smallest history to the largest."""
ALERT_TIMES_RAW_P99 = 2.0


def per_second(rate: float) -> str:
    return f"{rate:,.0f} events/s"


def share(figure: float, ceiling: float) -> str:
    return f"{figure / ceiling:.2f}"


@dataclass
class Results:
    """The suite's rows, and the targets of the issue, each met or not."""

    rows: list[Row]
    targets: list[tuple[str, str, bool]]


async def run(plan: Plan) -> Results:
    settings = command_settings()
    admin = settings.connection()
    postgres = postgres_url()
    rows: list[Row] = []
    targets: list[tuple[str, str, bool]] = []
    created: list[str] = []
    runs = f"median of {plan.runs}" if plan.runs > 1 else "1 run"
    try:
        # Alerts first, on a quiet broker: deleted topics' files go some time after the deletion
        # (and the earlier steps leave plenty), which would be measured as latency.
        step("alerts")
        latencies = await alerts_latency.measure(plan.alert_rate, plan.alert_seconds)
        created.append(latencies.namespace)
        raw_p50, raw_p99 = statistics.median(latencies.raw), percentile(latencies.raw, 0.99)
        p50, p99 = statistics.median(latencies.alerted), percentile(latencies.alerted, 0.99)
        alert_row = Row(
            "alerts: publish -> coordinator receives alert",
            f"{plan.alert_rate:,} events/s for {plan.alert_seconds} s "
            f"({len(latencies.alerted):,} alerts), p50 / p99",
            f"{p50:.1f} / {p99:.1f} ms",
            f"{raw_p50:.1f} / {raw_p99:.1f} ms (raw produce -> consume)",
            share(raw_p99, p99),
        )
        alert_target = (
            f"alert p99 <= {ALERT_TIMES_RAW_P99:g}x the raw produce -> consume p99",
            f"{p99:.1f} ms, {p99 / raw_p99:.1f}x {raw_p99:.1f} ms",
            p99 <= ALERT_TIMES_RAW_P99 * raw_p99,
        )

        with tempfile.TemporaryDirectory() as folder:
            # Publishing: a simulated year's first N events, every agency's feed.
            step("publish")
            feeds = write_feeds(Path(folder), plan.events)
            published = await publish.measure(admin, feeds, plan.runs)
            created += [
                *published.raw_namespaces,
                *published.sdk_namespaces,
                *published.feed_namespaces,
            ]
            workload = f"{plan.events:,} events, 10 agencies' JSONL feeds, {runs}"
            # Two raw ceilings: record by record, as the SDK sends, and in per-partition
            # batches, as the feed path sends; each path is held to the faster.
            raw = published.ceiling
            for what, rate in (
                ("publish: raw aiokafka produce, record by record", published.raw),
                ("publish: raw aiokafka produce, per-partition batches", published.raw_batched),
            ):
                rows.append(Row(what, workload, per_second(rate), "-", "-"))
            for what, rate in (
                ("publish: SDK (AgencyPublisher.send)", published.sdk),
                ("publish: feed (`mappa publish`: read, validate, send)", published.feed),
                ("publish: feed in one process (`--workers 0`)", published.feed_alone),
            ):
                rows.append(
                    Row(what, workload, per_second(rate), per_second(raw), share(rate, raw))
                )
            targets.append(
                (
                    f"publish >= {PUBLISH_FLOOR:,} events/s and >= {PUBLISH_SHARE_OF_RAW:g} of "
                    "raw (feed path)",
                    f"{published.feed:,.0f} events/s, {published.feed / raw:.2f}",
                    published.feed >= PUBLISH_FLOOR
                    and published.feed >= PUBLISH_SHARE_OF_RAW * raw,
                )
            )

            # Consuming those events: raw, and both projections into fresh stores.
            step("consume")
            consumed = await consume.measure(
                settings, published.feed_namespaces[0], plan.runs, postgres
            )
            raw = consumed.pop("raw")
            workload = f"those {plan.events:,} events (60 partitions) to fresh stores, {runs}"
            rows.append(Row("consume: raw aiokafka consume", workload, per_second(raw), "-", "-"))
            for name, rate in consumed.items():
                service, store = name.split()
                what = f"{'case picture' if service == 'picture' else 'reporting'}: catch-up"
                rows.append(
                    Row(
                        f"{what}, {store}",
                        workload,
                        per_second(rate),
                        per_second(raw),
                        share(rate, raw),
                    )
                )
                floor = CATCH_UP_FLOOR[store]
                targets.append(
                    (
                        f"{service} consume ({store}) >= {floor:,} events/s and >= "
                        f"{CATCH_UP_SHARE_OF_RAW:g} of raw",
                        f"{rate:,.0f} events/s, {rate / raw:.2f}",
                        rate >= floor and rate >= CATCH_UP_SHARE_OF_RAW * raw,
                    )
                )

            # Scale-out: the picture service as two members of its group against one.
            step("scale-out")
            scaled = await scale_out.measure(
                settings, published.sdk_namespaces[0], published.feed_namespaces[0]
            )
            workload = (
                f"{plan.events:,} events, `mappa picture run` x2 vs x1, "
                f"one shared {scaled.store} store each, 1 run"
            )
            rows.append(
                Row(
                    "case picture: scale-out, 2 instances (1 group)",
                    workload,
                    f"{scaled.double:,.0f} events/s",
                    f"{scaled.single:,.0f} events/s (1 instance)",
                    f"{scaled.double / scaled.single:.2f}",
                )
            )
            gc.collect()

            # National replay: both rebuilds as their own processes, time and peak RSS.
            step("national replay (simulating and publishing the year)")
            year = await national.publish_year(settings, plan.areas)
            created.append(year.namespace)
            step("national replay (rebuilding)")
            # SQLite only: the consuming rows above compare the stores; PostgreSQL here would
            # add minutes to the suite for little more.
            replays = await national.measure(settings, year, Path(folder), None)
            people = "national" if len(plan.areas) == len(ALL_AREAS) else f"{len(plan.areas)} area"
            workload = (
                f"{people} year: {year.people:,} people, {year.events:,} events, "
                "`mappa ... rebuild` process, 1 run"
            )
            raw_seconds = replays.raw_seconds
            rows.append(
                Row(
                    "national replay: raw aiokafka consume",
                    workload,
                    f"{raw_seconds:.1f} s",
                    "-",
                    "-",
                )
            )
            for name, child in replays.rebuilds.items():
                service, store = name.split()
                label = "case picture" if service == "picture" else "reporting"
                peak = child.peak_rss_bytes / MiB
                rows.append(
                    Row(
                        f"national replay: {label} rebuild, {store}",
                        workload,
                        f"{child.seconds:.1f} s, peak RSS {peak:,.0f} MiB",
                        f"{raw_seconds:.1f} s",
                        share(raw_seconds, child.seconds),
                    )
                )
                targets.append(
                    (
                        f"national {service} rebuild ({store}) <= {NATIONAL_SECONDS} s and <= "
                        f"{NATIONAL_PEAK_MIB} MiB RSS",
                        f"{child.seconds:.1f} s, {peak:,.0f} MiB",
                        child.seconds <= NATIONAL_SECONDS and peak <= NATIONAL_PEAK_MIB,
                    )
                )

            # The report: every area's page and the national one, from that reporting store.
            step("report")
            times = report.measure(f"sqlite:///{Path(folder) / 'reporting.db'}", year.namespace)
            rows.append(
                Row(
                    "report: all areas + national (HTML pages)",
                    f"{times.pages} pages of 2020-21 from the SQLite reporting store above, "
                    "store loaded once, 1 run",
                    f"{times.seconds:.1f} s (load {times.load_seconds:.1f} s); one page as "
                    f"`mappa report` counts it: {times.one_page_seconds:.1f} s",
                    f"{times.raw_read_seconds:.1f} s (the store's rows, read raw)",
                    share(times.raw_read_seconds, times.seconds),
                )
            )
            step("growth (publishing each history, then rebuilding)")
            grown = await growth.measure(
                settings, plan.growth_areas, plan.growth_years, Path(folder)
            )
            growth_rows, growth_targets = growth_figures(grown, growth.place_of(plan.growth_areas))
            rows += growth_rows
            targets += growth_targets
        rows.append(alert_row)  # measured first, shown in the order
        targets.append(alert_target)
    finally:
        if created:
            step(f"deleting the {len(created)} namespaces' topics")
            await delete_namespaces(admin, created)
    return Results(rows, targets)


def growth_figures(
    histories: list[growth.History], place: str
) -> tuple[list[Row], list[tuple[str, str, bool]]]:
    """The growth benchmark's rows (raw and every rebuild, each history in turn) and its
    target: each rebuild's peak RSS flat (within 10%) from the smallest history to the
    largest."""
    rows: list[Row] = []
    first, last = histories[0], histories[-1]
    for history in histories:
        workload = f"{place}, {growth.workload(history, first)}, `mappa ...` process, 1 run"
        raw = f"{history.raw_seconds:.1f} s ({history.raw_rate:,.0f} events/s)"
        rows.append(Row("growth: raw aiokafka consume", workload, raw, "-", "-"))
        for service in growth.SERVICES:
            child = history.rebuilds[service]
            rows.append(
                Row(
                    f"growth: {growth.label(service)}, sqlite",
                    workload,
                    f"{child.seconds:.1f} s ({history.rate(service):,.0f} events/s, "
                    f"{history.per_cpu_second(service):,.0f} per CPU s), "
                    f"peak RSS {history.peak_mib(service):,.0f} MiB",
                    raw,
                    share(history.rate(service), history.raw_rate),
                )
            )
    targets = []
    for service in growth.SERVICES:
        peaks = [history.peak_mib(service) for history in histories]
        rise = peaks[-1] / peaks[0] - 1
        targets.append(
            (
                f"{service} rebuild's peak RSS at {last.years / first.years:g}x the history "
                f"within {GROWTH_ALLOWED:.0%} of 1x ({place})",
                f"{', '.join(f'{peak:,.0f}' for peak in peaks)} MiB, {rise:+.0%}",
                rise <= GROWTH_ALLOWED,
            )
        )
    return rows, targets


def step(name: str) -> None:
    Console(stderr=True).print(f"[bold]{datetime.now(UTC):%H:%M:%S}[/] {name}")


def print_results(results: Results, title: str) -> None:
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    table = Table(title=title, caption=machine())
    for column in ("what", "workload", "figure", "ceiling (raw, same run)", "ratio"):
        table.add_column(column)
    for row in results.rows:
        table.add_row(row.what, row.workload, row.figure, row.ceiling, row.ratio)
    console.print(table)
    for target, measured, met in results.targets:
        console.print(f"{'met' if met else 'NOT met'}: {target} ({measured})")


def markdown(results: Results, minutes: float) -> str:
    """The generated section of docs/benchmarks.md."""
    lines = [
        BEGIN,
        "",
        "## The suite (`python -m benchmarks.suite`)",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; {broker()}. "
        f"The whole suite took {minutes:.1f} minutes. The ratio is the share of the ceiling's "
        "speed reached (events/s over the ceiling's, or the ceiling's time over the figure's).",
        "",
        "| what | workload | figure | ceiling (raw, same run) | ratio |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r.what} | {r.workload} | {r.figure} | {r.ceiling} | {r.ratio} |" for r in results.rows
    ]
    lines += ["", "Targets of the issue:", ""]
    lines += [
        f"- {'met' if met else '**not met**'}: {target} ({measured})"
        for target, measured, met in results.targets
    ]
    lines += ["", END]
    return "\n".join(lines)


def write_docs(section: str, path: Path = DOCS) -> None:
    """Replace the generated section of `path` (or put it after the introduction, before the
    first `## ` heading), keeping the hand-written notes."""
    text = path.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        after = rest.split(END, 1)[1]
        text = before + section + after
    else:
        heading = text.find("\n## ")
        at = len(text) if heading < 0 else heading + 1
        text = text[:at] + section + "\n\n" + text[at:]
    path.write_text(text, encoding="utf-8")


def broker() -> str:
    """The running local broker, as its process's command line tells (version and heap)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "kafka.Kafka" in words:
            command = " ".join(words)
            version = re.search(r"/kafka/([0-9][^/]*)/lib", command)
            heap = re.search(r"-Xmx(\S+)", command)
            return (
                f"Kafka {version.group(1) if version else '(version unknown)'} "
                f"(deploy/kafka/kafka-local, one node, SASL/SCRAM and ACLs, "
                f"{heap.group(1) if heap else 'default'} heap) on the same machine"
            )
    return "a Kafka broker not running on this machine"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller smoke run")
    parser.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write docs/benchmarks.md (default: for the full suite only)",
    )
    arguments = parser.parse_args()
    plan = QUICK if arguments.quick else FULL
    started = time.perf_counter()
    results = asyncio.run(run(plan))
    minutes = (time.perf_counter() - started) / 60
    kind = "quick suite" if arguments.quick else "suite"
    print_results(results, f"MAPPA Bus benchmark {kind}: {minutes:.1f} minutes")
    if arguments.docs if arguments.docs is not None else not arguments.quick:
        write_docs(markdown(results, minutes))
        Console().print(f"written to {DOCS.relative_to(REPOSITORY)}")


if __name__ == "__main__":
    main()
