"""The pieces people's stories are made of: a sentence and release, a registration, a civil
order, and the everyday records of the agencies around them.

`Story` collects one person's facts while a course (`simulator.lives`) draws them; it never
leaves the builder, which returns the frozen `Person`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import (
    ReportingYear,
    childrens_services,
    duty_to_cooperate,
    housing,
    police,
    prisons,
    probation,
    victim_contact,
)
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.probation import LeadAgency, LicenceCondition
from mappa_bus.catalogue.vocabulary import Category
from mappa_bus.simulator.dates import day_between, days, days_between, months_after
from mappa_bus.simulator.person import (
    AreaStay,
    BreachDisposal,
    CivilOrder,
    Custody,
    CustodyBasis,
    Detention,
    LevelStay,
    Management,
    Note,
    Person,
    Registration,
    Review,
    SroBreach,
    Step,
)

CONDITIONS = (
    LicenceCondition.CURFEW,
    LicenceCondition.ELECTRONIC_MONITORING,
    LicenceCondition.POLYGRAPH,
    LicenceCondition.INTERNET_RESTRICTION,
    LicenceCondition.NON_ASSOCIATION,
    LicenceCondition.DRUG_TESTING,
    LicenceCondition.PROGRAMME_ATTENDANCE,
)
VictimCondition = Literal["exclusion-zone", "no-contact"]
VICTIM_CONDITIONS: tuple[VictimCondition, ...] = ("exclusion-zone", "no-contact")
Accommodation = Literal["approved-premises", "supported-housing", "social-housing", "family"]
ACCOMMODATIONS: tuple[Accommodation, ...] = (
    "approved-premises",
    "supported-housing",
    "social-housing",
    "family",
)
Concern = Literal["early-help", "child-in-need", "child-protection"]
CONCERNS: tuple[Concern, ...] = ("early-help", "child-in-need", "child-protection")
Risk = Literal["medium", "high", "very-high"]
RISKS: tuple[Risk, ...] = ("medium", "high", "very-high")
LossReason = Literal["eviction", "tenancy-ended", "left", "risk-to-others"]
LOSS_REASONS: tuple[LossReason, ...] = ("eviction", "tenancy-ended", "left", "risk-to-others")
DwpMatter = Literal["benefits", "employment", "address"]
DWP_MATTERS: tuple[DwpMatter, ...] = ("benefits", "employment", "address")
YouthMatter = Literal["education", "address", "risk"]
YOUTH_MATTERS: tuple[YouthMatter, ...] = ("education", "address", "risk")


@dataclass
class Story:
    """One person's facts while their course is being drawn."""

    rng: random.Random
    year: ReportingYear
    case_id: str
    areas: list[AreaStay]
    management: Management | None = None
    levels: list[LevelStay] = field(default_factory=list)
    custody: list[Custody] = field(default_factory=list)
    detentions: list[Detention] = field(default_factory=list)
    registration: Registration | None = None
    orders: list[CivilOrder] = field(default_factory=list)
    breach_disposals: list[BreachDisposal] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    sro_breach: SroBreach | None = None
    notes: list[Note] = field(default_factory=list)
    foreign_national: bool = False

    @property
    def end(self) -> date:
        """The last day anything may happen: the year's end, or the end of management."""
        ended = self.management.ended_on if self.management else None
        return ended or self.year.end

    def note(self, day: date, data: EventData, step: Step = Step.RECORD) -> None:
        """Record something that changes no statistic (unless it falls after the year, which
        the simulation does not reach)."""
        if day <= self.year.end:
            self.notes.append(Note(day, step, data))

    def identify(self, day: date, category: Category, lead: LeadAgency) -> None:
        """MAPPA management starts."""
        self.management = Management(day, category, lead)


def victim_reference(story: Story) -> str:
    """A pseudonymous Victim Contact Scheme reference for a victim of this case."""
    return f"VCS-{story.case_id}-{story.rng.randint(1, 9)}"


def sentence(
    story: Story,
    start: date,
    release_on: date | None,
    licence_ends_on: date | None,
    basis: CustodyBasis = "sentenced",
) -> None:
    """A custodial sentence from `start`, and if `release_on` is set a release on licence then,
    with what happens before a release (a confirmed date, victim contact, housing, ROTL)."""
    released = release_on if release_on is not None and release_on <= story.year.end else None
    story.custody.append(
        Custody(
            start=start,
            basis=basis,
            released_on=released,
            release="on-licence",
            licence_ends_on=licence_ends_on if released else None,
        )
    )
    if release_on is not None:
        _before_release(story, start, release_on)


def _before_release(story: Story, start: date, release_on: date) -> None:
    rng = story.rng
    confirmed = day_between(
        rng, max(start + days(1), release_on - days(120)), release_on - days(20)
    )
    story.note(confirmed, prisons.ReleaseDateConfirmed(release_on=release_on, release="on-licence"))
    # Victim contact, housing and ROTL take months; a short spell inside has none of them.
    long_spell = release_on - start > days(150)
    requested = _victim_contact(story, start, release_on) if long_spell else []
    if long_spell and rng.random() < 0.35:
        _housing_before(story, release_on)
    if long_spell and rng.random() < 0.2:
        _temporary_release(story, max(start, release_on - days(180)), release_on - days(10))
    conditions = [LicenceCondition.RESIDENCE, *rng.sample(CONDITIONS, rng.randint(0, 3))]
    conditions += [LicenceCondition(condition) for condition in requested]
    story.note(
        release_on,
        probation.LicenceConditionsSet(
            effective_from=release_on,
            conditions=conditions,
            victim_requested=[LicenceCondition(condition) for condition in requested],
        ),
    )


def _victim_contact(story: Story, start: date, release_on: date) -> list[VictimCondition]:
    """A victim opting in after sentence and, before release, asking for conditions."""
    rng = story.rng
    if rng.random() > 0.3:
        return []
    victim = victim_reference(story)
    opted = day_between(rng, start + days(14), min(start + days(120), release_on - days(60)))
    story.note(opted, victim_contact.VictimOptedIn(opted_in_on=opted, victim=victim))
    asked = day_between(rng, opted + days(1), release_on - days(30))
    requested = sorted(rng.sample(VICTIM_CONDITIONS, rng.randint(1, 2)))
    for condition in requested:
        story.note(
            asked,
            victim_contact.LicenceConditionRequested(
                requested_on=asked, victim=victim, condition=condition
            ),
        )
    return requested


def _housing_before(story: Story, release_on: date) -> None:
    rng = story.rng
    raised = release_on - days(rng.randint(40, 90))
    story.note(raised, housing.HousingNeedRaised(raised_on=raised, need="homeless"))
    if rng.random() < 0.3:
        referred = raised + days(rng.randint(1, 10))
        panel = referred + days(rng.randint(7, 21))
        story.note(referred, housing.HousingPanelReferral(referred_on=referred, panel_on=panel))
    secured = release_on - days(rng.randint(0, 7))
    kind = rng.choice(ACCOMMODATIONS)
    story.note(secured, housing.AccommodationSecured(secured_on=secured, accommodation=kind))


def _temporary_release(story: Story, first: date, last: date) -> None:
    for day in days_between(story.rng, first, last, story.rng.randint(1, 3)):
        story.note(
            day,
            prisons.TemporaryReleaseGranted(
                starts_on=day + days(2), ends_on=day + days(2 + story.rng.randint(0, 3))
            ),
        )


def register(
    story: Story,
    start: date,
    trigger: police.RegistrationTrigger,
    period_months: int | None,
) -> None:
    """The notification requirements start."""
    story.registration = Registration(start, period_months, trigger)


def period_lasting_past(rng: random.Random, start: date, day: date) -> int | None:
    """A notification period (months) that starts on `start` and still runs on `day`;
    indefinite when no fixed period is long enough (or, for a third of people, regardless)."""
    fitting = [months for months in (60, 84, 120) if months_after(start, months) > day]
    if not fitting or rng.random() < 0.35:
        return None
    return rng.choice(fitting)


def civil_order(story: Story, order: CivilOrder) -> None:
    """A court makes a SHPO, SRO or notification order."""
    story.orders.append(order)


def shpo(story: Story, made_on: date, *, on_application: bool, foreign_travel: bool) -> None:
    """A full SHPO (after an interim one, for some made on application)."""
    rng = story.rng
    if on_application and rng.random() < 0.3:
        interim_on = made_on - days(rng.randint(20, 60))
        story.orders.append(CivilOrder("shpo", interim_on, interim=True, on_application=True))
    expires = made_on + days(365 * rng.choice((5, 7, 10))) if rng.random() < 0.6 else None
    story.orders.append(
        CivilOrder(
            "shpo",
            made_on,
            foreign_travel_restriction=foreign_travel,
            expires_on=expires,
            on_application=on_application,
        )
    )


def sro(story: Story, made_on: date) -> None:
    """A Sexual Risk Order (after an interim one, for some) and the PDP record that follows."""
    rng = story.rng
    if rng.random() < 0.3:
        story.orders.append(CivilOrder("sro", made_on - days(rng.randint(14, 45)), interim=True))
    travel = rng.random() < 0.15
    expires = made_on + days(365 * rng.choice((2, 3, 5)))
    story.orders.append(
        CivilOrder("sro", made_on, foreign_travel_restriction=travel, expires_on=expires)
    )
    recorded = made_on + days(rng.randint(1, 7))
    story.note(
        recorded,
        police.PotentiallyDangerousPersonRecorded(recorded_on=recorded, basis="sexual-risk-order"),
    )


def everyday(story: Story, category: Category, first: date, last: date, lead: LeadAgency) -> None:
    """What the agencies around a person in the community record in an ordinary year."""
    rng = story.rng
    if last < first:
        return
    if category is Category.REGISTERED_SEX_OFFENDER:
        _notifications(story, first, last)
        if rng.random() < 0.12:
            _children(story, day_between(rng, first, last))
    if rng.random() < 0.06:
        share(story, day_between(rng, first, last), Agency.DWP)
    if lead is LeadAgency.YOUTH_OFFENDING:
        share(story, day_between(rng, first, last), Agency.YOUTH_OFFENDING)
    if story.foreign_national:
        share(story, day_between(rng, first, last), Agency.IMMIGRATION_ENFORCEMENT)
    if rng.random() < 0.03:
        _housing_lost(story, day_between(rng, first, last))


def _notifications(story: Story, first: date, last: date) -> None:
    rng = story.rng
    count = rng.choices((0, 1, 2, 3), (0.55, 0.3, 0.1, 0.05))[0]
    for day in days_between(rng, first, last, count):
        kinds = rng.sample(list(police.NotifiableDetail), rng.randint(1, 2))
        story.note(day, police.NotificationDetailsChanged(notified_on=day, changed=kinds))


def _children(story: Story, day: date) -> None:
    rng = story.rng
    concern = rng.choice(CONCERNS)
    story.note(day, childrens_services.SafeguardingConcernLinked(linked_on=day, concern=concern))
    assessed = day + days(rng.randint(1, 21))
    risk = rng.choice(RISKS)
    permitted: Literal["none", "supervised"] = "none" if risk != "medium" else "supervised"
    story.note(
        assessed,
        childrens_services.ChildContactRiskRecorded(
            recorded_on=assessed, risk=risk, contact_permitted=permitted
        ),
    )


def share(story: Story, day: date, agency: Agency) -> None:
    """A Duty to Co-operate agency (DWP, youth offending, immigration) shares information."""
    rng = story.rng
    recipients = [Agency.PROBATION] + ([Agency.POLICE] if rng.random() < 0.5 else [])
    data: EventData
    if agency is Agency.DWP:
        data = duty_to_cooperate.DwpInformationShared(
            shared_on=day, subject_matter=rng.choice(DWP_MATTERS), shared_with=recipients
        )
    elif agency is Agency.YOUTH_OFFENDING:
        data = duty_to_cooperate.YouthOffendingInformationShared(
            shared_on=day, subject_matter=rng.choice(YOUTH_MATTERS), shared_with=recipients
        )
    else:
        data = duty_to_cooperate.ImmigrationInformationShared(
            shared_on=day, subject_matter="immigration-status", shared_with=recipients
        )
    story.note(day, data)


def _housing_lost(story: Story, day: date) -> None:
    rng = story.rng
    story.note(day, housing.AccommodationLost(lost_on=day, reason=rng.choice(LOSS_REASONS)))
    raised = day + days(rng.randint(0, 5))
    story.note(raised, housing.HousingNeedRaised(raised_on=raised, need="homeless"))


def person(story: Story) -> Person:
    """The finished, frozen person."""
    return Person(
        case_id=story.case_id,
        areas=tuple(story.areas),
        management=story.management,
        levels=tuple(story.levels),
        custody=tuple(story.custody),
        detentions=tuple(story.detentions),
        registration=story.registration,
        orders=tuple(story.orders),
        breach_disposals=tuple(story.breach_disposals),
        reviews=tuple(story.reviews),
        sro_breach=story.sro_breach,
        notes=tuple(story.notes),
    )
