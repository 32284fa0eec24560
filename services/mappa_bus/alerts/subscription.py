"""The coordinators' SDK: receive the alerts (and acknowledgements) that concern you, live.

A coordinator's system reads the alerts topic as the `coordinator` principal, with aiokafka
directly. `subscribe` yields the alerts a filter matches, each once: an alert's id is derived
from its rule and trigger, so the alerts service raising it again (after a restart, in a
replay) is recognised as the same alert. `follow` yields the acknowledgements too, for views
that show who has acted on what, each with the time the bus recorded it (`Recorded`).

A record that is not what the topic promises is skipped with a warning naming where it sits and
why, never its content: one bad record must not stop a coordinator receiving the good ones.

Without a consumer group the topics are read directly (from now, from the beginning, or from a
time) and nothing is committed. With one (its id must start with `<namespace>-coordinator`,
the prefix the principal may use), a restarted reader resumes where it left off: offsets are
committed only once every record of a batch was handed over and the caller asked for more, so
an alert is received at least once.

In sealed mode (decision 0002) the alerts service seals each alert, and the coordinators' page
each acknowledgement, under its case's key: a reader given the case keys (`keys`) opens them,
and yields an `ErasedEvent` (its id, case and area, nothing else) for one whose case was erased
since, to show as erased. A reader given no keys cannot read a sealed record: it skips it with a
warning, as any record that is not what its topic promises.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from pydantic import TypeAdapter, ValidationError

from mappa_bus.access.policy import ViewerRole
from mappa_bus.alerts.model import AlertAcknowledged, AlertRaised, AlertWithdrawn, OnAlertsTopic
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.erasure import CaseErased
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import partitions_of
from mappa_bus.principals import Role, group_prefix
from mappa_bus.projection.sealed import ErasedEvent, SealedBusEvents
from mappa_bus.sealing import SealError, is_sealed
from mappa_bus.topics import acknowledgements_topic, alerts_topic, erasures_topic

log = structlog.get_logger(__name__)

Followed = AlertRaised | AlertWithdrawn | AlertAcknowledged | CaseErased | ErasedEvent
_Event = TypeVar("_Event")

# What each topic a follower reads carries: alerts and their withdrawals; acknowledgements.
_ON_ALERTS_TOPIC: TypeAdapter[AlertRaised | AlertWithdrawn] = TypeAdapter(OnAlertsTopic)
_ACKNOWLEDGEMENT: TypeAdapter[AlertAcknowledged] = TypeAdapter(AlertAcknowledged)
_ERASURE: TypeAdapter[CaseErased] = TypeAdapter(CaseErased)

# Ids remembered to recognise a repeat. A duplicate arrives close to its original (a retried
# send, a restarted service re-raising what it had just raised), so a bounded memory is enough
# and a reader running for months does not grow without end.
_REMEMBERED: Final = 100_000
_POLL_MS: Final = 1_000


@dataclass(frozen=True)
class Recorded:
    """An alert or acknowledgement, and when the bus recorded it: the record's timestamp, which
    on the alerts and acknowledgements topics is the broker's append time (topics.py), not a
    time the publisher claims."""

    event: Followed
    recorded_at: datetime


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts a coordinator wants; None for a field means "any".

    An alert whose level or category is not known (a case not yet screened) passes a level or
    category filter: a coordinator missing an alert costs more than one reading an extra one.
    """

    areas: frozenset[Area] | None = None
    min_level: Level | None = None
    categories: frozenset[Category] | None = None
    rules: frozenset[str] | None = None
    roles: frozenset[ViewerRole] | None = None
    """Only alerts meant for one of these roles (in their audience): an agency's own alerts."""

    def matches(self, alert: AlertRaised) -> bool:
        """Whether `alert` is one of those wanted."""
        data = alert.data
        return (
            self.wants_area(data.area)
            and (self.min_level is None or data.level is None or data.level >= self.min_level)
            and (
                self.categories is None or data.category is None or data.category in self.categories
            )
            and (self.rules is None or data.rule in self.rules)
            and (self.roles is None or not self.roles.isdisjoint(data.audience))
        )

    def wants_area(self, area: Area) -> bool:
        """Whether alerts of `area` (and so acknowledgements of them) may be wanted."""
        return self.areas is None or area in self.areas

    def wants(self, item: Followed) -> bool:
        """`matches` for an alert; for a withdrawal, whether its alert's area and rule are
        wanted; for an acknowledgement, a case's erasure or an erased alert, whether its area
        is (it carries no more of the alert to tell by)."""
        if isinstance(item, AlertRaised):
            return self.matches(item)
        if isinstance(item, AlertWithdrawn):
            rule_wanted = self.rules is None or item.data.rule in self.rules
            return self.wants_area(item.data.area) and rule_wanted
        return self.wants_area(item.mappaarea)


ANY: Final = AlertFilter()


@dataclass(frozen=True)
class Start:
    """Where a reader without a consumer group starts: the end (only what comes next), the
    beginning, or the first record since a moment."""

    from_beginning: bool = False
    since: datetime | None = None


async def subscribe(
    connection: KafkaConnection,
    namespace: str,
    where: AlertFilter = ANY,
    *,
    from_beginning: bool = False,
    since: datetime | None = None,
    group_id: str | None = None,
    keys: SealedBusEvents | None = None,
) -> AsyncGenerator[AlertRaised | AlertWithdrawn | ErasedEvent, None]:
    """The alerts on `namespace`'s alerts topic that `where` matches, each once, as they come,
    and the withdrawal of any of them whose triggering event its agency withdrew (an
    `AlertWithdrawn` naming the alert: show it as withdrawn). In sealed mode, opened with
    `keys`; an alert (or withdrawal) of an erased case is an `ErasedEvent` of its area: show it
    as erased.

    Runs until the caller stops iterating (use `contextlib.aclosing` to stop it promptly).
    """
    topics = (alerts_topic(namespace),)
    async for item in _followed(
        connection, namespace, topics, Start(from_beginning, since), group_id, keys
    ):
        event = item.event
        if isinstance(event, AlertRaised | AlertWithdrawn | ErasedEvent) and where.wants(event):
            yield event


async def follow(
    connection: KafkaConnection,
    namespace: str,
    where: AlertFilter = ANY,
    *,
    from_beginning: bool = False,
    since: datetime | None = None,
    group_id: str | None = None,
    keys: SealedBusEvents | None = None,
) -> AsyncGenerator[Recorded, None]:
    """As `subscribe`, and every acknowledgement of an alert in `where`'s areas too (the two
    topics are read together, so an acknowledgement may come before the alert it names), and
    every erasure of a case there (its alerts are to be shown no more); each with when the bus
    recorded it."""
    topics = (alerts_topic(namespace), acknowledgements_topic(namespace), erasures_topic(namespace))
    async for item in _followed(
        connection, namespace, topics, Start(from_beginning, since), group_id, keys
    ):
        if where.wants(item.event):
            yield item


async def _followed(
    connection: KafkaConnection,
    namespace: str,
    topics: tuple[str, ...],
    start: Start,
    group_id: str | None,
    keys: SealedBusEvents | None = None,
) -> AsyncIterator[Recorded]:
    check_group(group_id, namespace, start)
    decoders: dict[str, TypeAdapter[Any]] = {
        alerts_topic(namespace): _ON_ALERTS_TOPIC,
        acknowledgements_topic(namespace): _ACKNOWLEDGEMENT,
        erasures_topic(namespace): _ERASURE,
    }
    seen = Seen()
    async for record in records(connection, topics, start, group_id):
        item: Followed | None = decode(record, decoders[record.topic], keys)
        if item is not None and seen.first(item.id):
            yield Recorded(item, datetime.fromtimestamp(record.timestamp / 1000, UTC))


def check_group(group_id: str | None, namespace: str, start: Start) -> None:
    """Refuse, before connecting, a group the coordinator principal may not use, or a start
    time a group's committed offsets would silently override."""
    if group_id is None:
        return
    prefix = group_prefix(Role.COORDINATOR, namespace)
    if not group_id.startswith(prefix):
        raise ValueError(f"a coordinator's consumer group id must start with {prefix!r}")
    if start.since is not None:
        raise ValueError("a consumer group resumes from its committed offsets: give no `since`")


async def records(
    connection: KafkaConnection, topics: tuple[str, ...], start: Start, group_id: str | None
) -> AsyncIterator[Any]:
    """Every record on `topics` from `start` (or the group's offsets), until the caller stops."""
    consumer = AIOKafkaConsumer(
        group_id=group_id,
        client_id=group_id or "mappa-coordinator",
        enable_auto_commit=False,
        auto_offset_reset="earliest" if start.from_beginning else "latest",
        **connection.aiokafka_options(),
    )
    await consumer.start()
    try:
        if group_id is None:
            await _assign(consumer, connection, topics, start)
        else:
            consumer.subscribe(list(topics))
        while True:
            fetched = await consumer.getmany(timeout_ms=_POLL_MS)
            for batch in fetched.values():
                for record in batch:
                    yield record
            if fetched and group_id is not None:
                # Reached only when the caller asked for the record after the last one.
                await consumer.commit()
    finally:
        await consumer.stop()


async def _assign(
    consumer: AIOKafkaConsumer, connection: KafkaConnection, topics: tuple[str, ...], start: Start
) -> None:
    partitions = await partitions_of(connection, topics)
    consumer.assign(partitions)
    # Explicit offsets, not a lazy seek-to-end: a record produced after this call returns is
    # received, however late the first fetch.
    for partition, offset in (await _start_offsets(consumer, partitions, start)).items():
        consumer.seek(partition, offset)


async def _start_offsets(
    consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition], start: Start
) -> dict[TopicPartition, int]:
    if start.from_beginning:
        return dict(await consumer.beginning_offsets(partitions))
    ends: dict[TopicPartition, int] = dict(await consumer.end_offsets(partitions))
    if start.since is None:
        return ends
    moment = int(start.since.timestamp() * 1000)
    found = await consumer.offsets_for_times(dict.fromkeys(partitions, moment))
    # No record since then on a partition: start at its end.
    return {tp: ends[tp] if found[tp] is None else found[tp].offset for tp in partitions}


def decode(
    record: Any, model: type[_Event] | TypeAdapter[_Event], keys: SealedBusEvents | None = None
) -> _Event | ErasedEvent | None:
    """The event in `record` (opened with `keys` when sealed), the `ErasedEvent` a sealed one
    leaves once its case's key is destroyed, or None (logged with where it sits and why) when
    it is not one."""
    reason = None
    adapter = model if isinstance(model, TypeAdapter) else TypeAdapter(model)
    if record.value is None:
        reason = "no value"
    elif keys is None and is_sealed(record.value):
        reason = "sealed under its case's key (sealed mode): this reader was given no case keys"
    else:
        try:
            value = record.value if keys is None else keys.open(record.value)
            if isinstance(value, ErasedEvent):
                return value
            return adapter.validate_json(value)
        except ValidationError as error:
            reason = _why(error)
        except SealError as error:
            reason = f"sealed, and does not open: {error}"
    log.warning(
        "skipped a record that is not an event of its topic",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        reason=reason,
    )
    return None


def _why(error: ValidationError) -> str:
    # Where and what kind of error only: pydantic's messages quote the input, which may be
    # case content.
    problems = [
        f"{'.'.join(str(part) for part in problem['loc']) or '(record)'}: {problem['type']}"
        for problem in error.errors(include_url=False, include_input=False)[:3]
    ]
    return "; ".join(problems)


class Seen:
    """The ids met so far (the most recent `capacity` of them)."""

    def __init__(self, capacity: int = _REMEMBERED) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def first(self, event_id: str) -> bool:
        """True the first time `event_id` is met, False for a repeat."""
        if event_id in self._ids:
            self._ids.move_to_end(event_id)
            return False
        self._ids[event_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True
