"""The risk and plan sections of the case picture: agreement, the owner's outcomes, refusal of
another agency's, and a plan that depends on which events the bus holds, not on their order."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mappa_bus.agencies import Agency
from mappa_bus.case.fold import apply, apply_all, replay
from mappa_bus.case.model import (
    ActionStatus,
    CasePicture,
    OutcomeKind,
    PendingOutcome,
    Plan,
    PlanAction,
    Redate,
    Risk,
    RiskAssessmentRecord,
)
from mappa_bus.case.plans import refusal
from mappa_bus.catalogue import Area, Envelope, EventData, make_event, plans
from mappa_bus.catalogue.plans import (
    ActionKind,
    ClosureReason,
    RedateReason,
    RiskLevel,
    RiskTool,
)

CASE = "KEN-2024-000007"
START = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
MEETING = "MAPPA-KEN-2024-06-03"


def _on(day: int) -> date:
    return (START + timedelta(days=day)).date()


def _event(data: EventData, day: int, name: str) -> Envelope[EventData]:
    """`data` as an event of the test case that happened `day` days after START."""
    return make_event(
        data, case_id=CASE, area=Area.KENT, time=START + timedelta(days=day), system="test",
        event_id=name,
    )  # fmt: skip


def _agreed(action_id: str, owner: Agency, day: int = 0, due: int = 14) -> Envelope[EventData]:
    data = plans.ProbationPlanActionAgreed(
        action_id=action_id,
        meeting_reference=MEETING,
        agreed_on=_on(day),
        owner=owner,
        kind=ActionKind.ACCOMMODATION_SEARCH,
        due_on=_on(due),
    )
    return _event(data, day, f"agreed-{action_id}-{day}")


def _fold(events: Iterable[Envelope[EventData]]) -> CasePicture:
    """The events applied one at a time in the order given, each recorded an hour after."""
    picture: CasePicture | None = None
    for event in events:
        picture = apply(picture, event, event.time + timedelta(hours=1))
    assert picture is not None
    return picture


def _action(picture: CasePicture, action_id: str) -> PlanAction:
    assert picture.plan is not None
    action = picture.plan.action(action_id)
    assert action is not None
    return action


AGREED = _agreed("ACT-1", Agency.HOUSING)
COMPLETED_ON_TIME = _event(
    plans.HousingPlanActionCompleted(action_id="ACT-1", completed_on=_on(10)), 10, "done-1"
)
COMPLETED_LATE = _event(
    plans.HousingPlanActionCompleted(action_id="ACT-1", completed_on=_on(20)), 20, "late-1"
)
REDATED = _event(
    plans.HousingPlanActionRedated(
        action_id="ACT-1", redated_on=_on(12), due_on=_on(30), reason=RedateReason.RESOURCING
    ),
    12,
    "redated-1",
)
CLOSED = _event(
    plans.HousingPlanActionClosed(
        action_id="ACT-1", closed_on=_on(8), reason=ClosureReason.PERSON_IN_CUSTODY
    ),
    8,
    "closed-1",
)
POLICE_COMPLETED = _event(
    plans.PolicePlanActionCompleted(action_id="ACT-1", completed_on=_on(9)), 9, "police-done-1"
)


# ---- agreement ----------------------------------------------------------------------------


def test_an_agreement_adds_an_open_action_with_its_due_date() -> None:
    """The agreed action is open, owned as agreed, due as agreed, with no re-dating."""
    picture = _fold([AGREED])

    expected = PlanAction(
        action_id="ACT-1",
        owner=Agency.HOUSING,
        kind=ActionKind.ACCOMMODATION_SEARCH,
        agreed_by=Agency.PROBATION,
        meeting_reference=MEETING,
        agreed_on=_on(0),
        due_on=_on(14),
        original_due_on=_on(14),
    )
    assert Plan(actions=(expected,)) == picture.plan


def test_a_second_agreement_of_the_same_action_is_ignored() -> None:
    """The first agreement of an id stands; a later one with another owner changes nothing."""
    again = _agreed("ACT-1", Agency.POLICE, day=2, due=40)

    picture = _fold([AGREED, again])

    assert _fold([AGREED]).plan == picture.plan


def test_actions_keep_their_agreement_order() -> None:
    """The plan lists actions in the order they were agreed, whatever order they arrived in."""
    second = _agreed("ACT-2", Agency.POLICE, day=1)

    picture = _fold([second, AGREED])

    assert picture.plan is not None
    assert [a.action_id for a in picture.plan.actions] == ["ACT-1", "ACT-2"]


# ---- outcomes -----------------------------------------------------------------------------


def test_completion_on_time_by_the_owner() -> None:
    """The owner's completion before the due date completes the action, not overdue after."""
    action = _action(_fold([AGREED, COMPLETED_ON_TIME]), "ACT-1")

    assert (ActionStatus.COMPLETED, _on(10)) == (action.status, action.completed_on)
    assert action.overdue(_on(100)) is False


def test_completion_late_keeps_the_due_date_it_missed() -> None:
    """A completion after the due date in force completes it, the due date unchanged."""
    action = _action(_fold([AGREED, COMPLETED_LATE]), "ACT-1")

    assert (ActionStatus.COMPLETED, _on(20), _on(14)) == (
        action.status,
        action.completed_on,
        action.due_on,
    )


def test_an_open_action_is_overdue_only_after_its_due_date() -> None:
    """Overdue is open and due strictly before today."""
    picture = _fold([AGREED])
    action = _action(picture, "ACT-1")

    assert [action.overdue(_on(d)) for d in (13, 14, 15)] == [False, False, True]
    assert picture.plan is not None
    assert (action,) == picture.plan.overdue(_on(15)) == picture.plan.open_actions()


def test_redating_moves_the_due_date_in_force_and_keeps_the_original() -> None:
    """A re-dating sets the due date a later completion is judged against."""
    action = _action(_fold([AGREED, REDATED, COMPLETED_LATE]), "ACT-1")

    redate = Redate(redated_on=_on(12), due_on=_on(30), reason=RedateReason.RESOURCING)
    assert (_on(30), _on(14), (redate,), ActionStatus.COMPLETED) == (
        action.due_on,
        action.original_due_on,
        action.redates,
        action.status,
    )


def test_closure_by_the_owner_closes_with_its_reason() -> None:
    """A closed action records when and why, and is not open."""
    picture = _fold([AGREED, CLOSED])
    action = _action(picture, "ACT-1")

    assert (ActionStatus.CLOSED, _on(8), ClosureReason.PERSON_IN_CUSTODY) == (
        action.status,
        action.closed_on,
        action.closure_reason,
    )
    assert picture.plan is not None
    assert picture.plan.open_actions() == ()


def test_a_done_action_is_neither_redated_nor_done_again() -> None:
    """After a closure, a re-dating and a completion by the owner change nothing."""
    closed = _fold([AGREED, CLOSED])

    later = _fold([AGREED, CLOSED, REDATED, COMPLETED_LATE])

    assert closed.plan == later.plan


def test_an_outcome_from_another_agency_is_refused_and_changes_nothing() -> None:
    """Police completing housing's action: `refusal` names the action and owner; the fold
    ignores it as well."""
    agreed = _fold([AGREED])

    reason = refusal(agreed, POLICE_COMPLETED)
    folded = apply(agreed, POLICE_COMPLETED, POLICE_COMPLETED.time)

    assert reason == "plan action ACT-1 is owned by housing, not police"
    assert agreed.plan == folded.plan


def test_the_owner_and_other_events_are_not_refused() -> None:
    """Only a non-owner's outcome of a known action is refused: not the owner's, not an
    agreement, not an outcome of an action not yet agreed."""
    agreed = _fold([AGREED])

    answers = [
        refusal(agreed, COMPLETED_ON_TIME),
        refusal(agreed, AGREED),
        refusal(None, POLICE_COMPLETED),
        refusal(CasePicture(case_id=CASE), POLICE_COMPLETED),
    ]

    assert answers == [None, None, None, None]


# ---- order of arrival ---------------------------------------------------------------------


def test_an_outcome_folded_before_its_agreement_is_kept_then_applied() -> None:
    """A completion whose agreement is on a topic read later waits in `pending`, then applies."""
    early = _fold([COMPLETED_ON_TIME])
    both = _fold([COMPLETED_ON_TIME, AGREED])

    pending = PendingOutcome(
        action_id="ACT-1", agency=Agency.HOUSING, kind=OutcomeKind.COMPLETED, on=_on(10)
    )
    assert Plan(pending=(pending,)) == early.plan
    assert _fold([AGREED, COMPLETED_ON_TIME]).plan == both.plan


def test_an_outcome_that_happened_before_its_agreement_applies_when_it_arrives() -> None:
    """Even an outcome stamped earlier than its agreement (clocks differ) waits and applies."""
    stamped_early = COMPLETED_ON_TIME.model_copy(update={"time": START - timedelta(hours=1)})

    picture = _fold([AGREED, stamped_early])

    action = _action(picture, "ACT-1")
    assert picture.plan is not None
    assert (action.status, picture.plan.pending) == (ActionStatus.COMPLETED, ())


def test_a_kept_outcome_from_another_agency_is_ignored_not_applied() -> None:
    """A non-owner's outcome kept before the agreement is dropped when the owner turns out
    to be another agency."""
    picture = _fold([POLICE_COMPLETED, AGREED])

    assert _fold([AGREED]).plan == picture.plan
    assert POLICE_COMPLETED.id in {entry.event_id for entry in picture.timeline}


def test_a_duplicate_outcome_counts_once() -> None:
    """A redelivered re-dating adds one re-dating, not two."""
    action = _action(_fold([AGREED, REDATED, REDATED]), "ACT-1")

    assert len(action.redates) == 1


def test_plan_events_stay_on_the_timeline() -> None:
    """Agreements and outcomes, applied or not, are timeline entries in event order."""
    picture = _fold([COMPLETED_LATE, AGREED, REDATED])

    assert [AGREED.id, REDATED.id, COMPLETED_LATE.id] == [e.event_id for e in picture.timeline]


SCENARIO = [
    AGREED,
    _agreed("ACT-2", Agency.POLICE, day=1, due=5),
    _agreed("ACT-1", Agency.POLICE, day=3),
    REDATED,
    COMPLETED_LATE,
    CLOSED,
    POLICE_COMPLETED,
    _event(
        plans.PolicePlanActionRedated(
            action_id="ACT-2", redated_on=_on(4), due_on=_on(9), reason=RedateReason.PLAN_REVIEWED
        ),
        4,
        "redated-2",
    ),
    _event(plans.PolicePlanActionCompleted(action_id="ACT-2", completed_on=_on(9)), 9, "done-2"),
    _event(plans.HousingPlanActionCompleted(action_id="ACT-9", completed_on=_on(9)), 9, "done-9"),
]


@settings(max_examples=60, deadline=None)
@given(st.permutations(SCENARIO), st.lists(st.sampled_from(SCENARIO), max_size=3))
def test_the_plan_is_the_same_whatever_order_its_events_arrive_in(
    order: list[Envelope[EventData]], again: list[Envelope[EventData]]
) -> None:
    """Arrival order and redeliveries change nothing: the plan is the fold in event order."""
    expected = _fold(SCENARIO)

    assert expected == _fold([*order, *again])


def test_a_batch_and_a_replay_fold_the_plan_as_one_at_a_time_does() -> None:
    """`apply_all` and `replay` over the timeline give the picture `apply` gives."""
    one_at_a_time = _fold(SCENARIO)

    batch = apply_all(None, [(event, event.time + timedelta(hours=1)) for event in SCENARIO])

    assert (one_at_a_time, one_at_a_time) == (batch, replay(CASE, one_at_a_time.timeline))


def test_the_scenario_plan_reads_as_expected() -> None:
    """ACT-1 closed by housing before the late completion; ACT-2 re-dated and done on time by
    police; the completion of unknown ACT-9 waits."""
    plan = _fold(SCENARIO).plan
    assert plan is not None

    summary = [(a.action_id, a.owner, a.status, a.due_on) for a in plan.actions]
    assert [
        ("ACT-1", Agency.HOUSING, ActionStatus.CLOSED, _on(14)),
        ("ACT-2", Agency.POLICE, ActionStatus.COMPLETED, _on(9)),
    ] == summary
    assert [p.action_id for p in plan.pending] == ["ACT-9"]


# ---- risk ---------------------------------------------------------------------------------


def _assessed(
    model: type[plans.RiskAssessment], day: int, overall: RiskLevel, name: str
) -> Envelope[EventData]:
    data = model(assessed_on=_on(day), tool=RiskTool.OASYS_ROSH, overall=overall)
    return _event(data, day, name)


def test_risk_keeps_the_latest_assessment_of_each_agency() -> None:
    """Per agency the newest assessment stands, even when an older one arrives after it."""
    newer = _assessed(plans.ProbationRiskAssessmentCompleted, 5, RiskLevel.HIGH, "prob-5")
    older = _assessed(plans.ProbationRiskAssessmentCompleted, 1, RiskLevel.LOW, "prob-1")
    police = _assessed(plans.PoliceRiskAssessmentCompleted, 2, RiskLevel.MEDIUM, "pol-2")

    picture = _fold([newer, police, older])

    expected = Risk(
        assessments=(
            RiskAssessmentRecord(
                agency=Agency.POLICE,
                tool=RiskTool.OASYS_ROSH,
                overall=RiskLevel.MEDIUM,
                assessed_on=_on(2),
            ),
            RiskAssessmentRecord(
                agency=Agency.PROBATION,
                tool=RiskTool.OASYS_ROSH,
                overall=RiskLevel.HIGH,
                assessed_on=_on(5),
            ),
        )
    )
    assert expected == picture.risk


def test_the_highest_risk_is_the_highest_latest_assessment() -> None:
    """`highest` ranks very-high over high over medium over low; None without assessments."""
    picture = _fold(
        [
            _assessed(plans.PoliceRiskAssessmentCompleted, 1, RiskLevel.VERY_HIGH, "pol-1"),
            _assessed(plans.HealthRiskAssessmentCompleted, 2, RiskLevel.HIGH, "hea-2"),
        ]
    )

    assert picture.risk is not None
    assert (picture.risk.highest(), Risk().highest()) == (RiskLevel.VERY_HIGH, None)
