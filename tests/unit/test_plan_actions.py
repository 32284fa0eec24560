"""The fold of plan events into each action's facts: owner-only outcomes, outcomes held until
the agreement arrives, the due date in force, and the same facts in any order."""

import itertools
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, Envelope, EventData, make_event
from mappa_bus.catalogue import plans as p
from mappa_bus.reporting.plan_actions import (
    ActionKey,
    ActionSteps,
    action_facts,
    facts_of,
    fold_steps,
    insert_step,
    step_of,
)
from mappa_bus.reporting.plan_figures import ActionFacts, figures_from_actions
from tests import plan_events

CASE = "KEN-2020-000001"
KEY: ActionKey = (CASE, "ACT-001")
START = datetime(2020, 6, 1, 10, 0, tzinfo=UTC)


def _event(data: EventData, hours: int, area: Area = Area.KENT) -> Envelope[EventData]:
    """`data` published `hours` after the meeting, about the one case."""
    time = START + timedelta(hours=hours)
    return make_event(data, case_id=CASE, area=area, time=time, system="system")


def _agreed(owner: Agency = Agency.HOUSING, action_id: str = "ACT-001") -> Envelope[EventData]:
    data = p.ProbationPlanActionAgreed(
        action_id=action_id,
        meeting_reference="MAPPA-KEN-2020-0601",
        agreed_on=date(2020, 6, 1),
        owner=owner,
        kind=p.ActionKind.ACCOMMODATION_SEARCH,
        due_on=date(2020, 6, 30),
    )
    return _event(data, 0)


def _completed(on: date, hours: int = 24 * 40) -> Envelope[EventData]:
    return _event(p.HousingPlanActionCompleted(action_id="ACT-001", completed_on=on), hours)


def _redated(due_on: date, hours: int) -> Envelope[EventData]:
    data = p.HousingPlanActionRedated(
        action_id="ACT-001",
        redated_on=date(2020, 6, 20),
        due_on=due_on,
        reason=p.RedateReason.RESOURCING,
    )
    return _event(data, hours)


def _facts(events: list[Envelope[EventData]]) -> ActionFacts | None:
    return facts_of(KEY, fold_steps({}, events).get(KEY, ()))


def _expected(**changes: object) -> ActionFacts:
    base: dict[str, object] = {
        "case_id": CASE,
        "action_id": "ACT-001",
        "area": Area.KENT,
        "owner": Agency.HOUSING,
        "agreed_on": date(2020, 6, 1),
        "due_on": date(2020, 6, 30),
    }
    return ActionFacts(**base | changes)  # type: ignore[arg-type]


def test_an_agreed_action_is_open_with_its_agreed_due_date() -> None:
    """An agreement alone gives an open action of its owner, due when agreed."""
    assert _expected() == _facts([_agreed()])


def test_the_owner_completes_its_action() -> None:
    """Housing's completion of housing's action completes it on that date."""
    expected = _expected(completed_on=date(2020, 7, 3))
    assert expected == _facts([_agreed(), _completed(date(2020, 7, 3))])


def test_an_outcome_from_another_agency_is_ignored() -> None:
    """Police completing housing's action changes nothing: the action stays open."""
    police = p.PolicePlanActionCompleted(action_id="ACT-001", completed_on=date(2020, 6, 5))
    assert _expected() == _facts([_agreed(), _event(police, 24)])


def test_an_outcome_before_its_agreement_is_held_until_it_arrives() -> None:
    """A completion folded before its agreement counts nowhere, then applies once the
    agreement is folded."""
    completion = _completed(date(2020, 6, 10))
    held = fold_steps({}, [completion])
    after = fold_steps(held, [_agreed()])
    assert facts_of(KEY, held[KEY]) is None
    nothing: list[ActionFacts] = []
    assert nothing == action_facts(held)
    assert _expected(completed_on=date(2020, 6, 10)) == facts_of(KEY, after[KEY])


def test_a_redating_sets_the_due_date_in_force() -> None:
    """Two re-datings: the later one's due date is in force, and the action counts re-dated."""
    events = [_agreed(), _redated(date(2020, 7, 15), 24), _redated(date(2020, 7, 31), 48)]
    assert _expected(due_on=date(2020, 7, 31), redated=True) == _facts(events)


def test_a_redating_after_completion_is_ignored() -> None:
    """A re-dating folded after the completion leaves the due date the action was done under."""
    events = [_agreed(), _completed(date(2020, 7, 3), 24), _redated(date(2020, 8, 31), 48)]
    assert _expected(completed_on=date(2020, 7, 3)) == _facts(events)


def test_the_first_outcome_ends_the_action() -> None:
    """A closure after a completion does not undo it."""
    closed = p.HousingPlanActionClosed(
        action_id="ACT-001", closed_on=date(2020, 7, 9), reason=p.ClosureReason.NOT_POSSIBLE
    )
    events = [_agreed(), _completed(date(2020, 7, 3), 24), _event(closed, 48)]
    assert _expected(completed_on=date(2020, 7, 3)) == _facts(events)


def test_a_second_agreement_of_the_same_action_is_ignored() -> None:
    """The same action id agreed again (for police, later) keeps the first agreement's owner."""
    second = _event(_agreed(Agency.POLICE).data, 1)
    assert _expected() == _facts([_agreed(), second])


def test_the_facts_are_the_same_in_any_order_of_arrival() -> None:
    """Agreement, re-dating and completion give the same facts in all six orders."""
    events = [_agreed(), _redated(date(2020, 7, 15), 24), _completed(date(2020, 7, 20), 48)]
    expected = _expected(due_on=date(2020, 7, 15), completed_on=date(2020, 7, 20), redated=True)
    actual = {_facts(list(order)) for order in itertools.permutations(events)}
    assert {expected} == actual


def test_a_duplicate_event_changes_nothing() -> None:
    """The same event id folded twice is one step."""
    planned = step_of(_agreed())
    assert planned is not None
    step = planned[1]
    once = insert_step((), step)
    assert once is insert_step(once, step)


def test_the_area_is_the_agreements() -> None:
    """An action agreed in Kent stays Kent's though its owner reports from elsewhere."""
    agreed = _agreed()
    completion = _event(
        p.HousingPlanActionCompleted(action_id="ACT-001", completed_on=date(2020, 6, 9)),
        24,
        Area.ESSEX,
    )
    facts = _facts([agreed, completion])
    assert facts is not None
    assert (Area.KENT, date(2020, 6, 9)) == (facts.area, facts.completed_on)


def test_other_events_are_not_plan_steps() -> None:
    """A risk assessment is no step of any action."""
    data = p.ProbationRiskAssessmentCompleted(
        assessed_on=date(2020, 6, 1), tool=p.RiskTool.OASYS_ROSH, overall=p.RiskLevel.HIGH
    )
    assert step_of(_event(data, 0)) is None


@given(st.permutations(plan_events.agreements() + plan_events.outcomes()), st.integers(1, 5))
def test_the_hand_made_year_gives_its_figures_in_any_order_and_batching(
    order: list[Envelope[EventData]], batch: int
) -> None:
    """The hand-made Kent events, shuffled and folded a few at a time, give the hand-computed
    figures."""
    actions: dict[ActionKey, ActionSteps] = {}
    for start in range(0, len(order), batch):
        actions = fold_steps(actions, order[start : start + batch])
    figures = figures_from_actions(action_facts(actions), Area.KENT, plan_events.YEAR)
    assert plan_events.expected() == figures
