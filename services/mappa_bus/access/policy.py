"""The need-to-know table: which role sees which part of a case, and who may open what else.

One declarative table (`CASE_VIEWS`) decides what every role reads of a case picture; the route
handlers, the alert rules and the tests read the same table, so the policy has one place to
change. Beyond the sections of the picture, a case's status (custody, hospital, community) and
the agencies involved are sections too: telling housing that a person is in hospital, or anyone
that victim contact is involved, is disclosure like any other. What every case reader sees (the
core) is only what a partner needs to know whom to call: the area, level, lead agency and its
reference, the next review, and whether management has ended.

Figures (the published statistics), caseload listings and the audit trail have their own, shorter
lists of readers.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import (
    childrens_services,
    duty_to_cooperate,
    health,
    housing,
    plans,
    police,
    prisons,
    probation,
    victim_contact,
)
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.registry import BY_TYPE


class FieldGroup(StrEnum):
    """A section of the case picture. The first ten name a `CasePicture` attribute; `status`
    and `agencies` guard core fields (`STATUS_FIELDS`, `agencies_involved`)."""

    MANAGEMENT = "management"
    CUSTODY = "custody"
    REGISTRATION = "registration"
    HOSPITAL = "hospital"
    HOUSING = "housing"
    SAFEGUARDING = "safeguarding"
    VICTIMS = "victims"
    PARTNERS = "partners"
    RISK = "risk"
    PLAN = "plan"
    STATUS = "status"
    AGENCIES = "agencies"


SECTIONS: tuple[FieldGroup, ...] = tuple(FieldGroup)[:10]
"""The groups that are attributes of the picture, in table order."""
STATUS_FIELDS: tuple[str, ...] = ("status", "status_since")
"""The core fields the `status` group guards."""


class ViewerRole(StrEnum):
    """The role a person reads in: an agency's practitioners, or a MAPPA office."""

    POLICE = "police"
    PROBATION = "probation"
    PRISONS = "prisons"
    HEALTH = "health"
    HOUSING = "housing"
    CHILDRENS_SERVICES = "childrens-services"
    VICTIM_LIAISON = "victim-liaison"
    YOUTH_OFFENDING = "youth-offending"
    DWP = "dwp"
    IMMIGRATION_ENFORCEMENT = "immigration-enforcement"
    COORDINATOR = "coordinator"
    LAY_ADVISER = "lay-adviser"
    ANALYST = "analyst"
    AUDITOR = "auditor"


_G = FieldGroup
_R = ViewerRole

# Roles absent from this table may not read cases at all (lay advisers, analysts and auditors
# check the arrangements, not the people in them).
CASE_VIEWS: Mapping[ViewerRole, frozenset[FieldGroup]] = MappingProxyType(
    {
        # The Responsible Authorities and the coordinator run the case: they see all of it,
        # the risk assessments and the whole plan among it.
        _R.POLICE: frozenset(_G),
        _R.PROBATION: frozenset(_G),
        _R.PRISONS: frozenset(_G),
        _R.COORDINATOR: frozenset(_G),
        # Every Duty to Co-operate agency sees the plan, but only its own actions in it
        # (`OWN_ACTIONS_ONLY`): what it must do and by when, not what the others were asked to.
        # Housing places the person: the core (level, whom to call) and housing facts; not
        # where the person is held, nor health or victims' details, nor the risk assessments
        # (which name the tools, a health one among them: the MAPPA level is what it needs).
        _R.HOUSING: frozenset({_G.HOUSING, _G.PLAN}),
        # Victim liaison needs the victim-related conditions, not the rest of the offender's case.
        _R.VICTIM_LIAISON: frozenset({_G.VICTIMS, _G.PLAN}),
        # Health, children's services and youth offending decide on the risk of serious harm
        # (clinical risk management, a child's protection, a young person's supervision), and
        # health and youth offending assess it themselves: they see the risk section.
        _R.HEALTH: frozenset(
            {_G.MANAGEMENT, _G.CUSTODY, _G.HOSPITAL, _G.RISK, _G.PLAN, _G.STATUS, _G.AGENCIES}
        ),
        _R.CHILDRENS_SERVICES: frozenset(
            {_G.MANAGEMENT, _G.REGISTRATION, _G.SAFEGUARDING, _G.RISK, _G.PLAN, _G.STATUS}
        ),
        _R.YOUTH_OFFENDING: frozenset(
            {_G.MANAGEMENT, _G.CUSTODY, _G.PARTNERS, _G.RISK, _G.PLAN, _G.STATUS}
        ),
        # Benefits and removal are not decided on the risk assessments.
        _R.DWP: frozenset({_G.PARTNERS, _G.PLAN}),
        # Removal is decided on where the person is: immigration enforcement sees the status.
        _R.IMMIGRATION_ENFORCEMENT: frozenset({_G.PARTNERS, _G.STATUS, _G.PLAN}),
    }
)

# The roles that see the plan only as far as their own agency's actions go, with that agency:
# the Duty to Co-operate agencies. Their actions, their outcomes and the timeline entries about
# them; nothing of another agency's action (`mappa_bus.picture.views` applies it).
OWN_ACTIONS_ONLY: Mapping[ViewerRole, Agency] = MappingProxyType(
    {
        _R.HEALTH: Agency.HEALTH,
        _R.HOUSING: Agency.HOUSING,
        _R.CHILDRENS_SERVICES: Agency.CHILDRENS_SERVICES,
        _R.VICTIM_LIAISON: Agency.VICTIM_CONTACT,
        _R.YOUTH_OFFENDING: Agency.YOUTH_OFFENDING,
        _R.DWP: Agency.DWP,
        _R.IMMIGRATION_ENFORCEMENT: Agency.IMMIGRATION_ENFORCEMENT,
    }
)

# The plan and the overdue actions are read by every role that sees a part of the plan or the
# risk (a Duty to Co-operate agency its own actions).
PLAN_READERS: frozenset[ViewerRole] = frozenset(
    role for role, groups in CASE_VIEWS.items() if groups & {_G.RISK, _G.PLAN}
)
OVERDUE_READERS: frozenset[ViewerRole] = frozenset(
    role for role, groups in CASE_VIEWS.items() if _G.PLAN in groups
)

# A caseload (lists of cases, changes since) is for the roles that manage cases: the
# Responsible Authority's agencies and the coordinator. Other partners are told about a case
# and read that case.
LIST_READERS: frozenset[ViewerRole] = frozenset(
    {_R.POLICE, _R.PROBATION, _R.PRISONS, _R.COORDINATOR}
)

# The figures are public; the case ids behind one are not. Lay advisers and analysts check
# figures rather than trust them, so they may open them though they may not read cases.
FIGURE_READERS: frozenset[ViewerRole] = frozenset(
    {_R.POLICE, _R.PROBATION, _R.PRISONS, _R.COORDINATOR, _R.LAY_ADVISER, _R.ANALYST}
)
AUDIT_READERS: frozenset[ViewerRole] = frozenset({_R.AUDITOR, _R.COORDINATOR})

# Victim contact's involvement is itself a victims' detail: it shows among the agencies only to
# roles that may see the victims section.
HIDDEN_INVOLVEMENT: Mapping[Agency, FieldGroup] = MappingProxyType(
    {Agency.VICTIM_CONTACT: _G.VICTIMS}
)

# The section an event's timeline entry belongs to: an entry is as sensitive as the facts it
# carries, so a role that may not see a section may not see the events that filled it either.
EVENT_GROUPS: Mapping[type[EventData], FieldGroup] = MappingProxyType(
    {
        police.SexOffenderRegistered: _G.REGISTRATION,
        police.NotificationDetailsChanged: _G.REGISTRATION,
        police.NotificationBreachDisposed: _G.REGISTRATION,
        police.ShpoMade: _G.REGISTRATION,
        police.NotificationOrderMade: _G.REGISTRATION,
        police.SroMade: _G.REGISTRATION,
        police.SroBreachedNotificationImposed: _G.REGISTRATION,
        police.RestrictiveOrderBreached: _G.REGISTRATION,
        police.IndefiniteNotificationReviewed: _G.REGISTRATION,
        police.NotificationRequirementsEnded: _G.REGISTRATION,
        police.PotentiallyDangerousPersonRecorded: _G.REGISTRATION,
        probation.MappaEligibilityIdentified: _G.MANAGEMENT,
        probation.MappaLevelSet: _G.MANAGEMENT,
        probation.MappaMeetingHeld: _G.MANAGEMENT,
        probation.LicenceConditionsSet: _G.CUSTODY,
        probation.LicenceBreached: _G.CUSTODY,
        probation.RecallIssued: _G.CUSTODY,
        probation.CaseTransferRequested: _G.MANAGEMENT,
        probation.CaseTransferAccepted: _G.MANAGEMENT,
        probation.MappaManagementEnded: _G.MANAGEMENT,
        prisons.ReceivedIntoCustody: _G.CUSTODY,
        prisons.ReleaseDateConfirmed: _G.CUSTODY,
        prisons.ReleasedFromCustody: _G.CUSTODY,
        prisons.TemporaryReleaseGranted: _G.CUSTODY,
        prisons.ReturnedToCustody: _G.CUSTODY,
        health.HospitalDetentionStarted: _G.HOSPITAL,
        health.UnescortedLeaveApproved: _G.HOSPITAL,
        health.HospitalDischargePlanned: _G.HOSPITAL,
        health.HospitalDischarged: _G.HOSPITAL,
        housing.HousingNeedRaised: _G.HOUSING,
        housing.AccommodationSecured: _G.HOUSING,
        housing.AccommodationLost: _G.HOUSING,
        housing.HousingPanelReferral: _G.HOUSING,
        childrens_services.SafeguardingConcernLinked: _G.SAFEGUARDING,
        childrens_services.ChildContactRiskRecorded: _G.SAFEGUARDING,
        victim_contact.VictimOptedIn: _G.VICTIMS,
        victim_contact.LicenceConditionRequested: _G.VICTIMS,
        duty_to_cooperate.YouthOffendingInformationShared: _G.PARTNERS,
        duty_to_cooperate.DwpInformationShared: _G.PARTNERS,
        duty_to_cooperate.ImmigrationInformationShared: _G.PARTNERS,
        duty_to_cooperate.DeportationDecisionMade: _G.PARTNERS,
        **dict.fromkeys(plans.RISK_ASSESSMENTS, _G.RISK),
        **dict.fromkeys((*plans.ACTIONS_AGREED, *plans.ACTION_OUTCOMES), _G.PLAN),
    }
)

# A reason is a sentence, not a tick-box: too short to say why is no reason. Too long is a way
# to grow the append-only trail, so it is capped.
MIN_REASON_LENGTH = 10
MAX_REASON_LENGTH = 500


class NotEntitledError(PermissionError):
    """The role may not read this, or no real reason was given."""


def known_role(role: str) -> ViewerRole | None:
    """`role` as a `ViewerRole`, or None when there is no such role."""
    try:
        return ViewerRole(role)
    except ValueError:
        return None


def case_groups(role: str) -> frozenset[FieldGroup]:
    """The sections `role` may see of a case; refuses a role that may not read cases."""
    viewer = known_role(role)
    groups = None if viewer is None else CASE_VIEWS.get(viewer)
    if groups is None:
        readers = ", ".join(sorted(CASE_VIEWS))
        raise NotEntitledError(f"role {role!r} may not read cases (allowed: {readers})")
    return groups


def event_group(event_type: str) -> FieldGroup | None:
    """The section an event type's entries belong to; None for a type the catalogue does not
    know, one not yet placed in the table, or a withdrawal (which no role may then see: fail
    closed). A withdrawal is never on a picture's timeline: its effect is, the event it
    withdrew being gone."""
    model = BY_TYPE.get(event_type)
    return None if model is None else EVENT_GROUPS.get(model)


def visible_agencies(
    agencies: tuple[Agency, ...], groups: frozenset[FieldGroup]
) -> tuple[Agency, ...]:
    """The agencies involved that a role with `groups` may be told of."""
    if FieldGroup.AGENCIES not in groups:
        return ()
    return tuple(
        agency
        for agency in agencies
        if agency not in HIDDEN_INVOLVEMENT or HIDDEN_INVOLVEMENT[agency] in groups
    )
