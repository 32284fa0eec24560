"""The risk and plan alert rules: an overdue plan action (to the coordinator and the owning
agency, once per action and due date), a high risk assessed at level 1, a level 3 case without a
meeting for longer than the interval, and plan actions still open when management ends. Each
fires when it should, stays silent otherwise, and raises the same alert however often asked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from mappa_bus.access.policy import CASE_VIEWS, OWN_ACTIONS_ONLY, FieldGroup, ViewerRole
from mappa_bus.agencies import SHARING_AGENCIES, Agency
from mappa_bus.alerts.model import Severity, alert_id
from mappa_bus.alerts.rules import (
    ACTION_OVERDUE,
    ALL_RULES,
    CALENDAR_RULES,
    LEVEL_THREE_INTERVAL,
    LEVEL_THREE_UNMET,
    OWNER_ROLES,
    Firing,
    RuleInfo,
    calendar,
    level_three_unmet,
    overdue_actions,
    overdue_review,
)
from mappa_bus.case.model import ActionStatus, CasePicture, Plan, PlanAction, Redate
from mappa_bus.catalogue import Category, Envelope, EventData, Level, plans, probation
from mappa_bus.catalogue.probation import ManagementEndReason
from tests.unit.test_alert_rules import CASE, DAY, _case, _event, _fire, _level_set, _masked, _on

DUE = _on(40)
"""The day the test action falls due (2021-02-10)."""


def _action(
    owner: Agency = Agency.HOUSING,
    *,
    action_id: str = "ACT-001",
    due_on: date = DUE,
    **more: object,
) -> PlanAction:
    """An action agreed at the day-10 meeting, owned by `owner`, due on `due_on`."""
    fields: dict[str, object] = {
        "action_id": action_id,
        "owner": owner,
        "kind": plans.ActionKind.ACCOMMODATION_SEARCH,
        "agreed_by": Agency.PROBATION,
        "meeting_reference": "MTG-KEN-0001",
        "agreed_on": _on(10),
        "due_on": due_on,
        "original_due_on": due_on,
        **more,
    }
    return PlanAction.model_validate(fields)


def _planned(level: Level, *actions: PlanAction, ended: bool = False) -> CasePicture:
    """A Kent case at `level` holding `actions` (and MAPPA management ended on day 60)."""
    more: tuple[Envelope[EventData], ...] = ()
    if ended:
        end = probation.MappaManagementEnded(
            ended_on=_on(60), reason=ManagementEndReason.LICENCE_ENDED
        )
        more = (_event(end, 60),)
    picture = _case(level, *more)
    assert picture is not None
    return picture.model_copy(update={"plan": Plan(actions=actions)})


def _only(firings: tuple[Firing, ...], rule: str) -> list[Firing]:
    return [firing for firing in firings if firing.data.rule == rule]


# ---- the table ----------------------------------------------------------------------------


@pytest.mark.parametrize("agency", list(SHARING_AGENCIES))
def test_every_owner_role_may_see_what_an_owners_alert_draws_on(agency: Agency) -> None:
    """Each agency's role may see the plan section an owner's alert is drawn from, and when it
    sees only its own actions there, they are this agency's."""
    role = OWNER_ROLES[agency]
    for rule in (rule for rule in ALL_RULES if rule.to_owner):
        assert rule.draws_on <= CASE_VIEWS.get(role, frozenset()), (rule.name, role)
    assert OWN_ACTIONS_ONLY.get(role, agency) is agency


def test_an_owner_role_is_the_agencys_own() -> None:
    """Every agency but victim contact reads in the role of its own name."""
    expected = {agency: agency.value for agency in SHARING_AGENCIES} | {
        Agency.VICTIM_CONTACT: ViewerRole.VICTIM_LIAISON.value
    }
    assert expected == {agency: role.value for agency, role in OWNER_ROLES.items()}


@pytest.mark.parametrize("rule", CALENDAR_RULES, ids=lambda rule: rule.name)
def test_a_calendar_summary_is_written_from_what_its_rule_draws_on(rule: RuleInfo) -> None:
    """A time-driven rule writes the same summary, for the same trigger, from the core and its
    sections alone."""
    picture = _planned(Level.THREE, _action()).model_copy(update={"next_review_on": _on(30)})
    today = _on(200)
    masked = _masked(picture, rule.draws_on)
    said = [(f.trigger, f.data.summary) for f in _only(calendar(picture, today), rule.name)]
    assert len(said) == 1
    assert said == [(f.trigger, f.data.summary) for f in _only(calendar(masked, today), rule.name)]


# ---- action-overdue -----------------------------------------------------------------------


def test_an_open_action_is_overdue_from_the_day_after_its_due_date() -> None:
    """Due on the 10th: silent that day, raised on the 11th, to the coordinator and police."""
    picture = _planned(Level.TWO, _action(Agency.POLICE))
    assert overdue_actions(picture, DUE) == ()
    (firing,) = overdue_actions(picture, DUE + timedelta(days=1))
    assert firing.trigger == f"{CASE}:ACT-001:2021-02-10"
    assert firing.data.rule == "action-overdue"
    assert firing.data.severity is Severity.ROUTINE
    assert firing.data.audience == (ViewerRole.COORDINATOR, ViewerRole.POLICE)
    assert firing.data.summary == (
        "Level 2 case: police's accommodation-search action agreed on 2021-01-11 was due on "
        "2021-02-10 and is still open"
    )
    assert firing.data.happened_at == datetime(2021, 2, 11, tzinfo=UTC)
    assert firing.data.trigger_event_id is None
    # Police may see the management section, which the category is part of.
    assert firing.data.category is Category.REGISTERED_SEX_OFFENDER


def test_housings_overdue_action_goes_to_housing_without_the_category() -> None:
    """Housing owns the action: it hears of it, but not the category it may not see."""
    (firing,) = overdue_actions(_planned(Level.TWO, _action()), DUE + timedelta(days=1))
    assert firing.data.audience == (ViewerRole.COORDINATOR, ViewerRole.HOUSING)
    assert firing.data.category is None


def test_an_overdue_action_is_one_alert_however_often_asked() -> None:
    """Asked every day for months, the same action and due date raise the same alert."""
    picture = _planned(Level.TWO, _action())
    firings = {overdue_actions(picture, DUE + timedelta(days=n)) for n in range(1, 120)}
    assert len(firings) == 1


def test_a_redated_action_missed_again_is_a_new_alert() -> None:
    """Re-dated to a later date: silent until that date passes, then a second alert."""
    first = overdue_actions(_planned(Level.TWO, _action()), DUE + timedelta(days=1))
    later = _on(70)
    redated = _action(
        due_on=later,
        original_due_on=DUE,
        redates=(
            Redate(
                redated_on=_on(45), due_on=later, reason=plans.RedateReason.AWAITING_OTHER_AGENCY
            ),
        ),
    )
    picture = _planned(Level.TWO, redated)
    assert overdue_actions(picture, later) == ()
    (second,) = overdue_actions(picture, later + timedelta(days=1))
    assert second.data.summary == (
        "Level 2 case: housing's accommodation-search action agreed on 2021-01-11 was due on "
        "2021-03-12 (first due 2021-02-10) and is still open"
    )
    ids = {alert_id(f.data.rule, f.trigger) for f in (*first, second)}
    assert len(ids) == 2


@pytest.mark.parametrize(
    "done",
    [
        {"status": ActionStatus.COMPLETED, "completed_on": _on(50)},
        {
            "status": ActionStatus.CLOSED,
            "closed_on": _on(30),
            "closure_reason": plans.ClosureReason.NO_LONGER_NEEDED,
        },
    ],
    ids=["completed", "closed"],
)
def test_a_completed_or_closed_action_is_never_overdue(done: dict[str, object]) -> None:
    """An action that is done raises nothing, however late it was."""
    action = _action().model_copy(update=done)
    assert overdue_actions(_planned(Level.TWO, action), _on(200)) == ()


@pytest.mark.parametrize("agency", list(SHARING_AGENCIES))
def test_each_overdue_action_goes_to_its_owner_only(agency: Agency) -> None:
    """Two actions of different owners: each alert goes to the coordinator and its own owner."""
    other = Agency.POLICE if agency is not Agency.POLICE else Agency.PROBATION
    picture = _planned(
        Level.THREE, _action(agency), _action(other, action_id="ACT-002", due_on=_on(41))
    )
    firings = overdue_actions(picture, _on(100))
    assert [set(f.data.audience) for f in firings] == [
        {ViewerRole.COORDINATOR, OWNER_ROLES[agency]},
        {ViewerRole.COORDINATOR, OWNER_ROLES[other]},
    ]


def test_no_action_is_overdue_once_management_ended() -> None:
    """After MAPPA management ended, plan-open-at-end has said what was open: no more."""
    assert overdue_actions(_planned(Level.TWO, _action(), ended=True), _on(200)) == ()


# ---- high-risk-at-level-one ---------------------------------------------------------------


def _assessed(overall: plans.RiskLevel) -> plans.ProbationRiskAssessmentCompleted:
    return plans.ProbationRiskAssessmentCompleted(
        assessed_on=_on(DAY), tool=plans.RiskTool.OASYS_ROSH, overall=overall
    )


@pytest.mark.parametrize("overall", [plans.RiskLevel.HIGH, plans.RiskLevel.VERY_HIGH])
def test_a_high_risk_at_level_one_asks_to_review_the_level(overall: plans.RiskLevel) -> None:
    """High or very high risk of serious harm for a level 1 case: review the level."""
    firing = _fire(_case(Level.ONE), _event(_assessed(overall), DAY))["high-risk-at-level-one"]
    assert firing.data.summary == (
        f"Level 1 case: probation assessed the risk of serious harm as {overall} on 2021-01-11 "
        "(oasys-rosh); review the level"
    )
    assert firing.data.severity is Severity.HIGH
    assert set(firing.data.audience) == {
        ViewerRole.COORDINATOR,
        ViewerRole.POLICE,
        ViewerRole.PROBATION,
        ViewerRole.PRISONS,
    }


@pytest.mark.parametrize(
    ("level", "overall"),
    [
        (Level.ONE, plans.RiskLevel.MEDIUM),
        (Level.ONE, plans.RiskLevel.LOW),
        (Level.TWO, plans.RiskLevel.VERY_HIGH),
        (Level.THREE, plans.RiskLevel.HIGH),
        (None, plans.RiskLevel.VERY_HIGH),
    ],
)
def test_a_risk_assessment_is_silent_unless_high_at_level_one(
    level: Level | None, overall: plans.RiskLevel
) -> None:
    """Lower risks, and cases at level 2 or 3 (or not yet levelled), raise nothing."""
    assert _fire(_case(level), _event(_assessed(overall), DAY)) == {}


def test_a_high_risk_after_management_ended_is_silent() -> None:
    """A case no longer managed under MAPPA has no level to review."""
    end = probation.MappaManagementEnded(ended_on=_on(5), reason=ManagementEndReason.LICENCE_ENDED)
    before = _case(Level.ONE, _event(end, 5))
    assert _fire(before, _event(_assessed(plans.RiskLevel.VERY_HIGH), DAY)) == {}


# ---- level-three-unmet --------------------------------------------------------------------


def _meeting(day: int, next_review_day: int) -> probation.MappaMeetingHeld:
    return probation.MappaMeetingHeld(
        held_on=_on(day),
        level=3,
        agencies_present=[Agency.PROBATION, Agency.POLICE],
        next_review_on=_on(next_review_day),
    )


def _level_three(*more: object) -> CasePicture:
    """A case set at level 3 on day 1 (its review due on day 91), then `more` events."""
    picture = _case(Level.THREE, *more)  # type: ignore[arg-type]
    assert picture is not None
    return picture


def test_level_three_unmet_counts_from_reaching_level_three_without_a_meeting() -> None:
    """Level 3 from day 1 and no meeting: silent for 8 weeks, raised on the day after."""
    picture = _level_three()
    ends = _on(1) + LEVEL_THREE_INTERVAL
    assert level_three_unmet(picture, ends) is None
    firing = level_three_unmet(picture, ends + timedelta(days=1))
    assert firing is not None
    assert firing.trigger == f"{CASE}:2021-01-02"
    assert firing.data.rule == "level-three-unmet"
    assert firing.data.severity is Severity.HIGH
    assert firing.data.summary == (
        "Level 3 case: no MAPPA meeting since it reached level 3 on 2021-01-02, longer than "
        "the level 3 review interval of 8 weeks"
    )
    assert firing.data.happened_at == datetime(2021, 2, 28, tzinfo=UTC)
    assert level_three_unmet(picture, _on(300)) == firing


def test_level_three_unmet_counts_from_the_last_meeting() -> None:
    """A meeting on day 20 restarts the count: a new alert after another 8 weeks."""
    picture = _level_three(_event(_meeting(20, 300), 20))
    assert level_three_unmet(picture, _on(20) + LEVEL_THREE_INTERVAL) is None
    firing = level_three_unmet(picture, _on(20) + LEVEL_THREE_INTERVAL + timedelta(days=1))
    assert firing is not None
    assert firing.trigger == f"{CASE}:2021-01-21"
    assert "since the meeting of 2021-01-21" in firing.data.summary


def test_a_level_set_again_at_three_does_not_restart_the_count() -> None:
    """Level 3 confirmed on day 30 without a meeting: still counted from day 1."""
    picture = _level_three(_event(_level_set(Level.THREE, 30), 30))
    firing = level_three_unmet(picture, _on(100))
    assert firing is not None
    assert firing.trigger == f"{CASE}:2021-01-02"


def test_a_case_raised_to_three_after_a_meeting_counts_from_the_raise() -> None:
    """A level 2 meeting on day 5, level 3 from day 30: counted from day 30."""
    picture = _case(Level.TWO, _event(_meeting(5, 100), 5), _event(_level_set(Level.THREE, 30), 30))
    assert picture is not None
    firing = level_three_unmet(picture, _on(200))
    assert firing is not None
    assert firing.trigger == f"{CASE}:2021-01-31"


def test_the_level_three_interval_is_configurable() -> None:
    """With a four-week interval the alert comes four weeks earlier, and says so."""
    picture = _level_three()
    four = timedelta(weeks=4)
    assert level_three_unmet(picture, _on(1) + four) is None
    firing = level_three_unmet(picture, _on(1) + four + timedelta(days=1), four)
    assert firing is not None
    assert firing.data.summary.endswith("of 4 weeks")
    assert [f.data.rule for f in calendar(picture, _on(1) + four + timedelta(days=1), four)] == [
        "level-three-unmet"
    ]


@pytest.mark.parametrize("level", [Level.ONE, Level.TWO])
def test_level_three_unmet_is_silent_below_level_three(level: Level) -> None:
    """Level 1 and 2 cases have no level 3 meeting interval."""
    picture = _case(level)
    assert picture is not None
    assert level_three_unmet(picture, _on(300)) is None


def test_level_three_unmet_is_silent_once_management_ended() -> None:
    """A case no longer managed under MAPPA needs no meeting."""
    end = probation.MappaManagementEnded(ended_on=_on(5), reason=ManagementEndReason.LICENCE_ENDED)
    assert level_three_unmet(_level_three(_event(end, 5)), _on(300)) is None


def test_level_three_unmet_is_not_review_overdue() -> None:
    """A meeting that set the next review six months on: no review is overdue at four months,
    but a level 3 case has gone longer than 8 weeks without meeting."""
    picture = _level_three(_event(_meeting(20, 200), 20))
    today = _on(140)
    assert overdue_review(picture, today) is None
    assert [f.data.rule for f in calendar(picture, today)] == [LEVEL_THREE_UNMET.name]


def test_a_review_overdue_within_the_interval_is_not_level_three_unmet() -> None:
    """A review due four weeks after the meeting, missed: overdue, but within 8 weeks."""
    picture = _level_three(_event(_meeting(20, 48), 20))
    assert [f.data.rule for f in calendar(picture, _on(60))] == ["review-overdue"]


# ---- plan-open-at-end ---------------------------------------------------------------------


def test_plan_open_at_end_counts_the_open_actions_by_owner() -> None:
    """Management ends with three open actions (one done): counted, by owner in agency order."""
    before = _planned(
        Level.TWO,
        _action(Agency.HOUSING),
        _action(Agency.POLICE, action_id="ACT-002"),
        _action(Agency.HOUSING, action_id="ACT-003"),
        _action(
            Agency.HEALTH, action_id="ACT-004", status=ActionStatus.COMPLETED, completed_on=_on(30)
        ),
    )
    end = probation.MappaManagementEnded(
        ended_on=_on(DAY), reason=ManagementEndReason.LICENCE_ENDED
    )
    firing = _fire(before, _event(end, DAY))["plan-open-at-end"]
    assert firing.data.summary == (
        "Level 2 case: MAPPA management ended on 2021-01-11 (licence-ended) with 3 plan actions "
        "still open (police 1, housing 2)"
    )
    assert firing.data.severity is Severity.ROUTINE


def test_plan_open_at_end_says_one_action() -> None:
    """One open action is "1 plan action"."""
    end = probation.MappaManagementEnded(
        ended_on=_on(DAY), reason=ManagementEndReason.LICENCE_ENDED
    )
    firing = _fire(_planned(Level.THREE, _action()), _event(end, DAY))["plan-open-at-end"]
    assert firing.data.summary.endswith("with 1 plan action still open (housing 1)")


@pytest.mark.parametrize(
    "actions",
    [
        (),
        (_action(status=ActionStatus.COMPLETED, completed_on=_on(30)),),
        (
            _action(
                status=ActionStatus.CLOSED,
                closed_on=_on(30),
                closure_reason=plans.ClosureReason.PERSON_IN_CUSTODY,
            ),
        ),
    ],
    ids=["no-actions", "completed", "closed"],
)
def test_plan_open_at_end_is_silent_when_nothing_is_open(actions: tuple[PlanAction, ...]) -> None:
    """Management ending with every action done (or none agreed) raises nothing."""
    end = probation.MappaManagementEnded(
        ended_on=_on(DAY), reason=ManagementEndReason.LICENCE_ENDED
    )
    assert _fire(_planned(Level.TWO, *actions), _event(end, DAY)) == {}


def test_plan_open_at_end_is_silent_without_a_plan() -> None:
    """A case that never had a plan section raises nothing when management ends."""
    end = probation.MappaManagementEnded(
        ended_on=_on(DAY), reason=ManagementEndReason.LICENCE_ENDED
    )
    assert _fire(_case(Level.TWO), _event(end, DAY)) == {}


def test_only_the_coordinator_and_responsible_authorities_hear_of_open_actions_at_end() -> None:
    """The count covers every agency's actions: only roles that see the whole plan get it."""
    rule = next(rule for rule in ALL_RULES if rule.name == "plan-open-at-end")
    for role in rule.audience:
        assert {FieldGroup.PLAN, FieldGroup.MANAGEMENT} <= CASE_VIEWS[role], role
        assert role not in OWN_ACTIONS_ONLY, role
    assert ACTION_OVERDUE.to_owner
    assert not rule.to_owner
