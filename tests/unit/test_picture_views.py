"""The need-to-know table, cell by cell: each role sees exactly the sections the table gives it."""

from datetime import UTC, date, datetime, timedelta

import pytest

from mappa_bus.access.policy import (
    AUDIT_READERS,
    CASE_VIEWS,
    EVENT_GROUPS,
    FIGURE_READERS,
    OWN_ACTIONS_ONLY,
    SECTIONS,
    FieldGroup,
    NotEntitledError,
    ViewerRole,
)
from mappa_bus.agencies import SHARING_AGENCIES, Agency
from mappa_bus.case.model import (
    CasePicture,
    ChildContactRisk,
    Custody,
    Deportation,
    Hospital,
    Housing,
    Management,
    Partners,
    Plan,
    PlanAction,
    Registration,
    Risk,
    RiskAssessmentRecord,
    Safeguarding,
    Status,
    TimelineEntry,
    Victims,
)
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.plans import ActionKind, RiskLevel, RiskTool
from mappa_bus.catalogue.probation import LeadAgency, LicenceCondition
from mappa_bus.catalogue.registry import CASE_EVENTS, CATALOGUE
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.picture.views import CaseSummary, entry_group, plan_for, summary_of, view_of

RECORDED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def timeline(case_id: str, start: datetime = RECORDED) -> tuple[TimelineEntry, ...]:
    """One entry of every event type in the catalogue, an hour apart, in catalogue order."""
    return tuple(
        TimelineEntry(
            event_id=f"{case_id}-{index:02d}",
            time=start + timedelta(hours=index),
            recorded_at=start + timedelta(hours=index),
            agency=model.PUBLISHER,
            type=model.event_type(),
            area=Area.KENT,
            data={},
        )
        for index, model in enumerate(CATALOGUE)
    )


ASSESSMENT = RiskAssessmentRecord(
    agency=Agency.PROBATION,
    tool=RiskTool.OASYS_ROSH,
    overall=RiskLevel.HIGH,
    assessed_on=date(2024, 4, 2),
)


def _action(action_id: str, owner: Agency) -> PlanAction:
    return PlanAction(
        action_id=action_id,
        owner=owner,
        kind=ActionKind.HOME_VISIT,
        agreed_by=Agency.PROBATION,
        meeting_reference="MTG-1",
        agreed_on=date(2024, 4, 3),
        due_on=date(2024, 5, 3),
        original_due_on=date(2024, 5, 3),
    )


HOUSING_ACTION = _action("ACT-H", Agency.HOUSING)
POLICE_ACTION = _action("ACT-P", Agency.POLICE)


def full_picture(case_id: str = "case-1", **changes: object) -> CasePicture:
    """A picture with every section filled and an entry of every event type."""
    picture = CasePicture(
        case_id=case_id,
        area=Area.KENT,
        level=Level.TWO,
        status=Status.COMMUNITY,
        status_since=date(2024, 3, 1),
        lead_agency=LeadAgency.PROBATION,
        lead_reference="PROB-0001",
        next_review_on=date(2024, 9, 1),
        agencies_involved=SHARING_AGENCIES,
        last_recorded_at=RECORDED,
        management=Management(category=Category.VIOLENT_OFFENDER, eligible_since=date(2023, 1, 2)),
        custody=Custody(),
        registration=Registration(potentially_dangerous_person_since=date(2023, 2, 1)),
        hospital=Hospital(detained_on=date(2022, 1, 1)),
        housing=Housing(need="homeless", need_raised_on=date(2024, 2, 1)),
        safeguarding=Safeguarding(
            child_contact_risk=ChildContactRisk(
                recorded_on=date(2024, 1, 5), risk="high", contact_permitted="supervised"
            )
        ),
        victims=Victims(opted_in=("VCS-1",), conditions_in_force=(LicenceCondition.NO_CONTACT,)),
        partners=Partners(deportation=Deportation(decided_on=date(2024, 4, 1), decision="deport")),
        risk=Risk(assessments=(ASSESSMENT,)),
        plan=Plan(actions=(HOUSING_ACTION, POLICE_ACTION)),
        timeline=timeline(case_id),
    )
    return picture.model_copy(update=changes)


ROLE_GROUP_CELLS = [(role, group) for role in CASE_VIEWS for group in FieldGroup]
CORE_FIELDS_OF = {
    FieldGroup.STATUS: ("status", "status_since"),
    FieldGroup.AGENCIES: ("agencies_involved",),
}


@pytest.mark.parametrize(("role", "group"), ROLE_GROUP_CELLS)
def test_a_role_sees_a_group_iff_the_table_says_so(role: ViewerRole, group: FieldGroup) -> None:
    """One cell of the table, core fields included: the group's fields are there when granted,
    empty and listed as withheld if not."""
    picture = full_picture()
    view = view_of(picture, role)
    granted = group in CASE_VIEWS[role]

    assert (group in view.withheld) is not granted
    if group in SECTIONS:
        # The plan as the role may see it: whole, or its own agency's actions only.
        whole = getattr(picture, group.value)
        shown = plan_for(whole, role) if group is FieldGroup.PLAN else whole
        assert (getattr(view, group.value) == shown) is granted
        assert (getattr(view, group.value) is None) is not granted
        return
    for name in CORE_FIELDS_OF[group]:
        shown = getattr(view, name)
        assert (shown in (None, ())) is not granted, name


@pytest.mark.parametrize("role", list(CASE_VIEWS))
def test_victim_contact_shows_among_the_agencies_only_beside_the_victims(
    role: ViewerRole,
) -> None:
    """Victim contact's involvement is a victims' detail: only roles seeing victims learn it."""
    view = view_of(full_picture(), role)

    may_know = {FieldGroup.AGENCIES, FieldGroup.VICTIMS} <= CASE_VIEWS[role]
    assert (Agency.VICTIM_CONTACT in view.agencies_involved) is may_know


@pytest.mark.parametrize("role", list(CASE_VIEWS))
def test_last_recorded_is_the_latest_visible_event(role: ViewerRole) -> None:
    """When the latest hidden event reached the bus never shows through `last_recorded_at`."""
    view = view_of(full_picture(), role)

    assert view.last_recorded_at == max(entry.recorded_at for entry in view.timeline)


@pytest.mark.parametrize(("role", "group"), ROLE_GROUP_CELLS)
def test_a_role_sees_a_sections_events_iff_it_sees_the_section(
    role: ViewerRole, group: FieldGroup
) -> None:
    """Timeline entries share their section's fate: no back door through the timeline."""
    view = view_of(full_picture(), role)

    types = {entry.type for entry in view.timeline}
    group_types = {model.event_type() for model, g in EVENT_GROUPS.items() if g is group}
    if group is FieldGroup.PLAN and role in OWN_ACTIONS_ONLY:
        # The entries carry no action here: only those its own agency published are its own.
        agency = OWN_ACTIONS_ONLY[role]
        group_types = {m.event_type() for m in EVENT_GROUPS if m.PUBLISHER is agency} & group_types
    if group not in SECTIONS:
        assert not group_types
        return
    assert group_types
    assert (group_types <= types) is (group in CASE_VIEWS[role])
    assert not (group_types & types) or group in CASE_VIEWS[role]


def test_the_table_reads_as_the_policy_says() -> None:
    """The rows the brief spells out, in one place a reviewer can compare."""
    g = FieldGroup
    assert CASE_VIEWS[ViewerRole.POLICE] == frozenset(FieldGroup)
    assert CASE_VIEWS[ViewerRole.COORDINATOR] == frozenset(FieldGroup)
    assert CASE_VIEWS[ViewerRole.PROBATION] == frozenset(FieldGroup)
    assert CASE_VIEWS[ViewerRole.PRISONS] == frozenset(FieldGroup)
    assert CASE_VIEWS[ViewerRole.HOUSING] == {g.HOUSING, g.PLAN}
    assert CASE_VIEWS[ViewerRole.VICTIM_LIAISON] == {g.VICTIMS, g.PLAN}
    assert CASE_VIEWS[ViewerRole.HEALTH] == {
        g.MANAGEMENT,
        g.CUSTODY,
        g.HOSPITAL,
        g.RISK,
        g.PLAN,
        g.STATUS,
        g.AGENCIES,
    }
    assert CASE_VIEWS[ViewerRole.DWP] == {g.PARTNERS, g.PLAN}
    assert {ViewerRole.AUDITOR, ViewerRole.COORDINATOR} == AUDIT_READERS


def test_the_risk_and_plan_rows_read_as_the_policy_says() -> None:
    """The coordinator and the Responsible Authority see risk and the whole plan; each Duty to
    Co-operate agency its own actions; risk beyond them only where decisions rest on it."""
    risk = {role for role, groups in CASE_VIEWS.items() if FieldGroup.RISK in groups}
    plan = {role for role, groups in CASE_VIEWS.items() if FieldGroup.PLAN in groups}
    r = ViewerRole

    assert risk == {
        r.POLICE,
        r.PROBATION,
        r.PRISONS,
        r.COORDINATOR,
        r.HEALTH,
        r.CHILDRENS_SERVICES,
        r.YOUTH_OFFENDING,
    }
    assert plan == set(CASE_VIEWS)
    assert plan - set(OWN_ACTIONS_ONLY) == {r.POLICE, r.PROBATION, r.PRISONS, r.COORDINATOR}
    assert {role.value: agency.value for role, agency in OWN_ACTIONS_ONLY.items()} == {
        "health": "health",
        "housing": "housing",
        "childrens-services": "childrens-services",
        "victim-liaison": "victim-contact",
        "youth-offending": "youth-offending",
        "dwp": "dwp",
        "immigration-enforcement": "immigration-enforcement",
    }


def test_core_groups_and_timeline_partition_the_picture() -> None:
    """Every field of the picture is core, a section, or the timeline: a field added to the
    picture fails here until someone decides who may see it."""
    core, sections = set(CaseSummary.model_fields), {group.value for group in SECTIONS}

    assert not core & sections
    # What was withdrawn, and the withdrawals, are no view's: only as-known-at shows them.
    assert set(CasePicture.model_fields) == core | sections | {
        "timeline",
        "withdrawn",
        "withdrawals",
    }
    guarded = {name for names in CORE_FIELDS_OF.values() for name in names}
    assert guarded <= core


def test_every_event_type_has_exactly_one_group() -> None:
    """The event-to-section table covers the catalogue, no more and no less."""
    assert set(EVENT_GROUPS) == set(CASE_EVENTS)
    assert len(EVENT_GROUPS) == len(CASE_EVENTS) == 78


def test_an_entry_of_an_unknown_type_is_withheld_even_from_police() -> None:
    """A type the catalogue does not know cannot be placed in the table, so nobody sees it."""
    stray = timeline("case-1")[0].model_copy(update={"type": "uk.gov.mappa.police.new-thing.v9"})
    view = view_of(full_picture(timeline=(stray,)), ViewerRole.POLICE)

    assert entry_group(stray) is None
    assert view.timeline == ()


@pytest.mark.parametrize("role", list(CASE_VIEWS))
def test_every_reader_sees_the_core(role: ViewerRole) -> None:
    """Level and whom to call are the same whoever reads; the summary is the view's core."""
    picture = full_picture()
    view = view_of(picture, role)

    assert CaseSummary.model_validate(view.model_dump(include=set(CaseSummary.model_fields))) == (
        summary_of(picture, role)
    )
    assert view.role is role
    assert view.lead_reference == "PROB-0001"
    assert view.level is Level.TWO


def test_timeline_keeps_its_order() -> None:
    """Filtering removes entries; it never reorders those left."""
    view = view_of(full_picture(), ViewerRole.HEALTH)

    times = [entry.time for entry in view.timeline]
    assert times == sorted(times)
    sections = {g for g in CASE_VIEWS[ViewerRole.HEALTH] if g in SECTIONS}
    assert {entry_group(entry) for entry in view.timeline} == sections


@pytest.mark.parametrize("role", [role for role in ViewerRole if role not in CASE_VIEWS])
def test_roles_outside_the_table_may_not_read_cases(role: ViewerRole) -> None:
    """Lay advisers, analysts and auditors are refused, naming the role."""
    with pytest.raises(NotEntitledError, match=role.value):
        view_of(full_picture(), role)


def test_figure_readers_are_unchanged() -> None:
    """The figure readers: the lead agencies, the coordinator, lay advisers and analysts."""
    assert {"police", "probation", "prisons", "coordinator", "lay-adviser", "analyst"} == (
        FIGURE_READERS
    )
