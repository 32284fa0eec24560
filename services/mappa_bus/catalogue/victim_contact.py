"""Events the Victim Contact Scheme (probation's Victim Liaison Officers) publishes."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.vocabulary import VictimReference


class _VictimContactEvent(EventData):
    PUBLISHER: ClassVar[Agency] = Agency.VICTIM_CONTACT


class VictimOptedIn(_VictimContactEvent):
    """A victim of the case opted into the Victim Contact Scheme."""

    NAME: ClassVar[str] = "victim-opted-in"

    opted_in_on: date
    """Date the victim opted in."""
    victim: VictimReference


class LicenceConditionRequested(_VictimContactEvent):
    """A victim asked for a licence condition (an exclusion zone or no contact)."""

    NAME: ClassVar[str] = "licence-condition-requested"

    requested_on: date
    """Date of the request."""
    victim: VictimReference
    condition: Literal["exclusion-zone", "no-contact"]
    """The condition asked for."""
