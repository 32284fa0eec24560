"""The walking skeleton: one publisher, one subscriber, one event through the real broker.

It exercises every layer a real service will have (settings, explicit topics, structlog context
per event, a FastStream subscriber with an explicit acknowledgement policy, dead-lettering of bad
input) with the smallest possible event, so that later services grow from a shape that works.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog
from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mappa_bus.catalogue.wire import Rejection, WireError, from_validation_error
from mappa_bus.kafka_codec import consumer_record, dead_letter, record_origin
from mappa_bus.logs import event_context
from mappa_bus.topics import DEAD_LETTER, WALKING_SKELETON

log = structlog.get_logger(__name__)


class SkeletonEvent(BaseModel):
    """The smallest event that has what every bus event has: an id and a case id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Unique event id.")
    case_id: str = Field(min_length=1, max_length=64, description="Pseudonymous case id.")
    sent_at: datetime = Field(
        default_factory=lambda: datetime.now(UTC), description="When the publisher sent it."
    )


@dataclass(frozen=True)
class Delivered:
    """An event as the subscriber saw it, with where it sat in the log."""

    event: SkeletonEvent
    partition: int
    offset: int
    received_at: datetime


def build_skeleton(
    broker: KafkaBroker,
    *,
    group_id: str,
    topic: str = WALKING_SKELETON.name,
    dead_letter_topic: str = DEAD_LETTER.name,
) -> asyncio.Queue[Delivered]:
    """Register the skeleton's subscriber on `broker`; return the queue it delivers into."""
    delivered: asyncio.Queue[Delivered] = asyncio.Queue()

    # NACK_ON_ERROR: an unexpected failure seeks back and retries rather than committing past
    # the event. Bad input is not unexpected: it is dead-lettered below and acknowledged.
    @broker.subscriber(
        topic,
        group_id=group_id,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_event(message: KafkaMessage) -> None:
        record = consumer_record(message)
        try:
            event = SkeletonEvent.model_validate_json(message.body)
        except ValidationError as error:
            rejection = from_validation_error(error, Rejection.INVALID_DATA)
            await _dead_letter(broker, dead_letter_topic, record, rejection)
            return
        with event_context(
            event_id=str(event.event_id),
            case_id=event.case_id,
            topic=topic,
            partition=record.partition,
            offset=record.offset,
        ):
            log.info("skeleton event consumed")
            await delivered.put(
                Delivered(
                    event=event,
                    partition=record.partition,
                    offset=record.offset,
                    received_at=datetime.now(UTC),
                )
            )

    return delivered


async def _dead_letter(
    broker: KafkaBroker,
    dead_letter_topic: str,
    record: ConsumerRecord[bytes, bytes],
    error: WireError,
) -> None:
    log.warning(
        "skeleton event rejected",
        reason=str(error),
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
    )
    letter = dead_letter(record.value, error, record_origin(record), consumer="skeleton")
    await broker.publish(letter.value, dead_letter_topic, key=record.key, headers=letter.headers)


async def publish_skeleton_event(
    broker: KafkaBroker, event: SkeletonEvent, *, topic: str = WALKING_SKELETON.name
) -> None:
    """Publish one event, keyed by case id so one case's events stay in order."""
    await broker.publish(
        event.model_dump_json().encode(),
        topic,
        key=event.case_id.encode(),
        headers={"content-type": "application/json"},
    )
