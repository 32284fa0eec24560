"""Several consecutive years: the first as a one-year run makes it, people still managed at a
year's end carried into the next with their earlier facts untouched, new people entering, the
events of every year folding to that year's truth, the same for a seed."""

from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mappa_bus.catalogue import Area, Envelope, EventData, ReportingYear, to_wire
from mappa_bus.catalogue.probation import MappaMeetingHeld
from mappa_bus.cli import app
from mappa_bus.reporting.count import count_year
from mappa_bus.reporting.plan_actions import action_facts, fold_steps
from mappa_bus.reporting.tables import MappaStatistics
from mappa_bus.simulator.files import read_truth
from mappa_bus.simulator.options import Scenario, SimulationOptions
from mappa_bus.simulator.person import end_of, managed_at
from mappa_bus.simulator.plan_truth import plan_figures
from mappa_bus.simulator.run import (
    AreaYear,
    events,
    intended,
    intended_by_year,
    intended_plans,
    simulate,
)
from mappa_bus.simulator.truth import contributions
from tests.facts import case_facts

Event = Envelope[EventData]
THREE = SimulationOptions(areas=(Area.CUMBRIA,), scale=0.3, seed=5, years=3)


@pytest.fixture(scope="module")
def run() -> list[AreaYear]:
    return list(simulate(THREE))


@pytest.fixture(scope="module")
def run_events(run: list[AreaYear]) -> list[list[Event]]:
    return [list(events(item, THREE.seed)) for item in run]


def _bytes(items: Sequence[AreaYear], seed: int) -> list[bytes]:
    return [to_wire(event) for item in items for event in events(item, seed)]


def test_years_are_counted_from_one_to_twenty() -> None:
    """A run is of 1 to 20 consecutive years; 0 or 21 is refused, naming the option."""
    refused = []
    for years in (0, 21):
        with pytest.raises(ValueError, match="years") as raised:
            SimulationOptions(years=years)
        refused.append(str(raised.value))

    expected = ["years: must be from 1 to 20"] * 2
    assert expected == refused


@pytest.mark.year
def test_the_first_year_is_the_same_whatever_the_years() -> None:
    """Kent 2020-21 as the first of two years is the one-year run's, byte for byte, and its
    truth is still the published tables."""
    one = SimulationOptions(scenario=Scenario.KENT_2020_21)
    two = SimulationOptions(scenario=Scenario.KENT_2020_21, years=2)
    first, second = list(simulate(two))

    expected = (_bytes(list(simulate(one)), one.seed), intended(one), ["2020-21", "2021-22"])
    assert expected == (
        _bytes([first], two.seed),
        intended(two),
        [first.year.label, second.year.label],
    )


@pytest.mark.year
def test_everyone_managed_at_a_years_end_is_carried_into_the_next(run: list[AreaYear]) -> None:
    """The people carried into a year are exactly those under MAPPA management at the end of
    the year before, whoever entered when."""
    checks = []
    for before, after in pairwise(run):
        managed = {
            person.case_id
            for person in before.everyone
            if managed_at(person, end_of(before.year.end))
        }
        checks.append((managed, {person.case_id for person in after.carried}))

    assert [(found, found) for found, _ in checks] == checks
    assert all(len(found) > 100 for found, _ in checks)


@pytest.mark.year
def test_a_carried_persons_earlier_years_stay_as_they_were(run: list[AreaYear]) -> None:
    """Carried on, a person keeps every earlier level, note and action, and counts in the
    earlier year exactly as before."""
    changed = []
    for before, after in pairwise(run):
        earlier = {person.case_id: person for person in before.everyone}
        for person in after.carried:
            was = earlier[person.case_id]
            kept = (
                person.levels[: len(was.levels)] == was.levels
                and person.notes[: len(was.notes)] == was.notes
                and person.actions[: len(was.actions)] == was.actions
                and contributions(person, before.year) == contributions(was, before.year)
            )
            if not kept:
                changed.append(person.case_id)

    expected: list[str] = []
    assert expected == changed


@pytest.mark.year
def test_later_years_hold_only_their_own_events_of_carried_people(
    run: list[AreaYear], run_events: list[list[Event]]
) -> None:
    """A carried person's events in a later year all happen in it, and every entrant came
    under MAPPA in the year it entered."""
    outside, early = [], []
    for item, emitted in zip(run[1:], run_events[1:], strict=True):
        carried = {person.case_id for person in item.carried}
        outside += [
            event.id
            for event in emitted
            if event.case_id in carried and not item.year.contains(event.time.date())
        ]
        early += [
            person.case_id
            for person in item.people
            if person.management is None or not item.year.contains(person.management.identified_on)
        ]

    expected: tuple[list[str], list[str]] = ([], [])
    assert expected == (outside, early)


@pytest.mark.year
def test_every_year_folds_to_its_own_truth(run_events: list[list[Event]]) -> None:
    """The reporting fold of all the run's events gives, for every year, the statistics the
    simulator intended for it, and the plan figures of every area-year."""
    everything = [event for emitted in run_events for event in emitted]
    cases = case_facts(everything)
    truth = intended_by_year(THREE)
    differing = {}
    for year, areas in truth.items():
        counted = count_year(cases, year.start, THREE.populations)
        for area, figures in areas.items():
            found = counted.get(area, _zero(figures))
            if found != figures:
                differing[(year.label, area.value)] = found
    steps = fold_steps({}, everything)

    expected: tuple[dict[tuple[str, str], MappaStatistics], list[str]] = (
        {},
        ["2020-21", "2021-22", "2022-23"],
    )
    assert expected == (
        differing,
        [year.label for year in truth],
    )
    assert intended_plans(THREE) == plan_figures(action_facts(steps))


def _zero(figures: MappaStatistics) -> MappaStatistics:
    """An area a run only touched (a transfer), counted as having nothing at all."""
    return MappaStatistics.model_validate(
        {
            **figures.model_dump(),
            **{
                name: _zeroed(value)
                for name, value in figures.model_dump().items()
                if name not in ("area", "year_start", "rsos_per_100k")
            },
        }
    )


def _zeroed(value: object) -> object:
    """Every count in `value` made 0 (a table's grid, or one number); anything else kept."""
    if isinstance(value, dict):
        return {key: _zeroed(inner) for key, inner in value.items()}
    return 0 if isinstance(value, int) else value


@pytest.mark.year
def test_later_years_are_the_same_for_a_seed_and_differ_for_another(
    run: list[AreaYear],
) -> None:
    """Simulated again with its seed, every year gives the same bytes; another seed, others."""
    again = list(simulate(THREE))
    other = list(simulate(SimulationOptions(areas=(Area.CUMBRIA,), scale=0.3, seed=6, years=3)))

    expected = (True, False)
    assert expected == (
        _bytes(run[1:], THREE.seed) == _bytes(again[1:], THREE.seed),
        _bytes(run[1:], THREE.seed) == _bytes(other[1:], 6),
    )


@pytest.mark.year
def test_ids_never_repeat_across_years(run: list[AreaYear], run_events: list[list[Event]]) -> None:
    """Event ids, meeting references and action ids are unique over the run; an entrant's case
    id names the year it entered."""
    everything = [event for emitted in run_events for event in emitted]
    meetings = [
        (event.case_id, event.data.meeting_reference)
        for event in everything
        if isinstance(event.data, MappaMeetingHeld)
    ]
    actions = [action.action_id for person in run[-1].everyone for action in person.actions]
    entrants = {item.year.label: {person.case_id[4:8] for person in item.people} for item in run}

    assert (len(everything), len(meetings), len(actions)) == (
        len({event.id for event in everything}),
        len(set(meetings)),
        len(set(actions)),
    )
    assert {"2020-21": {"2020"}, "2021-22": {"2021"}, "2022-23": {"2022"}} == entrants


@pytest.mark.year
def test_carried_people_live_on(run_events: list[list[Event]]) -> None:
    """In the later years people are released, recalled, reviewed at meetings, change level,
    are assessed and stop being managed, and new people come under MAPPA."""
    later = Counter(event.type.split(".")[-2] for emitted in run_events[1:] for event in emitted)
    wanted = {
        "released-from-custody",
        "returned-to-custody",
        "recall-issued",
        "mappa-meeting-held",
        "plan-action-agreed",
        "mappa-level-set",
        "risk-assessment-completed",
        "mappa-management-ended",
        "mappa-eligibility-identified",
    }

    assert wanted == {name for name in wanted if later[name] > 0}


@pytest.mark.year
def test_simulate_command_writes_each_years_truth(tmp_path: Path) -> None:
    """`mappa simulate --years 2` writes truth.json (the first year) and each year's truth."""
    result = CliRunner().invoke(
        app,
        [
            *("simulate", "--area", "cumbria", "--scale", "0.1", "--seed", "3"),
            *("--years", "2", "--out", str(tmp_path)),
        ],
    )
    options = SimulationOptions(areas=(Area.CUMBRIA,), scale=0.1, seed=3, years=2)
    truth = intended_by_year(options)
    first, second = ReportingYear(2020), ReportingYear(2021)

    assert (0, truth[first], truth[first], truth[second]) == (
        result.exit_code,
        read_truth(tmp_path / "truth.json"),
        read_truth(tmp_path / "truth-2020-21.json"),
        read_truth(tmp_path / "truth-2021-22.json"),
    )
