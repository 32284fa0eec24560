"""How far a projection has read: compared with where the topics end now."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aiokafka import AIOKafkaConsumer

from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import partitions_of
from mappa_bus.projection.offsets import Position


async def end_offsets(connection: KafkaConnection, topics: Iterable[str]) -> dict[Position, int]:
    """The offset each partition of `topics` will give its next record; `MissingTopics` when
    the broker has none of the partitions of one of them."""
    names = tuple(topics)
    partitions = await partitions_of(connection, names)
    missing = sorted(set(names) - {tp.topic for tp in partitions})
    if missing:
        raise MissingTopics(missing)
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **connection.aiokafka_options())
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}


class MissingTopics(LookupError):
    """Topics a projection reads that the broker does not have (or will not describe to this
    principal): a namespace whose topics were never made, most often."""

    def __init__(self, topics: list[str]) -> None:
        super().__init__(
            f"no such topic on the broker: {', '.join(topics)} "
            "(`mappa topics create` makes the bus's topics; is the namespace the one meant?)"
        )
        self.topics = topics


def lag(ends: Mapping[Position, int], applied: Mapping[Position, int]) -> int:
    """Records on the topics that the projection has not applied yet."""
    return sum(max(0, end - applied.get(position, 0)) for position, end in ends.items())
