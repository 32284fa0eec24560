"""What a simulation run is asked for: areas, year, seed, scenario and scale."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.areas import Area
from mappa_bus.reporting.population import SHIPPED_POPULATIONS
from mappa_bus.simulator.rates import PUNCTUALITY, Punctuality

ALL_AREAS: tuple[Area, ...] = tuple(Area)
"""All 42 MAPPA areas of England and Wales, in the order runs visit them."""

# Consecutive years of one run beyond this would be a typo rather than a workload.
MAX_YEARS = 20
# A scale beyond this would make a run of millions of people per area: almost surely a typo.
MAX_SCALE = 10.0


class Scenario(StrEnum):
    """A run that reproduces published statistics exactly."""

    KENT_2020_21 = "kent-2020-21"


# The area and reporting year (its 1 April) each scenario reproduces.
SCENARIO_AREA_YEAR: Mapping[Scenario, tuple[Area, int]] = {
    Scenario.KENT_2020_21: (Area.KENT, 2020),
}


@dataclass(frozen=True)
class SimulationOptions:
    """One simulation run.

    `scale` multiplies the size of every area the scenario does not fix (0.1 for quick runs);
    a scenario's own area is always simulated at its published size. `populations` gives the
    population aged 10+ per area for table 8 (Kent's implied figure unless told otherwise).
    `punctuality` says how each agency deals with the plan actions it owns. `years` is how many
    consecutive reporting years to simulate from `year` (people carried over from one to the
    next); the first is the same whatever `years` is.
    """

    areas: tuple[Area, ...] = (Area.KENT,)
    year: int = 2020
    seed: int = 1
    scenario: Scenario | None = None
    scale: float = 1.0
    populations: Mapping[Area, int] = field(default_factory=lambda: dict(SHIPPED_POPULATIONS))
    punctuality: Mapping[Agency, Punctuality] = field(default_factory=lambda: dict(PUNCTUALITY))
    years: int = 1

    def __post_init__(self) -> None:
        if not self.areas:
            raise ValueError("areas: name at least one area")
        if len(set(self.areas)) != len(self.areas):
            raise ValueError("areas: each area may be named once")
        if not 0 < self.scale <= MAX_SCALE:
            raise ValueError(f"scale: must be more than 0 and at most {MAX_SCALE}")
        if not 1 <= self.years <= MAX_YEARS:
            raise ValueError(f"years: must be from 1 to {MAX_YEARS}")
        if not 1990 <= self.year <= 2100:
            raise ValueError("year: must be the year of a 1 April between 1990 and 2100")
        if set(self.punctuality) != set(Agency):
            raise ValueError("punctuality: give every agency's, and only agencies'")
        if self.scenario is not None:
            area, year = SCENARIO_AREA_YEAR[self.scenario]
            if area not in self.areas or year != self.year:
                raise ValueError(
                    f"scenario: {self.scenario.value} needs {area.value} among the areas "
                    f"and year {year}"
                )

    @property
    def fixed_areas(self) -> tuple[Area, ...]:
        """The areas a scenario reproduces exactly (no other area transfers cases to them)."""
        if self.scenario is None:
            return ()
        return (SCENARIO_AREA_YEAR[self.scenario][0],)
