"""The walking skeleton's handler, on FastStream's in-memory broker (no Kafka needed)."""

import asyncio

from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from mappa_bus.skeleton import SkeletonEvent, build_skeleton, publish_skeleton_event
from mappa_bus.topics import DEAD_LETTER, WALKING_SKELETON


async def test_a_published_event_reaches_the_subscriber() -> None:
    """The subscriber hands on the very event that was published, keyed by its case."""
    broker = KafkaBroker()
    delivered = build_skeleton(broker, group_id="unit")
    event = SkeletonEvent(case_id="C-1")

    async with TestKafkaBroker(broker):
        await publish_skeleton_event(broker, event)
        got = await asyncio.wait_for(delivered.get(), 5)

    assert got.event == event


async def test_bad_input_is_dead_lettered_with_the_field_and_reason() -> None:
    """An event without a case id goes to the dead-letter topic naming `case_id`."""
    broker = KafkaBroker()
    delivered = build_skeleton(broker, group_id="unit")
    reasons: list[str] = []

    @broker.subscriber(DEAD_LETTER.name, group_id="unit-dlq")
    async def on_dead_letter(message: KafkaMessage) -> None:
        reasons.append(message.headers["mappa-reason"])

    async with TestKafkaBroker(broker):
        await broker.publish(
            b'{"event_id": "0b9a9f5e-0000-4000-8000-000000000000"}', WALKING_SKELETON.name
        )

    assert reasons == ["case_id: Field required"]
    assert delivered.empty()
