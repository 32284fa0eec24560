"""The suite's workload: the first N events of a simulated national year, as the agencies'
JSON Lines feeds (one whole CloudEvent a line, as `mappa simulate --out` writes them).

The simulator makes area after area, each in time order, so the first 200,000 events are a
few whole areas' years and part of the next: real cases of every agency, ten topics."""

from __future__ import annotations

import itertools
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import to_wire
from mappa_bus.simulator.files import events_file
from mappa_bus.simulator.options import ALL_AREAS, SimulationOptions
from mappa_bus.simulator.run import all_events


def write_feeds(directory: Path, events: int) -> dict[Agency, Path]:
    """Write the first `events` events of a simulated 2020-21 into one file per agency; return
    the files that have events."""
    options = SimulationOptions(areas=ALL_AREAS)
    counts: Counter[Agency] = Counter()
    with ExitStack() as stack:
        files = {
            agency: stack.enter_context(events_file(directory, agency).open("wb"))
            for agency in Agency
        }
        for event in itertools.islice(all_events(options), events):
            files[event.publisher].write(to_wire(event) + b"\n")
            counts[event.publisher] += 1
    written = sum(counts.values())
    if written < events:
        raise ValueError(f"a national year has only {written:,} events")
    return {agency: events_file(directory, agency) for agency in Agency if counts[agency]}
