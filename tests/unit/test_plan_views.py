"""Who sees what of the risk and the plan: the coordinator and the Responsible Authority all of
it, a Duty to Co-operate agency its own actions (and their timeline entries) only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mappa_bus.access.policy import OWN_ACTIONS_ONLY, FieldGroup, NotEntitledError, ViewerRole
from mappa_bus.agencies import Agency
from mappa_bus.case.fold import apply
from mappa_bus.case.model import CasePicture
from mappa_bus.catalogue import Area, Envelope, EventData, make_event, plans
from mappa_bus.catalogue.plans import ActionKind, RiskLevel, RiskTool
from mappa_bus.picture.views import (
    as_known_at_view,
    known_then,
    overdue_of,
    plan_of,
    summary_of,
    view_of,
)

CASE = "KEN-2024-000011"
START = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)


def _on(day: int) -> date:
    return (START + timedelta(days=day)).date()


def _event(data: EventData, day: int, name: str) -> Envelope[EventData]:
    time = START + timedelta(days=day)
    return make_event(data, case_id=CASE, area=Area.KENT, time=time, system="t", event_id=name)


def _agreed(action_id: str, owner: Agency, due: int) -> Envelope[EventData]:
    data = plans.ProbationPlanActionAgreed(
        action_id=action_id,
        meeting_reference="MTG-1",
        agreed_on=_on(0),
        owner=owner,
        kind=ActionKind.HOME_VISIT,
        due_on=_on(due),
    )
    return _event(data, 0, f"agreed-{action_id}")


HOUSING_AGREED = _agreed("ACT-H", Agency.HOUSING, due=10)
POLICE_AGREED = _agreed("ACT-P", Agency.POLICE, due=5)
DWP_AGREED = _agreed("ACT-D", Agency.DWP, due=30)
POLICE_REDATED = _event(
    plans.PolicePlanActionRedated(
        action_id="ACT-P",
        redated_on=_on(4),
        due_on=_on(8),
        reason=plans.RedateReason.AWAITING_OTHER_AGENCY,
    ),
    4,
    "redated-P",
)
HOUSING_WAITING = _event(
    plans.HousingPlanActionCompleted(action_id="ACT-X", completed_on=_on(2)), 2, "done-X"
)
ASSESSED = _event(
    plans.ProbationRiskAssessmentCompleted(
        assessed_on=_on(1), tool=RiskTool.OASYS_ROSH, overall=RiskLevel.HIGH
    ),
    1,
    "assessed",
)
# Recorded last of all: its time must not show to a role that may not see it.
LATE_RECORDED = timedelta(days=40)


def _picture() -> CasePicture:
    picture: CasePicture | None = None
    for event in (HOUSING_AGREED, POLICE_AGREED, DWP_AGREED, HOUSING_WAITING, ASSESSED):
        picture = apply(picture, event, event.time + timedelta(hours=1))
    assert picture is not None
    return apply(picture, POLICE_REDATED, POLICE_REDATED.time + LATE_RECORDED)


def _ids(picture_plan: object) -> list[str]:
    actions = getattr(picture_plan, "actions", ())
    return [action.action_id for action in actions]


@pytest.mark.parametrize(
    "role", [ViewerRole.COORDINATOR, ViewerRole.POLICE, ViewerRole.PROBATION, ViewerRole.PRISONS]
)
def test_the_coordinator_and_the_responsible_authority_see_the_whole_plan(
    role: ViewerRole,
) -> None:
    """Every action, the outcome still waiting for its agreement, and the risk."""
    picture = _picture()

    view = view_of(picture, role)

    assert (view.plan, view.risk, view.own_actions_only) == (picture.plan, picture.risk, False)


@pytest.mark.parametrize("role", list(OWN_ACTIONS_ONLY))
def test_a_duty_to_cooperate_agency_sees_its_own_actions_only(role: ViewerRole) -> None:
    """Housing sees ACT-H and its own waiting outcome, DWP ACT-D, the others no action."""
    view = view_of(_picture(), role)

    own = {ViewerRole.HOUSING: ["ACT-H"], ViewerRole.DWP: ["ACT-D"]}.get(role, [])
    assert view.plan is not None
    waiting = ["ACT-X"] if role is ViewerRole.HOUSING else []
    assert (_ids(view.plan), [p.action_id for p in view.plan.pending], view.own_actions_only) == (
        own,
        waiting,
        True,
    )


def test_an_agency_sees_the_timeline_entries_of_its_own_actions_only() -> None:
    """Housing sees the agreement of its action and its own outcome, not police's action nor
    its re-dating, and not the risk assessment."""
    view = view_of(_picture(), ViewerRole.HOUSING)

    assert [entry.event_id for entry in view.timeline] == ["agreed-ACT-H", "done-X"]


def test_the_time_of_another_agencys_plan_event_does_not_show() -> None:
    """Police's re-dating, recorded last, moves the coordinator's `last_recorded_at` but not
    housing's."""
    picture = _picture()

    housing = summary_of(picture, ViewerRole.HOUSING).last_recorded_at
    coordinator = summary_of(picture, ViewerRole.COORDINATOR).last_recorded_at

    assert (housing, coordinator) == (
        HOUSING_WAITING.time + timedelta(hours=1),
        POLICE_REDATED.time + LATE_RECORDED,
    )


def test_what_an_agency_shared_as_known_then_holds_its_own_plan_entries_only() -> None:
    """The as-known-at view filters each agency's entries through the same rule."""
    picture = _picture()
    at = START + timedelta(days=60)

    past = known_then(picture, at, ViewerRole.HOUSING)
    assert past is not None
    known = as_known_at_view(past, ViewerRole.HOUSING, at)

    shared = {agency: [e.event_id for e in entries] for agency, entries in known.shared_by.items()}
    assert shared == {Agency.PROBATION: ["agreed-ACT-H"], Agency.HOUSING: ["done-X"]}


@pytest.mark.parametrize(
    ("role", "withheld", "risk_shown"),
    [
        (ViewerRole.COORDINATOR, (), True),
        (ViewerRole.HEALTH, (), True),
        (ViewerRole.HOUSING, (FieldGroup.RISK,), False),
        (ViewerRole.VICTIM_LIAISON, (FieldGroup.RISK,), False),
    ],
)
def test_the_plan_page_says_which_of_risk_and_plan_are_withheld(
    role: ViewerRole, withheld: tuple[FieldGroup, ...], risk_shown: bool
) -> None:
    """`plan_of` names what it withholds of the two sections and leaves it empty."""
    case_plan = plan_of(_picture(), role)

    assert (case_plan.withheld, case_plan.risk is not None) == (withheld, risk_shown)


def test_overdue_lists_the_open_actions_past_due_each_role_may_see() -> None:
    """On day 12: ACT-H (due 10) and ACT-P (re-dated to 8) are overdue, ACT-D (due 30) not;
    housing sees its own, the coordinator both, and an owner filter narrows."""
    picture = _picture()
    today = _on(12)

    def listed(role: ViewerRole, owner: Agency | None = None) -> list[tuple[str, int]]:
        return [
            (o.action.action_id, o.days_overdue) for o in overdue_of(picture, role, today, owner)
        ]

    assert listed(ViewerRole.COORDINATOR) == [("ACT-P", 4), ("ACT-H", 2)]
    assert listed(ViewerRole.HOUSING) == [("ACT-H", 2)]
    assert listed(ViewerRole.DWP) == []
    assert listed(ViewerRole.POLICE, Agency.POLICE) == [("ACT-P", 4)]


def test_a_role_that_may_not_read_cases_gets_no_overdue_actions() -> None:
    """Analysts are refused, as for any case read."""
    with pytest.raises(NotEntitledError):
        overdue_of(_picture(), ViewerRole.ANALYST, _on(12))
