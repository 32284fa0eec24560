"""The CloudEvents 1.0 envelope every bus event travels in (structured JSON content mode)."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SerializeAsAny

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.vocabulary import CaseId, HandlingMarking

CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"

# Agency values are lower-case words and hyphens: no escaping needed, and none wanted, since
# JavaScript schema validators reject `\-` in patterns.
_AGENCIES = "|".join(agency.value for agency in Agency)
SOURCE_PATTERN = rf"^/mappa/({_AGENCIES})/[a-z0-9][a-z0-9-]{{0,39}}$"
TYPE_PATTERN = r"^uk\.gov\.mappa\.[a-z-]+\.[a-z0-9-]+\.v[1-9][0-9]*$"

DataT = TypeVar("DataT")


class Envelope(BaseModel, Generic[DataT]):
    """A CloudEvents 1.0 event with the MAPPA extension attributes `mappaarea` and
    `mappahandling`. The Kafka key is the `subject` (the case id)."""

    # Other CloudEvents extension attributes (tracing, partition keys) are allowed and ignored.
    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)

    specversion: Literal["1.0"] = "1.0"
    """CloudEvents specification version."""
    id: str = Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
    """Unique id of the event; a second event with the same id is a duplicate and is ignored."""
    source: str = Field(pattern=SOURCE_PATTERN)
    """The publishing agency and system, as `/mappa/<agency>/<system>`."""
    type: str = Field(pattern=TYPE_PATTERN)
    """Event type, `uk.gov.mappa.<agency>.<event>.v<version>`."""
    time: AwareDatetime
    """When the thing happened (not when it was sent: Kafka's log-append time says that)."""
    subject: CaseId
    dataschema: str = Field(min_length=1)
    """URI of the JSON Schema of `data` for this type."""
    datacontenttype: Literal["application/json"] = "application/json"
    """Media type of `data`."""
    mappaarea: Area
    """The MAPPA area managing the case when the event happened."""
    mappahandling: HandlingMarking = HandlingMarking.OFFICIAL_SENSITIVE
    """Handling marking of the event's content."""
    data: SerializeAsAny[DataT]
    """The event's payload, as the schema for its `type` describes."""

    @property
    def case_id(self) -> str:
        """The case the event is about (its CloudEvents `subject`)."""
        return self.subject

    @property
    def publisher(self) -> Agency:
        """The agency named in `source`."""
        return _publisher(self.source)


# Asked several times of every event on the way to the broker and back, and there are only a
# few sources (one an agency system): the enum lookup is done once per source.
@functools.lru_cache(maxsize=1024)
def _publisher(source: str) -> Agency:
    return Agency(source.split("/")[2])


EventT = TypeVar("EventT", bound=EventData)


def make_event(
    data: EventT,
    *,
    case_id: str,
    area: Area,
    time: datetime,
    system: str,
    event_id: str | None = None,
    handling: HandlingMarking = HandlingMarking.OFFICIAL_SENSITIVE,
) -> Envelope[EventT]:
    """Wrap `data` in its envelope, filling `type`, `source` and `dataschema` from its class."""
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        source=f"/mappa/{data.PUBLISHER.value}/{system}",
        type=data.event_type(),
        time=time,
        subject=case_id,
        dataschema=data.schema_uri(),
        mappaarea=area,
        mappahandling=handling,
        data=data,
    )
