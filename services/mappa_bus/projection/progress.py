"""How far a projection has read: compared with where the topics end now."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aiokafka import AIOKafkaConsumer

from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import partitions_of
from mappa_bus.projection.offsets import Position


async def end_offsets(connection: KafkaConnection, topics: Iterable[str]) -> dict[Position, int]:
    """The offset each partition of `topics` will give its next record."""
    partitions = await partitions_of(connection, tuple(topics))
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **connection.aiokafka_options())
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}


def lag(ends: Mapping[Position, int], applied: Mapping[Position, int]) -> int:
    """Records on the topics that the projection has not applied yet."""
    return sum(max(0, end - applied.get(position, 0)) for position, end in ends.items())
