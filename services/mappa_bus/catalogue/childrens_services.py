"""Events children's services publish."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.base import EventData


class _ChildrensServicesEvent(EventData):
    PUBLISHER: ClassVar[Agency] = Agency.CHILDRENS_SERVICES


class SafeguardingConcernLinked(_ChildrensServicesEvent):
    """A children's safeguarding concern was linked to the MAPPA case."""

    NAME: ClassVar[str] = "safeguarding-concern-linked"

    linked_on: date
    """Date the concern was linked to the case."""
    concern: Literal["early-help", "child-in-need", "child-protection"]
    """The level of the safeguarding concern."""


class ChildContactRiskRecorded(_ChildrensServicesEvent):
    """Children's services recorded the risk the person poses in contact with children."""

    NAME: ClassVar[str] = "child-contact-risk-recorded"

    recorded_on: date
    """Date of the assessment."""
    risk: Literal["low", "medium", "high", "very-high"]
    """The assessed risk."""
    contact_permitted: Literal["none", "supervised", "unsupervised"]
    """What contact with children is permitted."""
