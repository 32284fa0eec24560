"""The walking skeleton through a real Kafka broker."""

import asyncio
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_admin import ensure_topics
from mappa_bus.skeleton import SkeletonEvent, build_skeleton, publish_skeleton_event
from mappa_bus.topics import TopicSpec

pytestmark = pytest.mark.kafka


async def test_an_event_goes_through_the_real_broker(kafka: KafkaConnection, unique: str) -> None:
    """An event published to Kafka is consumed by the subscriber, with its place in the log."""
    topic = f"test.skeleton.{unique}"
    await ensure_topics(kafka, [TopicSpec(topic, 1, "test")])
    broker = kafka.broker(logger=None)
    delivered = build_skeleton(broker, group_id=f"g-{unique}", topic=topic)
    event = SkeletonEvent(case_id="C-42")

    async with broker:
        await broker.start()
        await publish_skeleton_event(broker, event, topic=topic)
        got = await asyncio.wait_for(delivered.get(), 30)

    assert (got.event, got.partition, got.offset) == (event, 0, 0)


async def test_bad_input_lands_on_the_dead_letter_topic(
    kafka: KafkaConnection, unique: str
) -> None:
    """A malformed event is written to the dead-letter topic with its reason and origin."""
    topic, dead = f"test.skeleton.{unique}", f"test.dead.{unique}"
    await ensure_topics(kafka, [TopicSpec(topic, 1, "test"), TopicSpec(dead, 1, "test")])
    broker = kafka.broker(logger=None)
    build_skeleton(broker, group_id=f"g-{unique}", topic=topic, dead_letter_topic=dead)

    async with broker:
        await broker.start()
        await broker.publish(b"not json at all", topic, key=b"C-7")
        record = await _first_record(kafka, dead)

    headers = dict(record.headers)
    assert record.value == b"not json at all"
    assert record.key == b"C-7"
    assert headers["mappa-reason"].decode().startswith("(message): Invalid JSON")
    assert headers["mappa-source"] == f"{topic}/0/0".encode()


async def _first_record(kafka: KafkaConnection, topic: str) -> Any:
    consumer = AIOKafkaConsumer(topic, auto_offset_reset="earliest", **kafka.aiokafka_options())
    await consumer.start()
    try:
        return await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()
