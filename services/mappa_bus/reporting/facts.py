"""What the statistics need of each event: a small, hashable fact, and `tally` to keep a case's
facts in the order the counting rules apply them (docs/statistics.md).

Pure: no I/O. `tally(case_facts, event)` is deterministic and order-independent: whatever order a
case's events arrive in, the case's facts end up the same.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import (
    Area,
    Envelope,
    EventData,
    Rejection,
    WireError,
    health,
    police,
    prisons,
    probation,
)
from mappa_bus.catalogue.withdrawal import EventWithdrawn


class Kind(StrEnum):
    """The kinds of fact the statistics use."""

    ELIGIBLE = "eligible"  # value: category
    LEVEL = "level"  # value: level
    TRANSFERRED_IN = "transferred-in"
    ENDED = "ended"
    INTO_CUSTODY = "into-custody"
    OUT_OF_CUSTODY = "out-of-custody"
    INTO_HOSPITAL = "into-hospital"
    OUT_OF_HOSPITAL = "out-of-hospital"
    NOTIFICATION_BREACH = "notification-breach"
    LIFETIME_REVOKED = "lifetime-revoked"
    SHPO = "shpo"  # value: 1 with foreign travel restriction, 0 without
    NOTIFICATION_ORDER = "notification-order"
    SRO_BREACH_NOTIFICATION = "sro-breach-notification"
    RETURNED_LICENCE = "returned-licence"
    RETURNED_SOPO = "returned-sopo"


@dataclass(frozen=True, order=True)
class Fact:
    """One event as the statistics see it; ordered as the rules apply them."""

    time: datetime
    event_id: str
    kind: Kind
    area: Area
    value: int = 0

    @property
    def day(self) -> date:
        """The calendar date of `time`, in the offset the event carries."""
        return self.time.date()


CaseFacts = tuple[Fact, ...]


def fact_of(event: Envelope[EventData]) -> Fact | None:
    """The fact an event contributes, or None when the statistics do not use it."""
    kind_value = _kind_and_value(event.data)
    if kind_value is None:
        return None
    kind, value = kind_value
    return Fact(event.time, event.id, kind, event.mappaarea, value)


def tally(case_facts: CaseFacts, event: Envelope[EventData]) -> CaseFacts:
    """The case's facts with `event`'s added in its place; a duplicate id changes nothing."""
    fact = fact_of(event)
    return case_facts if fact is None else insert(case_facts, fact)


def insert(case_facts: CaseFacts, fact: Fact) -> CaseFacts:
    """The case's facts with `fact` in its place; the same tuple if its event id is known."""
    if any(known.event_id == fact.event_id for known in case_facts):
        return case_facts
    position = bisect.bisect(case_facts, fact)
    return (*case_facts[:position], fact, *case_facts[position:])


# Who publishes the events of each kind: a fact names its kind, not its publisher, and each
# kind comes from one agency's events only (`_kind_and_value`).
PUBLISHER_OF: dict[Kind, Agency] = {
    Kind.ELIGIBLE: Agency.PROBATION,
    Kind.LEVEL: Agency.PROBATION,
    Kind.TRANSFERRED_IN: Agency.PROBATION,
    Kind.ENDED: Agency.PROBATION,
    Kind.INTO_CUSTODY: Agency.PRISONS,
    Kind.OUT_OF_CUSTODY: Agency.PRISONS,
    Kind.RETURNED_LICENCE: Agency.PRISONS,
    Kind.RETURNED_SOPO: Agency.PRISONS,
    Kind.INTO_HOSPITAL: Agency.HEALTH,
    Kind.OUT_OF_HOSPITAL: Agency.HEALTH,
    Kind.NOTIFICATION_BREACH: Agency.POLICE,
    Kind.LIFETIME_REVOKED: Agency.POLICE,
    Kind.SHPO: Agency.POLICE,
    Kind.NOTIFICATION_ORDER: Agency.POLICE,
    Kind.SRO_BREACH_NOTIFICATION: Agency.POLICE,
}


def withdrawn_fact(
    case_facts: CaseFacts, withdrawal: EventWithdrawn, *, applied: bool
) -> Fact | WireError | None:
    """What `withdrawal` does to its case's facts: the fact it takes out, the refusal of a
    withdrawal the statistics can tell is not its agency's to make (a counted event of another
    agency's, or an id never applied), or None (it withdraws an event the statistics do not
    count: nothing to do). `applied`: whether the event it names was applied."""
    target = withdrawal.withdrawn_event_id
    fact = next((known for known in case_facts if known.event_id == target), None)
    if fact is None:
        if applied:
            return None
        return WireError(
            Rejection.UNKNOWN_EVENT, "data.withdrawn_event_id", "no event with this id applied"
        )
    if PUBLISHER_OF[fact.kind] is not withdrawal.PUBLISHER:
        return WireError(
            Rejection.NOT_OWN_EVENT,
            "data.withdrawn_event_id",
            f"an event of {PUBLISHER_OF[fact.kind].value}: only its publisher may withdraw it",
        )
    return fact


def without(case_facts: CaseFacts, fact: Fact) -> CaseFacts:
    """The case's facts as if `fact`'s event had never been sent."""
    return tuple(known for known in case_facts if known.event_id != fact.event_id)


def _kind_and_value(data: Any) -> tuple[Kind, int] | None:
    match data:
        case probation.MappaEligibilityIdentified(category=category):
            return Kind.ELIGIBLE, int(category)
        case probation.MappaLevelSet(level=level):
            return Kind.LEVEL, int(level)
        case probation.CaseTransferAccepted():
            return Kind.TRANSFERRED_IN, 0
        case probation.MappaManagementEnded():
            return Kind.ENDED, 0
        case prisons.ReceivedIntoCustody():
            return Kind.INTO_CUSTODY, 0
        case prisons.ReturnedToCustody(reason="licence-recall"):
            return Kind.RETURNED_LICENCE, 0
        case prisons.ReturnedToCustody(reason="sopo-shpo-breach"):
            return Kind.RETURNED_SOPO, 0
        case prisons.ReturnedToCustody():
            return Kind.INTO_CUSTODY, 0
        case prisons.ReleasedFromCustody():
            return Kind.OUT_OF_CUSTODY, 0
        case health.HospitalDetentionStarted():
            return Kind.INTO_HOSPITAL, 0
        case health.HospitalDischarged():
            return Kind.OUT_OF_HOSPITAL, 0
        case police.NotificationBreachDisposed():
            return Kind.NOTIFICATION_BREACH, 0
        case police.IndefiniteNotificationReviewed(decision="revoked"):
            return Kind.LIFETIME_REVOKED, 0
        case police.ShpoMade(interim=False, foreign_travel_restriction=restricted):
            return Kind.SHPO, int(restricted)
        case police.NotificationOrderMade():
            return Kind.NOTIFICATION_ORDER, 0
        case police.SroBreachedNotificationImposed():
            return Kind.SRO_BREACH_NOTIFICATION, 0
    return None
