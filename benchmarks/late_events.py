"""Late events in the picture's catch-up: how often an event reaches the fold after a later
event of its case, and what re-folding the case costs (issue 17), without Kafka.

    .venv/bin/python -m benchmarks.late_events [--areas kent] [--years 1,4] [--chunk 500]
        [--orders fetched,daily,live]

The simulator's events are put on the agency topics' partitions as the publisher puts them (each
agency's in its own time order, by case); a catch-up then reads them as a consumer of all the
topics does: batches of the subscriber's 2,000 records, taken from each partition in turn,
`chunk` records at a time (a fetch's worth of one partition). Each batch folds each of its cases
once (`apply_all`), as the consumer does. Counted: the events, the folds that re-fold the case
(an event earlier than the case's latest, or a withdrawal), the steps those re-folds take (every
entry of the case again) against the steps a re-fold from the late event on would take (what a
checkpoint just before it would cost at best), and the CPU time of each kind of fold. And what the
commits would write of the changed cases: each whole picture as JSON (before the timeline rows),
or its current row and the rows of the events the batch added (`picture.timeline`).

`--orders` says how the catch-up's batches are made of what it fetches: `fetched`, as fetched
(the catch-up before issue 17's merge); `daily` and `live`, merged across the partitions by
the records' append times (projection/merge.py, the catch-up's own merge, over the same
fetches), those of a bus fed each day's events at the end of that day (`publish_all`'s
`daily`: a day's records of all partitions share one time, and the merge takes them partition
after partition) or fed each event a minute after it happened.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.console import Console
from rich.table import Table

from mappa_bus.case.fold import apply_all
from mappa_bus.case.model import CasePicture
from mappa_bus.case.timeline import current_row, entries_of
from mappa_bus.case.withdrawal import is_withdrawal_type
from mappa_bus.catalogue import Area, Envelope, EventData
from mappa_bus.kafka_codec import partition_of
from mappa_bus.projection.merge import Merge
from mappa_bus.simulator.options import Scenario, SimulationOptions
from mappa_bus.simulator.run import all_events

BATCH = 2_000
ORDERS = ("fetched", "daily", "live")
Arrival = tuple[Envelope[EventData], datetime]


@dataclass(frozen=True)
class Record:
    """An arrival on its partition, as the merge reads a Kafka record."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    arrival: Arrival


@dataclass
class Tally:
    events: int = 0
    folds: int = 0
    refolds: int = 0
    late_events: int = 0
    refold_steps: int = 0
    from_late_steps: int = 0
    in_order_steps: int = 0
    refold_seconds: float = 0.0
    in_order_seconds: float = 0.0
    whole_bytes: int = 0
    split_bytes: int = 0


def partitions(events: Sequence[Envelope[EventData]]) -> list[deque[Arrival]]:
    """Each (agency, partition)'s records in log order, as the publisher puts them."""
    logs: dict[tuple[str, int], deque[Arrival]] = defaultdict(deque)
    for index, event in enumerate(events):
        key = (event.publisher.value, partition_of(event.case_id.encode()))
        # Recorded a minute after it happened, and after every record before it on the bus.
        logs[key].append((event, event.time + timedelta(minutes=1, microseconds=index)))
    return [logs[key] for key in sorted(logs)]


def batches(logs: list[deque[Arrival]], chunk: int) -> Iterator[list[Arrival]]:
    """The catch-up's batches: `chunk` records of each partition in turn, `BATCH` a batch."""
    batch: list[Arrival] = []
    while any(logs):
        for log in logs:
            for _ in range(min(chunk, len(log))):
                batch.append(log.popleft())
                if len(batch) == BATCH:
                    yield batch
                    batch = []
    if batch:
        yield batch


def stamped(logs: list[deque[Arrival]], order: str, days: Mapping[str, int]) -> list[deque[Record]]:
    """Each partition's arrivals as records with the append time `order` gives them (see the
    module's docstring): the day it was published (`days`), for a daily feed; the arrival's
    microsecond, for a live one."""
    return [
        deque(
            Record(
                f"{number:04}",
                0,
                offset,
                days[event.id] if order == "daily" else int(at.timestamp() * 1_000_000),
                (event, at),
            )
            for offset, (event, at) in enumerate(log)
        )
        for number, log in enumerate(logs)
    ]


def published_days(events: Sequence[Envelope[EventData]]) -> dict[str, int]:
    """The day each event goes out on a daily feed: the latest day of the events before it."""
    latest = 0
    days = {}
    for event in events:
        latest = max(latest, event.time.toordinal())
        days[event.id] = latest
    return days


def merged_batches(logs: list[deque[Record]], chunk: int) -> Iterator[list[Arrival]]:
    """The catch-up's batches with the merge: `chunk` records of each partition not paused in
    turn into the merge, what it releases folded `BATCH` a batch (as the subscriber folds it)."""
    merge = Merge(
        {(log[0].topic, 0): len(log) for log in logs if log},
        {},
        limit=max(500, 40_000 // len(logs)),
    )
    paused: set[tuple[str, int]] = set()
    released: list[Arrival] = []
    while any(logs) or merge.held():
        for log in logs:
            if log and (log[0].topic, 0) not in paused:
                merge.add(log.popleft() for _ in range(min(chunk, len(log))))
        released += [record.arrival for record in merge.release()]
        pauses = merge.pauses(paused)
        paused = (paused | pauses.pause) - pauses.resume
        while len(released) >= BATCH:
            yield released[:BATCH]
            released = released[BATCH:]
    if released:
        yield released


def measure(events: Sequence[Envelope[EventData]], chunk: int, order: str = "fetched") -> Tally:
    tally = Tally(events=len(events))
    pictures: dict[str, CasePicture] = {}
    logs = partitions(events)
    if order == "fetched":
        made = batches(logs, chunk)
    else:
        days = published_days(events) if order == "daily" else {}
        made = merged_batches(stamped(logs, order, days), chunk)
    for batch in made:
        by_case: dict[str, list[Arrival]] = defaultdict(list)
        for arrival in batch:
            by_case[arrival[0].case_id].append(arrival)
        for case_id, arrivals in by_case.items():
            before = pictures.get(case_id)
            entries = before.timeline if before else ()
            first = min((e.time, e.id) for e, _ in arrivals)
            late = bool(entries) and first < (entries[-1].time, entries[-1].event_id)
            withdrawing = bool(before and before.withdrawals) or any(
                is_withdrawal_type(e.type) for e, _ in arrivals
            )
            started = time.process_time()
            pictures[case_id] = apply_all(before, arrivals)
            seconds = time.process_time() - started
            tally.folds += 1
            tally.whole_bytes += len(pictures[case_id].model_dump_json())
            had = entries_of(before) if before else {}
            added = [e for i, e in entries_of(pictures[case_id]).items() if i not in had]
            tally.split_bytes += len(current_row(pictures[case_id])) + sum(
                len(entry.model_dump_json()) for entry in added
            )
            if late or withdrawing:
                tally.refolds += 1
                tally.late_events += sum(
                    1
                    for e, _ in arrivals
                    if entries and (e.time, e.id) < (entries[-1].time, entries[-1].event_id)
                )
                tally.refold_steps += len(entries) + len(arrivals)
                after = sum(1 for entry in entries if (entry.time, entry.event_id) > first)
                tally.from_late_steps += after + len(arrivals)
                tally.refold_seconds += seconds
            else:
                tally.in_order_steps += len(arrivals)
                tally.in_order_seconds += seconds
    return tally


def main(areas: Sequence[Area], sizes: Sequence[int], chunk: int, orders: Sequence[str]) -> None:
    table = Table(title=f"Late events in a catch-up ({chunk} records a partition in turn)")
    for column in (
        "history",
        "order",
        "events",
        "late events",
        "case folds",
        "re-folds",
        "re-fold steps",
        "steps from the late event on",
        "in-order steps",
        "re-fold CPU s",
        "in-order CPU s",
        "MB written: whole pictures",
        "current rows and new entries",
    ):
        table.add_column(column)
    for years in sizes:
        scenario = Scenario.KENT_2020_21 if tuple(areas) == (Area.KENT,) else None
        options = SimulationOptions(areas=tuple(areas), years=years, scenario=scenario)
        history = list(all_events(options))
        for order in orders:
            add_row(table, years, order, measure(history, chunk, order))
    Console(width=200).print(table)


def add_row(table: Table, years: int, order: str, tally: Tally) -> None:
    table.add_row(
        f"{years} year{'s' if years > 1 else ''}",
        order,
        f"{tally.events:,}",
        f"{tally.late_events:,} ({tally.late_events / tally.events:.0%})",
        f"{tally.folds:,}",
        f"{tally.refolds:,} ({tally.refolds / tally.folds:.0%})",
        f"{tally.refold_steps:,}",
        f"{tally.from_late_steps:,}",
        f"{tally.in_order_steps:,}",
        f"{tally.refold_seconds:.1f}",
        f"{tally.in_order_seconds:.1f}",
        f"{tally.whole_bytes / 1e6:,.0f}",
        f"{tally.split_bytes / 1e6:,.0f}",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", default="kent", help="comma-separated slugs")
    parser.add_argument("--years", default="1,4", help="history sizes in years")
    parser.add_argument("--chunk", type=int, default=500, help="records a partition in turn")
    parser.add_argument(
        "--orders", default=",".join(ORDERS), help="fetched, daily, live (see the docstring)"
    )
    arguments = parser.parse_args()
    chosen = [Area(slug) for slug in arguments.areas.split(",")]
    sizes = [int(y) for y in arguments.years.split(",")]
    main(chosen, sizes, arguments.chunk, arguments.orders.split(","))
