"""Risk assessments: who assesses a managed person, how often, and what they find.

Probation reviews every managed person's risk of serious harm (OASys) twice a year; the police
assess registered sex offenders in the community once a year (ARMS); prisons before a release
on licence, health services in hospital (HCR-20), a youth offending team leading a case every
quarter (AssetPlus). What an assessment finds follows the level the case is managed at then
(`rates.RISK_BY_LEVEL`), and a level raised because the risk increased is preceded by a
probation assessment finding high or very high risk, the last before the raise.

Only the assessments in force from half a year before the reporting year are written (the
history before it is not needed), and only while the case is managed: nothing after management
ends, nothing after the year.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, timedelta

from mappa_bus.catalogue import ReportingYear, plans
from mappa_bus.catalogue.plans import RiskLevel, RiskTool
from mappa_bus.catalogue.probation import LeadAgency, LevelReason
from mappa_bus.simulator.dates import day_between, days
from mappa_bus.simulator.person import (
    Management,
    Note,
    Person,
    Place,
    Step,
    level_at,
    managed_at,
    place_at_end_of,
)
from mappa_bus.simulator.rates import RISK_BY_LEVEL

HISTORY_DAYS = 182
PROBATION_REVIEW_DAYS = 182
POLICE_REVIEW_DAYS = 365
YOUTH_REVIEW_DAYS = 91
# A review is done in the fortnight before it falls due.
REVIEW_EARLY_DAYS = (0, 14)
# The police visit and assess a registered sex offender within a fortnight of a release.
AFTER_RELEASE_DAYS = (7, 14)
# The assessment behind a raise comes in the fortnight before it.
RAISE_NOTICE_DAYS = 14

Assessment = Callable[[date, RiskLevel, date | None], plans.RiskAssessment]


def risk_assessments(rng: random.Random, person: Person, year: ReportingYear) -> list[Note]:
    """The risk assessments made of `person`, each a note on the day it was completed."""
    management = person.management
    if management is None:
        return []
    found = [
        *_probation(rng, person, management, year),
        *_police(rng, person, management, year),
        *_prisons(rng, person, year),
        *_health(rng, person, year),
        *_youth_offending(rng, person, management, year),
    ]
    return [
        note for note in found if note.day <= year.end and managed_at(person, (note.day, note.step))
    ]


def _probation(
    rng: random.Random, person: Person, management: Management, year: ReportingYear
) -> list[Note]:
    raises = [
        (
            day_between(
                rng,
                max(management.identified_on, raised - days(RAISE_NOTICE_DAYS)),
                raised - days(1),
            ),
            raised,
            level,
        )
        for raised, level in _risk_raises(person, management)
    ]
    notes = [
        _note(assessed, _raised_risk(rng, level), PROBATION_REVIEW_DAYS, _oasys)
        for assessed, _, level in raises
    ]
    for day in _schedule(rng, management.identified_on, year, PROBATION_REVIEW_DAYS):
        # None between a raise's assessment and the raise: that one is the last before it.
        if not any(assessed <= day <= raised for assessed, raised, _ in raises):
            notes.append(_note(day, _risk(rng, person, day), PROBATION_REVIEW_DAYS, _oasys))
    return notes


def _risk_raises(person: Person, management: Management) -> list[tuple[date, int]]:
    """The days the level was raised because the risk increased, with the level raised to."""
    return [
        (stay.set_on, int(stay.level))
        for stay in person.levels
        if stay.reason is LevelReason.RISK_INCREASED and stay.set_on > management.identified_on
    ]


def _police(
    rng: random.Random, person: Person, management: Management, year: ReportingYear
) -> list[Note]:
    """ARMS for a registered sex offender in the community: once a year, and soon after each
    release from prison or discharge from hospital."""
    registration = person.registration
    if registration is None:
        return []
    first = max(registration.starts_on, management.identified_on)
    back = [spell.released_on for spell in person.custody] + [
        spell.discharged_on for spell in person.detentions
    ]
    days_out = [day + days(rng.randint(*AFTER_RELEASE_DAYS)) for day in back if day is not None]
    return [
        _note(day, _risk(rng, person, day), POLICE_REVIEW_DAYS, _arms)
        for day in sorted({*_schedule(rng, first, year, POLICE_REVIEW_DAYS), *days_out})
        if _recent(day, year)
        and place_at_end_of(person, day) is Place.COMMUNITY
        and (registration.ended_on is None or day < registration.ended_on)
    ]


def _prisons(rng: random.Random, person: Person, year: ReportingYear) -> list[Note]:
    """OASys by the prison before a release on licence."""
    notes = []
    for spell in person.custody:
        if spell.released_on is None or spell.release != "on-licence":
            continue
        day = max(spell.start, spell.released_on - days(rng.randint(20, 60)))
        if _recent(day, year):
            notes.append(_note(day, _risk(rng, person, day), None, _prison_oasys))
    return notes


def _health(rng: random.Random, person: Person, year: ReportingYear) -> list[Note]:
    """HCR-20 soon after a detention in hospital starts, and again before a discharge."""
    notes = []
    for spell in person.detentions:
        days_in = [spell.start + days(rng.randint(14, 42))]
        if spell.discharged_on is not None:
            days_in.append(spell.discharged_on - days(rng.randint(7, 30)))
        for day in sorted(set(days_in)):
            inside = spell.discharged_on is None or day < spell.discharged_on
            if inside and day >= spell.start and _recent(day, year):
                notes.append(_note(day, _risk(rng, person, day), None, _hcr_20))
    return notes


def _youth_offending(
    rng: random.Random, person: Person, management: Management, year: ReportingYear
) -> list[Note]:
    """AssetPlus every quarter, when a youth offending team leads the case."""
    if management.lead_agency is not LeadAgency.YOUTH_OFFENDING:
        return []
    return [
        _note(day, _risk(rng, person, day), YOUTH_REVIEW_DAYS, _assetplus)
        for day in _schedule(rng, management.identified_on, year, YOUTH_REVIEW_DAYS)
    ]


def _schedule(rng: random.Random, first: date, year: ReportingYear, every: int) -> Iterator[date]:
    """Assessment days from `first` (or, when that is long before the year, from a review in
    the half year before it), each due `every` days after the last, to the year's end."""
    earliest = year.start - days(HISTORY_DAYS)
    day = first if first >= earliest else day_between(rng, earliest, year.start - days(1))
    while day <= year.end:
        yield day
        day += days(every - rng.randint(*REVIEW_EARLY_DAYS))


def _recent(day: date, year: ReportingYear) -> bool:
    return day >= year.start - days(HISTORY_DAYS)


def _risk(rng: random.Random, person: Person, day: date) -> RiskLevel:
    """What an assessment on `day` finds, given the level then."""
    shares = RISK_BY_LEVEL[level_at(person, (day, Step.RECORD))]
    return rng.choices([risk for risk, _ in shares], [share for _, share in shares])[0]


def _raised_risk(rng: random.Random, level: int) -> RiskLevel:
    """What the assessment behind a raise to `level` finds: high, or very high for some."""
    very_high = rng.random() < (0.6 if level == 3 else 0.1)
    return RiskLevel.VERY_HIGH if very_high else RiskLevel.HIGH


def _note(day: date, overall: RiskLevel, review_days: int | None, make: Assessment) -> Note:
    review = day + timedelta(days=review_days) if review_days is not None else None
    return Note(day, Step.RECORD, make(day, overall, review))


def _oasys(day: date, overall: RiskLevel, review: date | None) -> plans.RiskAssessment:
    return plans.ProbationRiskAssessmentCompleted(
        assessed_on=day, tool=RiskTool.OASYS_ROSH, overall=overall, next_review_due=review
    )


def _arms(day: date, overall: RiskLevel, review: date | None) -> plans.RiskAssessment:
    return plans.PoliceRiskAssessmentCompleted(
        assessed_on=day, tool=RiskTool.ARMS, overall=overall, next_review_due=review
    )


def _prison_oasys(day: date, overall: RiskLevel, review: date | None) -> plans.RiskAssessment:
    return plans.PrisonsRiskAssessmentCompleted(
        assessed_on=day, tool=RiskTool.OASYS_ROSH, overall=overall, next_review_due=review
    )


def _hcr_20(day: date, overall: RiskLevel, review: date | None) -> plans.RiskAssessment:
    return plans.HealthRiskAssessmentCompleted(
        assessed_on=day, tool=RiskTool.HCR_20, overall=overall, next_review_due=review
    )


def _assetplus(day: date, overall: RiskLevel, review: date | None) -> plans.RiskAssessment:
    return plans.YouthOffendingRiskAssessmentCompleted(
        assessed_on=day, tool=RiskTool.ASSETPLUS, overall=overall, next_review_due=review
    )
