"""Events of the other Duty to Co-operate agencies: youth offending, DWP, immigration."""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.vocabulary import SharingAgency


class _InformationShared(EventData):
    """Shared shape of the duty-to-co-operate agencies' information-shared events."""

    NAME: ClassVar[str] = "information-shared"

    shared_on: date
    """Date the information was shared."""
    subject_matter: Literal[
        "address", "employment", "benefits", "education", "immigration-status", "risk"
    ]
    """What the information was about (the content stays with the sharing agency)."""
    shared_with: list[SharingAgency] = Field(min_length=1)
    """Agencies the information was shared with."""


class YouthOffendingInformationShared(_InformationShared):
    """The youth offending team shared information about the case."""

    PUBLISHER: ClassVar[Agency] = Agency.YOUTH_OFFENDING


class DwpInformationShared(_InformationShared):
    """DWP / Jobcentre Plus shared information about the case."""

    PUBLISHER: ClassVar[Agency] = Agency.DWP


class ImmigrationInformationShared(_InformationShared):
    """Home Office Immigration Enforcement shared information about the case."""

    PUBLISHER: ClassVar[Agency] = Agency.IMMIGRATION_ENFORCEMENT


class DeportationDecisionMade(EventData):
    """Immigration Enforcement decided whether to deport the person."""

    PUBLISHER: ClassVar[Agency] = Agency.IMMIGRATION_ENFORCEMENT
    NAME: ClassVar[str] = "deportation-decision-made"

    decided_on: date
    """Date of the decision."""
    decision: Literal["deport", "do-not-deport", "deferred"]
    """The decision."""
    removal_planned_on: date | None = None
    """Planned removal date, when deportation was decided and a date is set."""
