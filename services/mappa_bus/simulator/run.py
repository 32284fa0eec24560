"""A simulation run: each area-year's people, their events in time order, and the truth.

Areas are simulated one after another, so a national run holds one area's people at a time;
the truth is a sum of per-person contributions and needs none of them kept. A run of several
years makes each area's years in turn: the first as a one-year run makes it, each later one
from the people still managed at the end of the year before (`carry`) and the people its own
plan brings under MAPPA during it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from mappa_bus.catalogue import ReportingYear
from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.envelope import Envelope
from mappa_bus.reporting.plan_figures import ActionFacts, PlanFigures
from mappa_bus.reporting.tables import MappaStatistics, kent_2020_21
from mappa_bus.simulator.carry import carried_over
from mappa_bus.simulator.ids import case_id, seeded
from mappa_bus.simulator.lives import build_person
from mappa_bus.simulator.options import Scenario, SimulationOptions
from mappa_bus.simulator.person import Person
from mappa_bus.simulator.plan import plan_roles
from mappa_bus.simulator.plan_truth import action_facts, people_facts, plan_figures
from mappa_bus.simulator.rates import generic_targets
from mappa_bus.simulator.render import Happening, envelope, happenings
from mappa_bus.simulator.roles import Course, Entry, Role
from mappa_bus.simulator.truth import Cell, Key, contributions, statistics, tally
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
    """In a later year of a run, the tables the plan of the people entering it aimed at."""
    people: tuple[Person, ...]
    """The people who enter the run in this year (in its first, everyone)."""
    carried: tuple[Person, ...] = ()
    """People carried over from the year before, their stories drawn on through this one."""

    @property
    def everyone(self) -> tuple[Person, ...]:
        """Everyone whose story reaches into the year."""
        return self.people + self.carried


# The courses of people who come under MAPPA during their year (rather than before it): those
# a later year of a run takes from its plan.
NEW_COURSES = (Course.NEW_IN_COMMUNITY, Course.RECEIVED)
NEW_ENTRIES = (Entry.CONVICTION, Entry.CAUTION, Entry.NOTIFICATION_ORDER, Entry.SRO_BREACH)


def simulate(options: SimulationOptions) -> Iterator[AreaYear]:
    """Each requested area's years, one area at a time, in the order of `options.areas`."""
    for area in options.areas:
        first = area_year(options, area)
        yield first
        yield from later_years(options, first)


def area_year(options: SimulationOptions, area: Area) -> AreaYear:
    """The planned people of `area`'s year (the same for the same options, every time)."""
    year = ReportingYear(options.year)
    people = tuple(person for _, person in _planned(options, area, lambda _role: True))
    return AreaYear(area, year, _targets(options, area, year)[0], people)


def later_years(options: SimulationOptions, first: AreaYear) -> Iterator[AreaYear]:
    """The years after `first` that `options.years` asks for, each from the one before."""
    previous = first
    for opens in range(options.year + 1, options.year + options.years):
        year = ReportingYear(opens)
        carried = (
            carried_over(person, year, options.seed, options.punctuality)
            for person in previous.everyone
        )
        # A scenario reproduces its own year; the years after it are the area's generic ones.
        plan = replace(options, year=opens, scenario=None, years=1)
        entered = tuple(
            person
            for role, person in _planned(plan, first.area, _comes_under_mappa)
            if _entered_in(person, year)
        )
        previous = AreaYear(
            first.area,
            year,
            _targets(plan, first.area, year)[0],
            entered,
            tuple(person for person in carried if person is not None),
        )
        yield previous


def _planned(
    options: SimulationOptions, area: Area, wanted: Callable[[Role], bool]
) -> Iterator[tuple[Role, Person]]:
    """The people of the plan for `area`'s year whose roles are `wanted`, each with the case
    id its place in the whole plan gives."""
    year = ReportingYear(options.year)
    rng = seeded(options.seed, options.year, area.value, "plan")
    targets, flow_factor = _targets(options, area, year)
    partners = [other for other in Area if other != area and other not in options.fixed_areas]
    roles = plan_roles(rng, targets, flow_factor, partners)
    for number, role in enumerate(roles, start=1):
        if wanted(role):
            person = build_person(
                role,
                case_id=case_id(area, options.year, number),
                home=area,
                year=year,
                seed=options.seed,
                punctuality=options.punctuality,
            )
            yield role, person


def _comes_under_mappa(role: Role) -> bool:
    return role.course in NEW_COURSES and role.entry in NEW_ENTRIES


def _entered_in(person: Person, year: ReportingYear) -> bool:
    """Whether `person` comes under MAPPA in `year` and counts in no earlier year's tables (so
    adding them leaves the earlier years' truth as it was)."""
    management = person.management
    if management is None or not year.contains(management.identified_on):
        return False
    before = ReportingYear(year.opens - 1)
    return all(cell is Cell.SEEN for (_, cell, _, _) in contributions(person, before))


def all_events(options: SimulationOptions) -> Iterator[Envelope[EventData]]:
    """Every event of the run: area after area, each area's in time order."""
    for item in simulate(options):
        yield from events(item, options.seed)


def events(area_year: AreaYear, seed: int) -> Iterator[Envelope[EventData]]:
    """The events of an area-year's people, in time order (then case, then within the case)."""
    for happening in sorted_happenings(area_year, seed):
        yield envelope(happening)


def sorted_happenings(area_year: AreaYear, seed: int) -> list[Happening]:
    """Every happening of the area-year's people, in the order the events are emitted: all of
    an entering person's (their history before the year included), only the year's of a person
    carried over (the earlier ones came with the earlier years)."""
    stories = [happenings(person, seed) for person in area_year.people]
    stories += [happenings(person, seed, area_year.year) for person in area_year.carried]
    keyed = [
        (happening.time, order, index, happening)
        for order, story in enumerate(stories)
        for index, happening in enumerate(story)
    ]
    keyed.sort(key=lambda item: item[:3])
    return [happening for *_, happening in keyed]


def truth_counts(area_years: Iterable[AreaYear]) -> Counter[Key]:
    """The summed contributions of every person of the run's area-years (all of one year)."""
    counts: Counter[Key] = Counter()
    for item in area_years:
        counts.update(tally(item.everyone, item.year))
    return counts


def intended(options: SimulationOptions) -> dict[Area, MappaStatistics]:
    """The statistics the run intends for its first year, per area its events name (the
    generator's own truth)."""
    return intended_by_year(options)[ReportingYear(options.year)]


def intended_by_year(
    options: SimulationOptions,
) -> dict[ReportingYear, dict[Area, MappaStatistics]]:
    """The statistics the run intends for each of its years."""
    counts: dict[ReportingYear, Counter[Key]] = {}
    for item in simulate(options):
        counts.setdefault(item.year, Counter()).update(tally(item.everyone, item.year))
    return {
        year: statistics(year_counts, year, options.populations)
        for year, year_counts in counts.items()
    }


def intended_plans(options: SimulationOptions) -> list[PlanFigures]:
    """The plan figures the run intends, per area-year its actions were agreed in."""
    return plan_figures(fact for item in simulate(options) for fact in new_action_facts(item))


def new_action_facts(item: AreaYear) -> list[ActionFacts]:
    """The facts of the actions agreed in an area-year's stories: every action of the people
    entering it, the year's of the people carried over (as each stands at the run's end: the
    simulator never takes an action up again in a later year)."""
    carried = [
        facts
        for person in item.carried
        for facts in action_facts(person)
        if item.year.contains(facts.agreed_on)
    ]
    return people_facts(item.people) + carried


def _targets(
    options: SimulationOptions, area: Area, year: ReportingYear
) -> tuple[MappaStatistics, float]:
    """The tables `area` must show, and how big its uncounted flows are (1.0: Kent-sized)."""
    if options.scenario is Scenario.KENT_2020_21 and area is Area.KENT:
        return kent_2020_21(), 1.0
    factor = size_factor(area) * options.scale
    rng = seeded(options.seed, options.year, area.value, "targets")
    return generic_targets(rng, area, year.start, factor), factor
