"""The simulator's model of a person: what happened to them, as facts rather than as events.

A `Person` holds the facts the statistics depend on in structured form (when MAPPA management
started and ended, which area had the case, the levels, custody and hospital spells, civil orders,
breaches, reviews, the plan actions agreed at its meetings) and everything else the agencies
record as `notes` (risk assessments among them). The truth (`simulator.truth`) is computed from
these facts; the events (`simulator.render`) are written from them; the reporting consumer folds
the events. Two independent routes to the same tables.

Within a day, things happen in `Step` order; the event times follow it, so the state "at the
moment" of an event is the state after everything earlier in (day, step) order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import IntEnum, StrEnum
from typing import Literal

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.plans import ActionKind, ClosureReason, RedateReason
from mappa_bus.catalogue.police import NotificationEndReason, RegistrationTrigger
from mappa_bus.catalogue.probation import LeadAgency, LevelReason, ManagementEndReason
from mappa_bus.catalogue.vocabulary import Category, Level

ReturnReason = Literal["licence-recall", "sopo-shpo-breach", "further-offence"]
CustodyBasis = Literal["remand", "sentenced", "recall"]
Release = Literal["on-licence", "sentence-end"]
HospitalBasis = Literal[
    "hospital-order", "hospital-order-with-restrictions", "prison-transfer", "civil-section"
]
Discharge = Literal["conditional", "absolute"]
OrderKind = Literal["shpo", "sro", "notification-order"]


class Step(IntEnum):
    """The order of things within one day (an order made before the registration it causes, a
    level set after the identification, a return to custody after the recall)."""

    START_OF_DAY = 0
    ORDER = 10
    NOTIFICATION_IMPOSED = 12
    REGISTERED = 14
    INTO_CUSTODY = 20
    OUT_OF_CUSTODY = 22
    IDENTIFIED = 30
    TRANSFER_REQUESTED = 32
    TRANSFER_ACCEPTED = 34
    LEVEL = 40
    RECORD = 50
    ACTION_AGREED = 52
    """After the meeting (a RECORD) that agreed it."""
    ACTION_REDATED = 54
    ACTION_DONE = 56
    BREACH = 60
    RECALL = 62
    RETURNED = 64
    REVIEW = 70
    NOTIFICATION_ENDED = 80
    MANAGEMENT_ENDED = 90


Moment = tuple[date, int]
"""A point in a person's story: the day, then the `Step` within it."""


class Place(StrEnum):
    """Where a person lives, as table 1 distinguishes it."""

    COMMUNITY = "community"
    CUSTODY = "custody"
    HOSPITAL = "hospital"


@dataclass(frozen=True, slots=True)
class Management:
    """MAPPA management: identified on one day, ended (or not yet) on another."""

    identified_on: date
    category: Category
    lead_agency: LeadAgency
    ended_on: date | None = None
    end_reason: ManagementEndReason | None = None


@dataclass(frozen=True, slots=True)
class AreaStay:
    """An area that had the case: the first from the start, later ones from a transfer."""

    area: Area
    accepted_on: date | None = None
    """Day the area accepted the transfer; None for the area the story starts in."""
    requested_on: date | None = None
    """Day the previous area asked for the transfer."""


@dataclass(frozen=True, slots=True)
class LevelStay:
    """A MAPPA level in force from `set_on` until the next one."""

    level: Level
    set_on: date
    reason: LevelReason
    review_due_on: date | None = None


@dataclass(frozen=True, slots=True)
class Custody:
    """A spell in prison: received (or returned) on one day, released on another (or not yet)."""

    start: date
    basis: CustodyBasis = "sentenced"
    returned_for: ReturnReason | None = None
    """Set when the spell began with a return to custody rather than a reception."""
    released_on: date | None = None
    release: Release = "on-licence"
    licence_ends_on: date | None = None


@dataclass(frozen=True, slots=True)
class Detention:
    """A spell detained in hospital."""

    start: date
    basis: HospitalBasis
    discharged_on: date | None = None
    discharge: Discharge = "conditional"


@dataclass(frozen=True, slots=True)
class Registration:
    """The notification requirements of a registered sex offender."""

    starts_on: date
    period_months: int | None
    trigger: RegistrationTrigger
    ended_on: date | None = None
    end_reason: NotificationEndReason | None = None


@dataclass(frozen=True, slots=True)
class CivilOrder:
    """A SHPO, SRO or notification order a court made."""

    kind: OrderKind
    made_on: date
    interim: bool = False
    foreign_travel_restriction: bool = False
    expires_on: date | None = None
    on_application: bool = False
    notification_period_months: int | None = None


@dataclass(frozen=True, slots=True)
class BreachDisposal:
    """A caution or conviction for breach of the notification requirements."""

    disposed_on: date
    outcome: Literal["caution", "conviction"]


@dataclass(frozen=True, slots=True)
class Review:
    """A review of indefinite notification requirements on the offender's application."""

    decided_on: date
    decision: Literal["revoked", "retained"]
    next_review_on: date | None = None


@dataclass(frozen=True, slots=True)
class SroBreach:
    """A breach of a Sexual Risk Order that made the person subject to notification."""

    breached_on: date
    notification_start: date


@dataclass(frozen=True, slots=True)
class Note:
    """Something an agency recorded that changes no statistic (a meeting, a housing need)."""

    day: date
    step: Step
    data: EventData


@dataclass(frozen=True, slots=True)
class Redating:
    """The owner moved an action's due date."""

    redated_on: date
    due_on: date
    reason: RedateReason


@dataclass(frozen=True, slots=True)
class Action:
    """A risk management plan action agreed at a level 2 or 3 meeting, and what its owner did
    with it: re-dated it (in order), then completed it, closed it, or neither (still open)."""

    action_id: str
    meeting_reference: str
    chair: Agency
    """The agency chairing the meeting, which publishes the agreement."""
    owner: Agency
    kind: ActionKind
    agreed_on: date
    due_on: date
    """The due date as agreed."""
    redatings: tuple[Redating, ...] = ()
    completed_on: date | None = None
    closed_on: date | None = None
    closure_reason: ClosureReason | None = None

    @property
    def due_in_force(self) -> date:
        """The due date after every re-dating (all of them come before any outcome)."""
        return self.redatings[-1].due_on if self.redatings else self.due_on


@dataclass(frozen=True, slots=True)
class Person:
    """One simulated person and their story up to the end of the reporting year."""

    case_id: str
    areas: tuple[AreaStay, ...]
    management: Management | None = None
    """None for someone never MAPPA-eligible (a potentially dangerous person under an SRO)."""
    levels: tuple[LevelStay, ...] = ()
    custody: tuple[Custody, ...] = ()
    detentions: tuple[Detention, ...] = ()
    registration: Registration | None = None
    orders: tuple[CivilOrder, ...] = ()
    breach_disposals: tuple[BreachDisposal, ...] = ()
    reviews: tuple[Review, ...] = ()
    sro_breach: SroBreach | None = None
    notes: tuple[Note, ...] = ()
    actions: tuple[Action, ...] = ()
    """The plan actions agreed at the person's meetings, in agreement order."""


def area_at(person: Person, moment: Moment) -> Area:
    """The area that had the case at `moment` (a transfer counts from its acceptance)."""
    area = person.areas[0].area
    for stay in person.areas[1:]:
        if stay.accepted_on is not None and (stay.accepted_on, Step.TRANSFER_ACCEPTED) <= moment:
            area = stay.area
    return area


def level_at(person: Person, moment: Moment) -> int:
    """The MAPPA level at `moment`: the latest level set by then, 1 when none was."""
    level = 1
    for stay in person.levels:
        if (stay.set_on, Step.LEVEL) <= moment:
            level = stay.level
    return level


def managed_at(person: Person, moment: Moment) -> bool:
    """Whether the case was under MAPPA management at `moment`."""
    management = person.management
    if management is None or (management.identified_on, Step.IDENTIFIED) > moment:
        return False
    ended = management.ended_on
    return ended is None or (ended, Step.MANAGEMENT_ENDED) > moment


def place_at_end_of(person: Person, day: date) -> Place:
    """Where the person lived at the end of `day`."""
    if any(_held(spell.start, spell.released_on, day) for spell in person.custody):
        return Place.CUSTODY
    if any(_held(spell.start, spell.discharged_on, day) for spell in person.detentions):
        return Place.HOSPITAL
    return Place.COMMUNITY


def end_of(day: date) -> Moment:
    """The last moment of `day`, after everything that happened on it."""
    return (day, Step.MANAGEMENT_ENDED + 1)


def _held(start: date, end: date | None, day: date) -> bool:
    return start <= day and (end is None or end > day)
