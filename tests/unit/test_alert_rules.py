"""The alert rules: each fires on the events it is for and stays silent otherwise, every summary
holds no more than its whole audience may see, and the same input always raises the same alerts
(same rule, same trigger, so the same id)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import pytest

from mappa_bus.access.policy import CASE_VIEWS, EVENT_GROUPS, FieldGroup, ViewerRole
from mappa_bus.agencies import Agency
from mappa_bus.alerts.model import Severity, alert_id
from mappa_bus.alerts.rules import (
    ALL_RULES,
    RELEASE_NOTICE,
    RULES,
    Firing,
    Rule,
    evaluate,
    overdue_review,
)
from mappa_bus.case.fold import apply
from mappa_bus.case.model import CasePicture
from mappa_bus.catalogue import (
    CATALOGUE,
    Area,
    Category,
    Envelope,
    EventData,
    Level,
    health,
    housing,
    make_event,
    plans,
    police,
    prisons,
    probation,
    victim_contact,
)
from mappa_bus.catalogue.examples import EXAMPLE_CASE, example_event
from mappa_bus.catalogue.probation import LeadAgency, LevelReason, LicenceCondition

CASE = "KEN-2021-000042"
START = datetime(2021, 1, 1, 9, 0, tzinfo=UTC)
DAY = 10
"""The day after START each triggering event happens on."""
BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}


def _on(day: int) -> date:
    return (START + timedelta(days=day)).date()


def _event(data: EventData, day: int, *, area: Area = Area.KENT) -> Envelope[EventData]:
    """`data` as an event of the test case that happened `day` days after START."""
    return make_event(
        data,
        case_id=CASE,
        area=area,
        time=START + timedelta(days=day),
        system="test",
        event_id=f"{data.NAME}-{day}",
    )


def _level_set(level: Level, day: int, reason: LevelReason = LevelReason.REVIEW) -> EventData:
    return probation.MappaLevelSet(
        set_on=_on(day), level=level, reason=reason, review_due_on=_on(day + 90)
    )


def _fold(events: Iterable[Envelope[EventData]]) -> CasePicture | None:
    picture: CasePicture | None = None
    for event in events:
        picture = apply(picture, event, event.time + timedelta(minutes=5))
    return picture


def _case(level: Level | None, *more: Envelope[EventData]) -> CasePicture | None:
    """A category 1 case in Kent at `level` (set the day after eligibility), then `more`."""
    eligible = probation.MappaEligibilityIdentified(
        identified_on=_on(0),
        category=Category.REGISTERED_SEX_OFFENDER,
        lead_agency=LeadAgency.PROBATION,
    )
    levelled = () if level is None else (_event(_level_set(level, 1), 1),)
    return _fold((_event(eligible, 0), *levelled, *more))


def _masked(picture: CasePicture, groups: frozenset[FieldGroup]) -> CasePicture:
    """`picture` with only its core and `groups`: what a role seeing just those sections sees."""
    hidden: dict[str, object] = {g.value: None for g in FieldGroup if g not in groups}
    return picture.model_copy(update={**hidden, "timeline": ()})


def _fire(before: CasePicture | None, event: Envelope[EventData]) -> dict[str, Firing]:
    """The firings of `event` on `before`, by rule; each summary checked to be one its rule
    could write from the core and its `draws_on` alone."""
    recorded_at = event.time + timedelta(minutes=5)
    after = apply(before, event, recorded_at)
    firings = evaluate(before, after, event, recorded_at)
    for firing in firings:
        rule = BY_NAME[firing.data.rule]
        cut_before = None if before is None else _masked(before, rule.draws_on)
        seen = rule.check(cut_before, _masked(after, rule.draws_on), event)
        assert seen == firing.data.summary, rule.name
    return {firing.data.rule: firing for firing in firings}


# ---- the table ----------------------------------------------------------------------------


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda rule: rule.name)
def test_every_audience_may_see_all_a_summary_draws_on(rule: Rule) -> None:
    assert ViewerRole.COORDINATOR in rule.audience
    for role in rule.audience:
        assert rule.draws_on <= CASE_VIEWS.get(role, frozenset()), role


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_a_rule_draws_on_the_sections_its_events_fill(rule: Rule) -> None:
    # A summary quotes its event: the event's section must be one the summary may draw on.
    assert rule.on
    assert {EVENT_GROUPS[model] for model in rule.on} <= rule.draws_on


def test_rule_names_are_unique_kebab_case() -> None:
    names = [rule.name for rule in ALL_RULES]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", name) for name in names)


# ---- each rule fires, saying what happened ------------------------------------------------

# rule: (the case's level, the triggering event's data, its area, the summary it raises)
FIRES: dict[str, tuple[Level, EventData, Area, str]] = {
    "released-from-custody": (
        Level.TWO,
        prisons.ReleasedFromCustody(
            released_on=_on(DAY), release="on-licence", licence_ends_on=_on(DAY + 400)
        ),
        Area.KENT,
        "Level 2 case released from custody on licence on 2021-01-11",
    ),
    "released-from-hospital": (
        Level.THREE,
        health.HospitalDischarged(discharged_on=_on(DAY), discharge="conditional"),
        Area.KENT,
        "Level 3 case discharged from hospital (conditional) on 2021-01-11",
    ),
    "unescorted-leave-granted": (
        Level.THREE,
        health.UnescortedLeaveApproved(approved_on=_on(DAY), leave_starts_on=_on(DAY + 7)),
        Area.KENT,
        "Level 3 case granted unescorted leave from hospital from 2021-01-18 (approved 2021-01-11)",
    ),
    "release-date-confirmed": (
        Level.TWO,
        prisons.ReleaseDateConfirmed(release_on=_on(DAY + 28), release="on-licence"),
        Area.KENT,
        "Level 2 case: release on licence confirmed on 2021-01-11 for 2021-02-08, 28 days ahead",
    ),
    "licence-breached": (
        Level.ONE,
        probation.LicenceBreached(breached_on=_on(DAY), breach="condition-breach"),
        Area.KENT,
        "Level 1 case breached licence on 2021-01-11 (condition-breach)",
    ),
    "recalled": (
        Level.TWO,
        probation.RecallIssued(issued_on=_on(DAY), recall_type="emergency"),
        Area.KENT,
        "Level 2 case recalled to custody on 2021-01-11 (emergency recall)",
    ),
    "notification-breached": (
        Level.ONE,
        police.NotificationBreachDisposed(disposed_on=_on(DAY), outcome="conviction"),
        Area.KENT,
        "Level 1 case convicted on 2021-01-11 for breaching the notification requirements",
    ),
    "order-breached": (
        Level.TWO,
        police.RestrictiveOrderBreached(order="sopo", breached_on=_on(DAY), charged=False),
        Area.KENT,
        "Level 2 case breached a SOPO on 2021-01-11 (not charged)",
    ),
    "order-made": (
        Level.TWO,
        police.ShpoMade(made_on=_on(DAY), interim=True, foreign_travel_restriction=True),
        Area.KENT,
        "Level 2 case: interim SHPO made on 2021-01-11, with a foreign travel restriction",
    ),
    "level-raised": (
        Level.ONE,
        _level_set(Level.THREE, DAY, LevelReason.RISK_INCREASED),
        Area.KENT,
        "Case raised from level 1 to level 3 on 2021-01-11 (risk-increased)",
    ),
    "transferred-in": (
        Level.TWO,
        probation.CaseTransferAccepted(accepted_on=_on(DAY), from_area=Area.KENT),
        Area.SUSSEX,
        "Level 2 case transferred in from Kent, accepted on 2021-01-11",
    ),
    "transferred-out": (
        Level.TWO,
        probation.CaseTransferAccepted(accepted_on=_on(DAY), from_area=Area.KENT),
        Area.SUSSEX,
        "Level 2 case transferred out to Sussex, accepted on 2021-01-11",
    ),
    "housing-at-risk": (
        Level.TWO,
        housing.HousingNeedRaised(raised_on=_on(DAY), need="homeless"),
        Area.KENT,
        "Level 2 case: housing need raised on 2021-01-11 (homeless)",
    ),
    "victim-condition-requested": (
        Level.ONE,
        victim_contact.LicenceConditionRequested(
            requested_on=_on(DAY), victim="VCS-KEN-0042", condition="no-contact"
        ),
        Area.KENT,
        "Level 1 case: a victim asked on 2021-01-11 for a no-contact licence condition, "
        "not yet in force",
    ),
    "high-risk-at-level-one": (
        Level.ONE,
        plans.PoliceRiskAssessmentCompleted(
            assessed_on=_on(DAY), tool=plans.RiskTool.ARMS, overall=plans.RiskLevel.VERY_HIGH
        ),
        Area.KENT,
        "Level 1 case: police assessed the risk of serious harm as very-high on 2021-01-11 "
        "(arms); review the level",
    ),
}
NEEDS_A_PLAN = {"plan-open-at-end"}
"""Rules that fire only on a case with plan actions: test_plan_alert_rules.py's."""


def test_every_rule_has_a_firing_example() -> None:
    assert set(FIRES) == set(BY_NAME) - NEEDS_A_PLAN


@pytest.mark.parametrize("name", FIRES)
def test_rule_fires_with_its_summary(name: str) -> None:
    level, data, area, summary = FIRES[name]
    # An opaque agency reference is not the summary's to repeat.
    event = _event(data.model_copy(update={"agency_reference": "REF-0000-77"}), DAY, area=area)
    firing = _fire(_case(level), event)[name]
    rule = BY_NAME[name]
    assert firing.data.summary == summary
    assert (firing.data.severity, firing.data.audience) == (
        rule.severity,
        tuple(sorted(rule.audience)),
    )
    assert firing.data.case_id == CASE
    assert firing.data.level == (Level.THREE if name == "level-raised" else level)
    assert "REF-0000-77" not in firing.data.summary
    assert "VCS-" not in firing.data.summary


def test_the_alert_names_its_trigger() -> None:
    level, data, area, _ = FIRES["recalled"]
    event = _event(data, DAY, area=area)
    firing = _fire(_case(level), event)["recalled"]
    assert firing.trigger == event.id
    assert firing.data.trigger_event_id == event.id
    assert firing.data.trigger_type == "uk.gov.mappa.probation.recall-issued.v1"
    assert firing.data.trigger_agency is Agency.PROBATION
    assert firing.data.happened_at == event.time
    assert firing.data.recorded_at == event.time + timedelta(minutes=5)
    assert firing.data.area is Area.KENT
    assert firing.data.severity is Severity.URGENT


# ---- variants of what they say ------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "summary"),
    [
        (
            police.ShpoMade(
                made_on=_on(DAY),
                interim=False,
                foreign_travel_restriction=False,
                expires_on=date(2031, 1, 10),
            ),
            "Level 2 case: SHPO made on 2021-01-11, until 2031-01-10",
        ),
        (
            police.SroMade(
                made_on=_on(DAY),
                interim=False,
                foreign_travel_restriction=True,
                expires_on=date(2023, 1, 10),
            ),
            "Level 2 case: SRO made on 2021-01-11, with a foreign travel restriction, "
            "until 2023-01-10",
        ),
        (
            police.NotificationOrderMade(made_on=_on(DAY), notification_period_months=None),
            "Level 2 case: notification order made on 2021-01-11, indefinitely",
        ),
        (
            police.NotificationOrderMade(made_on=_on(DAY), notification_period_months=84),
            "Level 2 case: notification order made on 2021-01-11, for 84 months",
        ),
    ],
)
def test_order_made_says_which_order_and_its_terms(data: EventData, summary: str) -> None:
    assert _fire(_case(Level.TWO), _event(data, DAY))["order-made"].data.summary == summary


def test_an_sro_breach_that_imposed_notification_is_an_order_breach() -> None:
    data = police.SroBreachedNotificationImposed(
        breached_on=_on(DAY), notification_start=_on(DAY + 3)
    )
    firing = _fire(_case(Level.TWO), _event(data, DAY))["order-breached"]
    assert firing.data.summary == (
        "Level 2 case breached an SRO on 2021-01-11; notification requirements from 2021-01-14"
    )


def test_lost_accommodation_is_a_housing_alert() -> None:
    data = housing.AccommodationLost(lost_on=_on(DAY), reason="eviction")
    firing = _fire(_case(Level.THREE), _event(data, DAY))["housing-at-risk"]
    assert firing.data.summary == "Level 3 case lost accommodation on 2021-01-11 (eviction)"


def test_release_at_sentence_end_today_says_so() -> None:
    """A release confirmed for the day of its confirmation says "the same day"."""
    data = prisons.ReleaseDateConfirmed(release_on=_on(DAY), release="sentence-end")
    firing = _fire(_case(Level.TWO), _event(data, DAY))["release-date-confirmed"]
    assert firing.data.summary == (
        "Level 2 case: release at the end of sentence confirmed on 2021-01-11 for 2021-01-11, "
        "the same day"
    )


def test_release_notice_is_counted_from_the_confirmation_not_from_today() -> None:
    """The demo's case: a release confirmed 14 days ago for today names both dates, so the
    text stays true when read on the release day (it once said "for today, in 14 days")."""
    data = prisons.ReleaseDateConfirmed(release_on=_on(DAY + 14), release="on-licence")
    firing = _fire(_case(Level.THREE), _event(data, DAY))["release-date-confirmed"]
    assert firing.data.summary == (
        "Level 3 case: release on licence confirmed on 2021-01-11 for 2021-01-25, 14 days ahead"
    )
    assert "in 14 days" not in firing.data.summary


# ---- and stays silent when it should ------------------------------------------------------

_LEVEL_2_OR_3_ONLY = [
    FIRES[name][1]
    for name in (
        "released-from-custody",
        "released-from-hospital",
        "unescorted-leave-granted",
        "release-date-confirmed",
        "housing-at-risk",
    )
]


@pytest.mark.parametrize("level", [Level.ONE, None])
@pytest.mark.parametrize("data", _LEVEL_2_OR_3_ONLY, ids=lambda data: data.NAME)
def test_release_leave_and_housing_are_silent_below_level_2(
    data: EventData, level: Level | None
) -> None:
    assert _fire(_case(level), _event(data, DAY)) == {}


@pytest.mark.parametrize("days_ahead", [RELEASE_NOTICE.days + 1, -1])
def test_a_release_date_outside_the_next_28_days_is_silent(days_ahead: int) -> None:
    data = prisons.ReleaseDateConfirmed(release_on=_on(DAY + days_ahead), release="on-licence")
    assert _fire(_case(Level.THREE), _event(data, DAY)) == {}


@pytest.mark.parametrize(
    ("was", "now"), [(Level.THREE, Level.TWO), (Level.TWO, Level.TWO), (None, Level.THREE)]
)
def test_a_level_not_raised_from_one_the_case_had_is_silent(was: Level | None, now: Level) -> None:
    assert _fire(_case(was), _event(_level_set(now, DAY), DAY)) == {}


def test_a_victim_request_already_in_force_is_silent() -> None:
    conditions = probation.LicenceConditionsSet(
        effective_from=_on(5),
        conditions=[LicenceCondition.RESIDENCE, LicenceCondition.NO_CONTACT],
        victim_requested=[LicenceCondition.NO_CONTACT],
    )
    before = _case(Level.TWO, _event(conditions, 5))
    asked = victim_contact.LicenceConditionRequested(
        requested_on=_on(DAY), victim="VCS-KEN-0042", condition="no-contact"
    )
    assert _fire(before, _event(asked, DAY)) == {}
    other = asked.model_copy(update={"condition": "exclusion-zone"})
    assert set(_fire(before, _event(other, DAY + 1))) == {"victim-condition-requested"}


def test_a_transfer_within_one_area_is_silent() -> None:
    data = probation.CaseTransferAccepted(accepted_on=_on(DAY), from_area=Area.KENT)
    assert _fire(_case(Level.TWO), _event(data, DAY, area=Area.KENT)) == {}


@pytest.mark.parametrize(
    "data",
    [
        housing.AccommodationSecured(secured_on=_on(DAY), accommodation="approved-premises"),
        victim_contact.VictimOptedIn(opted_in_on=_on(DAY), victim="VCS-KEN-0042"),
        prisons.ReceivedIntoCustody(received_on=_on(DAY), custody="sentenced"),
    ],
    ids=lambda data: data.NAME,
)
def test_events_no_rule_is_for_raise_nothing(data: EventData) -> None:
    assert _fire(_case(Level.THREE), _event(data, DAY)) == {}


# ---- who gets what ------------------------------------------------------------------------


def test_a_transfer_alerts_both_areas_with_different_ids() -> None:
    _, data, area, _ = FIRES["transferred-in"]
    event = _event(data, DAY, area=area)
    fired = _fire(_case(Level.TWO), event)
    into, out = fired["transferred-in"], fired["transferred-out"]
    assert (into.data.area, out.data.area) == (Area.SUSSEX, Area.KENT)
    assert into.trigger == out.trigger == event.id
    assert alert_id(into.data.rule, into.trigger) != alert_id(out.data.rule, out.trigger)


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("licence-breached", Category.REGISTERED_SEX_OFFENDER),
        ("housing-at-risk", None),
        ("victim-condition-requested", None),
    ],
)
def test_the_category_goes_only_to_an_audience_that_may_see_it(
    name: str, category: Category | None
) -> None:
    level, data, area, _ = FIRES[name]
    assert _fire(_case(level), _event(data, DAY, area=area))[name].data.category == category


def test_housing_and_victim_liaison_hear_of_their_own_rules() -> None:
    assert ViewerRole.HOUSING in BY_NAME["housing-at-risk"].audience
    assert ViewerRole.VICTIM_LIAISON in BY_NAME["victim-condition-requested"].audience
    assert ViewerRole.HEALTH in BY_NAME["released-from-hospital"].audience


# ---- the same input raises the same alerts ------------------------------------------------


def _example_case() -> CasePicture:
    eligible = example_event(probation.MappaEligibilityIdentified)
    level = example_event(probation.MappaLevelSet)
    picture = apply(None, eligible, eligible.time)
    return apply(picture, level.model_copy(update={"id": "level-set-first"}), level.time)


@pytest.mark.parametrize("model", CATALOGUE, ids=lambda model: model.NAME)
def test_evaluate_is_deterministic_and_triggered_by_the_event(model: type[EventData]) -> None:
    before = _example_case()
    event = example_event(model)
    recorded_at = event.time + timedelta(seconds=3)
    after = apply(before, event, recorded_at)
    firings = evaluate(before, after, event, recorded_at)
    assert firings == evaluate(before, after, event, recorded_at)
    assert all(firing.trigger == event.id == firing.data.trigger_event_id for firing in firings)
    assert all(firing.data.case_id == EXAMPLE_CASE for firing in firings)
    assert all(len(firing.data.summary) < 500 for firing in firings)


def test_every_rule_fires_on_some_catalogue_example() -> None:
    # The examples are one Kent case at level 2, without a plan: all but the level and transfer
    # rules, the one about level 1 and the one needing open actions fire.
    before = _example_case()
    fired: set[str] = set()
    for model in CATALOGUE:
        event = example_event(model)
        after = apply(before, event, event.time)
        fired |= {firing.data.rule for firing in evaluate(before, after, event, event.time)}
    silent = {"level-raised", "release-date-confirmed", "high-risk-at-level-one", *NEEDS_A_PLAN}
    assert fired >= set(BY_NAME) - silent


# ---- the overdue review -------------------------------------------------------------------


def _reviewed(level: Level, *more: Envelope[EventData]) -> CasePicture:
    """A case at `level` whose next review is due on `_on(100)`."""
    meeting = probation.MappaMeetingHeld(
        held_on=_on(10),
        level=2,
        agencies_present=[Agency.PROBATION, Agency.POLICE],
        next_review_on=_on(100),
    )
    picture = _case(level, _event(meeting, 10), *more)
    assert picture is not None
    return picture


def test_overdue_review_fires_once_the_date_has_passed() -> None:
    picture = _reviewed(Level.TWO)
    assert overdue_review(picture, _on(99)) is None
    assert overdue_review(picture, _on(100)) is None
    firing = overdue_review(picture, _on(101))
    assert firing is not None
    assert firing.trigger == f"{CASE}:2021-04-11"
    assert firing.data.rule == "review-overdue"
    assert firing.data.severity is Severity.ROUTINE
    assert firing.data.summary == (
        "Level 2 case: MAPPA review was due on 2021-04-11 and none is recorded since"
    )
    assert firing.data.trigger_event_id is None
    assert firing.data.happened_at == datetime(2021, 4, 12, tzinfo=UTC)
    # Asked again a month on, it is the same alert: raised once.
    assert overdue_review(picture, _on(130)) == firing


def test_overdue_review_is_silent_at_level_1() -> None:
    assert overdue_review(_reviewed(Level.ONE), _on(200)) is None


def test_overdue_review_is_silent_once_management_ended() -> None:
    ended = probation.MappaManagementEnded(
        ended_on=_on(50), reason=probation.ManagementEndReason.LICENCE_ENDED
    )
    assert overdue_review(_reviewed(Level.TWO, _event(ended, 50)), _on(200)) is None


def test_overdue_review_fires_for_a_case_managed_again_after_it_ended() -> None:
    ended = probation.MappaManagementEnded(
        ended_on=_on(20), reason=probation.ManagementEndReason.LICENCE_ENDED
    )
    again = _event(_level_set(Level.THREE, 30), 30)
    picture = _reviewed(Level.TWO, _event(ended, 20), again)
    firing = overdue_review(picture, _on(200))
    assert firing is not None
    assert firing.trigger == f"{CASE}:{picture.next_review_on}"
