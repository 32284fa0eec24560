"""Every event type through the real broker: produced on its agency topic, consumed, parsed."""

import asyncio

import pytest
from faststream import AckPolicy
from faststream.kafka.annotations import KafkaMessage

from mappa_bus.catalogue import CATALOGUE, CONTENT_TYPE, Envelope, EventData, parse_event
from mappa_bus.catalogue.examples import example_event
from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_admin import ensure_topics
from mappa_bus.kafka_codec import consumer_record, to_record
from mappa_bus.topics import agency_topic_specs
from tests.keys import KEYRING

pytestmark = pytest.mark.kafka

# Kafka's record timestamp type for LogAppendTime (0 is CreateTime).
LOG_APPEND_TIME = 1


async def test_every_event_type_travels_on_its_agency_topic(
    kafka: KafkaConnection, unique: str
) -> None:
    """Each example event arrives on its publisher's topic, keyed by case id, with the
    CloudEvents content type and the broker's arrival time, and parses back equal."""
    namespace = f"test-{unique}"
    specs = agency_topic_specs(namespace)
    await ensure_topics(kafka, specs)
    sent = [example_event(model) for model in CATALOGUE]
    received: asyncio.Queue[tuple[Envelope[EventData], str, bytes, str, int]] = asyncio.Queue()
    broker = kafka.broker(logger=None)

    @broker.subscriber(
        *(spec.name for spec in specs),
        group_id=f"g-{unique}",
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
    )
    async def on_event(message: KafkaMessage) -> None:
        record = consumer_record(message)
        headers = {name: value.decode() for name, value in record.headers}
        await received.put(
            (
                parse_event(record.value),
                record.topic,
                record.key,
                headers["content-type"],
                record.timestamp_type,
            )
        )

    async with broker:
        await broker.start()
        for event in sent:
            record = to_record(event, KEYRING, namespace)
            await broker.publish(record.value, record.topic, key=record.key, headers=record.headers)
        got = [await asyncio.wait_for(received.get(), 30) for _ in sent]

    by_id = {parsed.id: parsed for parsed, *_ in got}
    assert set(by_id) == {event.id for event in sent}
    for event in sent:
        assert by_id[event.id] == event
    for event, topic, key, content_type, timestamp_type in got:
        assert topic == f"{namespace}.{event.publisher.value}.events"
        assert (key, content_type, timestamp_type) == (
            event.case_id.encode(),
            CONTENT_TYPE,
            LOG_APPEND_TIME,
        )
