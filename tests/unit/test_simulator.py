"""The simulator's plan and truth: the Kent scenario reproduces the seed report, every area
realises its plan, and the same seed gives the same people."""

from datetime import date

import pytest

from mappa_bus.catalogue import ReportingYear
from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.vocabulary import Category
from mappa_bus.reporting.population import (
    KENT_2020_IMPLIED_POPULATION_AGED_10_PLUS,
    parse_population_csv,
    per_100k,
)
from mappa_bus.reporting.tables import kent_2020_21
from mappa_bus.simulator.dates import uk_offset
from mappa_bus.simulator.options import ALL_AREAS, Scenario, SimulationOptions
from mappa_bus.simulator.run import area_year, intended, simulate, truth_counts
from mappa_bus.simulator.truth import data_quality, statistics
from mappa_bus.simulator.weights import (
    AREA_CODES,
    AREA_WEIGHTS,
    KENT_ELIGIBLE_ON_31_MARCH,
    NATIONAL_ELIGIBLE_ON_31_MARCH,
    size_factor,
)

KENT_SCENARIO = SimulationOptions(scenario=Scenario.KENT_2020_21)


def test_kent_scenario_intends_the_published_tables() -> None:
    """The kent-2020-21 scenario's truth for Kent is the seed report's tables, table 8 too."""
    truth = intended(KENT_SCENARIO)

    assert kent_2020_21() == truth[Area.KENT]


def test_kent_scenario_is_exact_for_every_seed() -> None:
    """Another seed draws other people but still realises exactly the published tables."""
    truth = intended(SimulationOptions(scenario=Scenario.KENT_2020_21, seed=97))

    assert kent_2020_21() == truth[Area.KENT]


@pytest.mark.year
def test_kent_scenario_is_exact_in_a_national_run() -> None:
    """With all 42 areas at a small scale, no other area's transfers disturb Kent's tables."""
    options = SimulationOptions(areas=ALL_AREAS, scenario=Scenario.KENT_2020_21, scale=0.01)

    assert kent_2020_21() == intended(options)[Area.KENT]


@pytest.mark.year
@pytest.mark.parametrize("area", [Area.KENT, Area.CUMBRIA, Area.LONDON])
def test_a_generic_area_realises_its_plan(area: Area) -> None:
    """A single generic area's truth equals the tables its plan drew (no population: no 8)."""
    options = SimulationOptions(areas=(area,), seed=5, scale=0.2 if area is Area.LONDON else 1)
    item = area_year(options, area)

    truth = statistics(truth_counts([item]), item.year, {})

    assert item.targets.model_copy(update={"rsos_per_100k": None}) == truth[area]


@pytest.mark.year
def test_a_kent_sized_area_is_mostly_category_1_at_level_1() -> None:
    """A generic Kent has about 2,500 eligible people on 31 March, most category 1 at level 1."""
    table = intended(SimulationOptions(seed=3))[Area.KENT].eligible_on_31_march
    total = sum(sum(row.values()) for row in table.values())

    expected = (True, True)
    assert expected == (2_300 < total < 3_300, table[1][1] > total / 2)


def test_same_seed_same_people_and_other_seed_other_people() -> None:
    """Planning is a function of the options: equal seeds agree, different seeds differ."""
    first = area_year(SimulationOptions(seed=11, scale=0.05), Area.KENT)
    again = area_year(SimulationOptions(seed=11, scale=0.05), Area.KENT)
    other = area_year(SimulationOptions(seed=12, scale=0.05), Area.KENT)

    expected = (True, False)
    assert expected == (first.people == again.people, first.people == other.people)


@pytest.mark.year
def test_category_3_is_never_at_level_1() -> None:
    """No category 3 person ever has a level 1 stay, so the data-quality note stays empty."""
    runs = list(simulate(SimulationOptions(areas=ALL_AREAS, scale=0.05, seed=2)))
    levels = {
        stay.level
        for item in runs
        for person in item.people
        if person.management and person.management.category is Category.OTHER_DANGEROUS_OFFENDER
        for stay in person.levels
    }

    expected: tuple[bool, dict[Area, int]] = (False, {})
    assert expected == (1 in levels, data_quality(truth_counts(runs)))


def test_the_national_run_aims_at_about_90_000_people() -> None:
    """The size factors of the 42 areas add up to the national total, in Kent-sized units."""
    total = sum(size_factor(area) for area in Area) * KENT_ELIGIBLE_ON_31_MARCH
    expected = NATIONAL_ELIGIBLE_ON_31_MARCH

    assert expected == round(total)


def test_every_area_has_a_weight_and_a_distinct_code() -> None:
    """Each of the 42 areas has a simulation weight and its own three-letter case id code."""
    codes = [AREA_CODES[area] for area in Area]

    assert (set(Area), set(Area), 42) == (set(AREA_WEIGHTS), set(AREA_CODES), len(set(codes)))


def test_table_8_for_kent_uses_the_implied_population() -> None:
    """1,888 RSOs over Kent's implied population aged 10+ give the published 115."""
    published = kent_2020_21().rsos_per_100k
    assert published == per_100k(1_888, KENT_2020_IMPLIED_POPULATION_AGED_10_PLUS)


def test_population_csv_gives_areas_their_table_8() -> None:
    """A user's CSV maps area slugs to populations; an unknown area is refused by line."""
    parsed = parse_population_csv("area,population_aged_10_plus\nsurrey,1050000\n\n")

    with pytest.raises(ValueError, match="line 2: unknown area 'narnia'"):
        parse_population_csv("area,population_aged_10_plus\nnarnia,5\n")
    expected = {Area.SURREY: 1_050_000}
    assert expected == parsed


def test_a_scenario_needs_its_area_and_year() -> None:
    """Asking for kent-2020-21 without Kent, or for another year, is refused."""
    with pytest.raises(ValueError, match="scenario"):
        SimulationOptions(areas=(Area.SURREY,), scenario=Scenario.KENT_2020_21)
    with pytest.raises(ValueError, match="scenario"):
        SimulationOptions(year=2021, scenario=Scenario.KENT_2020_21)


def test_the_uk_clock_changes_on_the_last_sundays_of_march_and_october() -> None:
    """Events carry BST from the last Sunday of March to the last Sunday of October."""
    offsets = [
        uk_offset(day).utcoffset(None).total_seconds() / 3600
        for day in (date(2020, 3, 28), date(2020, 3, 29), date(2020, 10, 24), date(2020, 10, 25))
    ]

    expected = [0, 1, 1, 0]
    assert expected == offsets


def test_the_reporting_year_runs_from_1_april_to_31_march() -> None:
    """ReportingYear(2020) is 1 April 2020 to 31 March 2021."""
    assert (date(2020, 4, 1), date(2021, 3, 31)) == (
        ReportingYear(2020).start,
        ReportingYear(2020).end,
    )


def test_table_8_rounds_half_up() -> None:
    """A rate of exactly n.5 per 100,000 rounds up, as published tables do."""
    expected = (3, 2)
    assert expected == (per_100k(5, 200_000), per_100k(3, 200_000))
