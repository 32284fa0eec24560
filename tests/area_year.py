"""The simulated area-years the tests replay, each simulated once a session (Kent's takes
seconds): one smaller than Kent's, for the tests that need a realistic stream of every agency's
events (crashes, restarts, outages, scale-out) but compare a service with itself rather than
with a published table: Cumbria at its own size, about 17,000 events against Kent's 57,000,
which keeps the suite inside its time budget; and Kent's, for those that count to its report."""

from __future__ import annotations

import functools

from mappa_bus.catalogue import Area, Envelope, EventData
from mappa_bus.simulator.options import Scenario, SimulationOptions
from mappa_bus.simulator.run import events, simulate

SMALL_YEAR = SimulationOptions(areas=(Area.CUMBRIA,))
KENT_YEAR = SimulationOptions(scenario=Scenario.KENT_2020_21)


YEARS = {"small": SMALL_YEAR, "kent": KENT_YEAR}


@functools.cache
def _simulated(year: str) -> tuple[Envelope[EventData], ...]:
    options = YEARS[year]
    return tuple(event for item in simulate(options) for event in events(item, options.seed))


def small_area_year() -> list[Envelope[EventData]]:
    """Cumbria's simulated 2020-21, every agency's events in time order (the list is the
    caller's own)."""
    return list(_simulated("small"))


def kent_year() -> list[Envelope[EventData]]:
    """Kent's simulated 2020-21 (the demo's scenario, which counts to Kent's published tables),
    every agency's events in time order (the list is the caller's own)."""
    return list(_simulated("kent"))
