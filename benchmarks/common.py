"""What every benchmark shares: the machine's description, medians, the printed tables, fresh
namespaces and PostgreSQL databases, and child processes measured for time and peak memory."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from mappa_bus.catalogue import Envelope, EventData
from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_admin import ensure_acls, ensure_topics
from mappa_bus.principals import acl_bindings
from mappa_bus.simulator.run import AreaYear, events
from mappa_bus.topics import TopicSpec, bus_topic_specs

REPOSITORY = Path(__file__).resolve().parent.parent
# The benchmarks' own PostgreSQL cluster (deploy/postgres/pg-local), apart from a developer's
# (55432) and the tests' (55433).
BENCH_POSTGRES_PORT = "55460"


@dataclass(frozen=True)
class Figure:
    """One measured line of a benchmark table."""

    what: str
    workload: str
    events_per_second: float
    ceiling_per_second: float | None = None

    @property
    def ratio(self) -> str:
        if not self.ceiling_per_second:
            return "(ceiling)"
        return f"{self.events_per_second / self.ceiling_per_second:.2f}"


def machine() -> str:
    """A one-line description of where the figures were measured."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


class Stopwatch:
    """Times the part of a run that is the work itself (not client start-up and shutdown)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def start(self) -> None:
        self._started = time.perf_counter()

    def stop(self) -> None:
        self.seconds = time.perf_counter() - self._started


async def interleaved_rates(
    runs: int, events: int, paths: dict[str, Callable[[int, Stopwatch], Awaitable[object]]]
) -> dict[str, float]:
    """Events per second of each path: the median of `runs` timed calls, the paths taking
    turns in each round so that drift in the machine's speed falls on all of them alike."""
    rates: dict[str, list[float]] = {name: [] for name in paths}
    for run in range(runs):
        for name, once in paths.items():
            watch = Stopwatch()
            await once(run, watch)
            rates[name].append(events / watch.seconds)
    return {name: statistics.median(values) for name, values in rates.items()}


def print_table(title: str, figures: list[Figure]) -> None:
    """The benchmark's result: every figure beside its raw-aiokafka ceiling."""
    table = Table(title=title, caption=machine())
    for column in ("what", "workload", "events/s", "ratio to raw aiokafka"):
        table.add_column(column)
    for figure in figures:
        table.add_row(
            figure.what, figure.workload, f"{figure.events_per_second:,.0f}", figure.ratio
        )
    Console().print(table)


def new_namespace() -> str:
    """A namespace of the benchmark's own, so that no run reads another's events."""
    return f"bench-{uuid.uuid4().hex[:8]}"


async def prepare_namespaces(
    admin: KafkaConnection, namespaces: Iterable[str], extra: Sequence[TopicSpec] = ()
) -> None:
    """Every topic and ACL of `namespaces` (and the `extra` topics), then a pause: new
    partitions' leaders reach every metadata cache a moment after creation, and producing at
    once would measure NotLeader retries."""
    names = list(namespaces)
    await ensure_topics(admin, [*extra, *(s for name in names for s in bus_topic_specs(name))])
    for name in names:
        await ensure_acls(admin, acl_bindings(name))
    await asyncio.sleep(3)


async def delete_namespaces(admin: KafkaConnection, namespaces: Iterable[str]) -> int:
    """Delete every topic of `namespaces` (the agency topics keep their records for ever, so
    a benchmark's would otherwise stay on the broker's disk); return how many went."""
    prefixes = tuple(f"{name}." for name in namespaces)
    client = AIOKafkaAdminClient(**admin.aiokafka_options())
    await client.start()
    try:
        doomed = [topic for topic in await client.list_topics() if topic.startswith(prefixes)]
        if doomed:
            await client.delete_topics(doomed)
    finally:
        await client.close()
    return len(doomed)


def postgres_url() -> str | None:
    """The benchmarks' PostgreSQL cluster: MAPPA_BENCH_POSTGRES_URL, or pg-local on port
    55460, started if need be; None (and a warning) when there is none to be had."""
    if url := os.environ.get("MAPPA_BENCH_POSTGRES_URL"):
        return url
    script = REPOSITORY / "deploy" / "postgres" / "pg-local"
    started = subprocess.run(
        [str(script), "start"],
        env={**os.environ, "PG_PORT": BENCH_POSTGRES_PORT},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = started.stdout.strip().splitlines()
    if started.returncode != 0 or not lines:
        print(f"PostgreSQL unavailable, its figures are skipped: {started.stderr.strip()}")
        return None
    return lines[-1].strip()


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the server of `server_url`, dropped afterwards."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def mappa_command(*arguments: str) -> list[str]:
    """The `mappa` command of this virtual environment, with `arguments`."""
    return [str(Path(sys.executable).with_name("mappa")), *arguments]


def quiet_environment() -> dict[str, str]:
    """The environment for a service run as a child: only its warnings are logged."""
    return {**os.environ, "MAPPA_LOG_LEVEL": "WARNING"}


@dataclass(frozen=True)
class ChildRun:
    """How long a child process took, the most memory it held (its peak RSS), and the CPU it
    used (user and system, every thread): on a shared machine the fairer measure of its work."""

    seconds: float
    peak_rss_bytes: int
    output: str
    cpu_seconds: float = 0.0


def run_measured(command: Sequence[str]) -> ChildRun:
    """Run `command` to its end; its wall time, its own peak RSS and its CPU time.

    The peak is the child's VmHWM, polled: `wait4`'s ru_maxrss will not do, because Linux
    carries the parent's high-water mark into a forked child across its exec, so every child
    of a large benchmark process would report at least the benchmark's own size. Its CPU times
    are the child's own, so they come from `wait4`, which reaps it."""
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command), env=quiet_environment(), stdout=output, stderr=subprocess.STDOUT
        )
        peak = 0
        status = Path(f"/proc/{process.pid}/status")
        while True:
            peak = max(peak, high_water_mark(status))
            reaped, wait_status, usage = os.wait4(process.pid, os.WNOHANG)
            if reaped:
                break
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(wait_status)
        output.seek(0)
        text = output.read().decode(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{text}")
    return ChildRun(seconds, peak, text, usage.ru_utime + usage.ru_stime)


def high_water_mark(status: Path) -> int:
    """Bytes of a process's peak resident set (VmHWM), or 0 when it is gone."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    except (OSError, ValueError):
        pass
    return 0


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def as_the_bus_receives(area_years: Sequence[AreaYear], seed: int) -> Iterator[Envelope[EventData]]:
    """The events of every area-year (each in time order) merged into one stream in time order,
    as a bus that every area feeds day by day receives them. The simulator makes area after
    area: published in that order, each area after the first would reach the bus as one
    backfill after the first's last day, its partitions' append times following how fast each
    fills rather than the days, and a catch-up merging by append time would fold most of its
    events after a later one of their case (benchmarks/late_events.py)."""
    return heapq.merge(*(events(area_year, seed) for area_year in area_years), key=_event_time)


def _event_time(event: Envelope[EventData]) -> datetime:
    return event.time
