"""People's lives: each `Course` of the year drawn as dated facts, with the history before the
year that the 31 March snapshot and the yearly tables depend on.

Causal order is kept within each person: custody before release, a breach before the recall
before the return, an order before the registration it causes, identification before any level.
Nothing happens after the reporting year's last day.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import ReportingYear, duty_to_cooperate, health, police, probation
from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.police import NotificationEndReason, RegistrationTrigger
from mappa_bus.catalogue.probation import LeadAgency, ManagementEndReason
from mappa_bus.catalogue.vocabulary import Category
from mappa_bus.simulator.actions import agreed_actions
from mappa_bus.simulator.assessments import risk_assessments
from mappa_bus.simulator.dates import day_between, days, first_change, months_after, years_before
from mappa_bus.simulator.ids import seeded
from mappa_bus.simulator.levels import LevelPlan, level_track, meetings, transfer_stay
from mappa_bus.simulator.person import (
    AreaStay,
    BreachDisposal,
    CivilOrder,
    Custody,
    Detention,
    Discharge,
    HospitalBasis,
    Person,
    Registration,
    Review,
    SroBreach,
    Step,
)
from mappa_bus.simulator.rates import PUNCTUALITY, Punctuality
from mappa_bus.simulator.roles import Course, Ending, Entry, Role, Shpo
from mappa_bus.simulator.story import (
    Story,
    civil_order,
    everyday,
    period_lasting_past,
    person,
    register,
    sentence,
    share,
    shpo,
    sro,
)

C1, C2, C3 = (
    Category.REGISTERED_SEX_OFFENDER,
    Category.VIOLENT_OFFENDER,
    Category.OTHER_DANGEROUS_OFFENDER,
)
# Adults may ask for a review of indefinite notification after 15 years on it.
REVIEW_AFTER_YEARS = 15


@dataclass(frozen=True, slots=True)
class Background:
    """How someone in the community at the start of the year came to be managed."""

    identified_on: date
    lead: LeadAgency
    licence_ends_on: date | None = None


def build_person(
    role: Role,
    *,
    case_id: str,
    home: Area,
    year: ReportingYear,
    seed: int,
    punctuality: Mapping[Agency, Punctuality] = PUNCTUALITY,
) -> Person:
    """The person who plays `role` in `home`'s year, drawn from their own seeded generator.

    Their plan actions and risk assessments come from generators of their own, after the rest:
    they change nothing the yearly tables count, and the people stay the same without them.
    """
    story = Story(seeded(seed, case_id), year, case_id, [AreaStay(home)])
    story.foreign_national = story.rng.random() < 0.02
    COURSES[role.course](story, role)
    management = story.management
    if management is None:
        return person(story)
    held = meetings(story.rng, story.levels, story.end, case_id, also_present(story))
    story.notes += held
    built = person(story)
    actions = agreed_actions(
        seeded(seed, case_id, "actions"), case_id, management, held, story.end, punctuality
    )
    assessed = risk_assessments(seeded(seed, case_id, "assessments"), built, year)
    return replace(built, notes=built.notes + tuple(assessed), actions=tuple(actions))


def also_present(story: Story) -> tuple[Agency, ...]:
    """Who attends every one of a case's meetings besides probation, police and the guests."""
    management = story.management
    youth = management is not None and management.lead_agency is LeadAgency.YOUTH_OFFENDING
    return (
        *([Agency.YOUTH_OFFENDING] if youth else []),
        *([Agency.IMMIGRATION_ENFORCEMENT] if story.foreign_national else []),
    )


# --- how people in the community at the start of the year came to be managed -------------


def background(
    story: Story, category: Category, *, licence_until: date | None = None
) -> Background:
    """History before the year for someone managed and in the community on 1 April.

    Category 2 people are managed while on licence (to `licence_until`, or past the year); a
    category 1 or 3 person is on licence only when `licence_until` asks for it.
    """
    if category is C1:
        return _rso_background(story, licence_until)
    if category is C2:
        return _violent_background(story, licence_until)
    return _dangerous_background(story, licence_until)


def _rso_background(story: Story, licence_until: date | None) -> Background:
    rng, year = story.rng, story.year
    long_ago = rng.uniform(1.5, 8) if licence_until else rng.uniform(1, 25)
    convicted = years_before(year.start, long_ago)
    period = None if long_ago >= 10 else period_lasting_past(rng, convicted, year.end)
    register(story, convicted, RegistrationTrigger.CONVICTION, period)
    if licence_until is None and rng.random() < 0.45:
        story.identify(convicted, C1, LeadAgency.POLICE)
        return Background(convicted, LeadAgency.POLICE)
    release = day_between(rng, convicted + days(90), year.start - days(10))
    ends = licence_until or release + days(rng.randint(365, 5 * 365))
    sentence(story, convicted, release, ends)
    story.identify(convicted, C1, LeadAgency.PROBATION)
    return Background(convicted, LeadAgency.PROBATION, ends if ends > year.start else None)


def _violent_background(story: Story, licence_until: date | None) -> Background:
    rng, year = story.rng, story.year
    convicted = years_before(year.start, rng.uniform(1.2, 8))
    release = day_between(rng, convicted + days(180), year.start - days(10))
    ends = licence_until or year.end + days(rng.randint(30, 1500))
    sentence(story, convicted, release, ends)
    lead = _violent_lead(rng)
    identified = convicted + days(rng.randint(0, 60))
    story.identify(identified, C2, lead)
    return Background(identified, lead, ends)


def _dangerous_background(story: Story, licence_until: date | None) -> Background:
    rng, year = story.rng, story.year
    identified = years_before(year.start, rng.uniform(0.3, 2))
    lead = LeadAgency.HEALTH if rng.random() < 0.2 else LeadAgency.PROBATION
    ends = None
    if licence_until is not None or rng.random() < 0.3:
        convicted = years_before(identified, rng.uniform(1, 4))
        ends = licence_until or year.end + days(rng.randint(30, 900))
        sentence(story, convicted, identified - days(rng.randint(0, 60)), ends)
    story.identify(identified, C3, lead)
    if rng.random() < 0.4:
        recorded = identified + days(rng.randint(0, 30))
        story.note(
            recorded,
            police.PotentiallyDangerousPersonRecorded(
                recorded_on=recorded, basis="other-risk-of-serious-harm"
            ),
        )
    return Background(identified, lead, ends)


def _violent_lead(rng: random.Random) -> LeadAgency:
    return LeadAgency.YOUTH_OFFENDING if rng.random() < 0.06 else LeadAgency.PROBATION


def _levels(
    story: Story,
    role: Role,
    *,
    last: date,
    hold: date | None = None,
    release_on: date | None = None,
) -> None:
    management = story.management
    assert management is not None, "levels are set only for a managed case"
    plan = LevelPlan(
        management.category,
        management.identified_on,
        role.peak,
        role.final,
        last,
        hold=hold,
        release_on=release_on,
    )
    story.levels = level_track(story.rng, story.year, plan)


# --- in the community on 31 March -----------------------------------------------------------


def settled(story: Story, role: Role) -> None:
    """Managed since before the year and in the community all year."""
    found = background(story, role.category)
    _levels(story, role, last=story.year.end)
    _police_year(story, role)
    everyday(story, role.category, story.year.start, story.year.end, found.lead)


def released(story: Story, role: Role) -> None:
    """In custody when the year began; released on licence during it."""
    rng, year = story.rng, story.year
    convicted = years_before(year.start, rng.uniform(1, 6))
    release = day_between(rng, first_change(year) + days(1), year.end - days(14))
    licence_ends = release + days(rng.randint(365, 6 * 365))
    lead = _in_custody_identified(story, role.category, convicted)
    sentence(story, convicted, release, licence_ends)
    _levels(story, role, last=year.end, release_on=release)
    everyday(story, role.category, release, year.end, lead)


def new_in_community(story: Story, role: Role) -> None:
    """A new registered sex offender in the year, living in the community."""
    year = story.year
    day = day_between(story.rng, first_change(year) + days(45), year.end - days(7))
    lead = _new_rso(story, role, day)
    story.identify(day, C1, lead)
    if role.shpo is Shpo.ON_CONVICTION:
        shpo(story, day, on_application=False, foreign_travel=role.shpo_foreign_travel)
    _levels(story, role, last=year.end)
    everyday(story, C1, day + days(1), year.end, lead)


def discharged(story: Story, role: Role) -> None:
    """Detained in hospital when the year began; conditionally discharged during it."""
    rng, year = story.rng, story.year
    detained = years_before(year.start, rng.uniform(1, 8))
    discharge = day_between(rng, first_change(year) + days(30), year.end - days(7))
    _hospital_identified(story, role.category, detained)
    _hospital_stay(story, detained, discharge, "conditional")
    _levels(story, role, last=year.end, release_on=discharge)
    everyday(story, role.category, discharge, year.end, LeadAgency.HEALTH)


def transferred_in(story: Story, role: Role) -> None:
    """Managed by another area when the year began; transferred in during it (at level 1)."""
    rng, year = story.rng, story.year
    home = story.areas[0].area
    story.areas = [AreaStay(role.partner or home)]
    found = background(story, role.category)
    requested = day_between(rng, first_change(year), year.end - days(50))
    accepted = requested + days(rng.randint(7, 42))
    story.areas.append(AreaStay(home, accepted_on=accepted, requested_on=requested))
    _levels(story, role, last=requested - days(1))
    story.levels.append(transfer_stay(role.final, accepted, rng))
    everyday(story, role.category, year.start, year.end, found.lead)


def rereleased(story: Story, role: Role) -> None:
    """On licence; recalled for a fixed term during the year and released again."""
    rng, year = story.rng, story.year
    found = background(story, role.category, licence_until=_licence_past_year(story))
    breached = day_between(rng, first_change(year) + days(20), year.end - days(45))
    returned = _recall(story, breached, "fixed-term")
    again = returned + days(rng.choice((14, 28)))
    story.custody.append(
        Custody(
            returned,
            returned_for="licence-recall",
            released_on=again,
            licence_ends_on=found.licence_ends_on,
        )
    )
    _levels(story, role, last=year.end, hold=returned)
    everyday(story, role.category, year.start, year.end, found.lead)


# --- in custody on 31 March -----------------------------------------------------------------


def still_in_custody(story: Story, role: Role) -> None:
    """In custody all year (some with a release date after it)."""
    rng, year = story.rng, story.year
    convicted = years_before(year.start, rng.uniform(0.4, 10))
    _in_custody_identified(story, role.category, convicted)
    expected = year.end + days(rng.randint(10, 180)) if rng.random() < 0.3 else None
    licence_ends = expected + days(rng.randint(365, 1500)) if expected else None
    sentence(story, convicted, expected, licence_ends)
    _levels(story, role, last=year.end, release_on=expected)


def received(story: Story, role: Role) -> None:
    """Sent to custody during the year."""
    rng, year = story.rng, story.year
    day = day_between(rng, first_change(year) + days(45), year.end - days(3))
    RECEPTIONS[role.entry](story, role, day)
    _levels(story, role, last=year.end)


def recalled(story: Story, role: Role) -> None:
    """On licence; recalled during the year and still in custody on 31 March."""
    rng, year = story.rng, story.year
    found = background(story, role.category, licence_until=_licence_past_year(story))
    breached = day_between(rng, first_change(year) + days(20), year.end - days(10))
    returned = _recall(story, breached, rng.choice(("standard", "emergency")))
    story.custody.append(Custody(returned, returned_for="licence-recall"))
    _levels(story, role, last=year.end, hold=returned)
    everyday(story, role.category, year.start, breached, found.lead)


def shpo_breach_return(story: Story, role: Role) -> None:
    """An RSO under a SHPO breaches it during the year and is returned to custody."""
    rng, year = story.rng, story.year
    found = background(story, C1)
    made = day_between(
        rng, max(found.identified_on, years_before(year.start, 6)), year.start - days(30)
    )
    shpo(story, made, on_application=rng.random() < 0.3, foreign_travel=rng.random() < 0.1)
    breached = day_between(rng, first_change(year) + days(20), year.end - days(2))
    story.note(
        breached,
        police.RestrictiveOrderBreached(order="shpo", breached_on=breached, charged=True),
        Step.BREACH,
    )
    story.custody.append(Custody(breached, returned_for="sopo-shpo-breach"))
    _levels(story, role, last=year.end, hold=breached)
    everyday(story, C1, year.start, breached - days(1), found.lead)


# --- elsewhere on 31 March ------------------------------------------------------------------


def in_hospital(story: Story, role: Role) -> None:
    """Detained in hospital on 31 March: since before the year, or from a day during it."""
    rng, year = story.rng, story.year
    if role.category is C3 or rng.random() < 0.6:
        detained = years_before(year.start, rng.uniform(0.3, 6))
        _hospital_identified(story, role.category, detained)
        _hospital_stay(story, detained, None, "conditional")
    else:
        found = background(story, role.category)
        detained = day_between(rng, first_change(year) + days(20), year.end - days(3))
        story.detentions.append(Detention(detained, "civil-section"))
        everyday(story, role.category, year.start, detained - days(1), found.lead)
    _levels(story, role, last=year.end)


def ended(story: Story, role: Role) -> None:
    """MAPPA management ends during the year."""
    ENDINGS[role.ending or Ending.DIED](story, role)


def transferred_out(story: Story, role: Role) -> None:
    """Transferred to another area during the year, keeping their level."""
    rng, year = story.rng, story.year
    found = background(story, role.category)
    requested = day_between(rng, first_change(year) + days(20), year.end - days(50))
    accepted = requested + days(rng.randint(7, 42))
    _levels(story, role, last=requested - days(1))
    story.areas.append(AreaStay(role.partner or story.areas[0].area, accepted, requested))
    story.levels.append(transfer_stay(role.final, accepted, rng))
    everyday(story, role.category, year.start, year.end, found.lead)


def pdp_only(story: Story, role: Role) -> None:
    """Never MAPPA-eligible: a Sexual Risk Order makes them a potentially dangerous person."""
    year = story.year
    sro(story, day_between(story.rng, years_before(year.start, 2), year.end - days(10)))


# --- pieces of the courses ------------------------------------------------------------------

Outcome = Literal["caution", "conviction"]
OUTCOMES: tuple[Outcome, ...] = ("caution", "conviction")
LicenceBreach = Literal["non-compliance", "further-offence", "condition-breach"]
LICENCE_BREACHES: tuple[LicenceBreach, ...] = (
    "non-compliance",
    "further-offence",
    "condition-breach",
)
RecallType = Literal["fixed-term", "standard", "emergency"]
HOSPITAL_BASES: tuple[HospitalBasis, ...] = ("hospital-order-with-restrictions", "hospital-order")


def _police_year(story: Story, role: Role) -> None:
    """A settled RSO's year with the police: a breach, a SHPO on application, a review."""
    rng, year = story.rng, story.year
    if role.notification_breach:
        day = day_between(rng, first_change(year), year.end)
        story.breach_disposals.append(BreachDisposal(day, rng.choice(OUTCOMES)))
    if role.shpo is Shpo.ON_APPLICATION:
        made = day_between(rng, first_change(year) + days(60), year.end)
        shpo(story, made, on_application=True, foreign_travel=role.shpo_foreign_travel)
    registration = story.registration
    reviewable = years_before(year.start, REVIEW_AFTER_YEARS)
    if (
        registration is not None
        and registration.period_months is None
        and registration.starts_on <= reviewable
        and rng.random() < 0.03
    ):
        decided = day_between(rng, first_change(year), year.end)
        story.reviews.append(Review(decided, "retained", months_after(decided, 96)))


def _in_custody_identified(story: Story, category: Category, convicted: date) -> LeadAgency:
    """Identification of someone sentenced on `convicted` and in custody since."""
    rng = story.rng
    if category is C1:
        period = period_lasting_past(rng, convicted, story.year.end)
        register(story, convicted, RegistrationTrigger.CONVICTION, period)
        story.identify(convicted, C1, LeadAgency.PROBATION)
        return LeadAgency.PROBATION
    if category is C2:
        lead = _violent_lead(rng)
        story.identify(convicted + days(rng.randint(0, 60)), C2, lead)
        return lead
    first = max(convicted + days(30), years_before(story.year.start, 2))
    story.identify(day_between(rng, first, story.year.start - days(1)), C3, LeadAgency.PROBATION)
    return LeadAgency.PROBATION


def _new_rso(story: Story, role: Role, day: date) -> LeadAgency:
    """Registration of a new RSO in the community, and the lead agency that follows."""
    rng = story.rng
    if role.entry is Entry.NOTIFICATION_ORDER:
        period = rng.choice((60, 84, None))
        order = CivilOrder("notification-order", day, notification_period_months=period)
        civil_order(story, order)
        register(story, day, RegistrationTrigger.NOTIFICATION_ORDER, period)
        return LeadAgency.POLICE
    if role.entry is Entry.SRO_BREACH:
        _sro_breach(story, day)
        return LeadAgency.POLICE
    if role.entry is Entry.CAUTION:
        register(story, day, RegistrationTrigger.CAUTION, 24)
        return LeadAgency.POLICE
    period = period_lasting_past(rng, day, story.year.end)
    register(story, day, RegistrationTrigger.CONVICTION, period)
    return LeadAgency.PROBATION


def _sro_breach(story: Story, day: date) -> None:
    """An SRO, its breach, and notification imposed on `day` because of it."""
    rng, year = story.rng, story.year
    breached = day_between(rng, max(first_change(year), day - days(30)), day - days(1))
    sro(story, day_between(rng, years_before(year.start, 3), breached - days(30)))
    story.note(
        breached,
        police.RestrictiveOrderBreached(order="sro", breached_on=breached, charged=True),
        Step.BREACH,
    )
    story.sro_breach = SroBreach(breached, day)
    register(story, day, RegistrationTrigger.SRO_BREACH, 60)


def _hospital_identified(story: Story, category: Category, detained: date) -> None:
    rng = story.rng
    if category is C1:
        trigger = rng.choice(
            (RegistrationTrigger.CONVICTION, RegistrationTrigger.FINDING_OF_NOT_GUILTY_BY_INSANITY)
        )
        register(story, detained, trigger, period_lasting_past(rng, detained, story.year.end))
    story.identify(detained + days(rng.randint(0, 60)), category, LeadAgency.HEALTH)


def _hospital_stay(story: Story, detained: date, discharge: date | None, kind: Discharge) -> None:
    """A hospital detention from `detained`; leave and a planned discharge before `discharge`."""
    rng, year = story.rng, story.year
    basis = rng.choice(HOSPITAL_BASES)
    story.detentions.append(Detention(detained, basis, discharge, kind))
    if discharge is None:
        if rng.random() < 0.3:
            _leave(story, day_between(rng, first_change(year), year.end))
        return
    _leave(story, max(detained + days(30), discharge - days(rng.randint(60, 200))))
    planned = discharge - days(rng.randint(14, 45))
    story.note(planned, health.HospitalDischargePlanned(planned_for=discharge, discharge=kind))


def _leave(story: Story, approved: date) -> None:
    story.note(
        approved,
        health.UnescortedLeaveApproved(approved_on=approved, leave_starts_on=approved + days(7)),
    )


def _licence_past_year(story: Story) -> date:
    return story.year.end + days(story.rng.randint(30, 1500))


def _recall(story: Story, breached: date, kind: RecallType) -> date:
    """A licence breach, the recall it leads to, and the day the person is back inside."""
    rng = story.rng
    breach = probation.LicenceBreached(breached_on=breached, breach=rng.choice(LICENCE_BREACHES))
    story.note(breached, breach, Step.BREACH)
    issued = breached + days(rng.randint(0, 2))
    story.note(issued, probation.RecallIssued(issued_on=issued, recall_type=kind), Step.RECALL)
    return min(issued + days(rng.randint(0, 5)), story.year.end)


def _end_management(story: Story, day: date, reason: ManagementEndReason) -> None:
    management = story.management
    assert management is not None, "only a managed case can stop being managed"
    story.management = replace(management, ended_on=day, end_reason=reason)


def _end_registration(story: Story, day: date, reason: NotificationEndReason) -> None:
    if story.registration is not None:
        story.registration = replace(story.registration, ended_on=day, end_reason=reason)


def _ending_day(story: Story, earliest_after_start: int = 30) -> date:
    year = story.year
    return day_between(story.rng, first_change(year) + days(earliest_after_start), year.end)


# --- receptions into custody during the year ------------------------------------------------


def _received_convicted(story: Story, role: Role, day: date) -> None:
    rng, year = story.rng, story.year
    remanded = rng.random() < 0.3
    start = day - days(rng.randint(30, 150)) if remanded else day
    story.custody.append(Custody(start, basis="remand" if remanded else "sentenced"))
    if role.category is C1:
        period = period_lasting_past(rng, day, year.end)
        register(story, day, RegistrationTrigger.CONVICTION, period)
        story.identify(day, C1, LeadAgency.PROBATION)
    else:
        identified = min(day + days(rng.randint(0, 30)), year.end)
        story.identify(identified, role.category, _violent_lead(rng))
    if role.shpo is Shpo.ON_CONVICTION:
        shpo(story, day, on_application=False, foreign_travel=role.shpo_foreign_travel)


def _received_further(story: Story, role: Role, day: date) -> None:
    found = background(story, role.category)
    story.custody.append(Custody(day, returned_for="further-offence"))
    everyday(story, role.category, story.year.start, day - days(1), found.lead)


def _received_breach(story: Story, role: Role, day: date) -> None:
    found = background(story, C1)
    story.breach_disposals.append(BreachDisposal(day, "conviction"))
    story.custody.append(Custody(day + days(1)))
    everyday(story, C1, story.year.start, day - days(1), found.lead)


def _received_sro(story: Story, role: Role, day: date) -> None:
    _sro_breach(story, day)
    story.identify(day, C1, LeadAgency.PROBATION)
    story.custody.append(Custody(day + days(1)))


RECEPTIONS: dict[Entry, Callable[[Story, Role, date], None]] = {
    Entry.CONVICTION: _received_convicted,
    Entry.CAUTION: _received_convicted,
    Entry.NOTIFICATION_ORDER: _received_convicted,
    Entry.FURTHER_OFFENCE: _received_further,
    Entry.NOTIFICATION_BREACH: _received_breach,
    Entry.SRO_BREACH: _received_sro,
}


# --- endings of management during the year --------------------------------------------------


def _notification_expired(story: Story, role: Role) -> None:
    rng, year = story.rng, story.year
    last_day = _ending_day(story)
    period = rng.choice((60, 84, 120))
    start = months_after(last_day + days(1), -period)
    if rng.random() < 0.4:
        release = day_between(rng, start + days(90), start + days(3 * 365))
        sentence(story, start, release, min(release + days(rng.randint(365, 3 * 365)), year.start))
    story.registration = Registration(start, period, RegistrationTrigger.CONVICTION)
    story.identify(start, C1, LeadAgency.POLICE)
    _levels(story, role, last=last_day - days(1))
    _end_registration(story, last_day, NotificationEndReason.PERIOD_EXPIRED)
    _end_management(story, last_day, ManagementEndReason.NOTIFICATION_ENDED)
    everyday(story, C1, year.start, last_day - days(1), LeadAgency.POLICE)


def _revoked(story: Story, role: Role) -> None:
    rng, year = story.rng, story.year
    start = years_before(year.start, rng.uniform(REVIEW_AFTER_YEARS + 0.5, 30))
    story.registration = Registration(start, None, RegistrationTrigger.CONVICTION)
    story.identify(start, C1, LeadAgency.POLICE)
    decided = day_between(rng, first_change(year) + days(30), year.end - days(14))
    story.reviews.append(Review(decided, "revoked"))
    ends = decided + days(rng.randint(0, 14))
    _levels(story, role, last=decided - days(1))
    _end_registration(story, ends, NotificationEndReason.REVOKED_ON_REVIEW)
    _end_management(story, ends, ManagementEndReason.NOTIFICATION_ENDED)
    everyday(story, C1, year.start, decided - days(1), LeadAgency.POLICE)


def _licence_ended(story: Story, role: Role) -> None:
    last_day = _ending_day(story)
    found = background(story, role.category, licence_until=last_day)
    _levels(story, role, last=last_day - days(1))
    _end_management(story, last_day, ManagementEndReason.LICENCE_ENDED)
    everyday(story, role.category, story.year.start, last_day - days(1), found.lead)


def _risk_reduced(story: Story, role: Role) -> None:
    last_day = _ending_day(story)
    found = background(story, role.category)
    _levels(story, role, last=last_day - days(1))
    _end_management(story, last_day, ManagementEndReason.RISK_NO_LONGER_REQUIRES_MAPPA)
    everyday(story, role.category, story.year.start, last_day - days(1), found.lead)


def _hospital_order_ended(story: Story, role: Role) -> None:
    rng = story.rng
    detained = years_before(story.year.start, rng.uniform(2, 10))
    _hospital_identified(story, role.category, detained)
    last_day = _ending_day(story)
    _hospital_stay(story, detained, last_day, "absolute")
    _levels(story, role, last=last_day - days(1))
    _end_management(story, last_day, ManagementEndReason.HOSPITAL_ORDER_ENDED)


def _deported(story: Story, role: Role) -> None:
    rng = story.rng
    story.foreign_national = True
    convicted = years_before(story.year.start, rng.uniform(1, 5))
    _in_custody_identified(story, role.category, convicted)
    removed = _ending_day(story, 130)
    decided = removed - days(rng.randint(30, 120))
    share(story, decided - days(rng.randint(10, 60)), Agency.IMMIGRATION_ENFORCEMENT)
    story.note(
        decided,
        duty_to_cooperate.DeportationDecisionMade(
            decided_on=decided, decision="deport", removal_planned_on=removed
        ),
    )
    story.custody.append(Custody(convicted, released_on=removed, release="sentence-end"))
    _levels(story, role, last=removed - days(1))
    _end_management(story, removed, ManagementEndReason.DEPORTED)


def _died(story: Story, role: Role) -> None:
    last_day = _ending_day(story)
    found = background(story, role.category)
    _levels(story, role, last=last_day - days(1))
    _end_registration(story, last_day, NotificationEndReason.DIED)
    _end_management(story, last_day, ManagementEndReason.DIED)
    everyday(story, role.category, story.year.start, last_day - days(1), found.lead)


ENDINGS: dict[Ending, Callable[[Story, Role], None]] = {
    Ending.NOTIFICATION_EXPIRED: _notification_expired,
    Ending.REVOKED: _revoked,
    Ending.LICENCE_ENDED: _licence_ended,
    Ending.RISK_REDUCED: _risk_reduced,
    Ending.HOSPITAL_ORDER_ENDED: _hospital_order_ended,
    Ending.DEPORTED: _deported,
    Ending.DIED: _died,
}


COURSES: dict[Course, Callable[[Story, Role], None]] = {
    Course.SETTLED: settled,
    Course.RELEASED: released,
    Course.NEW_IN_COMMUNITY: new_in_community,
    Course.DISCHARGED: discharged,
    Course.TRANSFERRED_IN: transferred_in,
    Course.RERELEASED: rereleased,
    Course.STILL_IN_CUSTODY: still_in_custody,
    Course.RECEIVED: received,
    Course.RECALLED: recalled,
    Course.SHPO_BREACH_RETURN: shpo_breach_return,
    Course.IN_HOSPITAL: in_hospital,
    Course.ENDED: ended,
    Course.TRANSFERRED_OUT: transferred_out,
    Course.PDP_ONLY: pdp_only,
}
