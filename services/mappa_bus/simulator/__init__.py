"""`mappa simulate`: a realistic, seeded area-year of agency events, and the statistics it intends.

The pure core plans each area's people from the counts its year must show (`plan`, `rates`),
draws their lives (`lives`, `story`, `levels`) with the actions agreed at their meetings
(`actions`) and their risk assessments (`assessments`), writes their events (`render`) and
computes the truth from the people themselves (`truth`), never from the events. `files` and
`cli` are the thin shell; only `cli` (through the adapters' publisher) touches Kafka, and
nothing here logs.
"""

from mappa_bus.simulator.options import ALL_AREAS, Scenario, SimulationOptions
from mappa_bus.simulator.run import AreaYear, all_events, area_year, events, intended, simulate

__all__ = [
    "ALL_AREAS",
    "AreaYear",
    "Scenario",
    "SimulationOptions",
    "all_events",
    "area_year",
    "events",
    "intended",
    "simulate",
]
