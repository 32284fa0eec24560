"""A simulation run: each area-year's people, their events in time order, and the truth.

Areas are simulated one after another, so a national run holds one area's people at a time;
the truth is a sum of per-person contributions and needs none of them kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mappa_bus.catalogue import ReportingYear
from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.envelope import Envelope
from mappa_bus.reporting.plan_figures import PlanFigures
from mappa_bus.reporting.tables import MappaStatistics, kent_2020_21
from mappa_bus.simulator.ids import case_id, seeded
from mappa_bus.simulator.lives import build_person
from mappa_bus.simulator.options import Scenario, SimulationOptions
from mappa_bus.simulator.person import Person
from mappa_bus.simulator.plan import plan_roles
from mappa_bus.simulator.plan_truth import people_facts, plan_figures
from mappa_bus.simulator.rates import generic_targets
from mappa_bus.simulator.render import Happening, envelope, happenings
from mappa_bus.simulator.truth import Key, statistics, tally
from mappa_bus.simulator.weights import size_factor


@dataclass(frozen=True, slots=True)
class AreaYear:
    """One area's simulated year: the tables its plan aimed at and the people who realise them.

    Some of the people also touch other areas (transfers), so the truth is computed over all
    of a run's people, not per `AreaYear`.
    """

    area: Area
    year: ReportingYear
    targets: MappaStatistics
    people: tuple[Person, ...]


def simulate(options: SimulationOptions) -> Iterator[AreaYear]:
    """Each requested area's year, one at a time, in the order of `options.areas`."""
    for area in options.areas:
        yield area_year(options, area)


def area_year(options: SimulationOptions, area: Area) -> AreaYear:
    """The planned people of `area`'s year (the same for the same options, every time)."""
    year = ReportingYear(options.year)
    rng = seeded(options.seed, options.year, area.value, "plan")
    targets, flow_factor = _targets(options, area, year)
    partners = [other for other in Area if other != area and other not in options.fixed_areas]
    roles = plan_roles(rng, targets, flow_factor, partners)
    people = tuple(
        build_person(
            role,
            case_id=case_id(area, options.year, number),
            home=area,
            year=year,
            seed=options.seed,
            punctuality=options.punctuality,
        )
        for number, role in enumerate(roles, start=1)
    )
    return AreaYear(area, year, targets, people)


def all_events(options: SimulationOptions) -> Iterator[Envelope[EventData]]:
    """Every event of the run: area after area, each area's in time order."""
    for item in simulate(options):
        yield from events(item, options.seed)


def events(area_year: AreaYear, seed: int) -> Iterator[Envelope[EventData]]:
    """The events of an area-year's people, in time order (then case, then within the case)."""
    for happening in sorted_happenings(area_year, seed):
        yield envelope(happening)


def sorted_happenings(area_year: AreaYear, seed: int) -> list[Happening]:
    """Every happening of the area-year's people, in the order the events are emitted."""
    keyed = [
        (happening.time, order, index, happening)
        for order, person in enumerate(area_year.people)
        for index, happening in enumerate(happenings(person, seed))
    ]
    keyed.sort(key=lambda item: item[:3])
    return [happening for *_, happening in keyed]


def truth_counts(area_years: Iterable[AreaYear]) -> Counter[Key]:
    """The summed contributions of every person of the run."""
    counts: Counter[Key] = Counter()
    for item in area_years:
        counts.update(tally(item.people, item.year))
    return counts


def intended(options: SimulationOptions) -> dict[Area, MappaStatistics]:
    """The statistics the run intends, per area its events name (the generator's own truth)."""
    counts = truth_counts(simulate(options))
    return statistics(counts, ReportingYear(options.year), options.populations)


def intended_plans(options: SimulationOptions) -> list[PlanFigures]:
    """The plan figures the run intends, per area-year its actions were agreed in."""
    return plan_figures(fact for item in simulate(options) for fact in people_facts(item.people))


def _targets(
    options: SimulationOptions, area: Area, year: ReportingYear
) -> tuple[MappaStatistics, float]:
    """The tables `area` must show, and how big its uncounted flows are (1.0: Kent-sized)."""
    if options.scenario is Scenario.KENT_2020_21 and area is Area.KENT:
        return kent_2020_21(), 1.0
    factor = size_factor(area) * options.scale
    rng = seeded(options.seed, options.year, area.value, "targets")
    return generic_targets(rng, area, year.start, factor), factor
