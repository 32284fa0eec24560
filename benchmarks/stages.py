"""Where a rebuild's CPU goes, in microseconds an event (issue 17): each projection's rebuild
of an area's history as its own process, CPU timers around its stages, beside raw aiokafka
reading the same records in the same run.

    .venv/bin/python -m benchmarks.stages [--areas kent] [--years 1,4]
        [--services picture,reporting,alerts]

Issue 17's 50,000 events a second leaves 20 us of CPU an event for everything a rebuild does;
this says which stages spend it, and which grow with the history. Each rebuild runs as
`benchmarks.growth` runs it (`mappa <service> rebuild`, or `alerts catch-up`, into a fresh
SQLite file), but in a child that wraps the stages' functions with `time.process_time` before
calling the command line. A stage inside another (reading the records is inside the fold) is
shown under it, and the outer stage's row is what the inner ones leave of it. The wrappers cost
about half a microsecond a call: a fraction of a microsecond an event. A stage renamed in the
code makes the child fail, naming it. Needs a running broker (deploy/kafka/kafka-local start).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import functools
import importlib
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.common import Stopwatch, delete_namespaces, machine, quiet_environment
from benchmarks.consume import raw_consume
from benchmarks.growth import (
    History,
    areas_named,
    history_arguments,
    place_of,
    publish_history,
    rebuild_arguments,
    workload,
)
from mappa_bus.catalogue import Area
from mappa_bus.cli_common import command_settings


@dataclass(frozen=True)
class Stage:
    """A function timed: `module`'s `name` (`Class.method` for a method), as the code that
    calls it looks it up, and the stage it runs inside (None: the rebuild itself)."""

    label: str
    module: str
    name: str
    within: str | None = None


_READ = "read and check each record (parse, key, partition, signature)"
_CATCH_UP = "catch-up: the rest (fetching, the merge, FastStream, opening the store)"


def _catch_up(*inner: Stage) -> tuple[Stage, ...]:
    """The catch-up (`mappa ... rebuild` apart from start-up) and `inner`, inside it unless
    they say where they run."""
    outer = Stage(_CATCH_UP, "mappa_bus.projection.commands", "catch_up")
    return (outer, *(s if s.within else Stage(s.label, s.module, s.name, _CATCH_UP) for s in inner))


STAGES: dict[str, tuple[Stage, ...]] = {
    "picture": _catch_up(
        Stage("fold", "mappa_bus.picture.consumer", "PictureProjection.fold"),
        Stage(_READ, "mappa_bus.projection.batch", "read_event", "fold"),
        Stage("fold a case's events", "mappa_bus.picture.consumer", "_fold_case", "fold"),
        Stage(
            "read cases whole (late events, withdrawals)",
            "mappa_bus.picture.consumer",
            "pictures_of",
            "fold",
        ),
        Stage("commit", "mappa_bus.picture.consumer", "PictureProjection.commit"),
        Stage("current rows as JSON", "mappa_bus.picture.store", "current_row", "commit"),
        Stage("timeline rows", "mappa_bus.picture.store", "save_timelines", "commit"),
    ),
    "reporting": _catch_up(
        Stage("fold", "mappa_bus.reporting.consumer", "ReportingProjection.fold"),
        Stage(_READ, "mappa_bus.projection.batch", "read_event", "fold"),
        Stage("commit", "mappa_bus.reporting.consumer", "ReportingProjection.commit"),
    ),
    "alerts": _catch_up(
        Stage("fold", "mappa_bus.alerts.consumer", "AlertProjection.fold"),
        Stage(_READ, "mappa_bus.projection.batch", "read_event", "fold"),
        Stage("read the cases", "mappa_bus.alerts.consumer", "AlertProjection.cases_of", "fold"),
        Stage(
            "read cases whole (late events, withdrawals)",
            "mappa_bus.alerts.consumer",
            "AlertProjection._read_timelines",
            "fold",
        ),
        Stage(
            "ask the rules again after a late event",
            "mappa_bus.alerts.consumer",
            "evaluate_from",
            "fold",
        ),
        Stage("commit", "mappa_bus.alerts.consumer", "AlertProjection.commit"),
    ),
}

START_UP = "start-up and shutdown (imports, settings, connecting)"
WHOLE = "the whole process (CPU)"


def time_stage(stage: Stage, seconds: dict[str, float]) -> None:
    """Wrap `stage`'s function where its callers look it up, adding its CPU to `seconds`."""
    owner: Any = importlib.import_module(stage.module)
    *path, attribute = stage.name.split(".")
    for part in path:
        owner = getattr(owner, part)
    function: Callable[..., Any] = getattr(owner, attribute)

    @functools.wraps(function)
    def timed(*arguments: Any, **keywords: Any) -> Any:
        started = time.process_time()
        try:
            return function(*arguments, **keywords)
        finally:
            seconds[stage.label] += time.process_time() - started

    seconds[stage.label] = 0.0
    setattr(owner, attribute, timed)


def child(service: str, out: Path, command: Sequence[str]) -> None:
    """Run `mappa <command>` in this process with `service`'s stages timed; at exit, write the
    seconds of each and of the whole process (start-up included) to `out` as JSON."""
    seconds: dict[str, float] = {}
    for stage in STAGES[service]:
        time_stage(stage, seconds)

    def write() -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        out.write_text(json.dumps({**seconds, WHOLE: usage.ru_utime + usage.ru_stime}))

    atexit.register(write)
    from mappa_bus.cli import app

    sys.argv = ["mappa", *command]
    app()


def run_child(service: str, history: History, folder: Path) -> dict[str, float]:
    """`service`'s rebuild of `history` in a child with its stages timed: seconds by stage."""
    out = folder / f"{service}-{history.years}.json"
    url = f"sqlite:///{folder / f'{service}-{history.years}.db'}"
    command = [sys.executable, "-m", "benchmarks.stages", "--child", service, "--out", str(out)]
    command += ["--", *rebuild_arguments(service, history, url)]
    done = subprocess.run(
        command, env=quiet_environment(), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    figures: dict[str, float] = json.loads(out.read_text())
    return figures


def rows(service: str, seconds: dict[str, float]) -> list[tuple[str, float]]:
    """Each stage's own seconds (what the stages inside it leave), those inside it below it,
    indented, then start-up and the whole process."""
    stages = STAGES[service]

    def under(label: str | None, depth: int) -> list[tuple[str, float]]:
        found: list[tuple[str, float]] = []
        for stage in (s for s in stages if s.within == label):
            inner = under(stage.label, depth + 1)
            own = seconds[stage.label] - sum(
                seconds[s.label] for s in stages if s.within == stage.label
            )
            found += [("  " * depth + stage.label, own), *inner]
        return found

    outer = sum(seconds[s.label] for s in stages if s.within is None)
    return [*under(None, 0), (START_UP, seconds[WHOLE] - outer), (WHOLE, seconds[WHOLE])]


@dataclass
class Measured:
    history: History
    raw_cpu_seconds: float
    stages: dict[str, dict[str, float]]


async def measure(
    areas: Sequence[Area], sizes: Sequence[int], services: Sequence[str], folder: Path
) -> list[Measured]:
    """Publish each history once, read it raw (after a warm-up read), then rebuild it with each
    service in a timed child; every namespace is deleted at the end."""
    settings = command_settings()
    measured: list[Measured] = []
    try:
        for years in sizes:
            history = await publish_history(settings, areas, years)
            connection = settings.connection_for_role("picture")
            await raw_consume(connection, history.namespace, Stopwatch())  # warm-up
            watch, started = Stopwatch(), time.process_time()
            await raw_consume(connection, history.namespace, watch)
            history.raw_seconds = watch.seconds
            result = Measured(history, time.process_time() - started, {})
            for service in services:
                result.stages[service] = run_child(service, history, folder)
            measured.append(result)
    finally:
        names = [m.history.namespace for m in measured]
        await delete_namespaces(settings.connection(), names)
    return measured


def print_stages(measured: Sequence[Measured], services: Sequence[str], place: str) -> None:
    first = measured[0].history
    for service in services:
        table = Table(title=f"mappa {service}: CPU us an event, {place}", caption=machine())
        table.add_column("stage")
        for each in measured:
            table.add_column(workload(each.history, first), justify="right")
        table.add_row(
            "raw aiokafka consume, same records (ceiling)",
            *(f"{1e6 * m.raw_cpu_seconds / m.history.events:.1f}" for m in measured),
        )
        by_history = [dict(rows(service, m.stages[service])) for m in measured]
        for label, _ in rows(service, measured[0].stages[service]):
            figures = (
                f"{1e6 * seconds[label] / m.history.events:.1f}"
                for seconds, m in zip(by_history, measured, strict=True)
            )
            table.add_row(label, *figures)
        Console(width=160).print(table)


async def main(areas: Sequence[Area], sizes: Sequence[int], services: Sequence[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        measured = await measure(areas, sizes, services, Path(folder))
    print_stages(measured, services, place_of(areas))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    history_arguments(parser, "1,4", list(STAGES))
    parser.add_argument("--child", choices=list(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("command", nargs="*", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child, arguments.out, arguments.command)
    else:
        chosen = areas_named(arguments.areas)
        sizes = [int(years) for years in arguments.years.split(",")]
        asyncio.run(main(chosen, sizes, arguments.services.split(",")))
