"""Writing a simulation to disk: JSON Lines per agency, and the truth beside them.

`<agency>.jsonl` holds one wire event (`to_wire`) per line, in time order across the whole run;
`truth.json` maps each area's slug to the statistics the simulator intended for it (a run of
several years also writes each year's, `truth-2021-22.json`: see `truth_file`), and
`plan-truth.json` lists the plan figures it intended, one per area-year with actions. Areas arrive
one after another, each in time order, so each area's events go to part files first and are
then merged, which keeps memory flat however many areas there are.
"""

from __future__ import annotations

import heapq
import json
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack
from datetime import UTC
from pathlib import Path
from typing import IO

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import ReportingYear
from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.envelope import Envelope
from mappa_bus.catalogue.wire import parse_event, to_wire
from mappa_bus.reporting.plan_figures import PlanFigures
from mappa_bus.reporting.tables import MappaStatistics

TRUTH_FILE = "truth.json"
PLAN_TRUTH_FILE = "plan-truth.json"
PARTS_DIR = ".parts"
# Part-file lines start with the event's UTC time, so merging compares plain text.
KEY_LENGTH = len("2021-03-31T23:59:59")


def events_file(directory: Path, agency: Agency) -> Path:
    """Where the events `agency` published are written."""
    return directory / f"{agency.value}.jsonl"


def write_events(
    directory: Path, areas: Iterable[Iterable[Envelope[EventData]]]
) -> Counter[Agency]:
    """Write every area's events (each area's already in time order) into one time-ordered
    file per agency; return how many each agency published. Every agency gets a file."""
    parts = directory / PARTS_DIR
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir(parents=True)
    counts: Counter[Agency] = Counter()
    area_count = 0
    for area_count, area_events in enumerate(areas, start=1):
        counts.update(_write_part(parts, area_count, area_events))
    for agency in Agency:
        _merge(
            [parts / f"{n:02d}-{agency.value}" for n in range(1, area_count + 1)],
            events_file(directory, agency),
        )
    shutil.rmtree(parts)
    return counts


def read_events(path: Path) -> Iterator[Envelope[EventData]]:
    """The events of one JSON Lines file, parsed as any subscriber would parse them."""
    with path.open("rb") as lines:
        for line in lines:
            yield parse_event(line.rstrip(b"\n"))


def truth_file(directory: Path, year: ReportingYear | None = None) -> Path:
    """Where a run's truth is written: `truth.json` (its first year), and in a run of several
    years each year's as `truth-2021-22.json`."""
    return directory / (TRUTH_FILE if year is None else f"truth-{year.label}.json")


def write_truth(
    directory: Path, truth: Mapping[Area, MappaStatistics], year: ReportingYear | None = None
) -> Path:
    """Write `truth.json` (or `year`'s file): area slug -> that area's intended statistics."""
    document = {
        area.value: statistics.model_dump(mode="json") for area, statistics in truth.items()
    }
    path = truth_file(directory, year)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def read_truth(path: Path) -> dict[Area, MappaStatistics]:
    """The statistics a `truth.json` holds, per area."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return {Area(slug): MappaStatistics.model_validate(item) for slug, item in document.items()}


def write_plan_truth(directory: Path, figures: Iterable[PlanFigures]) -> Path:
    """Write `plan-truth.json`: the intended plan figures, one per area-year, in order."""
    document = [item.model_dump(mode="json") for item in figures]
    path = directory / PLAN_TRUTH_FILE
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def read_plan_truth(path: Path) -> list[PlanFigures]:
    """The plan figures a `plan-truth.json` holds."""
    document = json.loads(path.read_text(encoding="utf-8"))
    return [PlanFigures.model_validate(item) for item in document]


def _write_part(
    parts: Path, number: int, area_events: Iterable[Envelope[EventData]]
) -> Counter[Agency]:
    counts: Counter[Agency] = Counter()
    with ExitStack() as stack:
        files: dict[Agency, IO[bytes]] = {
            agency: stack.enter_context((parts / f"{number:02d}-{agency.value}").open("wb"))
            for agency in Agency
        }
        for event in area_events:
            key = event.time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S").encode()
            files[event.publisher].write(key + b"\t" + to_wire(event) + b"\n")
            counts[event.publisher] += 1
    return counts


def _merge(sources: list[Path], target: Path) -> None:
    """Merge time-keyed part files into `target`, dropping the keys (ties keep area order)."""
    with ExitStack() as stack, target.open("wb") as out:
        inputs = [stack.enter_context(source.open("rb")) for source in sources]
        for line in heapq.merge(*inputs, key=lambda line: line[:KEY_LENGTH]):
            out.write(line[KEY_LENGTH + 1 :])
