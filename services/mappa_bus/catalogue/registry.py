"""The event catalogue: every event type the bus carries, in one explicit list."""

from __future__ import annotations

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import (
    childrens_services,
    duty_to_cooperate,
    health,
    housing,
    merges,
    plans,
    police,
    prisons,
    probation,
    victim_contact,
    withdrawal,
)
from mappa_bus.catalogue.base import EventData

CATALOGUE: tuple[type[EventData], ...] = (
    police.SexOffenderRegistered,
    police.NotificationDetailsChanged,
    police.NotificationBreachDisposed,
    police.ShpoMade,
    police.NotificationOrderMade,
    police.SroMade,
    police.SroBreachedNotificationImposed,
    police.RestrictiveOrderBreached,
    police.IndefiniteNotificationReviewed,
    police.NotificationRequirementsEnded,
    police.PotentiallyDangerousPersonRecorded,
    probation.MappaEligibilityIdentified,
    probation.MappaLevelSet,
    probation.MappaMeetingHeld,
    probation.LicenceConditionsSet,
    probation.LicenceBreached,
    probation.RecallIssued,
    probation.CaseTransferRequested,
    probation.CaseTransferAccepted,
    probation.MappaManagementEnded,
    prisons.ReceivedIntoCustody,
    prisons.ReleaseDateConfirmed,
    prisons.ReleasedFromCustody,
    prisons.TemporaryReleaseGranted,
    prisons.ReturnedToCustody,
    health.HospitalDetentionStarted,
    health.UnescortedLeaveApproved,
    health.HospitalDischargePlanned,
    health.HospitalDischarged,
    housing.HousingNeedRaised,
    housing.AccommodationSecured,
    housing.AccommodationLost,
    housing.HousingPanelReferral,
    childrens_services.SafeguardingConcernLinked,
    childrens_services.ChildContactRiskRecorded,
    victim_contact.VictimOptedIn,
    victim_contact.LicenceConditionRequested,
    duty_to_cooperate.YouthOffendingInformationShared,
    duty_to_cooperate.DwpInformationShared,
    duty_to_cooperate.ImmigrationInformationShared,
    duty_to_cooperate.DeportationDecisionMade,
    plans.ProbationRiskAssessmentCompleted,
    plans.PoliceRiskAssessmentCompleted,
    plans.PrisonsRiskAssessmentCompleted,
    plans.HealthRiskAssessmentCompleted,
    plans.YouthOffendingRiskAssessmentCompleted,
    plans.ProbationPlanActionAgreed,
    plans.PolicePlanActionAgreed,
    plans.PolicePlanActionCompleted,
    plans.PolicePlanActionClosed,
    plans.PolicePlanActionRedated,
    plans.ProbationPlanActionCompleted,
    plans.ProbationPlanActionClosed,
    plans.ProbationPlanActionRedated,
    plans.PrisonsPlanActionCompleted,
    plans.PrisonsPlanActionClosed,
    plans.PrisonsPlanActionRedated,
    plans.HealthPlanActionCompleted,
    plans.HealthPlanActionClosed,
    plans.HealthPlanActionRedated,
    plans.HousingPlanActionCompleted,
    plans.HousingPlanActionClosed,
    plans.HousingPlanActionRedated,
    plans.ChildrensServicesPlanActionCompleted,
    plans.ChildrensServicesPlanActionClosed,
    plans.ChildrensServicesPlanActionRedated,
    plans.VictimContactPlanActionCompleted,
    plans.VictimContactPlanActionClosed,
    plans.VictimContactPlanActionRedated,
    plans.YouthOffendingPlanActionCompleted,
    plans.YouthOffendingPlanActionClosed,
    plans.YouthOffendingPlanActionRedated,
    plans.DwpPlanActionCompleted,
    plans.DwpPlanActionClosed,
    plans.DwpPlanActionRedated,
    plans.ImmigrationEnforcementPlanActionCompleted,
    plans.ImmigrationEnforcementPlanActionClosed,
    plans.ImmigrationEnforcementPlanActionRedated,
    withdrawal.PoliceEventWithdrawn,
    withdrawal.ProbationEventWithdrawn,
    withdrawal.PrisonsEventWithdrawn,
    withdrawal.HealthEventWithdrawn,
    withdrawal.HousingEventWithdrawn,
    withdrawal.ChildrensServicesEventWithdrawn,
    withdrawal.VictimContactEventWithdrawn,
    withdrawal.YouthOffendingEventWithdrawn,
    withdrawal.DwpEventWithdrawn,
    withdrawal.ImmigrationEventWithdrawn,
    merges.CasesMerged,
    merges.CasesUnmerged,
)

CASE_EVENTS: tuple[type[EventData], ...] = tuple(
    model
    for model in CATALOGUE
    if not issubclass(model, withdrawal.EventWithdrawn) and model.PUBLISHER is not Agency.MAPPA_UNIT
)
"""The event types that say something about a case: all but the agencies' withdrawals and the
MAPPA unit's merges."""

BY_TYPE: dict[str, type[EventData]] = {model.event_type(): model for model in CATALOGUE}


def published_by(agency: Agency) -> tuple[type[EventData], ...]:
    """The event types `agency` may publish, in catalogue order."""
    return tuple(model for model in CATALOGUE if model.PUBLISHER is agency)
