"""The erasure of a case, as an event of the bus's own (docs/decisions/0002): published on its
own topic, kept for ever, and folded by every projection, so that a store built or rebuilt from
the log at any time erases the case again.

It names the case, the decision and when, and nothing about the person: the reason and who
decided are kept in the audit trail (s.62), not on the log, where they would outlive the case.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.bus_event import BusEvent, derived_id
from mappa_bus.catalogue.vocabulary import CASE_ID_PATTERN, CaseId

CASE_ERASED: Final = "uk.gov.mappa.erasure.case-erased.v1"
_ID_NAMESPACE = uuid.UUID("2c9d6b8e-41f7-4a3e-9d05-6b1f8e2a7c94")

# A decision's reference: a register's number, not prose, so that nothing about the person can
# ride on it on to a topic kept for ever.
DECISION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,63}$"
Decision = Annotated[str, Field(pattern=DECISION_PATTERN)]


class ErasureGround(StrEnum):
    """Why a case is erased."""

    DECISION = "decision"  # a recorded decision: inaccurate data, or erasure ordered (s.47)
    RETENTION = "retention"  # the retention period passed since management ended (s.39)


class ErasureData(BaseModel):
    """What an erasure says: which case, on what ground and decision, from which day."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    case_id: CaseId
    area: Area
    """The case's area: an erased case's stub still answers who may ask about it."""
    ground: ErasureGround
    decision: Decision
    """The decision's reference (for retention, the schedule's)."""
    erased_on: date


class CaseErased(BusEvent):
    """A CloudEvent saying that every store must erase a case's details from now on, and never
    fold them back in. Keyed by the case id, so it sits on the partition number the case's
    events sit on, and reaches the consumer-group member that holds the case."""

    id: str = Field(
        description="Derived from the case id: a case is erased once; a re-send is a duplicate."
    )
    source: Literal["/mappa/erasure"] = "/mappa/erasure"
    type: Literal["uk.gov.mappa.erasure.case-erased.v1"] = CASE_ERASED
    time: AwareDatetime = Field(description="When the erasure was published.")
    subject: str = Field(pattern=CASE_ID_PATTERN, description="The case id.")
    mappaarea: Area
    data: ErasureData


def case_erased(data: ErasureData, at: AwareDatetime) -> CaseErased:
    """The erasure event of `data`, published at `at`."""
    return CaseErased(
        id=derived_id(_ID_NAMESPACE, data.case_id),
        time=at,
        subject=data.case_id,
        mappaarea=data.area,
        data=data,
    )
