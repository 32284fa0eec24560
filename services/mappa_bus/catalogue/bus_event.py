"""The CloudEvent every event the bus itself publishes is (alerts, acknowledgements,
statistics), as against `Envelope`, the agencies' events: one set of CloudEvents attributes, one
way to derive a repeatable id, one form on the wire."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mappa_bus.catalogue.envelope import CONTENT_TYPE

# The headers of every record a bus event travels in (structured content mode).
BUS_EVENT_HEADERS = {"content-type": CONTENT_TYPE}


def derived_id(namespace: uuid.UUID, *parts: str) -> str:
    """The id of the event `parts` describe: the same parts give the same id, so an event made
    again (after a restart, in a replay) is the duplicate every reader ignores."""
    return str(uuid.uuid5(namespace, "|".join(parts)))


class BusEvent(BaseModel):
    """A CloudEvents 1.0 event published by the bus's own services. Each kind narrows `source`
    and `type` to its own, adds its extension attributes and `data`, and says its Kafka key."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=256)
    source: str
    type: str
    time: AwareDatetime
    subject: str
    datacontenttype: Literal["application/json"] = "application/json"

    @property
    def kafka_key(self) -> bytes:
        """The record's key: what readers need in order (by default the subject)."""
        return self.subject.encode()

    def kafka_value(self) -> bytes:
        """The record's value: the event as JSON."""
        return self.model_dump_json().encode()
