"""What every benchmark shares: the machine's description, medians, and the printed table."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table


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
