"""People carried over into the next reporting year, as in life: whoever is still under MAPPA
management at a year's end lives on through the next one.

Their year is drawn from a generator of their own (seed, case, year): management may end (a
licence or a notification period running out, a review revoking indefinite notification, the
risk reduced, death), people in prison may be released and those in hospital discharged, people
on licence may be recalled, registered sex offenders may breach their notification, levels go
up or down, level 2 and 3 cases keep meeting at the reviews their last meeting set (agreeing
actions), the agencies around them keep recording, and they are assessed as before.

What earlier years hold is kept: only facts dated in the new year are added (a release closes a
spell left open), so what an earlier year shows, and the truth computed for it, never changes.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import replace
from datetime import date

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import ReportingYear, health, prisons, probation
from mappa_bus.catalogue.police import NotificationEndReason
from mappa_bus.catalogue.probation import (
    LevelReason,
    LicenceCondition,
    ManagementEndReason,
    MappaMeetingHeld,
)
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.simulator.actions import agreed_actions
from mappa_bus.simulator.assessments import risk_assessments
from mappa_bus.simulator.dates import day_between, days, first_change, months_after, years_before
from mappa_bus.simulator.ids import seeded
from mappa_bus.simulator.levels import meetings_carried
from mappa_bus.simulator.lives import LICENCE_BREACHES, OUTCOMES, REVIEW_AFTER_YEARS, also_present
from mappa_bus.simulator.person import (
    BreachDisposal,
    Custody,
    LevelStay,
    Note,
    Person,
    Place,
    Review,
    Step,
    end_of,
    level_at,
    managed_at,
    place_at_end_of,
)
from mappa_bus.simulator.rates import PUNCTUALITY, Punctuality
from mappa_bus.simulator.story import Story, everyday
from mappa_bus.simulator.story import person as frozen

C1, C2, C3 = (
    Category.REGISTERED_SEX_OFFENDER,
    Category.VIOLENT_OFFENDER,
    Category.OTHER_DANGEROUS_OFFENDER,
)

# SIMULATION ASSUMPTIONS, per person carried into a year.
RELEASED = 0.35
"""In prison at the year's start: released on licence during it."""
DISCHARGED = 0.15
"""Detained in hospital at the start: conditionally discharged during it."""
RECALLED = 0.06
"""On licence in the community: recalled during the year..."""
RERELEASED = 0.4
"""...of whom some serve a fixed term and are out again within the year."""
NOTIFICATION_BREACH = 0.01
"""A registered sex offender in the community cautioned or convicted for a breach."""
RAISED = 0.04
"""At level 1 in the community: raised to level 2 as the risk increases."""
LOWERED: Mapping[int, float] = {2: 0.35, 3: 0.3}
"""At level 2 or 3: down one level during the year (category 3 never to level 1)."""
RISK_REDUCED: Mapping[Category, float] = {C1: 0.0, C2: 0.1, C3: 0.25}
"""In the community: management ends because the risk no longer requires MAPPA (a registered
sex offender stays managed while the notification lasts)."""
DIED = 0.005
REVIEWED = 0.05
"""On indefinite notification for 15 years or more: a review on application..."""
REVOKED = 0.5
"""...which revokes the notification (ending management) for some, retains it for the rest."""
# Days from the year's first change to the first ending, and the room a movement needs.
ENDING_AFTER_DAYS = 30
MOVEMENT_ROOM_DAYS = 14


def carried_over(
    person: Person,
    year: ReportingYear,
    seed: int,
    punctuality: Mapping[Agency, Punctuality] = PUNCTUALITY,
) -> Person | None:
    """`person` lived through `year`, the year after the last one their story reaches; None
    when they were no longer under MAPPA management at its start."""
    before = end_of(year.start - days(1))
    management = person.management
    if management is None or not managed_at(person, before):
        return None
    story = _story(person, year, seeded(seed, person.case_id, year.opens, "carried"))
    place = place_at_end_of(person, before[0])
    _ending(story, person, place)
    stop = story.end - days(1) if story.end < year.end else year.end
    spans = _movements(story, person, place, stop)
    _level_changes(story, level_at(person, before), place, stop)
    for first, last in spans:
        everyday(story, management.category, first, last, management.lead_agency)
    held = _meetings(story, person)
    story.notes += held
    grown = frozen(story)
    actions = agreed_actions(
        seeded(seed, person.case_id, year.opens, "actions"),
        person.case_id,
        grown.management or management,
        held,
        story.end,
        punctuality,
        numbered_from=len(person.actions) + 1,
    )
    grown = replace(
        grown, notes=person.notes + grown.notes, actions=person.actions + tuple(actions)
    )
    rng = seeded(seed, person.case_id, year.opens, "assessments")
    assessed = risk_assessments(rng, grown, year)
    # The assessments of earlier years were drawn with theirs: only this year's are new.
    return replace(grown, notes=grown.notes + tuple(n for n in assessed if n.day >= year.start))


def _story(person: Person, year: ReportingYear, rng: random.Random) -> Story:
    """A story picking up `person`'s facts, with no notes yet (earlier notes stay as they are)."""
    return Story(
        rng,
        year,
        person.case_id,
        list(person.areas),
        management=person.management,
        levels=list(person.levels),
        custody=list(person.custody),
        detentions=list(person.detentions),
        registration=person.registration,
        orders=list(person.orders),
        breach_disposals=list(person.breach_disposals),
        reviews=list(person.reviews),
        sro_breach=person.sro_breach,
        # Immigration enforcement shares information only about a foreign national.
        foreign_national=any(
            note.data.PUBLISHER is Agency.IMMIGRATION_ENFORCEMENT for note in person.notes
        ),
    )


def _ending(story: Story, person: Person, place: Place) -> None:
    """Whether (and why, and when) management ends during the year."""
    rng, year = story.rng, story.year
    management = story.management
    assert management is not None, "only a managed person is carried over"
    earliest = first_change(year) + days(ENDING_AFTER_DAYS)
    registration = story.registration
    if rng.random() < DIED:
        _end(story, day_between(rng, earliest, year.end), ManagementEndReason.DIED)
        return
    if registration is not None and registration.period_months is not None:
        expires = months_after(registration.starts_on, registration.period_months)
        if expires <= year.end:
            day = max(expires, earliest)
            _end(story, day, ManagementEndReason.NOTIFICATION_ENDED)
            return
    if (
        registration is not None
        and registration.period_months is None
        and registration.starts_on <= years_before(year.start, REVIEW_AFTER_YEARS)
        and place is Place.COMMUNITY
        and rng.random() < REVIEWED
    ):
        decided = day_between(rng, earliest, year.end - days(14))
        if rng.random() < REVOKED:
            story.reviews.append(Review(decided, "revoked"))
            ends = decided + days(rng.randint(0, 14))
            _end(story, ends, ManagementEndReason.NOTIFICATION_ENDED, revoked=True)
            return
        story.reviews.append(Review(decided, "retained", months_after(decided, 96)))
    licence = _licence_ends(story)
    if management.category is C2 and place is Place.COMMUNITY and licence is not None:
        if licence <= year.end:
            _end(story, max(licence, earliest), ManagementEndReason.LICENCE_ENDED)
        return
    if place is Place.COMMUNITY and rng.random() < RISK_REDUCED[management.category]:
        ends = day_between(rng, earliest, year.end)
        _end(story, ends, ManagementEndReason.RISK_NO_LONGER_REQUIRES_MAPPA)


def _end(story: Story, day: date, reason: ManagementEndReason, *, revoked: bool = False) -> None:
    management = story.management
    assert management is not None, "only a managed case can stop being managed"
    story.management = replace(management, ended_on=day, end_reason=reason)
    registration = story.registration
    if registration is None or reason is ManagementEndReason.RISK_NO_LONGER_REQUIRES_MAPPA:
        return
    why = {
        ManagementEndReason.DIED: NotificationEndReason.DIED,
        ManagementEndReason.NOTIFICATION_ENDED: (
            NotificationEndReason.REVOKED_ON_REVIEW
            if revoked
            else NotificationEndReason.PERIOD_EXPIRED
        ),
    }.get(reason)
    if why is not None:
        story.registration = replace(registration, ended_on=day, end_reason=why)


def _licence_ends(story: Story) -> date | None:
    """When the licence of the latest release ends (None: not released on licence)."""
    released = [spell for spell in story.custody if spell.released_on is not None]
    if not released:
        return None
    latest = max(released, key=lambda spell: spell.released_on or spell.start)
    return latest.licence_ends_on if latest.release == "on-licence" else None


def _movements(story: Story, person: Person, place: Place, stop: date) -> list[tuple[date, date]]:
    """Releases, discharges, recalls and breaches up to `stop`; the spans of days the person
    lives in the community, for the everyday records around them."""
    rng, year = story.rng, story.year
    first = first_change(year) + days(MOVEMENT_ROOM_DAYS)
    last = stop - days(MOVEMENT_ROOM_DAYS)
    if place is Place.CUSTODY:
        promised = _confirmed_release(person, year)
        if promised is not None and first <= stop and promised <= stop:
            out = max(promised, first)
        elif promised is None and first <= last and rng.random() < RELEASED:
            out = day_between(rng, first, last)
        else:
            return []
        _release(story, out, confirmed=promised is not None)
        return [(out, stop)]
    if place is Place.HOSPITAL:
        if first > last or rng.random() >= DISCHARGED:
            return []
        out = day_between(rng, first, last)
        _discharge(story, out)
        return [(out, stop)]
    licence = _licence_ends(story)
    if licence is not None and first < min(last, licence) and rng.random() < RECALLED:
        return _recall(story, day_between(rng, first, min(last, licence - days(1))), stop)
    management = story.management
    if (
        management is not None
        and management.category is C1
        and first <= last
        and rng.random() < NOTIFICATION_BREACH
    ):
        outcome = rng.choice(OUTCOMES)
        story.breach_disposals.append(BreachDisposal(day_between(rng, first, last), outcome))
    return [(year.start, stop)]


def _confirmed_release(person: Person, year: ReportingYear) -> date | None:
    """A release date the prison confirmed in an earlier year, falling in this one or later."""
    promised = [
        note.data.release_on
        for note in person.notes
        if isinstance(note.data, prisons.ReleaseDateConfirmed)
        and note.data.release_on >= year.start
    ]
    return max(promised, default=None)


def _release(story: Story, out: date, *, confirmed: bool = False) -> None:
    """The open prison spell ends on `out`, on licence, after a release date confirmed
    (earlier, or in this year now)."""
    rng = story.rng
    index = next(i for i, spell in enumerate(story.custody) if spell.released_on is None)
    licence_ends = out + days(rng.randint(365, 5 * 365))
    story.custody[index] = replace(
        story.custody[index], released_on=out, release="on-licence", licence_ends_on=licence_ends
    )
    if not confirmed:
        day = max(story.year.start, out - days(rng.randint(20, 60)))
        story.note(day, prisons.ReleaseDateConfirmed(release_on=out, release="on-licence"))
    story.note(
        out,
        probation.LicenceConditionsSet(
            effective_from=out, conditions=[LicenceCondition.RESIDENCE], victim_requested=[]
        ),
    )


def _discharge(story: Story, out: date) -> None:
    """The open hospital detention ends on `out`, conditionally, as planned."""
    rng = story.rng
    index = next(i for i, spell in enumerate(story.detentions) if spell.discharged_on is None)
    story.detentions[index] = replace(
        story.detentions[index], discharged_on=out, discharge="conditional"
    )
    planned = max(story.year.start, out - days(rng.randint(14, 45)))
    story.note(planned, health.HospitalDischargePlanned(planned_for=out, discharge="conditional"))


def _recall(story: Story, breached: date, stop: date) -> list[tuple[date, date]]:
    """A licence breach, the recall and the return to custody; out again for some."""
    rng = story.rng
    breach = probation.LicenceBreached(breached_on=breached, breach=rng.choice(LICENCE_BREACHES))
    story.note(breached, breach, Step.BREACH)
    issued = breached + days(rng.randint(0, 2))
    fixed = rng.random() < RERELEASED
    kind = "fixed-term" if fixed else rng.choice(("standard", "emergency"))
    story.note(issued, probation.RecallIssued(issued_on=issued, recall_type=kind), Step.RECALL)
    returned = min(issued + days(rng.randint(0, 5)), stop)
    licence = _licence_ends(story)
    again = returned + days(rng.choice((14, 28)))
    spans = [(story.year.start, breached)]
    if fixed and again < stop:
        story.custody.append(
            Custody(
                returned, returned_for="licence-recall", released_on=again, licence_ends_on=licence
            )
        )
        return [*spans, (again, stop)]
    story.custody.append(Custody(returned, returned_for="licence-recall"))
    return spans


def _level_changes(story: Story, level: int, place: Place, stop: date) -> None:
    """At most one level change in the year, up from 1 in the community or down from 2 or 3."""
    rng, year = story.rng, story.year
    management = story.management
    assert management is not None, "levels change only for a managed case"
    first = first_change(year) + days(ENDING_AFTER_DAYS)
    if first > stop:
        return
    if level == 1 and place is Place.COMMUNITY and management.category is not C3:
        if rng.random() < RAISED:
            story.levels.append(_stay(rng, 2, day_between(rng, first, stop), "up"))
        return
    lowest = 2 if management.category is C3 else 1
    if level in LOWERED and level - 1 >= lowest and rng.random() < LOWERED[level]:
        story.levels.append(_stay(rng, level - 1, day_between(rng, first, stop), "down"))


def _stay(rng: random.Random, level: int, day: date, why: str) -> LevelStay:
    reason = LevelReason.RISK_INCREASED if why == "up" else LevelReason.RISK_REDUCED
    review = day + days(rng.randint(84, 112)) if level > 1 else None
    return LevelStay(Level(level), day, reason, review)


def _meetings(story: Story, person: Person) -> list[Note]:
    """The year's level 2 and 3 meetings, the first at the review the last one set."""
    earlier = [note.data for note in person.notes if isinstance(note.data, MappaMeetingHeld)]
    latest = max(earlier, key=lambda meeting: meeting.held_on, default=None)
    due = latest.next_review_on if latest is not None else None
    first = due if due is not None and due >= story.year.start else None
    start = first or story.year.start + days(story.rng.randint(7, 28))
    return meetings_carried(
        story.rng,
        story.levels,
        start,
        story.end,
        story.case_id,
        also_present(story),
        len(earlier) + 1,
    )
