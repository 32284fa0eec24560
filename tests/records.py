"""Kafka records as the projections read them, for tests that fold without a broker."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from mappa_bus.catalogue import Envelope, to_wire
from mappa_bus.catalogue.bus_event import BUS_EVENT_HEADERS
from mappa_bus.catalogue.erasure import CaseErased
from mappa_bus.kafka_codec import partition_of
from mappa_bus.topics import agency_topic, erasures_topic
from tests.keys import kafka_headers


@dataclass(frozen=True)
class Record:
    """What a projection reads of an aiokafka record."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    timestamp: int
    headers: Sequence[tuple[str, bytes]] = field(default=())


def record_of(event: Envelope[Any], offset: int, timestamp: int, namespace: str) -> Record:
    """`event` as the SDK produces it: on its publisher's topic, keyed by its subject, on the
    partition murmur2 of the key gives, signed with its publisher's key for its area."""
    key = event.case_id.encode()
    topic = agency_topic(event.publisher, namespace)
    value = to_wire(event)
    headers = kafka_headers(value, event)
    return Record(topic, partition_of(key), offset, key, value, timestamp, headers)


def delivered(
    events: Iterable[Envelope[Any]],
    namespace: str,
    offsets: Counter[tuple[str, int]],
    stamp: int = 0,
) -> tuple[list[Record], int]:
    """`events` as the bus holds them in this order: each at the next offset of its partition
    (`offsets`, moved on), stamped five minutes after it happened but never before the record
    before it (`stamp`, the last stamp so far). The records, and the last stamp."""
    records = []
    for event in events:
        stamp = max(stamp, int((event.time + timedelta(minutes=5)).timestamp() * 1000))
        record = record_of(event, 0, stamp, namespace)
        position = (record.topic, record.partition)
        records.append(dataclasses.replace(record, offset=offsets[position]))
        offsets[position] += 1
    return records, stamp


def erasure_record(event: CaseErased, offset: int, timestamp: int, namespace: str) -> Record:
    """A case's erasure as `mappa erase` produces it: on the erasures topic, keyed by the case
    id, on the partition murmur2 of the key gives."""
    key = event.kafka_key
    headers = [(name, value.encode()) for name, value in BUS_EVENT_HEADERS.items()]
    topic = erasures_topic(namespace)
    return Record(topic, partition_of(key), offset, key, event.kafka_value(), timestamp, headers)


class FakeBroker:
    """Keeps what a projection's outbox publishes (each value and its topic), as sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, str]] = []

    async def publish(self, value: bytes, topic: str, **_: Any) -> None:
        self.sent.append((value, topic))
