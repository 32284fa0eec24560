"""What keeping each shared event's partnership contribution costs the reporting fold (issue 16:
withdrawn events leave the partnership indicators; issue 17: memory that does not grow with the
history, so the contributions are rows, not memory).

Folds Kent 2020-21 (the simulator's published year, 57,051 events) through the reporting
projection's own `fold` and `commit`, in batches of the subscriber's size, into a fresh SQLite
file: once as it runs, and once with the contributions' write left out (everything else, their
making included, as it runs). Then the same with 1% of the events withdrawn by their agencies in
one last batch. No broker: the records are built as the broker would hand them over, signed,
so the figures are the fold's and the store's alone. Reports the process's CPU seconds (the
machine is shared: wall time moves with other sessions' load) and the store's size.

    .venv/bin/python -m benchmarks.partnership_contributions --runs 5
"""

from __future__ import annotations

import statistics
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch

import typer
from rich.console import Console
from rich.table import Table

from benchmarks.common import machine
from mappa_bus.catalogue import Envelope, EventData, make_event, to_wire
from mappa_bus.catalogue.withdrawal import WITHDRAWALS, WithdrawalReason
from mappa_bus.kafka_codec import partition_of
from mappa_bus.projection.subscriber import BATCH
from mappa_bus.reporting import consumer
from mappa_bus.reporting import service as reporting
from mappa_bus.signing import Keyring, generate_keyring, sign
from mappa_bus.simulator.options import Scenario, SimulationOptions
from mappa_bus.simulator.run import events, simulate
from mappa_bus.topics import agency_topic

NAMESPACE = "bench"
WITHDRAWN_EVERY = 100  # 1% of the events


@dataclass(frozen=True)
class Fold:
    cpu_seconds: float
    store_bytes: int


def _records(stream: list[Envelope[EventData]], keyring: Keyring) -> list[Any]:
    """The events as the broker hands them over: on their topics' partitions, in order, signed,
    each reaching the bus five hours after it happened."""
    offsets: dict[str, int] = {}
    records = []
    for event in stream:
        topic = agency_topic(event.publisher, NAMESPACE)
        key = event.case_id.encode()
        partition = partition_of(key)
        offset = offsets[f"{topic}/{partition}"] = offsets.get(f"{topic}/{partition}", -1) + 1
        value = to_wire(event)
        headers = sign(keyring, event.publisher, event.mappaarea, value)
        millis = int((event.time + timedelta(hours=5)).timestamp() * 1000)
        records.append(
            SimpleNamespace(
                topic=topic,
                partition=partition,
                offset=offset,
                key=key,
                value=value,
                timestamp=millis,
                headers=[(name, text.encode()) for name, text in headers.items()],
            )
        )
    return records


def _withdrawals(stream: list[Envelope[EventData]]) -> list[Envelope[EventData]]:
    """Every WITHDRAWN_EVERY-th event withdrawn by its own agency, after the year."""
    return [
        make_event(
            WITHDRAWALS[event.publisher](
                withdrawn_event_id=event.id,
                reason=WithdrawalReason.ENTERED_IN_ERROR,
                withdrawn_on=date(2021, 6, 1),
            ),
            case_id=event.case_id,
            area=event.mappaarea,
            time=event.time + timedelta(days=400),
            system="benchmark",
            event_id=f"withdrawal-{event.id}",
        )
        for event in stream[::WITHDRAWN_EVERY]
    ]


def _fold(records: list[Any], keyring: Keyring, *, keep: bool) -> Fold:
    # The one write left out, in the consumer's own name for it.
    left_out = patch.object(consumer, "save_contributions", lambda connection, counted, times: None)
    with nullcontext() if keep else left_out, tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "reporting.db"
        projection = reporting.open_projection(f"sqlite:///{store}", NAMESPACE, keyring=keyring)
        start = time.process_time()
        for first in range(0, len(records), BATCH):
            projection.commit(projection.fold(records[first : first + BATCH]))
        took = time.process_time() - start
        projection.engine.dispose()
        size = sum(path.stat().st_size for path in Path(folder).iterdir())
    return Fold(took, size)


def main(runs: int = typer.Option(5, help="Folds of each kind; the median is reported.")) -> None:
    """Fold Kent 2020-21 with and without the contributions kept, and print the figures."""
    options = SimulationOptions(scenario=Scenario.KENT_2020_21)
    stream = [event for item in simulate(options) for event in events(item, options.seed)]
    keyring = generate_keyring()
    plain = _records(stream, keyring)
    # The withdrawals as one last batch of their own, after the whole year.
    withdrawn = _records(stream + _withdrawals(stream), keyring)
    table = Table(title=f"Reporting fold of Kent 2020-21, median of {runs} ({machine()})")
    for column in ("stream", "contributions", "CPU s", "CPU us/event", "store MB", "B/event"):
        table.add_column(column, justify="right")
    for name, records in (("57,051 events", plain), ("then 1% withdrawn", withdrawn)):
        folds: dict[bool, list[Fold]] = {True: [], False: []}
        for _ in range(runs):
            for keep in (False, True):  # alternated, so load drifts reach both alike
                folds[keep].append(_fold(records, keyring, keep=keep))
        for keep in (False, True):
            cpu = statistics.median(fold.cpu_seconds for fold in folds[keep])
            size = folds[keep][-1].store_bytes
            table.add_row(
                name,
                "kept" if keep else "not written",
                f"{cpu:.2f}",
                f"{cpu * 1e6 / len(records):.1f}",
                f"{size / 1e6:.1f}",
                f"{size / len(records):.0f}",
            )
    Console().print(table)


if __name__ == "__main__":
    typer.run(main)
