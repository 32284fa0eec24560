"""Late events in the picture's catch-up: how often an event reaches the fold after a later
event of its case, and what re-folding the case costs (issue 17), without Kafka.

    .venv/bin/python -m benchmarks.late_events [--areas kent] [--years 1,4] [--chunk 500]

The simulator's events are put on the agency topics' partitions as the publisher puts them (each
agency's in its own time order, by case); a catch-up then reads them as a consumer of all the
topics does: batches of the subscriber's 2,000 records, taken from each partition in turn,
`chunk` records at a time (a fetch's worth of one partition). Each batch folds each of its cases
once (`apply_all`), as the consumer does. Counted: the events, the folds that re-fold the case
(an event earlier than the case's latest, or a withdrawal), the steps those re-folds take (every
entry of the case again) against the steps a re-fold from the late event on would take (what a
checkpoint just before it would cost at best), and the time of each kind of fold. And what the
commits would write of the changed cases: each whole picture as JSON (before the timeline rows),
or its current row and the rows of the events the batch added (`picture.timeline`).
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.console import Console
from rich.table import Table

from mappa_bus.case.fold import apply_all
from mappa_bus.case.model import CasePicture
from mappa_bus.case.withdrawal import is_withdrawal_type
from mappa_bus.catalogue import Area, Envelope, EventData
from mappa_bus.kafka_codec import partition_of
from mappa_bus.picture.timeline import current_row, entries_of
from mappa_bus.simulator import Scenario, SimulationOptions, all_events

BATCH = 2_000
Arrival = tuple[Envelope[EventData], datetime]


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


def measure(events: Sequence[Envelope[EventData]], chunk: int) -> Tally:
    tally = Tally(events=len(events))
    pictures: dict[str, CasePicture] = {}
    for batch in batches(partitions(events), chunk):
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
            started = time.perf_counter()
            pictures[case_id] = apply_all(before, arrivals)
            seconds = time.perf_counter() - started
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


def main(areas: Sequence[Area], sizes: Sequence[int], chunk: int) -> None:
    table = Table(title=f"Late events in a catch-up ({chunk} records a partition in turn)")
    for column in (
        "history",
        "events",
        "late events",
        "case folds",
        "re-folds",
        "re-fold steps",
        "steps from the late event on",
        "in-order steps",
        "re-fold s",
        "in-order s",
        "MB written: whole pictures",
        "current rows and new entries",
    ):
        table.add_column(column)
    for years in sizes:
        scenario = Scenario.KENT_2020_21 if tuple(areas) == (Area.KENT,) else None
        options = SimulationOptions(areas=tuple(areas), years=years, scenario=scenario)
        tally = measure(list(all_events(options)), chunk)
        table.add_row(
            f"{years} year{'s' if years > 1 else ''}",
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
    Console(width=200).print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", default="kent", help="comma-separated slugs")
    parser.add_argument("--years", default="1,4", help="history sizes in years")
    parser.add_argument("--chunk", type=int, default=500, help="records a partition in turn")
    arguments = parser.parse_args()
    chosen = [Area(slug) for slug in arguments.areas.split(",")]
    main(chosen, [int(y) for y in arguments.years.split(",")], arguments.chunk)
