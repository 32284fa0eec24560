"""Withdrawal: how an agency takes back one of its own events, sent in error or since corrected
(DPA 2018 s.38 and s.46: inaccurate data is rectified or erased without delay).

Every agency may withdraw, and only its own events: the withdrawal travels on the agency's own
topic, keyed by the case of the event it withdraws, so it reaches every consumer after that
event, on the same partition. A consumer refuses a withdrawal naming an event it does not hold
for that case, or one another agency published (schemas/README.md, "Withdrawal and
correction").
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar, Self

from pydantic import Field, model_validator

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.base import EventData

EventId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="The CloudEvents `id` of an event on the bus.",
    ),
]


class WithdrawalReason(StrEnum):
    """Why an agency withdraws an event it published."""

    ENTERED_IN_ERROR = "entered-in-error"
    """It should never have been sent: the thing it reports did not happen as said."""
    WRONG_CASE = "wrong-case"
    """It was sent about the wrong case."""
    DUPLICATE = "duplicate"
    """It reports again something already published under another id."""
    SUPERSEDED = "superseded"
    """A corrected event replaces it (`corrected_by`)."""


class EventWithdrawn(EventData):
    """Shared shape of every agency's event-withdrawn event: the agency withdraws one of its own
    earlier events about the same case, which every consumer then treats as never sent."""

    NAME: ClassVar[str] = "event-withdrawn"

    withdrawn_event_id: EventId
    """The CloudEvents `id` of the withdrawn event: an event this agency published about the
    same case (the withdrawal's `subject`)."""
    reason: WithdrawalReason
    """Why it is withdrawn."""
    withdrawn_on: date
    """Date the agency withdrew it."""
    corrected_by: EventId | None = None
    """The `id` of the event that corrects it, when this withdrawal is part of a correction
    (published before the withdrawal, so there is never a moment with neither)."""

    @model_validator(mode="after")
    def _not_itself(self) -> Self:
        if self.corrected_by is not None and self.corrected_by == self.withdrawn_event_id:
            raise ValueError("corrected_by must name another event than the one withdrawn")
        return self


class PoliceEventWithdrawn(EventWithdrawn):
    """The police withdrew one of their events."""

    PUBLISHER: ClassVar[Agency] = Agency.POLICE


class ProbationEventWithdrawn(EventWithdrawn):
    """Probation withdrew one of its events."""

    PUBLISHER: ClassVar[Agency] = Agency.PROBATION


class PrisonsEventWithdrawn(EventWithdrawn):
    """The prison service withdrew one of its events."""

    PUBLISHER: ClassVar[Agency] = Agency.PRISONS


class HealthEventWithdrawn(EventWithdrawn):
    """Health withdrew one of its events."""

    PUBLISHER: ClassVar[Agency] = Agency.HEALTH


class HousingEventWithdrawn(EventWithdrawn):
    """Housing withdrew one of its events."""

    PUBLISHER: ClassVar[Agency] = Agency.HOUSING


class ChildrensServicesEventWithdrawn(EventWithdrawn):
    """Children's services withdrew one of their events."""

    PUBLISHER: ClassVar[Agency] = Agency.CHILDRENS_SERVICES


class VictimContactEventWithdrawn(EventWithdrawn):
    """The victim contact scheme withdrew one of its events."""

    PUBLISHER: ClassVar[Agency] = Agency.VICTIM_CONTACT


class YouthOffendingEventWithdrawn(EventWithdrawn):
    """The youth offending team withdrew one of its events."""

    PUBLISHER: ClassVar[Agency] = Agency.YOUTH_OFFENDING


class DwpEventWithdrawn(EventWithdrawn):
    """DWP / Jobcentre Plus withdrew one of its events."""

    PUBLISHER: ClassVar[Agency] = Agency.DWP


class ImmigrationEventWithdrawn(EventWithdrawn):
    """Home Office Immigration Enforcement withdrew one of its events."""

    PUBLISHER: ClassVar[Agency] = Agency.IMMIGRATION_ENFORCEMENT


WITHDRAWALS: dict[Agency, type[EventWithdrawn]] = {
    model.PUBLISHER: model
    for model in (
        PoliceEventWithdrawn,
        ProbationEventWithdrawn,
        PrisonsEventWithdrawn,
        HealthEventWithdrawn,
        HousingEventWithdrawn,
        ChildrensServicesEventWithdrawn,
        VictimContactEventWithdrawn,
        YouthOffendingEventWithdrawn,
        DwpEventWithdrawn,
        ImmigrationEventWithdrawn,
    )
}
"""Each agency's withdrawal event (every agency has one)."""
