"""Events probation publishes: the lead agency's view of MAPPA management and licences."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.vocabulary import Category, Level, MeetingReference, SharingAgency


class LeadAgency(StrEnum):
    """An agency that can lead the management of a MAPPA case."""

    POLICE = Agency.POLICE.value
    PROBATION = Agency.PROBATION.value
    PRISONS = Agency.PRISONS.value
    HEALTH = Agency.HEALTH.value
    YOUTH_OFFENDING = Agency.YOUTH_OFFENDING.value


class LevelReason(StrEnum):
    """Why a MAPPA level was set or changed."""

    INITIAL_SCREENING = "initial-screening"
    RISK_INCREASED = "risk-increased"
    RISK_REDUCED = "risk-reduced"
    RELEASE_PLANNING = "release-planning"
    TRANSFER_IN = "transfer-in"
    REVIEW = "review"


class LicenceCondition(StrEnum):
    """A licence condition type (the wording stays with probation)."""

    EXCLUSION_ZONE = "exclusion-zone"
    NO_CONTACT = "no-contact"
    RESIDENCE = "residence"
    CURFEW = "curfew"
    ELECTRONIC_MONITORING = "electronic-monitoring"
    POLYGRAPH = "polygraph"
    INTERNET_RESTRICTION = "internet-restriction"
    NON_ASSOCIATION = "non-association"
    DRUG_TESTING = "drug-testing"
    PROGRAMME_ATTENDANCE = "programme-attendance"


class ManagementEndReason(StrEnum):
    """Why MAPPA management of a case ended."""

    NOTIFICATION_ENDED = "notification-ended"
    LICENCE_ENDED = "licence-ended"
    HOSPITAL_ORDER_ENDED = "hospital-order-ended"
    RISK_NO_LONGER_REQUIRES_MAPPA = "risk-no-longer-requires-mappa"
    DEPORTED = "deported"
    DIED = "died"


class _ProbationEvent(EventData):
    PUBLISHER: ClassVar[Agency] = Agency.PROBATION


class MappaEligibilityIdentified(_ProbationEvent):
    """A person was identified as MAPPA-eligible, with their category and lead agency."""

    NAME: ClassVar[str] = "mappa-eligibility-identified"

    identified_on: date
    """Date the person was identified as MAPPA-eligible."""
    category: Category
    """MAPPA category: 1 registered sex offender, 2 violent offender, 3 other dangerous
    offender, 4 terrorist or terrorist-risk offender."""
    lead_agency: LeadAgency
    """The agency that leads the management of the case."""


class MappaLevelSet(_ProbationEvent):
    """The MAPPA management level was set or changed."""

    NAME: ClassVar[str] = "mappa-level-set"

    set_on: date
    """Date the level took effect."""
    level: Level
    """The new level: 1, 2 or 3."""
    reason: LevelReason
    """Why the level was set or changed."""
    review_due_on: date | None = None
    """When the level must next be reviewed (required in practice at levels 2 and 3)."""


class MappaMeetingHeld(_ProbationEvent):
    """A level 2 or 3 MAPPA meeting was held about the case."""

    NAME: ClassVar[str] = "mappa-meeting-held"

    held_on: date
    """Date of the meeting."""
    level: Literal[2, 3]
    """The level at which the meeting was held."""
    agencies_present: list[SharingAgency] = Field(min_length=1)
    """Agencies represented at the meeting."""
    next_review_on: date
    """Date of the next review."""
    meeting_reference: MeetingReference | None = None
    """The meeting's reference, which the plan actions agreed at it carry (added after the
    first release of this version: older events have none)."""


class LicenceConditionsSet(_ProbationEvent):
    """Licence conditions were set or varied (the whole set in force from `effective_from`)."""

    NAME: ClassVar[str] = "licence-conditions-set"

    effective_from: date
    """First day the conditions apply."""
    conditions: list[LicenceCondition] = Field(min_length=1)
    """All conditions in force from that day."""
    victim_requested: list[LicenceCondition] = Field(default_factory=list)
    """Those of the conditions that a victim asked for (e.g. exclusion zone, no contact)."""


class LicenceBreached(_ProbationEvent):
    """The person breached their licence and breach action was taken."""

    NAME: ClassVar[str] = "licence-breached"

    breached_on: date
    """Date of the breach."""
    breach: Literal["non-compliance", "further-offence", "condition-breach"]
    """What kind of breach it was."""


class RecallIssued(_ProbationEvent):
    """Probation recalled the person to custody for breach of licence."""

    NAME: ClassVar[str] = "recall-issued"

    issued_on: date
    """Date the recall was issued."""
    recall_type: Literal["fixed-term", "standard", "emergency"]
    """The kind of recall."""


class CaseTransferRequested(_ProbationEvent):
    """Management of the case is being transferred to another MAPPA area."""

    NAME: ClassVar[str] = "case-transfer-requested"

    requested_on: date
    """Date of the transfer request."""
    to_area: Area
    """The receiving MAPPA area."""


class CaseTransferAccepted(_ProbationEvent):
    """The receiving MAPPA area accepted the case; from now it manages it."""

    NAME: ClassVar[str] = "case-transfer-accepted"

    accepted_on: date
    """Date the receiving area took over."""
    from_area: Area
    """The sending MAPPA area."""


class MappaManagementEnded(_ProbationEvent):
    """MAPPA management of the case ended."""

    NAME: ClassVar[str] = "mappa-management-ended"

    ended_on: date
    """Last day of MAPPA management."""
    reason: ManagementEndReason
    """Why management ended."""
