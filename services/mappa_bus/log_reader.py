"""Reading topics from their beginning up to where they end now: a replay of the record."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from mappa_bus.connection import KafkaConnection


async def read_to_end(
    connection: KafkaConnection, topics: Iterable[str], *, batch: int = 5_000
) -> AsyncIterator[list[Any]]:
    """Every record now on `topics`, in batches, then stop.

    Partitions are assigned directly (no consumer group, nothing committed): a replay reads
    the log as it stands and leaves no trace in the broker's group state.
    """
    names = tuple(topics)
    # Earliest as the reset too: the reset that `assign` starts can land after the seek to the
    # beginning below, and a reset to the latest offset would leave nothing to read, for ever.
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=batch,
        **connection.aiokafka_options(),
    )
    await consumer.start()
    try:
        partitions = await partitions_of(connection, names)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        # A partition whose records are all gone (retention, or the intake's DeleteRecords
        # behind what it sealed) has nothing to read however far its end is: waiting for a
        # record there would wait for ever.
        starts = await consumer.beginning_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > starts[tp]}
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=1_000, max_records=batch)
            for tp, records in fetched.items():
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
                yield [record for record in records if record.offset < ends[tp]]
    finally:
        await consumer.stop()


async def partitions_of(
    connection: KafkaConnection, topics: tuple[str, ...]
) -> list[TopicPartition]:
    """Every partition of `topics`, as the broker describes them now."""
    admin = AIOKafkaAdminClient(**connection.aiokafka_options())
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described
        for partition in sorted(topic["partitions"], key=lambda p: p["partition"])
    ]
