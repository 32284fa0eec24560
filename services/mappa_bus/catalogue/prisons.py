"""Events the prison service publishes: custody, release and return."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import model_validator

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.base import EventData


class _PrisonsEvent(EventData):
    PUBLISHER: ClassVar[Agency] = Agency.PRISONS


class ReceivedIntoCustody(_PrisonsEvent):
    """The person was received into prison custody."""

    NAME: ClassVar[str] = "received-into-custody"

    received_on: date
    """Date of reception."""
    custody: Literal["remand", "sentenced", "recall"]
    """On what basis the person is held."""


class ReleaseDateConfirmed(_PrisonsEvent):
    """A release date was confirmed."""

    NAME: ClassVar[str] = "release-date-confirmed"

    release_on: date
    """The confirmed release date."""
    release: Literal["on-licence", "sentence-end"]
    """Whether the person will be released on licence or at the end of the sentence."""


class ReleasedFromCustody(_PrisonsEvent):
    """The person was released from custody on licence or at the end of their sentence."""

    NAME: ClassVar[str] = "released-from-custody"

    released_on: date
    """Date of release."""
    release: Literal["on-licence", "sentence-end"]
    """On licence (under probation supervision) or at the end of the sentence."""
    licence_ends_on: date | None = None
    """Last day of the licence; required for a release on licence."""

    @model_validator(mode="after")
    def _licence_has_an_end(self) -> ReleasedFromCustody:
        if self.release == "on-licence" and self.licence_ends_on is None:
            raise ValueError("licence_ends_on is required for a release on licence")
        return self


class TemporaryReleaseGranted(_PrisonsEvent):
    """Release on temporary licence (ROTL) was granted."""

    NAME: ClassVar[str] = "temporary-release-granted"

    starts_on: date
    """First day of the temporary release."""
    ends_on: date
    """Day the person must be back."""


class ReturnedToCustody(_PrisonsEvent):
    """The person was returned to custody."""

    NAME: ClassVar[str] = "returned-to-custody"

    returned_on: date
    """Date of return to custody."""
    reason: Literal["licence-recall", "sopo-shpo-breach", "further-offence"]
    """Why: a recall for breach of licence executed, a breach of a SOPO or SHPO, or a further
    offence."""
