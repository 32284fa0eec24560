"""How a bus event sits in a Kafka record: CloudEvents structured mode, keyed by case id, on the
partition murmur2 of the key gives, signed with its publisher's key for its area."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiokafka import ConsumerRecord
from aiokafka.partitioner import murmur2

from mappa_bus.catalogue import CONTENT_TYPE, Envelope, WireError, to_wire
from mappa_bus.catalogue.wire import MAX_EVENT_BYTES, OVERSIZED_KEPT_BYTES
from mappa_bus.signing import Keyring, sign
from mappa_bus.topics import AGENCY_PARTITIONS, NAMESPACE, agency_topic

if TYPE_CHECKING:
    from faststream.kafka.message import KafkaMessage

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class KafkaRecord:
    """The topic, key, value and headers one event is produced with."""

    topic: str
    key: bytes
    value: bytes
    headers: dict[str, str]


def to_record(
    event: Envelope[Any], keyring: Keyring, namespace: str = NAMESPACE, wire: bytes | None = None
) -> KafkaRecord:
    """The record for `event`: on its publisher's topic, keyed by case id so that one case's
    events stay in order on one partition, signed with `keyring`'s key of its publisher in its
    area (WireError `wrong-area` when the keyring holds none). Its value is `wire` when given:
    the exact bytes `event` was parsed from (a feed's CloudEvents line), sent and signed as they
    are; else the event serialised."""
    value = to_wire(event) if wire is None else wire
    return KafkaRecord(
        topic=agency_topic(event.publisher, namespace),
        key=event.case_id.encode(),
        value=value,
        headers={
            "content-type": CONTENT_TYPE,
            **sign(keyring, event.publisher, event.mappaarea, value),
        },
    )


# A case's events come in runs: the cache makes the check nearly free (50 ns, against 2 us for
# the pure-Python hash) for the cases of the moment, and stays a few MB however many cases pass.
@functools.lru_cache(maxsize=1 << 16)
def partition_of(key: bytes, partitions: int = AGENCY_PARTITIONS) -> int:
    """The partition a record keyed `key` belongs on: murmur2 of the key, positive, modulo the
    partitions, as Java's default partitioner, aiokafka's and librdkafka's `murmur2_random`
    place it (librdkafka's own default, `consistent_random`, does not)."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


def consumer_record(message: KafkaMessage) -> ConsumerRecord[bytes, bytes]:
    """The aiokafka record behind a FastStream message of a (non-batch) subscriber."""
    record = message.raw_message
    if not isinstance(record, ConsumerRecord):
        raise TypeError("expected a single Kafka record, got a batch")
    return record


def record_origin(record: ConsumerRecord[bytes, bytes]) -> str:
    """Where a record sits in the log, as dead letters name it: `topic/partition/offset`."""
    return f"{record.topic}/{record.partition}/{record.offset}"


@dataclass(frozen=True)
class DeadLetter:
    """The value and headers a refused input is dead-lettered with."""

    value: bytes
    headers: dict[str, str]

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        """The headers as a Kafka client takes them."""
        return [(name, value.encode()) for name, value in self.headers.items()]


def dead_letter(
    raw: bytes, error: WireError, origin: str, *, size: int | None = None, **context: str
) -> DeadLetter:
    """The dead letter of `raw`: the reason (field and why), the kind of rejection, where the
    input came from, and who refused it (`context`, e.g. agency=...).

    An input larger than any event (`size`, when `raw` is already only its start) keeps only
    its first bytes, and its whole size in `mappa-size`: the dead letter itself must never be
    too large for the broker, or one huge input would stop everything behind it.
    """
    whole = len(raw) if size is None else size
    headers = {
        "mappa-reason": str(error),
        "mappa-rejection": error.kind.value,
        "mappa-source": origin,
        **{f"mappa-{name}": value for name, value in context.items()},
    }
    if whole > MAX_EVENT_BYTES or whole != len(raw):
        raw = raw[:OVERSIZED_KEPT_BYTES]
        headers["mappa-size"] = str(whole)
    return DeadLetter(raw, headers)


def appended_at(timestamp_ms: int) -> datetime:
    """A Kafka record timestamp (milliseconds since the epoch) as an aware datetime: on the
    agency topics (LogAppendTime) when the event reached the bus."""
    # Integer arithmetic: a float of seconds would lose the milliseconds of recent dates.
    return _EPOCH + timedelta(milliseconds=timestamp_ms)
