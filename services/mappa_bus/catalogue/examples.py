"""One realistic example of every event type, for the catalogue page, the schema examples and
the tests. All are about one fictional case in Kent; no real person is described."""

from __future__ import annotations

from datetime import UTC, date, datetime

from mappa_bus.agencies import SHARING_AGENCIES, Agency
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
from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.envelope import Envelope, make_event
from mappa_bus.catalogue.vocabulary import Category, Level

EXAMPLE_CASE = "KEN-2020-000123"

_DATA: tuple[EventData, ...] = (
    police.SexOffenderRegistered(
        notification_start=date(2020, 4, 6),
        notification_period_months=None,
        trigger=police.RegistrationTrigger.CONVICTION,
    ),
    police.NotificationDetailsChanged(
        notified_on=date(2020, 6, 1), changed=[police.NotifiableDetail.HOME_ADDRESS]
    ),
    police.NotificationBreachDisposed(disposed_on=date(2020, 11, 3), outcome="caution"),
    police.ShpoMade(
        made_on=date(2020, 4, 6),
        interim=False,
        foreign_travel_restriction=False,
        expires_on=date(2030, 4, 5),
    ),
    police.NotificationOrderMade(made_on=date(2020, 7, 14), notification_period_months=84),
    police.SroMade(
        made_on=date(2020, 8, 20),
        interim=False,
        foreign_travel_restriction=True,
        expires_on=date(2022, 8, 19),
    ),
    police.SroBreachedNotificationImposed(
        breached_on=date(2020, 12, 2), notification_start=date(2021, 1, 15)
    ),
    police.RestrictiveOrderBreached(order="shpo", breached_on=date(2021, 2, 9), charged=True),
    police.IndefiniteNotificationReviewed(
        decided_on=date(2020, 9, 30), decision="revoked", agency_reference="VISOR-R-4471"
    ),
    police.NotificationRequirementsEnded(
        ended_on=date(2020, 10, 1), reason=police.NotificationEndReason.REVOKED_ON_REVIEW
    ),
    police.PotentiallyDangerousPersonRecorded(
        recorded_on=date(2020, 8, 21), basis="sexual-risk-order"
    ),
    probation.MappaEligibilityIdentified(
        identified_on=date(2020, 4, 6),
        category=Category.REGISTERED_SEX_OFFENDER,
        lead_agency=probation.LeadAgency.PROBATION,
    ),
    probation.MappaLevelSet(
        set_on=date(2020, 4, 20),
        level=Level.TWO,
        reason=probation.LevelReason.RELEASE_PLANNING,
        review_due_on=date(2020, 7, 20),
    ),
    probation.MappaMeetingHeld(
        held_on=date(2020, 7, 16),
        level=2,
        agencies_present=[Agency.PROBATION, Agency.POLICE, Agency.HOUSING],
        next_review_on=date(2020, 10, 15),
        meeting_reference="MAPPA-KEN-2020-0716",
    ),
    probation.LicenceConditionsSet(
        effective_from=date(2020, 9, 1),
        conditions=[
            probation.LicenceCondition.RESIDENCE,
            probation.LicenceCondition.EXCLUSION_ZONE,
            probation.LicenceCondition.NO_CONTACT,
        ],
        victim_requested=[
            probation.LicenceCondition.EXCLUSION_ZONE,
            probation.LicenceCondition.NO_CONTACT,
        ],
    ),
    probation.LicenceBreached(breached_on=date(2021, 1, 12), breach="condition-breach"),
    probation.RecallIssued(issued_on=date(2021, 1, 13), recall_type="standard"),
    probation.CaseTransferRequested(requested_on=date(2021, 2, 1), to_area=Area.SUSSEX),
    probation.CaseTransferAccepted(accepted_on=date(2021, 2, 22), from_area=Area.SURREY),
    probation.MappaManagementEnded(
        ended_on=date(2021, 3, 1), reason=probation.ManagementEndReason.LICENCE_ENDED
    ),
    prisons.ReceivedIntoCustody(received_on=date(2019, 6, 3), custody="sentenced"),
    prisons.ReleaseDateConfirmed(release_on=date(2020, 9, 1), release="on-licence"),
    prisons.ReleasedFromCustody(
        released_on=date(2020, 9, 1), release="on-licence", licence_ends_on=date(2022, 3, 1)
    ),
    prisons.TemporaryReleaseGranted(starts_on=date(2020, 8, 1), ends_on=date(2020, 8, 3)),
    prisons.ReturnedToCustody(returned_on=date(2021, 1, 14), reason="licence-recall"),
    health.HospitalDetentionStarted(
        detained_on=date(2019, 11, 4), basis="hospital-order-with-restrictions"
    ),
    health.UnescortedLeaveApproved(
        approved_on=date(2020, 10, 2), leave_starts_on=date(2020, 10, 9)
    ),
    health.HospitalDischargePlanned(planned_for=date(2021, 3, 15), discharge="conditional"),
    health.HospitalDischarged(discharged_on=date(2021, 3, 15), discharge="conditional"),
    housing.HousingNeedRaised(raised_on=date(2020, 7, 1), need="homeless"),
    housing.AccommodationSecured(secured_on=date(2020, 8, 28), accommodation="approved-premises"),
    housing.AccommodationLost(lost_on=date(2021, 1, 20), reason="risk-to-others"),
    housing.HousingPanelReferral(referred_on=date(2020, 7, 2), panel_on=date(2020, 7, 30)),
    childrens_services.SafeguardingConcernLinked(
        linked_on=date(2020, 5, 11), concern="child-protection"
    ),
    childrens_services.ChildContactRiskRecorded(
        recorded_on=date(2020, 5, 12), risk="high", contact_permitted="none"
    ),
    victim_contact.VictimOptedIn(opted_in_on=date(2020, 5, 4), victim="VCS-KEN-0042"),
    victim_contact.LicenceConditionRequested(
        requested_on=date(2020, 7, 10), victim="VCS-KEN-0042", condition="exclusion-zone"
    ),
    duty_to_cooperate.YouthOffendingInformationShared(
        shared_on=date(2020, 6, 2), subject_matter="education", shared_with=[Agency.PROBATION]
    ),
    duty_to_cooperate.DwpInformationShared(
        shared_on=date(2020, 9, 8), subject_matter="benefits", shared_with=[Agency.PROBATION]
    ),
    duty_to_cooperate.ImmigrationInformationShared(
        shared_on=date(2020, 10, 5),
        subject_matter="immigration-status",
        shared_with=[Agency.PROBATION, Agency.POLICE],
    ),
    duty_to_cooperate.DeportationDecisionMade(
        decided_on=date(2021, 1, 28), decision="deport", removal_planned_on=date(2021, 6, 1)
    ),
    plans.ProbationRiskAssessmentCompleted(
        assessed_on=date(2020, 7, 8),
        tool=plans.RiskTool.OASYS_ROSH,
        overall=plans.RiskLevel.HIGH,
        next_review_due=date(2021, 1, 8),
        agency_reference="OASYS-KEN-88213",
    ),
    plans.PoliceRiskAssessmentCompleted(
        assessed_on=date(2020, 6, 22),
        tool=plans.RiskTool.ARMS,
        overall=plans.RiskLevel.HIGH,
        next_review_due=date(2020, 12, 22),
    ),
    plans.PrisonsRiskAssessmentCompleted(
        assessed_on=date(2020, 5, 18), tool=plans.RiskTool.OASYS_ROSH, overall=plans.RiskLevel.HIGH
    ),
    plans.HealthRiskAssessmentCompleted(
        assessed_on=date(2020, 3, 2),
        tool=plans.RiskTool.HCR_20,
        overall=plans.RiskLevel.MEDIUM,
        next_review_due=date(2020, 9, 2),
    ),
    plans.YouthOffendingRiskAssessmentCompleted(
        assessed_on=date(2019, 2, 11), tool=plans.RiskTool.ASSETPLUS, overall=plans.RiskLevel.MEDIUM
    ),
    plans.ProbationPlanActionAgreed(
        action_id="KEN-0716-05",
        meeting_reference="MAPPA-KEN-2020-0716",
        agreed_on=date(2020, 7, 16),
        owner=Agency.HOUSING,
        kind=plans.ActionKind.ACCOMMODATION_SEARCH,
        due_on=date(2020, 8, 14),
    ),
    plans.PolicePlanActionAgreed(
        action_id="KEN-1015-01",
        meeting_reference="MAPPA-KEN-2020-1015",
        agreed_on=date(2020, 10, 15),
        owner=Agency.POLICE,
        kind=plans.ActionKind.HOME_VISIT,
        due_on=date(2020, 11, 12),
    ),
    plans.PolicePlanActionCompleted(action_id="KEN-0716-01", completed_on=date(2020, 8, 10)),
    plans.PolicePlanActionClosed(
        action_id="KEN-0716-01",
        closed_on=date(2020, 8, 20),
        reason=plans.ClosureReason.NOT_POSSIBLE,
    ),
    plans.PolicePlanActionRedated(
        action_id="KEN-0716-01",
        redated_on=date(2020, 8, 12),
        due_on=date(2020, 9, 11),
        reason=plans.RedateReason.AWAITING_OTHER_AGENCY,
    ),
    plans.ProbationPlanActionCompleted(action_id="KEN-0716-02", completed_on=date(2020, 8, 10)),
    plans.ProbationPlanActionClosed(
        action_id="KEN-0716-02",
        closed_on=date(2020, 8, 20),
        reason=plans.ClosureReason.NOT_POSSIBLE,
    ),
    plans.ProbationPlanActionRedated(
        action_id="KEN-0716-02",
        redated_on=date(2020, 8, 12),
        due_on=date(2020, 9, 11),
        reason=plans.RedateReason.AWAITING_OTHER_AGENCY,
    ),
    plans.PrisonsPlanActionCompleted(action_id="KEN-0716-03", completed_on=date(2020, 8, 10)),
    plans.PrisonsPlanActionClosed(
        action_id="KEN-0716-03",
        closed_on=date(2020, 8, 20),
        reason=plans.ClosureReason.NOT_POSSIBLE,
    ),
    plans.PrisonsPlanActionRedated(
        action_id="KEN-0716-03",
        redated_on=date(2020, 8, 12),
        due_on=date(2020, 9, 11),
        reason=plans.RedateReason.AWAITING_OTHER_AGENCY,
    ),
    plans.HealthPlanActionCompleted(action_id="KEN-0716-04", completed_on=date(2020, 8, 10)),
    plans.HealthPlanActionClosed(
        action_id="KEN-0716-04",
        closed_on=date(2020, 8, 20),
        reason=plans.ClosureReason.NOT_POSSIBLE,
    ),
    plans.HealthPlanActionRedated(
        action_id="KEN-0716-04",
        redated_on=date(2020, 8, 12),
        due_on=date(2020, 9, 11),
        reason=plans.RedateReason.AWAITING_OTHER_AGENCY,
    ),
    plans.HousingPlanActionCompleted(action_id="KEN-0716-05", completed_on=date(2020, 8, 10)),
    plans.HousingPlanActionClosed(
        action_id="KEN-0716-05",
        closed_on=date(2020, 8, 20),
        reason=plans.ClosureReason.NOT_POSSIBLE,
    ),
    plans.HousingPlanActionRedated(
        action_id="KEN-0716-05",
        redated_on=date(2020, 8, 12),
        due_on=date(2020, 9, 11),
        reason=plans.RedateReason.AWAITING_OTHER_AGENCY,
    ),
    plans.ChildrensServicesPlanActionCompleted(
        action_id="KEN-0716-06", completed_on=date(2020, 8, 10)
    ),
    plans.ChildrensServicesPlanActionClosed(
        action_id="KEN-0716-06",
        closed_on=date(2020, 8, 20),
        reason=plans.ClosureReason.NOT_POSSIBLE,
    ),
    plans.ChildrensServicesPlanActionRedated(
        action_id="KEN-0716-06",
        redated_on=date(2020, 8, 12),
        due_on=date(2020, 9, 11),
        reason=plans.RedateReason.AWAITING_OTHER_AGENCY,
    ),
    plans.VictimContactPlanActionCompleted(action_id="KEN-0716-07", completed_on=date(2020, 8, 10)),
    plans.VictimContactPlanActionClosed(
        action_id="KEN-0716-07",
        closed_on=date(2020, 8, 20),
        reason=plans.ClosureReason.NOT_POSSIBLE,
    ),
    plans.VictimContactPlanActionRedated(
        action_id="KEN-0716-07",
        redated_on=date(2020, 8, 12),
        due_on=date(2020, 9, 11),
        reason=plans.RedateReason.AWAITING_OTHER_AGENCY,
    ),
    plans.YouthOffendingPlanActionCompleted(
        action_id="KEN-0716-08", completed_on=date(2020, 8, 10)
    ),
    plans.YouthOffendingPlanActionClosed(
        action_id="KEN-0716-08",
        closed_on=date(2020, 8, 20),
        reason=plans.ClosureReason.NOT_POSSIBLE,
    ),
    plans.YouthOffendingPlanActionRedated(
        action_id="KEN-0716-08",
        redated_on=date(2020, 8, 12),
        due_on=date(2020, 9, 11),
        reason=plans.RedateReason.AWAITING_OTHER_AGENCY,
    ),
    plans.DwpPlanActionCompleted(action_id="KEN-0716-09", completed_on=date(2020, 8, 10)),
    plans.DwpPlanActionClosed(
        action_id="KEN-0716-09",
        closed_on=date(2020, 8, 20),
        reason=plans.ClosureReason.NOT_POSSIBLE,
    ),
    plans.DwpPlanActionRedated(
        action_id="KEN-0716-09",
        redated_on=date(2020, 8, 12),
        due_on=date(2020, 9, 11),
        reason=plans.RedateReason.AWAITING_OTHER_AGENCY,
    ),
    plans.ImmigrationEnforcementPlanActionCompleted(
        action_id="KEN-0716-10", completed_on=date(2020, 8, 10)
    ),
    plans.ImmigrationEnforcementPlanActionClosed(
        action_id="KEN-0716-10",
        closed_on=date(2020, 8, 20),
        reason=plans.ClosureReason.NOT_POSSIBLE,
    ),
    plans.ImmigrationEnforcementPlanActionRedated(
        action_id="KEN-0716-10",
        redated_on=date(2020, 8, 12),
        due_on=date(2020, 9, 11),
        reason=plans.RedateReason.AWAITING_OTHER_AGENCY,
    ),
)


def _example_id(index: int) -> str:
    """The fixed id of the `index`th example event."""
    return f"00000000-0000-4000-8000-{index:012d}"


def _withdrawal(agency: Agency) -> withdrawal.EventWithdrawn:
    """`agency`'s withdrawal of its own first example event; probation's is a correction."""
    first = next(i for i, data in enumerate(_DATA) if data.PUBLISHER is agency)
    model = withdrawal.WITHDRAWALS[agency]
    if agency is Agency.PROBATION:
        return model(
            withdrawn_event_id=_example_id(first),
            reason=withdrawal.WithdrawalReason.SUPERSEDED,
            withdrawn_on=date(2021, 3, 31),
            corrected_by="ndelius-correction-0001",
        )
    return model(
        withdrawn_event_id=_example_id(first),
        reason=withdrawal.WithdrawalReason.ENTERED_IN_ERROR,
        withdrawn_on=date(2021, 3, 31),
    )


# The MAPPA unit's: the example case kept, another id of the same person merged into it (and
# the merge undone, in the unmerge's example).
_MERGES: tuple[EventData, ...] = (
    merges.CasesMerged(
        merged_case_id="KEN-2020-000456", merged_on=date(2021, 3, 31), decision="MCU/KEN/2021/017"
    ),
    merges.CasesUnmerged(
        merged_case_id="KEN-2020-000456",
        unmerged_on=date(2021, 4, 14),
        reason=merges.UnmergeReason.DIFFERENT_PEOPLE,
        decision="MCU/KEN/2021/021",
    ),
)

EXAMPLES: dict[type[EventData], EventData] = {
    type(data): data
    for data in (*_DATA, *(_withdrawal(agency) for agency in SHARING_AGENCIES), *_MERGES)
}

# The system each agency publishes from in the examples and the simulator (`source` is
# /mappa/<agency>/<system>); names of the kind agencies use, not a claim about their systems.
AGENCY_SYSTEMS = {
    Agency.POLICE: "visor",
    Agency.PROBATION: "ndelius",
    Agency.PRISONS: "nomis",
    Agency.HEALTH: "forensic-ehr",
    Agency.HOUSING: "housing-register",
    Agency.CHILDRENS_SERVICES: "liquidlogic",
    Agency.VICTIM_CONTACT: "vcs",
    Agency.YOUTH_OFFENDING: "childview",
    Agency.DWP: "jcp-referrals",
    Agency.IMMIGRATION_ENFORCEMENT: "atlas",
    Agency.MAPPA_UNIT: "mcu-register",
}


def example_event(model: type[EventData]) -> Envelope[EventData]:
    """The example of `model` in its envelope, with a fixed id and time (stable docs)."""
    data = EXAMPLES[model]
    return make_event(
        data,
        case_id=EXAMPLE_CASE,
        area=Area.KENT,
        time=datetime(2021, 3, 31, 12, 0, tzinfo=UTC),
        system=AGENCY_SYSTEMS[model.PUBLISHER],
        event_id=_example_id(list(EXAMPLES).index(model)),
    )
