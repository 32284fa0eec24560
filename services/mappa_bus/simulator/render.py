"""A person's facts written as the events each agency would publish about them.

Every fact becomes one event on the day it happened, at a UK clock time drawn from the seed and
increasing through the day in `Step` order; the envelope's `mappaarea` is the area that had the
case at that moment. Event ids come from the seed too, so one seed gives the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import ReportingYear, health, plans, police, prisons, probation
from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.envelope import Envelope, make_event
from mappa_bus.catalogue.examples import AGENCY_SYSTEMS
from mappa_bus.simulator.dates import at_time
from mappa_bus.simulator.ids import event_id, seeded
from mappa_bus.simulator.person import Action, CivilOrder, Person, Step, area_at

# The working day's first event comes between 08:00 and 10:30, the next ones minutes apart.
DAY_STARTS = (8 * 60, 10 * 60 + 30)
GAP_MINUTES = (3, 40)
LAST_MINUTE = 23 * 60 + 59

Fact = tuple[date, Step, EventData]

AGREED: dict[Agency, type[plans.ActionAgreed]] = {
    agreed.PUBLISHER: agreed for agreed in plans.ACTIONS_AGREED
}
COMPLETED: dict[Agency, type[plans.ActionCompleted]] = {
    outcome.PUBLISHER: outcome
    for outcome in plans.ACTION_OUTCOMES
    if issubclass(outcome, plans.ActionCompleted)
}
CLOSED: dict[Agency, type[plans.ActionClosed]] = {
    outcome.PUBLISHER: outcome
    for outcome in plans.ACTION_OUTCOMES
    if issubclass(outcome, plans.ActionClosed)
}
REDATED: dict[Agency, type[plans.ActionRedated]] = {
    outcome.PUBLISHER: outcome
    for outcome in plans.ACTION_OUTCOMES
    if issubclass(outcome, plans.ActionRedated)
}


@dataclass(frozen=True, slots=True)
class Happening:
    """One event before it is put in its envelope (envelopes are made only when emitted)."""

    time: datetime
    case_id: str
    area: Area
    data: EventData
    event_id: str


def happenings(person: Person, seed: int, year: ReportingYear | None = None) -> list[Happening]:
    """Everything that happened to `person`, in time order; with `year`, only what happened in
    it (for a person carried into it, whose earlier events came with the earlier years), at
    times and with ids drawn for that year."""
    facts = sorted(_facts(person), key=lambda fact: (fact[0], fact[1]))
    if year is None:
        rng = seeded(seed, "render", person.case_id)
    else:
        facts = [fact for fact in facts if year.contains(fact[0])]
        rng = seeded(seed, "render", person.case_id, year.opens)
    times = _clock(rng, [day for day, _, _ in facts])
    return [
        Happening(time, person.case_id, area_at(person, (day, step)), data, event_id(rng))
        for time, (day, step, data) in zip(times, facts, strict=True)
    ]


def envelope(happening: Happening) -> Envelope[EventData]:
    """The CloudEvent an agency publishes for `happening`."""
    data = happening.data
    return make_event(
        data,
        case_id=happening.case_id,
        area=happening.area,
        time=happening.time,
        system=AGENCY_SYSTEMS[data.PUBLISHER],
        event_id=happening.event_id,
    )


def _clock(rng: random.Random, days: list[date]) -> list[datetime]:
    times: list[datetime] = []
    minute, previous = 0, None
    for day in days:
        if day == previous:
            minute = min(minute + rng.randint(*GAP_MINUTES), LAST_MINUTE)
        else:
            minute = rng.randint(*DAY_STARTS)
        times.append(at_time(day, minute))
        previous = day
    return times


def _facts(person: Person) -> list[Fact]:
    return [
        *_management(person),
        *_transfers(person),
        *_levels(person),
        *_custody(person),
        *_hospital(person),
        *_registration(person),
        *(_order(order) for order in person.orders),
        *_police_outcomes(person),
        *((note.day, note.step, note.data) for note in person.notes),
        *(fact for action in person.actions for fact in _action(action)),
    ]


def _management(person: Person) -> list[Fact]:
    management = person.management
    if management is None:
        return []
    facts: list[Fact] = [
        (
            management.identified_on,
            Step.IDENTIFIED,
            probation.MappaEligibilityIdentified(
                identified_on=management.identified_on,
                category=management.category,
                lead_agency=management.lead_agency,
            ),
        )
    ]
    if management.ended_on is not None and management.end_reason is not None:
        ended = probation.MappaManagementEnded(
            ended_on=management.ended_on, reason=management.end_reason
        )
        facts.append((management.ended_on, Step.MANAGEMENT_ENDED, ended))
    return facts


def _transfers(person: Person) -> list[Fact]:
    facts: list[Fact] = []
    for sending, receiving in zip(person.areas, person.areas[1:], strict=False):
        if receiving.requested_on is not None:
            asked = probation.CaseTransferRequested(
                requested_on=receiving.requested_on, to_area=receiving.area
            )
            facts.append((receiving.requested_on, Step.TRANSFER_REQUESTED, asked))
        if receiving.accepted_on is not None:
            accepted = probation.CaseTransferAccepted(
                accepted_on=receiving.accepted_on, from_area=sending.area
            )
            facts.append((receiving.accepted_on, Step.TRANSFER_ACCEPTED, accepted))
    return facts


def _levels(person: Person) -> list[Fact]:
    return [
        (
            stay.set_on,
            Step.LEVEL,
            probation.MappaLevelSet(
                set_on=stay.set_on,
                level=stay.level,
                reason=stay.reason,
                review_due_on=stay.review_due_on,
            ),
        )
        for stay in person.levels
    ]


def _custody(person: Person) -> list[Fact]:
    facts: list[Fact] = []
    for spell in person.custody:
        if spell.returned_for is None:
            into = prisons.ReceivedIntoCustody(received_on=spell.start, custody=spell.basis)
            facts.append((spell.start, Step.INTO_CUSTODY, into))
        else:
            back = prisons.ReturnedToCustody(returned_on=spell.start, reason=spell.returned_for)
            facts.append((spell.start, Step.RETURNED, back))
        if spell.released_on is not None:
            out = prisons.ReleasedFromCustody(
                released_on=spell.released_on,
                release=spell.release,
                licence_ends_on=spell.licence_ends_on if spell.release == "on-licence" else None,
            )
            facts.append((spell.released_on, Step.OUT_OF_CUSTODY, out))
    return facts


def _hospital(person: Person) -> list[Fact]:
    facts: list[Fact] = []
    for spell in person.detentions:
        started = health.HospitalDetentionStarted(detained_on=spell.start, basis=spell.basis)
        facts.append((spell.start, Step.INTO_CUSTODY, started))
        if spell.discharged_on is not None:
            out = health.HospitalDischarged(
                discharged_on=spell.discharged_on, discharge=spell.discharge
            )
            facts.append((spell.discharged_on, Step.OUT_OF_CUSTODY, out))
    return facts


def _registration(person: Person) -> list[Fact]:
    registration = person.registration
    if registration is None:
        return []
    registered = police.SexOffenderRegistered(
        notification_start=registration.starts_on,
        notification_period_months=registration.period_months,
        trigger=registration.trigger,
    )
    facts: list[Fact] = [(registration.starts_on, Step.REGISTERED, registered)]
    if registration.ended_on is not None and registration.end_reason is not None:
        ended = police.NotificationRequirementsEnded(
            ended_on=registration.ended_on, reason=registration.end_reason
        )
        facts.append((registration.ended_on, Step.NOTIFICATION_ENDED, ended))
    return facts


def _order(order: CivilOrder) -> Fact:
    data: EventData
    if order.kind == "shpo":
        data = police.ShpoMade(
            made_on=order.made_on,
            interim=order.interim,
            foreign_travel_restriction=order.foreign_travel_restriction,
            expires_on=order.expires_on,
            on_application=order.on_application,
        )
    elif order.kind == "sro":
        data = police.SroMade(
            made_on=order.made_on,
            interim=order.interim,
            foreign_travel_restriction=order.foreign_travel_restriction,
            expires_on=order.expires_on,
        )
    else:
        data = police.NotificationOrderMade(
            made_on=order.made_on, notification_period_months=order.notification_period_months
        )
    return (order.made_on, Step.ORDER, data)


def _police_outcomes(person: Person) -> list[Fact]:
    facts: list[Fact] = [
        (
            breach.disposed_on,
            Step.BREACH,
            police.NotificationBreachDisposed(
                disposed_on=breach.disposed_on, outcome=breach.outcome
            ),
        )
        for breach in person.breach_disposals
    ]
    facts += [
        (
            review.decided_on,
            Step.REVIEW,
            police.IndefiniteNotificationReviewed(
                decided_on=review.decided_on,
                decision=review.decision,
                next_review_on=review.next_review_on,
            ),
        )
        for review in person.reviews
    ]
    sro = person.sro_breach
    if sro is not None:
        imposed = police.SroBreachedNotificationImposed(
            breached_on=sro.breached_on, notification_start=sro.notification_start
        )
        facts.append((sro.notification_start, Step.NOTIFICATION_IMPOSED, imposed))
    return facts


def _action(action: Action) -> list[Fact]:
    """The chair's agreement, then the owner's re-datings and outcome, on the owner's topic."""
    agreed = AGREED[action.chair](
        action_id=action.action_id,
        meeting_reference=action.meeting_reference,
        agreed_on=action.agreed_on,
        owner=action.owner,
        kind=action.kind,
        due_on=action.due_on,
    )
    facts: list[Fact] = [(action.agreed_on, Step.ACTION_AGREED, agreed)]
    facts += [
        (
            redating.redated_on,
            Step.ACTION_REDATED,
            REDATED[action.owner](
                action_id=action.action_id,
                redated_on=redating.redated_on,
                due_on=redating.due_on,
                reason=redating.reason,
            ),
        )
        for redating in action.redatings
    ]
    if action.completed_on is not None:
        done = COMPLETED[action.owner](action_id=action.action_id, completed_on=action.completed_on)
        facts.append((action.completed_on, Step.ACTION_DONE, done))
    if action.closed_on is not None and action.closure_reason is not None:
        closed = CLOSED[action.owner](
            action_id=action.action_id, closed_on=action.closed_on, reason=action.closure_reason
        )
        facts.append((action.closed_on, Step.ACTION_DONE, closed))
    return facts
