"""Events local housing authorities publish."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.base import EventData


class _HousingEvent(EventData):
    PUBLISHER: ClassVar[Agency] = Agency.HOUSING


class HousingNeedRaised(_HousingEvent):
    """A housing need was raised for the person."""

    NAME: ClassVar[str] = "housing-need-raised"

    raised_on: date
    """Date the need was raised."""
    need: Literal["homeless", "at-risk-of-homelessness", "unsuitable-accommodation"]
    """The kind of need."""


class AccommodationSecured(_HousingEvent):
    """Accommodation was secured for the person."""

    NAME: ClassVar[str] = "accommodation-secured"

    secured_on: date
    """Date the accommodation became available."""
    accommodation: Literal[
        "approved-premises", "social-housing", "private-rented", "supported-housing", "family"
    ]
    """The kind of accommodation (never its address)."""


class AccommodationLost(_HousingEvent):
    """The person lost their accommodation."""

    NAME: ClassVar[str] = "accommodation-lost"

    lost_on: date
    """Date the accommodation was lost."""
    reason: Literal["eviction", "tenancy-ended", "left", "risk-to-others"]
    """Why it was lost."""


class HousingPanelReferral(_HousingEvent):
    """The case was referred to a MAPPA housing panel."""

    NAME: ClassVar[str] = "housing-panel-referral"

    referred_on: date
    """Date of referral."""
    panel_on: date | None = None
    """Date of the panel meeting, once set."""
