"""One simulated area-year smaller than Kent's, for the tests that need a realistic stream of
every agency's events (crashes, restarts, scale-out) but compare a service with itself rather
than with a published table: Cumbria at its own size, about 17,000 events against Kent's
57,000, which keeps the suite inside its time budget."""

from __future__ import annotations

import functools

from mappa_bus.catalogue import Area, Envelope, EventData
from mappa_bus.simulator.options import SimulationOptions
from mappa_bus.simulator.run import events, simulate

SMALL_YEAR = SimulationOptions(areas=(Area.CUMBRIA,))


@functools.cache
def _simulated() -> tuple[Envelope[EventData], ...]:
    return tuple(event for item in simulate(SMALL_YEAR) for event in events(item, SMALL_YEAR.seed))


def small_area_year() -> list[Envelope[EventData]]:
    """Cumbria's simulated 2020-21, every agency's events in time order (simulated once a
    session; the list is the caller's own)."""
    return list(_simulated())
