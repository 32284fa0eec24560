"""The Kafka side every projection shares: a batch subscriber over the agency topics that folds,
dead-letters what it refuses, and commits state and offsets together; and a catch-up that runs
it until the topics' current end.

Exactly once, as the rest of the bus relies on it: the offsets live in the store beside the
state, a (re)assignment seeks to them (past whatever Kafka thinks was committed), records below
a stored offset are skipped by the fold, and a batch whose transaction fails is not
acknowledged, so FastStream seeks back and it is applied again later.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import structlog
from aiokafka import ConsumerRebalanceListener
from aiokafka import TopicPartition as KafkaPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, Topic, TopicPartition
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from mappa_bus.catalogue import Envelope, EventData, Rejection, WireError, parse_event
from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_codec import dead_letter, partition_of, record_origin
from mappa_bus.operations.metrics import ProjectionMetrics
from mappa_bus.projection.heap import HeapKeeper
from mappa_bus.projection.merge import Merge
from mappa_bus.projection.offsets import OffsetsMovedOn, Position
from mappa_bus.projection.progress import end_offsets, lag
from mappa_bus.projection.sealed import RecordKeys, source_topics
from mappa_bus.signing import Keyring, verify
from mappa_bus.topics import agency_of_topic, dead_letter_topic, erasures_topic

BATCH = 2_000
# FastStream's batch subscriber sleeps as long again as its poll timeout after every empty poll
# (200 ms by default), so an event arriving in a quiet moment waited up to 400 ms. Short polls
# keep that wait to a few milliseconds; under load the polls are never empty, so it costs
# nothing there.
BATCH_TIMEOUT_MS = 5
# What a catch-up's merge may hold, in records, shared among the partitions (at least
# MERGE_HELD_LEAST each): a partition running ahead of the others in time is paused beyond it.
# A paused partition still holds what its last fetch brought (CATCH_UP_FETCH_BYTES of it), so
# the floor is what bounds the merge over the 78 partitions of a catch-up: at 500 the merge of
# the national year held 30,000-47,000 records.
MERGE_HELD = 20_000
MERGE_HELD_LEAST = 200
# What a catch-up fetches of each partition at a time. aiokafka's 1 MiB default, over the 70-odd
# partitions a catch-up reads at once, held some 70 MiB of records before the merge released
# any, and more as the partitions grew with the history. Compressed, so 256 KiB was some 1,500
# records a fetch, each partition's overshoot of its pause; 32 KiB (a whole producer batch comes
# even when larger) took the four largest areas' picture rebuild from 361 to 275 MiB at the
# same CPU (docs/benchmarks.md).
CATCH_UP_FETCH_BYTES = 32 * 1024

log = structlog.get_logger(__name__)


@dataclass
class Rejected:
    """A record a projection refused, with why."""

    record: Any
    error: WireError


class Folded(Protocol):
    """What a projection's fold of one batch must say: which records it refused."""

    @property
    def rejected(self) -> Sequence[Rejected]: ...


BatchT = TypeVar("BatchT", bound=Folded)


class Projection(Protocol[BatchT]):
    """A store kept in step with the agency topics (see the module's docstring)."""

    @property
    def name(self) -> str: ...

    @property
    def namespace(self) -> str: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def offsets(self) -> Mapping[Position, int]: ...

    @property
    def keyring(self) -> RecordKeys:
        """What it reads records with, and so which topics it reads (projection/sealed.py)."""
        ...

    def load(self) -> None: ...

    def fold(self, records: Sequence[Any]) -> BatchT: ...

    def commit(self, batch: BatchT) -> None: ...


def projected_topics(projection: Projection[Any]) -> list[str]:
    """Every topic `projection` folds: the agency topics (or the sealed record, when it reads
    with the case keys), and, for a projection that keeps cases (`folds_erasures`: picture,
    reporting, alerts; not the intake), the erasures, on the same partition numbers, so a group
    member holds a case's erasure with its events."""
    topics = source_topics(projection.namespace, projection.keyring)
    if getattr(projection, "folds_erasures", False):
        topics.append(erasures_topic(projection.namespace))
    return topics


def read_event(record: Any, namespace: str, keyring: Keyring) -> Envelope[EventData]:
    """The event in `record`, or WireError when it is not one or does not sit where the contract
    puts it: on its publisher's own topic (an agency speaks only there), keyed by its subject,
    on the partition murmur2 of that key gives, signed with its publisher's key for its area
    (`keyring` holds them all). Every consumer reads every record through here, so a record out
    of place is refused before anything is folded from it: a case's events must all be on one
    partition number, or a group's members would fold one case apart and the shared store's
    fencing (projection/offsets.py) would not hold; and an agency speaks only for the areas it
    holds keys for (docs/decisions/0001-area-bound-publishers.md)."""
    event = parse_event(record.value)
    topic_agency = agency_of_topic(record.topic, namespace)
    if topic_agency is not event.publisher:
        raise WireError(
            Rejection.WRONG_PUBLISHER,
            "source",
            f"an event of {event.publisher.value} on {record.topic}",
        )
    key = event.case_id.encode()
    if record.key != key:
        # The key is not echoed: it may be anything a producer put there.
        raise WireError(Rejection.WRONG_KEY, "key", "must be the event's subject (its case id)")
    if record.partition != (home := partition_of(key)):
        raise WireError(
            Rejection.WRONG_PARTITION,
            "partition",
            f"on partition {record.partition}, but murmur2 of its key puts it on {home}",
        )
    verify(
        keyring,
        record.value,
        dict(record.headers or ()),
        publisher=topic_agency,
        area=event.mappaarea,
    )
    return event


@dataclass
class Backoff:
    """Delays that double from `first` up to `longest`, until reset."""

    first: float = 0.1
    longest: float = 5.0
    _next: float = 0.0

    def next_delay(self) -> float:
        self._next = min(self.longest, self._next * 2 if self._next else self.first)
        return self._next

    def reset(self) -> None:
        self._next = 0.0


class _ResumeFromStore(ConsumerRebalanceListener):  # type: ignore[misc]
    """On every assignment, seek each partition to the offset the store holds for it."""

    def __init__(self, projection: Projection[Any], consumer: Callable[[], Any]) -> None:
        self._projection = projection
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        return None

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        # Logged on arrival, before the store is read (seconds, for a large one): the log says
        # when the group handed the partitions over.
        # Whole partition numbers go to one member (a case sits on the same number of every
        # agency topic), so the numbers and a count say exactly what it holds, in a short line.
        log.info(
            "partitions assigned",
            partition_numbers=sorted({tp.partition for tp in assigned}),
            partitions=len(assigned),
            topics=len({tp.topic for tp in assigned}),
        )
        # Another instance may have moved these partitions on since this one last read the
        # store: what it keeps in memory is read again before anything is folded into it.
        await resume_from_store(self._projection, self._consumer(), assigned)


async def resume_from_store(
    projection: Projection[Any], consumer: Any, partitions: Collection[TopicPartition]
) -> None:
    """Read the store again and seek each of `partitions` to the offset it holds (the first
    offset there is, for a partition it holds none of)."""
    projection.load()
    await seek_to(consumer, projection.offsets, partitions)


async def seek_to(
    consumer: Any, offsets: Mapping[Position, int], partitions: Collection[TopicPartition]
) -> None:
    """Seek each of `partitions` to its offset in `offsets` (the first offset there is, for a
    partition with none)."""
    unknown = []
    for partition in partitions:
        stored = offsets.get((partition.topic, partition.partition))
        if stored is None:
            unknown.append(partition)
        else:
            consumer.seek(partition, stored)
    # One seek for them all: each waits for the fetch in flight (up to half a second), and
    # the group's coordination, leaving the group on SIGTERM included, waits for this
    # listener; one partition at a time, a new store took half a minute.
    if unknown:
        await consumer.seek_to_beginning(*unknown)


def register_projection(
    broker: KafkaBroker,
    projection: Projection[Any],
    *,
    group_id: str | None = None,
    partitions: Sequence[TopicPartition] = (),
    max_records: int = BATCH,
    after_commit: Callable[[KafkaBroker], Awaitable[object]] | None = None,
    metrics: ProjectionMetrics | None = None,
    before_commit: Callable[[KafkaBroker, Any], Awaitable[object]] | None = None,
    merge: Merge | None = None,
    fetch_bytes: int | None = None,
) -> Any:
    """Subscribe `projection` to every agency topic of its namespace (the sealed record instead,
    when it reads with the case keys) and to its erasures on `broker`: in the consumer group
    `group_id` (instances share the partitions), or on `partitions` alone. `before_commit` runs
    with each folded batch before its commit (the intake produces the batch's sealed records
    there);
    `after_commit` runs after each batch's commit (the alerts service publishes from there);
    `metrics` counts the batches (by default in the process's registry). With `merge` (a
    catch-up's), the records are held and folded in the bus's order (projection/merge.py)
    rather than as fetched. `fetch_bytes`: how much of a partition a fetch may bring (aiokafka's
    default when None)."""
    namespace = projection.namespace
    observer = metrics or ProjectionMetrics(projection.name)
    holder: dict[str, Any] = {}
    # The store, not Kafka, holds the offsets that count; a failed batch is sought back.
    common: dict[str, Any] = {
        "batch": True,
        "max_records": max_records,
        "batch_timeout_ms": BATCH_TIMEOUT_MS,
        "auto_offset_reset": "earliest",
        # Nothing is committed to Kafka: the store's offsets are the ones that count, and a
        # commit racing a rebalance failed the whole batch (CommitFailedError) for nothing.
        # A failed batch is sought back by hand (`on_batch`).
        "ack_policy": AckPolicy.MANUAL,
        # The handler reads the records themselves (`raw_message`); FastStream's own decoding
        # made a message, with a fresh uuid4, of every record, for a body nobody read.
        "decoder": _undecoded,
    }
    if fetch_bytes is not None:
        common["max_partition_fetch_bytes"] = fetch_bytes
    # `declare=False` everywhere: FastStream would otherwise create a missing agency topic with
    # one partition (where it may; elsewhere it warns of each, every start), and the bus's
    # topics are made only by `mappa topics create`, with the partitions that keep whole cases
    # together.
    if partitions:
        # Reading from the beginning is safe: records below the stored offsets are skipped.
        assigned = [TopicPartition(p.topic, p.partition, declare=False) for p in partitions]
        subscriber = broker.subscriber(partitions=assigned, **common)
    elif group_id is None:
        raise ValueError("a projection subscribes in a consumer group or to given partitions")
    else:
        subscriber = broker.subscriber(
            *(Topic(topic, declare=False) for topic in projected_topics(projection)),
            group_id=group_id,
            # A case's events sit on the same partition number of every agency topic (keyed
            # by case id, the same partition count everywhere): ranges per topic hand each
            # instance whole cases, so no two instances ever fold the same case.
            partition_assignment_strategy=(RangePartitionAssignor,),
            listener=_ResumeFromStore(projection, lambda: holder["subscriber"].consumer),
            **common,
        )
    holder["subscriber"] = subscriber

    backoff = Backoff()

    async def on_batch(message: KafkaMessage) -> None:
        records = message.raw_message
        # A tuple from Kafka; a list from FastStream's in-memory test broker.
        records = tuple(records) if isinstance(records, tuple | list) else (records,)
        if merge is not None:
            await merged(records)
            return
        try:
            await fold_and_commit(records)
        except BaseException:
            await message.nack()  # back to the batch's first records, to be had again
            raise

    async def merged(records: Sequence[Any]) -> None:
        assert merge is not None
        consumer = holder["subscriber"].consumer
        merge.add(records)
        # A partition with nothing held holds the release back until read further; the
        # consumer knows when it has read to its end with no record there to say so.
        for position in merge.waiting():
            merge.read_to(position, await consumer.position(KafkaPartition(*position)))
        released = merge.release()
        try:
            # Folded in batches of the subscriber's size: a transaction stays as large as ever.
            for start in range(0, len(released), max_records):
                if not await fold_and_commit(released[start : start + max_records]):
                    # The store was read again and the consumer sought to it: so is the merge.
                    merge.restart(projection.offsets)
                    return
        except BaseException:
            # What was released and not committed, and everything held, is read again from
            # the store's offsets (memory holds them: a failed commit changed nothing).
            merge.restart(projection.offsets)
            await seek_to(consumer, projection.offsets, consumer.assignment())
            consumer.resume(*consumer.paused())
            raise
        pauses = merge.pauses((tp.topic, tp.partition) for tp in consumer.paused())
        if pauses.pause:
            consumer.pause(*(KafkaPartition(*position) for position in sorted(pauses.pause)))
        if pauses.resume:
            consumer.resume(*(KafkaPartition(*position) for position in sorted(pauses.resume)))

    async def store_unavailable(error: OperationalError) -> None:
        # The store is unreachable: nothing was committed and memory is unchanged. Wait,
        # longer each time; the caller then fails the batch so that it is delivered again.
        observer.store_unavailable()
        delay = backoff.next_delay()
        log.warning(
            "store unavailable; the batch will be retried",
            projection=projection.name,
            retry_in_seconds=delay,
            error=type(error.orig).__name__ if error.orig else type(error).__name__,
        )
        await asyncio.sleep(delay)

    async def fold_and_commit(records: Sequence[Any]) -> bool:
        """Fold and commit `records`; False when the store refused them (read it again)."""
        # Metrics (the observer.* calls): noted before the fold, counted after the commit; the
        # lag is set on arrival too, so that it still grows while the store is out.
        observer.lag(holder["subscriber"].consumer, projection.offsets)
        start = observer.started(records, projection.offsets)
        try:
            # The fold reads the cases the batch touches from the store: it can find it out too.
            batch = projection.fold(records)
        except OperationalError as error:
            await store_unavailable(error)
            raise
        # Dead letters go out before the offsets move past them: at worst a crash in between
        # writes a dead letter twice; it never loses one.
        for item in batch.rejected:
            await _dead_letter(broker, item, namespace, projection.name)
            observer.dead_lettered(item.error.kind)
        observer.erased(getattr(batch, "erased", 0))
        if before_commit is not None:
            await before_commit(broker, batch)
        try:
            projection.commit(batch)
        except OffsetsMovedOn as error:
            observer.refused()
            # This member folded records of partitions the group has since handed to another
            # (the batch was in hand during a rebalance): the store refused them, and memory
            # is read again from it, where the other member's work is.
            log.warning(
                "partitions moved on by another member; batch dropped, store read again",
                projection=projection.name,
                partitions=[f"{topic}/{partition}" for topic, partition in error.positions],
            )
            consumer = holder["subscriber"].consumer
            await resume_from_store(projection, consumer, consumer.assignment())
            return False
        except OperationalError as error:
            await store_unavailable(error)
            raise
        backoff.reset()
        observer.committed(start, len(batch.rejected))
        observer.lag(holder["subscriber"].consumer, projection.offsets)
        if after_commit is not None:
            await after_commit(broker)
        return True

    subscriber(on_batch)
    return subscriber


async def _undecoded(message: StreamMessage[Any]) -> None:
    """The batch's body, decoded: nothing (see `register_projection`)."""
    return


async def consume_until_caught_up(
    connection: KafkaConnection,
    projection: Projection[Any],
    *,
    on_progress: Callable[[int, int], None] | None = None,
    poll_seconds: float = 0.2,
    then: Callable[[KafkaBroker], Awaitable[object]] | None = None,
    after_commit: Callable[[KafkaBroker], Awaitable[object]] | None = None,
    before_commit: Callable[[KafkaBroker, Any], Awaitable[object]] | None = None,
    producer_options: Mapping[str, Any] | None = None,
    merged: bool = True,
) -> int:
    """Consume until every record now on the agency topics (or the sealed record) and the
    erasures is applied, run `then` with the broker still connected, and return how many records
    there were to apply.

    The records are folded merged across the partitions in the order they reached the bus
    (projection/merge.py), as a live consumer saw them: read as fetched, the sparse topics ran
    ahead and half the case folds re-folded the case for an event that came late (merged, 1 in
    20 of those remain; the catch-up's CPU is no lower, docs/picture.md "Late events").
    `merged=False` folds them as fetched, as the catch-up did before (kept to compare them)."""
    topics = projected_topics(projection)
    ends = await end_offsets(connection, topics)
    total = lag(ends, projection.offsets)
    broker = connection.broker(
        client_id=f"mappa-{projection.name}", logger=None, **(producer_options or {})
    )
    # One process replaying the record reads every partition itself: no consumer group to
    # join and leave, and the projection's own offsets say where it stands.
    register_projection(
        broker,
        projection,
        partitions=[TopicPartition(*p) for p in sorted(ends)],
        after_commit=after_commit,
        before_commit=before_commit,
        merge=Merge(
            ends, projection.offsets, limit=max(MERGE_HELD_LEAST, MERGE_HELD // max(1, len(ends)))
        )
        if merged
        else None,
        fetch_bytes=CATCH_UP_FETCH_BYTES if merged else None,
    )
    # A projection that keeps its heap (picture, reporting) sweeps it often while catching up.
    heap = getattr(projection, "heap", None)
    sweeping = heap.catching_up() if isinstance(heap, HeapKeeper) else contextlib.nullcontext()
    async with broker:
        await broker.start()
        with sweeping:
            while (remaining := lag(ends, projection.offsets)) > 0:
                if on_progress is not None:
                    on_progress(total - remaining, total)
                await asyncio.sleep(poll_seconds)
        if then is not None:
            await then(broker)
    if on_progress is not None:
        on_progress(total, total)
    return total


async def _dead_letter(broker: KafkaBroker, item: Rejected, namespace: str, name: str) -> None:
    record = item.record
    log.warning(
        "record rejected",
        reason=str(item.error),
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
    )
    letter = dead_letter(record.value, item.error, record_origin(record), consumer=name)
    await broker.publish(
        letter.value, dead_letter_topic(namespace), key=record.key, headers=letter.headers
    )
