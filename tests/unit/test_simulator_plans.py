"""The simulator's risk management plans and risk assessments: actions agreed at meetings by
their chair, owned by an agency present, followed up by that owner alone at its own rate, the
same for a seed; assessments before every raise for risk; nothing the yearly tables count
changed."""

from collections import Counter
from dataclasses import replace
from datetime import date
from itertools import pairwise

import pytest

from mappa_bus.agencies import SHARING_AGENCIES, Agency
from mappa_bus.catalogue import Envelope, EventData, plans
from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.plans import RiskLevel
from mappa_bus.catalogue.probation import LeadAgency, LevelReason, MappaMeetingHeld
from mappa_bus.catalogue.vocabulary import Category
from mappa_bus.reporting.plan_actions import action_facts, fold_steps
from mappa_bus.simulator.actions import KINDS
from mappa_bus.simulator.options import SimulationOptions
from mappa_bus.simulator.person import Person, Step, level_at
from mappa_bus.simulator.plan_truth import plan_figures
from mappa_bus.simulator.rates import PUNCTUALITY, Punctuality
from mappa_bus.simulator.run import AreaYear, area_year, events, intended, intended_plans, simulate

OPTIONS = SimulationOptions(scale=0.1, seed=21)


@pytest.fixture(scope="module")
def kent() -> AreaYear:
    return area_year(OPTIONS, Area.KENT)


@pytest.fixture(scope="module")
def kent_events(kent: AreaYear) -> list[Envelope[EventData]]:
    return list(events(kent, OPTIONS.seed))


def _meetings(person: Person) -> dict[str, MappaMeetingHeld]:
    return {
        note.data.meeting_reference or "": note.data
        for note in person.notes
        if isinstance(note.data, MappaMeetingHeld)
    }


def test_plans_are_the_same_for_a_seed_and_differ_for_another() -> None:
    """Planning actions is a function of the options: equal seeds agree, others differ."""
    first = area_year(SimulationOptions(scale=0.05, seed=3), Area.SURREY)
    again = area_year(SimulationOptions(scale=0.05, seed=3), Area.SURREY)
    other = area_year(SimulationOptions(scale=0.05, seed=4), Area.SURREY)

    def actions(item: AreaYear) -> list[object]:
        return [action for person in item.people for action in person.actions]

    expected = (True, False, True)
    assert expected == (
        actions(first) == actions(again),
        actions(first) == actions(other),
        len(actions(first)) > 0,
    )


def test_every_action_is_agreed_at_a_meeting_of_its_case_by_its_chair(kent: AreaYear) -> None:
    """An action names one of its case's meetings, is agreed on its day, owned by an agency
    present at it, by police for a police-led category 1 case and probation otherwise."""
    problems = []
    for person in kent.people:
        held = _meetings(person)
        management = person.management
        for action in person.actions:
            meeting = held.get(action.meeting_reference)
            assert management is not None
            police_chairs = (
                management.lead_agency is LeadAgency.POLICE
                and management.category is Category.REGISTERED_SEX_OFFENDER
            )
            fine = (
                meeting is not None
                and meeting.held_on == action.agreed_on
                and action.owner in meeting.agencies_present
                and action.chair is (Agency.POLICE if police_chairs else Agency.PROBATION)
            )
            if not fine:
                problems.append(action.action_id)

    expected: list[str] = []
    assert expected == problems


def test_each_meeting_agrees_one_to_four_actions_due_two_to_eight_weeks_later(
    kent: AreaYear,
) -> None:
    """Every meeting agrees 1-4 actions, each due 14 to 56 days after it, of a kind its owner
    takes on; action ids are unique within the case."""
    per_meeting: Counter[tuple[str, str]] = Counter()
    dues, kinds, unique = set(), set(), True
    for person in kent.people:
        ids = [action.action_id for action in person.actions]
        unique &= len(ids) == len(set(ids))
        for action in person.actions:
            per_meeting[(person.case_id, action.meeting_reference)] += 1
            dues.add((action.due_on - action.agreed_on).days)
            kinds.add(action.kind in KINDS[action.owner])
    meetings = {(person.case_id, ref) for person in kent.people for ref in _meetings(person)}

    expected = (meetings, {1, 2, 3, 4}, True, {7 * weeks for weeks in range(2, 9)}, {True})
    assert expected == (
        set(per_meeting),
        set(per_meeting.values()),
        unique,
        dues,
        kinds,
    )


def test_outcomes_follow_redatings_and_stay_within_the_year(kent: AreaYear) -> None:
    """Re-datings come in order after the agreement, each moving the due date later, and any
    outcome comes after them, by the end of the year; an action is completed or closed or
    neither, never both."""
    problems = []
    for person in kent.people:
        for action in person.actions:
            days = [action.agreed_on, *(r.redated_on for r in action.redatings)]
            dues = [action.due_on, *(r.due_on for r in action.redatings)]
            outcome = action.completed_on or action.closed_on
            fine = (
                all(a < b for a, b in pairwise(days))
                and all(a < b for a, b in pairwise(dues))
                and (outcome is None or days[-1] <= outcome <= kent.year.end)
                and (action.completed_on is None or action.closed_on is None)
                and (action.closed_on is None) == (action.closure_reason is None)
            )
            if not fine:
                problems.append(action.action_id)

    expected: list[str] = []
    assert expected == problems


def test_only_the_owner_publishes_an_actions_outcomes(
    kent_events: list[Envelope[EventData]],
) -> None:
    """Every completion, closure and re-dating is published by the agency the agreement named
    as owner, after the agreement, and every agreement by the meeting's chair."""
    owners: dict[tuple[str, str], Agency] = {}
    wrong = []
    for event in kent_events:
        data = event.data
        if isinstance(data, plans.ActionAgreed):
            owners[(event.subject, data.action_id)] = data.owner
        elif isinstance(data, plans.ActionCompleted | plans.ActionClosed | plans.ActionRedated):
            wrong += (
                [] if owners.get((event.subject, data.action_id)) is event.publisher else [event.id]
            )
    outcomes = sum(isinstance(e.data, plans.ActionCompleted) for e in kent_events)

    expected: tuple[list[str], bool] = ([], True)
    assert expected == (wrong, outcomes > 0)


def test_meetings_carry_the_reference_their_actions_name(
    kent_events: list[Envelope[EventData]],
) -> None:
    """Each agreement's meeting reference is that of a meeting of the same case on its day."""
    meetings = {
        (e.subject, e.data.meeting_reference, e.data.held_on)
        for e in kent_events
        if isinstance(e.data, MappaMeetingHeld)
    }
    agreed = {
        (e.subject, e.data.meeting_reference, e.data.agreed_on)
        for e in kent_events
        if isinstance(e.data, plans.ActionAgreed)
    }

    expected: set[tuple[str, str | None, date]] = set()
    assert expected == agreed - meetings


def test_punctuality_is_configurable_per_agency() -> None:
    """With housing never recording an outcome and probation always on time without re-dating,
    every housing action stays open and every probation one is completed by its due date."""
    punctuality: dict[Agency, Punctuality] = {
        **PUNCTUALITY,
        Agency.HOUSING: Punctuality(0, 0, 0, 1, 1, 0),
        Agency.PROBATION: Punctuality(1, 0, 0, 0, 1, 0),
    }
    options = replace(OPTIONS, punctuality=punctuality)
    item = area_year(options, Area.KENT)
    year_end = item.year.end
    housing, probation = Counter[str](), Counter[str]()
    for person in item.people:
        ended = person.management.ended_on if person.management else None
        for action in person.actions:
            if action.owner is Agency.HOUSING:
                housing["open" if action.completed_on is None else "done"] += 1
            # Due after the year or after management ended: nothing can be done in time.
            if action.owner is Agency.PROBATION and action.due_on <= (ended or year_end):
                on_time = action.completed_on is not None and action.completed_on <= action.due_on
                probation["on time" if on_time and not action.redatings else "other"] += 1

    expected = ({"open"}, {"on time"})
    assert expected == (set(housing), set(probation))


def test_punctuality_must_cover_every_agency() -> None:
    """Options missing an agency's punctuality are refused."""
    partial: dict[Agency, Punctuality] = {
        agency: rates for agency, rates in PUNCTUALITY.items() if agency is not Agency.DWP
    }

    with pytest.raises(ValueError, match="punctuality"):
        SimulationOptions(punctuality=partial)


def test_default_punctuality_makes_some_agencies_worse_than_others() -> None:
    """By default housing completes fewer actions on time than probation does."""
    expected = True
    assert expected == (PUNCTUALITY[Agency.HOUSING].on_time < PUNCTUALITY[Agency.PROBATION].on_time)


# --- risk assessments -------------------------------------------------------------------------


def _assessments(person: Person) -> list[tuple[date, Agency, plans.RiskAssessment]]:
    return sorted(
        (note.day, note.data.PUBLISHER, note.data)
        for note in person.notes
        if isinstance(note.data, plans.RiskAssessment)
    )


def test_a_raise_for_risk_follows_a_high_assessment(kent: AreaYear) -> None:
    """The last probation assessment before a level raised because risk increased found high
    or very high risk."""
    found = []
    for person in kent.people:
        management = person.management
        for stay in person.levels:
            if management is None or stay.reason is not LevelReason.RISK_INCREASED:
                continue
            before = [
                data.overall
                for day, agency, data in _assessments(person)
                if agency is Agency.PROBATION and day < stay.set_on
            ]
            found.append(before[-1] if before else None)

    expected = (True, {RiskLevel.HIGH, RiskLevel.VERY_HIGH})
    assert expected == (len(found) > 0, set(found))


def test_every_managed_person_is_assessed_by_probation_and_rsos_by_police(
    kent: AreaYear,
) -> None:
    """Everyone managed during the year has a probation OASys assessment; every registered
    sex offender in the community on 31 March has an ARMS one by the police."""
    missing = []
    for person in kent.people:
        management = person.management
        if management is None:
            continue
        agencies = {agency for _, agency, _ in _assessments(person)}
        tools = {data.tool for _, _, data in _assessments(person)}
        if Agency.PROBATION not in agencies or plans.RiskTool.OASYS_ROSH not in tools:
            missing.append(person.case_id)
        rso = person.registration is not None and person.registration.ended_on is None
        in_community = not any(s.released_on is None for s in person.custody) and not any(
            d.discharged_on is None for d in person.detentions
        )
        if rso and in_community and plans.RiskTool.ARMS not in tools:
            missing.append(person.case_id)

    expected: list[str] = []
    assert expected == missing


def test_a_few_level_1_cases_are_assessed_high(kent: AreaYear) -> None:
    """Some assessments at level 1 find high risk, but few (the alert has work, not a flood)."""
    at_level_1 = Counter[bool]()
    for person in kent.people:
        for day, _, data in _assessments(person):
            if level_at(person, (day, Step.RECORD)) == 1:
                at_level_1[data.overall in (RiskLevel.HIGH, RiskLevel.VERY_HIGH)] += 1

    share = at_level_1[True] / at_level_1.total()
    expected = (True, True)
    assert expected == (at_level_1[True] > 0, share < 0.05)


def test_punctuality_changes_no_yearly_table() -> None:
    """Whatever the agencies do with their actions, the statistics the run intends are the
    same: plans draw from generators of their own, after the facts the tables count."""
    slow = {agency: Punctuality(0, 1, 0, 0, 40, 1) for agency in SHARING_AGENCIES}
    options = SimulationOptions(areas=(Area.CUMBRIA,), scale=0.2, seed=2)

    assert intended(options) == intended(replace(options, punctuality=slow))


# --- the truth: what the simulator meant, against what its events say ------------------------


def test_intended_plan_figures_equal_the_fold_of_the_events() -> None:
    """The plan figures the simulator intends from its people equal, for every area-year and
    agency, those the reporting fold computes from the run's events (a small national run, so
    transfers carry actions between areas)."""
    options = SimulationOptions(areas=(Area.KENT, Area.SURREY, Area.CUMBRIA), scale=0.1, seed=9)
    steps = fold_steps({}, (event for item in simulate(options) for event in events(item, 9)))

    assert intended_plans(options) == plan_figures(action_facts(steps))


def test_the_truth_counts_every_outcome_of_the_simulated_year() -> None:
    """Kent's intended figures for the simulated year hold actions completed on time, late,
    closed and open, for probation and for the police."""
    figures = {(item.area, item.year_start): item for item in intended_plans(OPTIONS)}[
        (Area.KENT, date(2020, 4, 1))
    ]
    rows = {row.agency: row for row in figures.agencies}

    def nonzero(agency: Agency) -> tuple[bool, ...]:
        row = rows[agency]
        closed = sum(row.closed_not_completed.values())
        return tuple(n > 0 for n in (row.completed_on_time, row.completed_late, closed, row.open))

    expected = ((True,) * 4, (True,) * 4)
    assert expected == (nonzero(Agency.PROBATION), nonzero(Agency.POLICE))
