"""The need-to-know table: which role sees which part of a case, and who may open what else.

One declarative table (`CASE_VIEWS`) decides what every role reads of a case picture; the
route handlers and the tests read the same table, so the policy has one place to change. The
core of a picture (level, status, lead agency and its reference, review date) is seen by every
role that may read cases at all: it is what any partner needs to know whom to call.

Figures (the published statistics) and the audit trail have their own, shorter lists of readers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import (
    Area,
    childrens_services,
    duty_to_cooperate,
    health,
    housing,
    police,
    prisons,
    probation,
    victim_contact,
)
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.probation import LeadAgency
from mappa_bus.catalogue.registry import BY_TYPE
from mappa_bus.catalogue.vocabulary import Level
from mappa_bus.picture.model import (
    CasePicture,
    Custody,
    Hospital,
    Housing,
    Management,
    ManagementEnded,
    Partners,
    Registration,
    Safeguarding,
    Status,
    TimelineEntry,
    Victims,
)


class FieldGroup(StrEnum):
    """A section of the case picture; each value is the `CasePicture` attribute it names."""

    MANAGEMENT = "management"
    CUSTODY = "custody"
    REGISTRATION = "registration"
    HOSPITAL = "hospital"
    HOUSING = "housing"
    SAFEGUARDING = "safeguarding"
    VICTIMS = "victims"
    PARTNERS = "partners"


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
        # The Responsible Authorities and the coordinator run the case: they see all of it.
        _R.POLICE: frozenset(_G),
        _R.PROBATION: frozenset(_G),
        _R.PRISONS: frozenset(_G),
        _R.COORDINATOR: frozenset(_G),
        # Housing places the person: the core (level, status, whom to call) and housing facts,
        # never victims' or health details.
        _R.HOUSING: frozenset({_G.HOUSING}),
        # Victim liaison needs the victim-related conditions, not the rest of the offender's case.
        _R.VICTIM_LIAISON: frozenset({_G.VICTIMS}),
        _R.HEALTH: frozenset({_G.MANAGEMENT, _G.CUSTODY, _G.HOSPITAL}),
        _R.CHILDRENS_SERVICES: frozenset({_G.MANAGEMENT, _G.REGISTRATION, _G.SAFEGUARDING}),
        _R.YOUTH_OFFENDING: frozenset({_G.MANAGEMENT, _G.CUSTODY, _G.PARTNERS}),
        _R.DWP: frozenset({_G.PARTNERS}),
        _R.IMMIGRATION_ENFORCEMENT: frozenset({_G.PARTNERS}),
    }
)

# The figures are public; the case ids behind one are not. Lay advisers and analysts check
# figures rather than trust them, so they may open them though they may not read cases.
FIGURE_READERS: frozenset[ViewerRole] = frozenset(
    {_R.POLICE, _R.PROBATION, _R.PRISONS, _R.COORDINATOR, _R.LAY_ADVISER, _R.ANALYST}
)
AUDIT_READERS: frozenset[ViewerRole] = frozenset({_R.AUDITOR, _R.COORDINATOR})

# A reason is a sentence, not a tick-box: too short to say why is no reason.
MIN_REASON_LENGTH = 10

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
    }
)


class NotEntitledError(PermissionError):
    """The role may not read this, or no real reason was given."""


def check_entitled(role: str, reason: str) -> None:
    """Refuse, naming why, a role that may not open figures or a missing reason."""
    if role not in FIGURE_READERS:
        allowed = ", ".join(sorted(FIGURE_READERS))
        raise NotEntitledError(f"role {role!r} may not open figures (allowed: {allowed})")
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise NotEntitledError(
            f"say why you open this figure (at least {MIN_REASON_LENGTH} characters)"
        )


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


def entry_group(entry: TimelineEntry) -> FieldGroup | None:
    """The section an entry belongs to; None for a type the catalogue does not know."""
    model = BY_TYPE.get(entry.type)
    return None if model is None else EVENT_GROUPS[model]


def visible_entries(
    entries: tuple[TimelineEntry, ...], groups: frozenset[FieldGroup]
) -> tuple[TimelineEntry, ...]:
    """The entries of `groups`. An entry of an unknown type is withheld: fail closed."""
    return tuple(entry for entry in entries if entry_group(entry) in groups)


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseSummary(_View):
    """The core of a case: what every role that may read cases sees."""

    case_id: str
    area: Area | None = None
    level: Level | None = None
    status: Status = Status.UNKNOWN
    status_since: date | None = None
    lead_agency: LeadAgency | None = None
    lead_reference: str | None = None
    next_review_on: date | None = None
    management_ended: ManagementEnded | None = None
    agencies_involved: tuple[Agency, ...] = ()
    last_recorded_at: datetime | None = None
    erased_on: date | None = None


class CaseView(CaseSummary):
    """A case as one role may see it. A section is None either because no event filled it or
    because it is withheld; `withheld` says which, so absence is never ambiguous."""

    role: ViewerRole
    withheld: tuple[FieldGroup, ...]
    """The sections (and their timeline entries) this role may not see, in table order."""
    management: Management | None = None
    custody: Custody | None = None
    registration: Registration | None = None
    hospital: Hospital | None = None
    housing: Housing | None = None
    safeguarding: Safeguarding | None = None
    victims: Victims | None = None
    partners: Partners | None = None
    timeline: tuple[TimelineEntry, ...] = ()


def _core(picture: CasePicture) -> dict[str, object]:
    return {name: getattr(picture, name) for name in CaseSummary.model_fields}


def summary_of(picture: CasePicture) -> CaseSummary:
    """The core of `picture`."""
    return CaseSummary.model_validate(_core(picture))


def view_of(picture: CasePicture, role: ViewerRole) -> CaseView:
    """`picture` as `role` may see it; `NotEntitledError` for a role that may not read cases."""
    groups = case_groups(role)
    sections = {group.value: getattr(picture, group.value) for group in groups}
    return CaseView.model_validate(
        {
            **_core(picture),
            **sections,
            "role": role,
            "withheld": tuple(group for group in FieldGroup if group not in groups),
            "timeline": visible_entries(picture.timeline, groups),
        }
    )
