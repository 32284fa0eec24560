"""The reporting consumer: a FastStream subscriber over the agency topics that folds every event
into its case's facts and keeps them, with the offsets they came from, in one transaction.

Exactly once, as the rest of the bus relies on it: the offsets live in the store beside the
state, a restart resumes from them (seeking past whatever Kafka thinks was committed), records
below a stored offset are skipped, and a duplicate event id folds to nothing. A batch whose
transaction fails is not acknowledged, so FastStream seeks back and it is applied again later.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from aiokafka import ConsumerRebalanceListener
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, TopicPartition
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy import Engine

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Envelope, EventData, Rejection, WireError, parse_event
from mappa_bus.kafka_codec import dead_letter_headers, record_origin
from mappa_bus.principals import Role, group_prefix
from mappa_bus.projection.offsets import Position, load_offsets, save_offsets
from mappa_bus.projection.seen import load_seen, save_seen
from mappa_bus.reporting.facts import CaseFacts, tally
from mappa_bus.reporting.partnership import PartnershipCounts, add_all, appended_at, changed_keys
from mappa_bus.reporting.partnership_store import load_partnership, save_partnership
from mappa_bus.reporting.store import create_schema, load_cases, save_cases
from mappa_bus.topics import NAMESPACE, agency_of_topic, agency_topic, dead_letter_topic

PROJECTION = "reporting"
BATCH = 2_000

log = structlog.get_logger(__name__)


@dataclass
class Rejected:
    """A record the consumer refused, with why."""

    record: Any
    error: WireError


@dataclass
class Batch:
    """What a batch of records would change: cases, offsets, and the records refused."""

    offsets: dict[Position, int]
    changed: dict[str, CaseFacts] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    # Events applied for the first time, with when each reached the bus.
    shared: list[tuple[Envelope[EventData], datetime]] = field(default_factory=list)
    new_ids: set[str] = field(default_factory=set)


@dataclass
class ReportingProjection:
    """The consumer's state: every case's facts and the next offset of every partition, as the
    store has them (memory changes only after the store has committed)."""

    engine: Engine
    namespace: str = NAMESPACE
    cases: dict[str, CaseFacts] = field(default_factory=dict)
    offsets: dict[Position, int] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)
    partnership: PartnershipCounts = field(default_factory=dict)

    def load(self, *, for_consuming: bool = True) -> None:
        """Create the schema if need be and read back what the store holds: everything when
        about to consume, only the cases when about to report (the applied ids are by far the
        largest part, and a report never needs them)."""
        create_schema(self.engine)
        with self.engine.connect() as connection:
            self.cases = load_cases(connection)
            self.offsets = load_offsets(connection, PROJECTION)
            if for_consuming:
                self.seen = load_seen(connection, PROJECTION)
                self.partnership = load_partnership(connection)

    def fold(self, records: Sequence[Any]) -> Batch:
        """Fold a batch of records into the cases they change, without committing anything."""
        batch = Batch(offsets=dict(self.offsets))
        for record in records:
            position = (record.topic, record.partition)
            if record.offset < batch.offsets.get(position, 0):
                continue  # delivered again after a rebalance or a retry: already applied
            batch.offsets[position] = record.offset + 1
            try:
                event = self._event(record)
            except WireError as error:
                batch.rejected.append(Rejected(record, error))
                continue
            if event.id in self.seen or event.id in batch.new_ids:
                continue  # the same event sent again: it has been applied once
            batch.new_ids.add(event.id)
            batch.shared.append((event, appended_at(record.timestamp)))
            known = batch.changed.get(event.case_id) or self.cases.get(event.case_id, ())
            batch.changed[event.case_id] = tally(known, event)
        return batch

    def commit(self, batch: Batch) -> None:
        """Store the batch's cases and offsets in one transaction, then make them current."""
        partnership = add_all(self.partnership, batch.shared)
        with self.engine.begin() as connection:
            save_cases(connection, batch.changed, batch.changed.keys())
            save_offsets(connection, PROJECTION, batch.offsets)
            save_seen(connection, PROJECTION, batch.new_ids)
            save_partnership(connection, partnership, changed_keys(self.partnership, partnership))
        self.cases.update(batch.changed)
        self.offsets = batch.offsets
        self.seen.update(batch.new_ids)
        self.partnership = partnership

    def _event(self, record: Any) -> Envelope[EventData]:
        event = parse_event(record.value)
        topic_agency = agency_of_topic(record.topic, self.namespace)
        if topic_agency is not event.publisher:
            raise WireError(
                Rejection.WRONG_PUBLISHER,
                "source",
                f"an event of {event.publisher.value} on {record.topic}",
            )
        return event


class _ResumeFromStore(ConsumerRebalanceListener):  # type: ignore[misc]
    """On every assignment, seek each partition to the offset the store holds for it."""

    def __init__(self, projection: ReportingProjection, consumer: Callable[[], Any]) -> None:
        self._projection = projection
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        consumer = self._consumer()
        for partition in assigned:
            stored = self._projection.offsets.get((partition.topic, partition.partition))
            if stored is None:
                await consumer.seek_to_beginning(partition)
            else:
                consumer.seek(partition, stored)


def register_reporting(
    broker: KafkaBroker,
    projection: ReportingProjection,
    *,
    group_id: str | None = None,
    partitions: Sequence[TopicPartition] = (),
    max_records: int = BATCH,
) -> Any:
    """Subscribe the projection to every agency topic of its namespace on `broker`: in a
    consumer group (instances share the partitions), or on the given `partitions` alone."""
    namespace = projection.namespace
    holder: dict[str, Any] = {}
    # The store, not Kafka, holds the offsets that count; a failed batch is sought back.
    common: dict[str, Any] = {
        "batch": True,
        "max_records": max_records,
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.NACK_ON_ERROR,
    }
    if partitions:
        # Reading from the beginning is safe: records below the stored offsets are skipped.
        subscriber = broker.subscriber(partitions=partitions, **common)
    else:
        subscriber = broker.subscriber(
            *(agency_topic(agency, namespace) for agency in Agency),
            group_id=group_id or group_prefix(Role.REPORTING, namespace),
            listener=_ResumeFromStore(projection, lambda: holder["subscriber"].consumer),
            **common,
        )
    holder["subscriber"] = subscriber

    async def on_batch(message: KafkaMessage) -> None:
        records = message.raw_message
        batch = projection.fold(records if isinstance(records, tuple) else (records,))
        # Dead letters go out before the offsets move past them: at worst a crash in between
        # writes a dead letter twice; it never loses one.
        for item in batch.rejected:
            await _dead_letter(broker, item, dead_letter_topic(namespace))
        projection.commit(batch)

    subscriber(on_batch)
    return subscriber


async def _dead_letter(broker: KafkaBroker, item: Rejected, topic: str) -> None:
    record = item.record
    log.warning(
        "record rejected",
        reason=str(item.error),
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
    )
    await broker.publish(
        record.value,
        topic,
        key=record.key,
        headers=dead_letter_headers(item.error, record_origin(record), consumer=PROJECTION),
    )
