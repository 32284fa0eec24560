"""What the picture of a case holds: one frozen model a section, each section one field group
of the need-to-know table (`mappa_bus.picture.views`).

Dates are the days things happened, as the publishing agency gave them; `recorded_at` is when
an event reached the bus (Kafka's log-append time). Sections are None until an event fills them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.plans import (
    ActionKind,
    ClosureReason,
    RedateReason,
    RiskLevel,
    RiskTool,
)
from mappa_bus.catalogue.police import NotifiableDetail, NotificationEndReason, RegistrationTrigger
from mappa_bus.catalogue.probation import (
    LeadAgency,
    LevelReason,
    LicenceCondition,
    ManagementEndReason,
)
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.catalogue.withdrawal import WithdrawalReason


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Status(StrEnum):
    """Where the person is."""

    UNKNOWN = "unknown"
    COMMUNITY = "community"
    CUSTODY = "custody"
    HOSPITAL = "hospital"


# ---- core ---------------------------------------------------------------------------------


class ManagementEnded(_Part):
    on: date
    reason: ManagementEndReason


# ---- management ---------------------------------------------------------------------------


class LevelChange(_Part):
    on: date
    level: Level
    reason: LevelReason
    review_due_on: date | None = None


class Meeting(_Part):
    held_on: date
    level: Literal[2, 3]
    agencies_present: tuple[Agency, ...]
    next_review_on: date


class Transfer(_Part):
    """A move of the case between MAPPA areas: requested, then accepted by the receiving area."""

    from_area: Area | None
    to_area: Area
    requested_on: date | None = None
    accepted_on: date | None = None


class Management(_Part):
    category: Category | None = None
    eligible_since: date | None = None
    level_history: tuple[LevelChange, ...] = ()
    meetings: tuple[Meeting, ...] = ()
    transfers: tuple[Transfer, ...] = ()


# ---- custody and licence ------------------------------------------------------------------


class StatusPeriod(_Part):
    status: Status
    since: date
    basis: str
    """Why: e.g. `sentenced`, `recall`, `on-licence`, `hospital-order`, `conditional`."""


class PlannedRelease(_Part):
    release_on: date
    release: Literal["on-licence", "sentence-end"]


class TemporaryRelease(_Part):
    starts_on: date
    ends_on: date


class LicenceBreach(_Part):
    breached_on: date
    breach: Literal["non-compliance", "further-offence", "condition-breach"]


class Recall(_Part):
    issued_on: date
    recall_type: Literal["fixed-term", "standard", "emergency"]


class ReturnToCustody(_Part):
    returned_on: date
    reason: Literal["licence-recall", "sopo-shpo-breach", "further-offence"]


class Licence(_Part):
    """The licence the person is (or was last) released on, and the conditions set for it."""

    starts_on: date | None = None
    ends_on: date | None = None
    conditions: tuple[LicenceCondition, ...] = ()
    conditions_from: date | None = None
    victim_requested: tuple[LicenceCondition, ...] = ()


class Custody(_Part):
    status_history: tuple[StatusPeriod, ...] = ()
    planned_release: PlannedRelease | None = None
    temporary_releases: tuple[TemporaryRelease, ...] = ()
    licence: Licence | None = None
    breaches: tuple[LicenceBreach, ...] = ()
    recalls: tuple[Recall, ...] = ()
    returns: tuple[ReturnToCustody, ...] = ()


# ---- notification and orders --------------------------------------------------------------


class NotificationBreach(_Part):
    disposed_on: date
    outcome: Literal["caution", "conviction"]


class DetailsNotified(_Part):
    notified_on: date
    changed: tuple[NotifiableDetail, ...]


class Notification(_Part):
    """The notification requirements ("the register")."""

    start: date
    period_months: int | None
    """None: indefinite."""
    trigger: RegistrationTrigger
    ended_on: date | None = None
    end_reason: NotificationEndReason | None = None
    next_review_on: date | None = None
    """When an indefinite requirement may next be reviewed, after one was retained."""


class OrderKind(StrEnum):
    SHPO = "shpo"
    SRO = "sro"
    NOTIFICATION_ORDER = "notification-order"


class Order(_Part):
    kind: OrderKind
    made_on: date
    interim: bool = False
    foreign_travel_restriction: bool = False
    expires_on: date | None = None
    breaches: tuple[date, ...] = ()


class OrderBreach(_Part):
    order: Literal["shpo", "sopo", "sro"]
    breached_on: date
    charged: bool


class Registration(_Part):
    notification: Notification | None = None
    details_notified: tuple[DetailsNotified, ...] = ()
    breaches: tuple[NotificationBreach, ...] = ()
    orders: tuple[Order, ...] = ()
    order_breaches: tuple[OrderBreach, ...] = ()
    potentially_dangerous_person_since: date | None = None


# ---- health -------------------------------------------------------------------------------


class Hospital(_Part):
    detained_on: date | None = None
    basis: str | None = None
    unescorted_leave_from: date | None = None
    discharge_planned_for: date | None = None
    discharge: Literal["conditional", "absolute"] | None = None
    discharged_on: date | None = None


# ---- housing ------------------------------------------------------------------------------


class Housing(_Part):
    need: Literal["homeless", "at-risk-of-homelessness", "unsuitable-accommodation"] | None = None
    need_raised_on: date | None = None
    accommodation: (
        Literal[
            "approved-premises", "social-housing", "private-rented", "supported-housing", "family"
        ]
        | None
    ) = None
    accommodation_since: date | None = None
    lost_on: date | None = None
    lost_reason: Literal["eviction", "tenancy-ended", "left", "risk-to-others"] | None = None
    panel_referred_on: date | None = None
    panel_on: date | None = None


# ---- children's safeguarding --------------------------------------------------------------


class SafeguardingConcern(_Part):
    linked_on: date
    concern: Literal["early-help", "child-in-need", "child-protection"]


class ChildContactRisk(_Part):
    recorded_on: date
    risk: Literal["low", "medium", "high", "very-high"]
    contact_permitted: Literal["none", "supervised", "unsupervised"]


class Safeguarding(_Part):
    concerns: tuple[SafeguardingConcern, ...] = ()
    child_contact_risk: ChildContactRisk | None = None


# ---- victims ------------------------------------------------------------------------------


class VictimRequest(_Part):
    victim: str
    condition: Literal["exclusion-zone", "no-contact"]
    requested_on: date
    granted: bool
    """True once a licence-conditions event sets the condition at the victim's request."""


class Victims(_Part):
    opted_in: tuple[str, ...] = ()
    """Pseudonymous Victim Contact Scheme references."""
    requests: tuple[VictimRequest, ...] = ()
    conditions_in_force: tuple[LicenceCondition, ...] = ()
    """The victim-related licence conditions now in force (exclusion zone, no contact)."""


# ---- duty-to-co-operate partners ----------------------------------------------------------


class InformationShared(_Part):
    agency: Agency
    shared_on: date
    subject_matter: str
    shared_with: tuple[Agency, ...]


class Deportation(_Part):
    decided_on: date
    decision: Literal["deport", "do-not-deport", "deferred"]
    removal_planned_on: date | None = None


class Partners(_Part):
    information_shared: tuple[InformationShared, ...] = ()
    deportation: Deportation | None = None


# ---- risk and the risk management plan -----------------------------------------------------

# The catalogue lists the levels from lowest to highest: the order `highest` compares by.
_RISK_ORDER = {level: rank for rank, level in enumerate(RiskLevel)}


class RiskAssessmentRecord(_Part):
    """One agency's latest risk assessment of the person."""

    agency: Agency
    tool: RiskTool
    overall: RiskLevel
    assessed_on: date
    next_review_due: date | None = None


class Risk(_Part):
    assessments: tuple[RiskAssessmentRecord, ...] = ()
    """The latest assessment of each agency that assessed, in `Agency` order."""

    def highest(self) -> RiskLevel | None:
        """The highest overall risk any agency's latest assessment found; None with none."""
        levels = [record.overall for record in self.assessments]
        return max(levels, key=_RISK_ORDER.__getitem__, default=None)


class ActionStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    CLOSED = "closed"


class Redate(_Part):
    """A move of an action's due date by its owner."""

    redated_on: date
    due_on: date
    """The new due date."""
    reason: RedateReason


class PlanAction(_Part):
    """One action of the risk management plan: agreed at a meeting, owned by one agency, which
    alone may complete, close or re-date it."""

    action_id: str
    owner: Agency
    kind: ActionKind
    agreed_by: Agency
    """The agency that published the agreement (chairing the meeting)."""
    meeting_reference: str
    agreed_on: date
    due_on: date
    """The due date in force: the agreed one, or the latest re-dating's."""
    original_due_on: date
    redates: tuple[Redate, ...] = ()
    status: ActionStatus = ActionStatus.OPEN
    completed_on: date | None = None
    closed_on: date | None = None
    closure_reason: ClosureReason | None = None

    def overdue(self, today: date) -> bool:
        """Still open, and its due date in force has passed."""
        return self.status is ActionStatus.OPEN and self.due_on < today


class OutcomeKind(StrEnum):
    COMPLETED = "completed"
    CLOSED = "closed"
    REDATED = "redated"


class PendingOutcome(_Part):
    """What an agency said of an action the bus has no agreement of yet (the agreement is on
    another topic, which may be read later): kept until it arrives, then owner-checked. Not
    shown to readers: until the agreement is known, it is nobody's action."""

    action_id: str
    agency: Agency
    """The agency that published the outcome."""
    kind: OutcomeKind
    on: date
    """Completed, closed or re-dated on."""
    due_on: date | None = None
    """A re-dating's new due date."""
    closure_reason: ClosureReason | None = None
    redate_reason: RedateReason | None = None


class Plan(_Part):
    actions: tuple[PlanAction, ...] = ()
    """In the order they were agreed (timeline order)."""
    pending: tuple[PendingOutcome, ...] = ()
    """Outcomes of actions not agreed yet, in timeline order (`PendingOutcome`)."""

    def open_actions(self) -> tuple[PlanAction, ...]:
        """The actions neither completed nor closed."""
        return tuple(action for action in self.actions if action.status is ActionStatus.OPEN)

    def overdue(self, today: date) -> tuple[PlanAction, ...]:
        """The open actions whose due date in force is before `today`."""
        return tuple(action for action in self.actions if action.overdue(today))

    def action(self, action_id: str) -> PlanAction | None:
        """The action agreed with `action_id`, or None."""
        return next((a for a in self.actions if a.action_id == action_id), None)


# ---- the timeline and the picture ---------------------------------------------------------


class Withdrawal(_Part):
    """The withdrawal of an event by the agency that published it."""

    event_id: str
    """The id of the withdrawal event."""
    reason: WithdrawalReason
    withdrawn_on: date
    recorded_at: datetime
    """When the withdrawal reached the bus."""
    corrected_by: str | None = None
    """The id of the event that corrects the one withdrawn, when it was corrected."""


class TimelineEntry(_Part):
    """One event of the case as it reached the bus. `data` is the payload as published (JSON
    form), kept so the picture can be folded again when an earlier event arrives late."""

    event_id: str
    time: datetime
    """When it happened (the event's own time); the timeline is in this order."""
    recorded_at: datetime
    """When it reached the bus."""
    agency: Agency
    type: str
    area: Area
    data: dict[str, Any]
    withdrawn: Withdrawal | None = None
    """Set on the entries of a picture as known at a moment (`as_known_at`) that their agency
    withdrew after it, and on those a picture keeps in `withdrawn`."""


class CasePicture(_Part):
    """Everything the bus knows of one case. The top-level scalars are the core every entitled
    role sees; each section is one need-to-know field group."""

    case_id: str
    merged_case_ids: tuple[str, ...] = ()
    """The ids merged into this one by the MAPPA unit, whose events this picture folds in too
    (a read of a merged group: case/merges.py); empty for a stored picture, which is one id's."""
    area: Area | None = None
    """The MAPPA area managing the case (as of its latest event)."""
    level: Level | None = None
    status: Status = Status.UNKNOWN
    status_since: date | None = None
    lead_agency: LeadAgency | None = None
    lead_reference: str | None = None
    """The lead agency's own reference for the case: who to contact there."""
    next_review_on: date | None = None
    management_ended: ManagementEnded | None = None
    agencies_involved: tuple[Agency, ...] = ()
    last_recorded_at: datetime | None = None
    """When the latest of its events reached the bus: what "changed since" compares."""
    erased_on: date | None = None
    """The day its details were erased, its retention period having passed since management
    ended (DPA 2018 s.39): only the case id, area and end of management remain."""

    management: Management | None = None
    custody: Custody | None = None
    registration: Registration | None = None
    hospital: Hospital | None = None
    housing: Housing | None = None
    safeguarding: Safeguarding | None = None
    victims: Victims | None = None
    partners: Partners | None = None
    risk: Risk | None = None
    plan: Plan | None = None
    timeline: tuple[TimelineEntry, ...] = ()
    withdrawn: tuple[TimelineEntry, ...] = ()
    """Events their agency withdrew, each marked with its withdrawal, in timeline order: out
    of the picture, kept so that the picture as known before the withdrawal can be shown."""
    withdrawals: tuple[TimelineEntry, ...] = ()
    """The withdrawals themselves, in timeline order."""
