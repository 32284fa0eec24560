"""The words the events share: categories, levels, and the constrained identifiers."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field

from mappa_bus.agencies import SHARING_AGENCIES, Agency


class Category(IntEnum):
    """MAPPA category (CJA 2003 s.325; category 4 from 2022)."""

    REGISTERED_SEX_OFFENDER = 1
    VIOLENT_OFFENDER = 2
    OTHER_DANGEROUS_OFFENDER = 3
    TERRORIST_OR_TERRORIST_RISK = 4


class Level(IntEnum):
    """MAPPA management level: 1 lead agency, 2 multi-agency meetings, 3 senior oversight."""

    ONE = 1
    TWO = 2
    THREE = 3


class HandlingMarking(StrEnum):
    """Government Security Classification marking of an event's content."""

    OFFICIAL = "OFFICIAL"
    OFFICIAL_SENSITIVE = "OFFICIAL-SENSITIVE"


# A case id: 3-64 letters, digits, - or _, starting with a letter or digit. Exported for what
# must check one without pydantic (an HTTP path parameter, a test's generator).
CASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$"

CaseId = Annotated[
    str,
    Field(
        pattern=CASE_ID_PATTERN,
        description="Pseudonymous case id shared by every agency (3-64 letters, digits, - or _); "
        "never a name or a national identifier.",
    ),
]

AgencyReference = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,63}$",
        description="The publishing agency's own reference for its record (an opaque id, not "
        "free text), so its staff can find the record behind the event.",
    ),
]

VictimReference = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$",
        description="Pseudonymous reference of a victim in the Victim Contact Scheme; "
        "never a name.",
    ),
]

NotificationPeriod = Annotated[
    int | None,
    Field(
        ge=1,
        le=120,
        description="Length of the notification requirements in months (e.g. 30, 60, 84, 120); "
        "null means indefinite.",
    ),
]

MeetingReference = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,63}$",
        description="The MAPPA meeting's reference (an opaque id given by the chairing agency, "
        "not free text), the same on the meeting and on every plan action agreed at it.",
    ),
]


def _sharing(agency: Agency) -> Agency:
    if agency not in SHARING_AGENCIES:
        raise ValueError(
            f"{agency.value} shares no information about a case: name an agency that does"
        )
    return agency


SharingAgency = Annotated[Agency, AfterValidator(_sharing)]
"""An agency an event's data names (who was told, who attended, who owns an action): one that
shares information about cases, never the MAPPA unit (agencies.py)."""
