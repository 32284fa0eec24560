"""The reporting fold: counted from the events, the tables equal what the simulator intended."""

import random
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappa_bus.case.merges import Merges
from mappa_bus.catalogue import Area, Envelope, EventData, ReportingYear
from mappa_bus.reporting.count import count_year, count_years, merged_cases, merged_people
from mappa_bus.reporting.facts import CaseFacts, tally
from mappa_bus.reporting.population import SHIPPED_POPULATIONS
from mappa_bus.reporting.tables import MappaStatistics, empty_grid, kent_2020_21
from mappa_bus.simulator.options import ALL_AREAS, Scenario, SimulationOptions
from mappa_bus.simulator.run import events, intended, simulate
from tests.facts import case_facts

YEAR = date(2020, 4, 1)


def _events(options: SimulationOptions) -> list[Envelope[EventData]]:
    return [event for area_year in simulate(options) for event in events(area_year, options.seed)]


def _zero(area: Area, rsos_per_100k: int | None = None) -> MappaStatistics:
    """An area with no figures at all (the simulator's truth lists areas a transfer touched)."""
    levels = empty_grid((2, 3), (1, 2, 3))
    return MappaStatistics(
        area=area,
        year_start=YEAR,
        eligible_on_31_march=empty_grid((1, 2, 3), (1, 2, 3)),
        levels_2_and_3_in_year=levels,
        notification_breaches=0,
        lifetime_notification_revoked=0,
        shpos=0,
        shpos_with_foreign_travel_restriction=0,
        notification_orders=0,
        sro_breach_notifications=0,
        returned_for_breach_of_licence=empty_grid((2, 3), (1, 2, 3)),
        returned_for_breach_of_sopo={2: 0, 3: 0},
        rsos_per_100k=rsos_per_100k,
    )


KENT = SimulationOptions(scenario=Scenario.KENT_2020_21)
KENT_EVENTS = _events(KENT)


def test_the_kent_scenario_counts_to_the_seed_reports_tables() -> None:
    """Folding the simulated Kent year reproduces every figure Kent published for 2020-21."""
    counted = count_year(case_facts(KENT_EVENTS), YEAR, SHIPPED_POPULATIONS)

    assert counted[Area.KENT] == kent_2020_21()


def test_every_year_counted_in_one_pass_over_a_stream_is_each_years_own_count() -> None:
    """The publication counts a store's cases as it reads them, once, for every closed year:
    the tables are those of each year counted over every case (Kent's 2020-21 the seed's)."""
    facts = case_facts(KENT_EVENTS)
    years = sorted({ReportingYear.holding(f.time).opens for c in facts.values() for f in c})
    years = [year for year in years if year >= 2001]

    counted = count_years(iter(facts.items()), years, SHIPPED_POPULATIONS)

    assert len(years) > 1
    assert counted == {
        year: count_year(facts, ReportingYear(year).start, SHIPPED_POPULATIONS) for year in years
    }
    assert counted[YEAR.year][Area.KENT] == kent_2020_21()


def test_merged_people_from_a_stream_are_the_merged_cases() -> None:
    """A merged group's ids, wherever they fall in the stream, come out as one person under the
    kept id with every fact of theirs; the other cases as they were."""
    facts = case_facts(KENT_EVENTS)
    first, second, third, *_ = sorted(facts)
    merges = Merges({third: first, second: first})

    people = dict(merged_people(iter(facts.items()), merges))

    group = (first, second, third)
    assert people[first] == tuple(sorted({*facts[first], *facts[second], *facts[third]}))
    assert {k: v for k, v in people.items() if k not in group} == {
        k: v for k, v in facts.items() if k not in group
    }
    assert people.keys() == merged_cases(facts, merges).keys() == facts.keys() - {second, third}


@pytest.mark.year
def test_counting_the_events_agrees_with_the_simulators_own_truth_everywhere() -> None:
    """Every area the Kent run touches (transfers reach others) counts as the simulator meant."""
    counted = count_year(case_facts(KENT_EVENTS), YEAR, SHIPPED_POPULATIONS)
    truth = intended(KENT)

    for area, expected in truth.items():
        assert counted.get(area, _zero(area, expected.rsos_per_100k)) == expected


@pytest.mark.year
def test_a_small_national_year_counts_as_intended_in_every_area() -> None:
    """At a tenth of the size, all 42 areas' counts equal the simulator's truth."""
    options = SimulationOptions(areas=ALL_AREAS, scale=0.05, seed=7)

    counted = count_year(case_facts(_events(options)), YEAR, options.populations)
    truth = intended(options)

    assert sorted(area.value for area in counted) == sorted(
        area.value for area, figures in truth.items() if figures != _zero(area)
    )
    for area, figures in counted.items():
        assert figures == truth[area]


def test_the_other_reading_of_table_2_counts_each_level_held() -> None:
    """Counting each level held can only add to the rows, never remove from them."""
    cases = case_facts(KENT_EVENTS)

    highest = count_year(cases, YEAR)[Area.KENT].levels_2_and_3_in_year
    each = count_year(cases, YEAR, once_per_level=True)[Area.KENT].levels_2_and_3_in_year

    assert all(each[level][c] >= highest[level][c] for level in (2, 3) for c in (1, 2, 3))
    assert each[3] == highest[3]


@settings(max_examples=30, deadline=None)
@given(st.randoms(use_true_random=False))
def test_a_cases_facts_do_not_depend_on_arrival_order_or_duplicates(rng: random.Random) -> None:
    """Shuffled and partly redelivered, a case's events fold to the same facts."""
    case = KENT_EVENTS[0].case_id
    own = [event for event in KENT_EVENTS if event.case_id == case]
    shuffled = own + rng.sample(own, k=min(3, len(own)))
    rng.shuffle(shuffled)

    in_order: CaseFacts = ()
    for event in own:
        in_order = tally(in_order, event)
    any_order: CaseFacts = ()
    for event in shuffled:
        any_order = tally(any_order, event)

    assert any_order == in_order
