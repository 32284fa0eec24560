"""The intake at work: the shell's subscriber over the agency topics, with the sealed records
produced before each batch's offsets are committed, and the copied records deleted from the
agency topics after (`DeleteRecords` up to the committed offsets)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from faststream import FastStream
from faststream.kafka import KafkaBroker

from mappa_bus.adapters.producer_settings import PRODUCER_OPTIONS
from mappa_bus.connection import KafkaConnection
from mappa_bus.intake.consumer import IntakeBatch, IntakeProjection
from mappa_bus.principals import Role
from mappa_bus.projection.offsets import Position
from mappa_bus.projection.shell import projection_service
from mappa_bus.projection.subscriber import consume_until_caught_up
from mappa_bus.topics import agency_of_topic, record_topic

log = structlog.get_logger(__name__)

# Deleting behind every batch of a busy replay would be a request per batch for nothing: at
# most this often, and once more at the end of a catch-up.
DELETE_EVERY_SECONDS = 5.0


async def produce_sealed(broker: KafkaBroker, batch: IntakeBatch, namespace: str) -> None:
    """Put `batch`'s sealed records on the sealed record and wait until the broker has them
    all (acks from every in-sync replica): only then may the batch's offsets move on."""
    topic = record_topic(namespace)
    answers = [
        await broker.publish(
            sealed.value,
            topic,
            key=sealed.key,
            partition=sealed.partition,
            timestamp_ms=sealed.timestamp,
            headers={"content-type": "application/json"},
            no_confirm=True,
        )
        for sealed in batch.sealed
    ]
    await asyncio.gather(*answers)


@dataclass
class Ingress:
    """Deletes from the agency topics every record below the intake's committed offsets: the
    plain text stays on them only until the intake has sealed it (at most their retention, 7
    days, while the intake is down)."""

    connection: KafkaConnection
    projection: IntakeProjection
    every_seconds: float = DELETE_EVERY_SECONDS
    clock: Callable[[], float] = time.monotonic
    deleted: dict[Position, int] = field(default_factory=dict)
    _last: float = float("-inf")

    async def after_commit(self, _broker: KafkaBroker) -> None:
        """After a batch's commit: delete behind it, unless that was done a moment ago."""
        if self.clock() - self._last >= self.every_seconds:
            await self.delete_copied()

    async def delete_copied(self, _broker: KafkaBroker | None = None) -> dict[Position, int]:
        """Delete every record below the committed offsets not deleted before; the new low
        watermarks by partition."""
        self._last = self.clock()
        namespace = self.projection.namespace
        due = {
            position: offset
            for position, offset in self.projection.offsets.items()
            if agency_of_topic(position[0], namespace) is not None
            and offset > self.deleted.get(position, 0)
        }
        if not due:
            return {}
        admin = AIOKafkaAdminClient(client_id="mappa-intake", **self.connection.aiokafka_options())
        await admin.start()
        try:
            answer = await admin.delete_records(
                {
                    TopicPartition(*position): RecordsToDelete(offset)
                    for position, offset in due.items()
                }
            )
        finally:
            await admin.close()
        self.deleted.update(due)
        log.info("copied records deleted from the agency topics", partitions=len(due))
        return {(tp.topic, tp.partition): low for tp, low in answer.items()}


def intake_app(
    connection: KafkaConnection, projection: IntakeProjection, metrics_port: int = 0
) -> FastStream:
    """The intake as one member of its consumer group until stopped."""
    ingress = Ingress(connection, projection)

    async def produce(broker: KafkaBroker, batch: IntakeBatch) -> None:
        await produce_sealed(broker, batch, projection.namespace)

    return projection_service(
        connection,
        projection,
        Role.INTAKE,
        metrics_port=metrics_port,
        before_commit=produce,
        after_commit=ingress.after_commit,
        producer_options=PRODUCER_OPTIONS,
    ).app


async def catch_up(
    connection: KafkaConnection,
    projection: IntakeProjection,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Seal every record now on the agency topics that the intake has not, then delete what
    it copied; how many records there were."""
    ingress = Ingress(connection, projection)

    async def produce(broker: KafkaBroker, batch: IntakeBatch) -> None:
        await produce_sealed(broker, batch, projection.namespace)

    return await consume_until_caught_up(
        connection,
        projection,
        on_progress=on_progress,
        before_commit=produce,
        after_commit=ingress.after_commit,
        then=ingress.delete_copied,
        producer_options=PRODUCER_OPTIONS,
    )
