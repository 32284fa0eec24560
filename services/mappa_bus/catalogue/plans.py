"""Risk management plans: the risk assessments that drive a case's level, and the actions the
agencies agree at MAPPA meetings, each owned by one agency and tracked until done.

Facts only, in closed vocabularies: what was assessed or agreed, by whom, when, and by when; the
assessment's content and the action's wording stay with the agencies. An action is agreed by the
agency chairing the meeting; only the owning agency says it was completed, closed or re-dated,
on its own topic, so each agency has one class of each (the broker keeps it to that topic).
Consumers recognise these events by their public bases (`isinstance(data, ActionCompleted)`).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.vocabulary import CASE_ID_PATTERN, MeetingReference, SharingAgency


class RiskTool(StrEnum):
    """The structured tool a risk assessment was made with."""

    OASYS_ROSH = "oasys-rosh"
    OSPC = "ospc"
    OSPI = "ospi"
    ARMS = "arms"
    RISK_MATRIX_2000 = "risk-matrix-2000"
    HCR_20 = "hcr-20"
    SARA = "sara"
    ASSETPLUS = "assetplus"
    ERG_22_PLUS = "erg-22-plus"


class RiskLevel(StrEnum):
    """The overall risk of serious harm an assessment found."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very-high"


class ActionKind(StrEnum):
    """The kind of a risk management plan action (its wording stays with the agencies)."""

    HOME_VISIT = "home-visit"
    ACCOMMODATION_SEARCH = "accommodation-search"
    LICENCE_VARIATION_REQUEST = "licence-variation-request"
    VICTIM_CONTACT = "victim-contact"
    SAFEGUARDING_REFERRAL = "safeguarding-referral"
    DISCLOSURE_CONSIDERATION = "disclosure-consideration"
    INTELLIGENCE_CHECK = "intelligence-check"
    POLYGRAPH_REFERRAL = "polygraph-referral"
    TREATMENT_REFERRAL = "treatment-referral"
    MULTI_AGENCY_REVIEW = "multi-agency-review"


class ClosureReason(StrEnum):
    """Why a plan action was closed without being completed."""

    NO_LONGER_NEEDED = "no-longer-needed"
    PERSON_IN_CUSTODY = "person-in-custody"
    CASE_TRANSFERRED = "case-transferred"
    NOT_POSSIBLE = "not-possible"
    SUPERSEDED_BY_NEW_ACTION = "superseded-by-new-action"


class RedateReason(StrEnum):
    """Why a plan action's due date was moved."""

    AWAITING_OTHER_AGENCY = "awaiting-other-agency"
    PERSON_UNAVAILABLE = "person-unavailable"
    RESOURCING = "resourcing"
    COURT_DATE_MOVED = "court-date-moved"
    PLAN_REVIEWED = "plan-reviewed"


ActionId = Annotated[
    str,
    Field(
        pattern=CASE_ID_PATTERN,
        description="The plan action's id (3-64 letters, digits, - or _), unique within the case, "
        "chosen by the agency that agreed it; every later event about the action carries it.",
    ),
]


# ---- risk assessments ---------------------------------------------------------------------


class RiskAssessment(EventData):
    """A risk assessment was completed (abstract: each assessing agency has its own class)."""

    NAME: ClassVar[str] = "risk-assessment-completed"

    assessed_on: date
    """Date the assessment was completed."""
    tool: RiskTool
    """The tool the assessment was made with."""
    overall: RiskLevel
    """The overall risk of serious harm found: low, medium, high or very high."""
    next_review_due: date | None = None
    """When the assessment must next be reviewed, if a date was set."""


class ProbationRiskAssessmentCompleted(RiskAssessment):
    """Probation completed a risk assessment of the person (e.g. OASys risk of serious harm)."""

    PUBLISHER: ClassVar[Agency] = Agency.PROBATION


class PoliceRiskAssessmentCompleted(RiskAssessment):
    """Police completed a risk assessment of the person (e.g. ARMS for a registered sex
    offender)."""

    PUBLISHER: ClassVar[Agency] = Agency.POLICE


class PrisonsRiskAssessmentCompleted(RiskAssessment):
    """The prison service completed a risk assessment of the person in custody."""

    PUBLISHER: ClassVar[Agency] = Agency.PRISONS


class HealthRiskAssessmentCompleted(RiskAssessment):
    """Health services completed a risk assessment of the person (e.g. HCR-20)."""

    PUBLISHER: ClassVar[Agency] = Agency.HEALTH


class YouthOffendingRiskAssessmentCompleted(RiskAssessment):
    """The youth offending team completed a risk assessment of the person (e.g. AssetPlus)."""

    PUBLISHER: ClassVar[Agency] = Agency.YOUTH_OFFENDING


# ---- actions agreed -----------------------------------------------------------------------


class ActionAgreed(EventData):
    """A plan action was agreed at a MAPPA meeting (abstract: each chairing agency has its own
    class)."""

    NAME: ClassVar[str] = "plan-action-agreed"

    action_id: ActionId
    """The action's id, unique within the case, chosen by the agency that agreed it."""
    meeting_reference: MeetingReference
    """The reference of the meeting that agreed the action."""
    agreed_on: date
    """Date the action was agreed."""
    owner: SharingAgency
    """The agency that owns the action: the only one that may complete, close or re-date it."""
    kind: ActionKind
    """What kind of action it is."""
    due_on: date
    """Date the action is due to be done by."""


class ProbationPlanActionAgreed(ActionAgreed):
    """A meeting chaired by probation agreed a plan action."""

    PUBLISHER: ClassVar[Agency] = Agency.PROBATION


class PolicePlanActionAgreed(ActionAgreed):
    """A meeting chaired by police agreed a plan action."""

    PUBLISHER: ClassVar[Agency] = Agency.POLICE


# ---- what the owning agency says about its action -----------------------------------------


class ActionCompleted(EventData):
    """The owning agency completed a plan action (abstract: one class per agency)."""

    NAME: ClassVar[str] = "plan-action-completed"

    action_id: ActionId
    """The id of the action, as agreed."""
    completed_on: date
    """Date the action was completed."""


class ActionClosed(EventData):
    """The owning agency closed a plan action without completing it (abstract: one class per
    agency)."""

    NAME: ClassVar[str] = "plan-action-closed"

    action_id: ActionId
    """The id of the action, as agreed."""
    closed_on: date
    """Date the action was closed."""
    reason: ClosureReason
    """Why it was closed without being completed."""


class ActionRedated(EventData):
    """The owning agency moved a plan action's due date (abstract: one class per agency)."""

    NAME: ClassVar[str] = "plan-action-redated"

    action_id: ActionId
    """The id of the action, as agreed."""
    redated_on: date
    """Date the due date was moved."""
    due_on: date
    """The new due date."""
    reason: RedateReason
    """Why the due date was moved."""


class PolicePlanActionCompleted(ActionCompleted):
    """Police completed a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.POLICE


class PolicePlanActionClosed(ActionClosed):
    """Police closed without completing a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.POLICE


class PolicePlanActionRedated(ActionRedated):
    """Police re-dated a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.POLICE


class ProbationPlanActionCompleted(ActionCompleted):
    """Probation completed a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.PROBATION


class ProbationPlanActionClosed(ActionClosed):
    """Probation closed without completing a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.PROBATION


class ProbationPlanActionRedated(ActionRedated):
    """Probation re-dated a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.PROBATION


class PrisonsPlanActionCompleted(ActionCompleted):
    """Prisons completed a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.PRISONS


class PrisonsPlanActionClosed(ActionClosed):
    """Prisons closed without completing a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.PRISONS


class PrisonsPlanActionRedated(ActionRedated):
    """Prisons re-dated a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.PRISONS


class HealthPlanActionCompleted(ActionCompleted):
    """Health services completed a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.HEALTH


class HealthPlanActionClosed(ActionClosed):
    """Health services closed without completing a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.HEALTH


class HealthPlanActionRedated(ActionRedated):
    """Health services re-dated a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.HEALTH


class HousingPlanActionCompleted(ActionCompleted):
    """Housing completed a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.HOUSING


class HousingPlanActionClosed(ActionClosed):
    """Housing closed without completing a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.HOUSING


class HousingPlanActionRedated(ActionRedated):
    """Housing re-dated a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.HOUSING


class ChildrensServicesPlanActionCompleted(ActionCompleted):
    """Children's services completed a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.CHILDRENS_SERVICES


class ChildrensServicesPlanActionClosed(ActionClosed):
    """Children's services closed without completing a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.CHILDRENS_SERVICES


class ChildrensServicesPlanActionRedated(ActionRedated):
    """Children's services re-dated a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.CHILDRENS_SERVICES


class VictimContactPlanActionCompleted(ActionCompleted):
    """The victim contact scheme completed a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.VICTIM_CONTACT


class VictimContactPlanActionClosed(ActionClosed):
    """The victim contact scheme closed without completing a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.VICTIM_CONTACT


class VictimContactPlanActionRedated(ActionRedated):
    """The victim contact scheme re-dated a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.VICTIM_CONTACT


class YouthOffendingPlanActionCompleted(ActionCompleted):
    """The youth offending team completed a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.YOUTH_OFFENDING


class YouthOffendingPlanActionClosed(ActionClosed):
    """The youth offending team closed without completing a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.YOUTH_OFFENDING


class YouthOffendingPlanActionRedated(ActionRedated):
    """The youth offending team re-dated a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.YOUTH_OFFENDING


class DwpPlanActionCompleted(ActionCompleted):
    """DWP completed a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.DWP


class DwpPlanActionClosed(ActionClosed):
    """DWP closed without completing a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.DWP


class DwpPlanActionRedated(ActionRedated):
    """DWP re-dated a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.DWP


class ImmigrationEnforcementPlanActionCompleted(ActionCompleted):
    """Immigration Enforcement completed a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.IMMIGRATION_ENFORCEMENT


class ImmigrationEnforcementPlanActionClosed(ActionClosed):
    """Immigration Enforcement closed without completing a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.IMMIGRATION_ENFORCEMENT


class ImmigrationEnforcementPlanActionRedated(ActionRedated):
    """Immigration Enforcement re-dated a plan action it owns."""

    PUBLISHER: ClassVar[Agency] = Agency.IMMIGRATION_ENFORCEMENT


# ---- the groups consumers test membership of ----------------------------------------------

RISK_ASSESSMENTS: tuple[type[RiskAssessment], ...] = (
    ProbationRiskAssessmentCompleted,
    PoliceRiskAssessmentCompleted,
    PrisonsRiskAssessmentCompleted,
    HealthRiskAssessmentCompleted,
    YouthOffendingRiskAssessmentCompleted,
)
"""Every risk assessment class, one per assessing agency."""

ACTIONS_AGREED: tuple[type[ActionAgreed], ...] = (
    ProbationPlanActionAgreed,
    PolicePlanActionAgreed,
)
"""Every plan-action-agreed class, one per agency that chairs meetings."""

ACTION_OUTCOMES: tuple[type[ActionCompleted | ActionClosed | ActionRedated], ...] = (
    PolicePlanActionCompleted,
    PolicePlanActionClosed,
    PolicePlanActionRedated,
    ProbationPlanActionCompleted,
    ProbationPlanActionClosed,
    ProbationPlanActionRedated,
    PrisonsPlanActionCompleted,
    PrisonsPlanActionClosed,
    PrisonsPlanActionRedated,
    HealthPlanActionCompleted,
    HealthPlanActionClosed,
    HealthPlanActionRedated,
    HousingPlanActionCompleted,
    HousingPlanActionClosed,
    HousingPlanActionRedated,
    ChildrensServicesPlanActionCompleted,
    ChildrensServicesPlanActionClosed,
    ChildrensServicesPlanActionRedated,
    VictimContactPlanActionCompleted,
    VictimContactPlanActionClosed,
    VictimContactPlanActionRedated,
    YouthOffendingPlanActionCompleted,
    YouthOffendingPlanActionClosed,
    YouthOffendingPlanActionRedated,
    DwpPlanActionCompleted,
    DwpPlanActionClosed,
    DwpPlanActionRedated,
    ImmigrationEnforcementPlanActionCompleted,
    ImmigrationEnforcementPlanActionClosed,
    ImmigrationEnforcementPlanActionRedated,
)
"""Every completed, closed and re-dated class: three for each agency, in agency order."""
