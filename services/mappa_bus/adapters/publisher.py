"""The Python SDK for agency systems: an `AgencyPublisher` that speaks for one agency only.

It validates each event against the catalogue, refuses events its agency may not publish,
fills the CloudEvents envelope, signs it with the agency's key for the event's area (refusing,
`wrong-area`, an area it holds no key for) and produces with the idempotent producer, keyed by
case id.
Publishing the same event id twice is harmless: subscribers ignore an id they have applied.
`withdraw` takes back one of the agency's own events; `correct` publishes the corrected event,
waits until the broker holds it, and only then withdraws the original, so no reader ever sees
the case with neither (a reader may see both for a moment, which the withdrawal then ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import TracebackType
from typing import Any, NamedTuple, Self

from aiokafka import AIOKafkaProducer

from mappa_bus.adapters.batches import BatchFailed, Full, PartitionBatches, SentBatch
from mappa_bus.adapters.producer_settings import PRODUCER_OPTIONS
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, Envelope, EventData, WireError, make_event
from mappa_bus.catalogue.wire import MAX_EVENT_BYTES, oversized, wrong_publisher
from mappa_bus.catalogue.withdrawal import WITHDRAWALS, WithdrawalReason
from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_codec import dead_letter, partition_of, to_record
from mappa_bus.settings import load_settings
from mappa_bus.signing import SIGNATURE_HEADER, Keyring
from mappa_bus.topics import DEAD_LETTER, NAMESPACE, agency_topic

# How many events may be in flight before the publisher waits for the broker: enough to fill
# several batches, bounded so a huge feed does not hold every pending event in memory.
_IN_FLIGHT = 20_000


@dataclass(frozen=True)
class Unsent:
    """An event (or dead letter) the broker never acknowledged, and why: the sender must send
    it again, so it is named rather than counted."""

    event_id: str
    reason: str


@dataclass
class PublishSummary:
    """What a publisher sent, as the broker acknowledged it: events accepted, inputs
    dead-lettered, and what could not be sent at all."""

    accepted: int = 0
    dead_lettered: int = 0
    by_agency: dict[Agency, int] = field(default_factory=dict)
    unsent: list[Unsent] = field(default_factory=list)

    def add(self, other: PublishSummary) -> None:
        """Fold another summary into this one."""
        self.accepted += other.accepted
        self.dead_lettered += other.dead_lettered
        self.unsent.extend(other.unsent)
        for agency, count in other.by_agency.items():
            self.by_agency[agency] = self.by_agency.get(agency, 0) + count


@dataclass(frozen=True)
class _Pending:
    future: asyncio.Future[Any]
    event_id: str
    dead_letter: bool = False


# An event's record: its id, topic, key, value and headers.
OutgoingFields = tuple[str, str, bytes, bytes, list[tuple[str, bytes]]]


class Outgoing(NamedTuple):
    """An event's record, checked and signed, as the producer takes it."""

    event_id: str
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def outgoing(
    event: Envelope[Any],
    agency: Agency,
    keyring: Keyring,
    namespace: str = NAMESPACE,
    wire: bytes | None = None,
) -> Outgoing:
    """`event`'s record as `agency`'s publisher sends it, signed with `keyring` (see `send`);
    WireError `wrong-publisher`, `oversized` or `wrong-area` when it may not go."""
    _check_publisher(event.data, agency)
    record = to_record(event, keyring, namespace, wire)
    if len(record.value) > MAX_EVENT_BYTES:
        raise oversized("(event)", len(record.value))
    headers = [(name, _header_value(name, value)) for name, value in record.headers.items()]
    return Outgoing(event.id, record.topic, record.key, record.value, headers)


def _check_publisher(data: EventData, agency: Agency) -> None:
    if data.PUBLISHER is not agency:
        raise wrong_publisher("type", agency, type(data))


def _header_value(name: str, value: str) -> bytes:
    # The content type and key name are the same on many records: one bytes object each,
    # which a feed's worker processes then hand over once a span (pickle keeps it once).
    return value.encode() if name == SIGNATURE_HEADER else _encoded(value)


@functools.lru_cache(maxsize=256)
def _encoded(value: str) -> bytes:
    return value.encode()


class NotSent(RuntimeError):
    """An event the broker did not acknowledge, where what follows depends on it."""


class AgencyPublisher:
    """Publishes events for one agency, on that agency's topic, and nothing else, each signed
    with the agency's key for its area from `keyring` (by default the file MAPPA_SIGNING_KEYS
    names, read now).

    Each event sent goes to the broker within the producer's linger (5 ms), as a system
    publishing as things happen wants. With `bulk`, for a sender of many events at once (a
    feed), events are gathered into one batch per partition, each handed to the producer when
    full or at `flush`, and acknowledged per batch (`adapters/batches.py`).
    """

    def __init__(
        self,
        connection: KafkaConnection,
        agency: Agency,
        *,
        system: str,
        namespace: str = NAMESPACE,
        dead_letter_topic: str = DEAD_LETTER.name,
        keyring: Keyring | None = None,
        bulk: bool = False,
    ) -> None:
        self.agency = agency
        # Only its own agency's keys: a key of another would sign records its topic refuses.
        held = keyring if keyring is not None else load_settings().signing_keyring()
        self.keyring = held.only([agency])
        self.system = system
        self.namespace = namespace
        self.dead_letter_topic = dead_letter_topic
        self.summary = PublishSummary()
        self._producer = AIOKafkaProducer(
            client_id=f"mappa-{agency.value}-{system}",
            **PRODUCER_OPTIONS,
            **connection.aiokafka_options(),
        )
        self._pending: list[_Pending] = []
        self._batches = PartitionBatches(self._producer) if bulk else None
        # Batches handed over, oldest first, and how many events they hold: their answers are
        # counted at `flush`, or as they come once more than `_IN_FLIGHT` events wait.
        self._sent: deque[SentBatch] = deque()
        self._in_flight = 0
        self._partitions = 0

    async def __aenter__(self) -> Self:
        await self._producer.start()
        try:
            # Learn the topics' partitions now: a missing or forbidden topic fails here, once,
            # rather than on the first event of a feed.
            topic = agency_topic(self.agency, self.namespace)
            self._partitions = len(await self._producer.partitions_for(topic))
        except BaseException:
            await self._producer.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                await self.flush()
            elif self._batches is not None:
                # As the producer, stopping, still sends what it was given: the batches still
                # filling are given to it too, not dropped (their answers go uncounted, as the
                # error leaves no summary to count them in).
                with contextlib.suppress(Exception):
                    await self._batches.hand_over_all()
        finally:
            await self._producer.stop()

    async def publish(
        self,
        data: EventData,
        *,
        case_id: str,
        area: Area,
        time: datetime,
        event_id: str | None = None,
    ) -> Envelope[EventData]:
        """Wrap `data` in its envelope and send it; returns the event as sent."""
        self.check_publisher(data)
        event: Envelope[EventData] = make_event(
            data, case_id=case_id, area=area, time=time, system=self.system, event_id=event_id
        )
        await self.send(event)
        return event

    async def withdraw(
        self,
        event_id: str,
        reason: WithdrawalReason,
        *,
        case_id: str,
        area: Area,
        time: datetime | None = None,
        corrected_by: str | None = None,
        withdrawal_id: str | None = None,
    ) -> Envelope[EventData]:
        """Withdraw this agency's event `event_id` about `case_id` (published for `area`, whose
        key signs the withdrawal); `time` is when it was withdrawn (now, by default). Readers
        refuse the withdrawal of another agency's event or of an event they do not hold."""
        moment = time or datetime.now(UTC)
        data = WITHDRAWALS[self.agency](
            withdrawn_event_id=event_id,
            reason=reason,
            withdrawn_on=moment.date(),
            corrected_by=corrected_by,
        )
        return await self.publish(
            data, case_id=case_id, area=area, time=moment, event_id=withdrawal_id
        )

    async def correct(
        self,
        original_id: str,
        new_data: EventData,
        *,
        case_id: str,
        area: Area,
        time: datetime,
        original_case_id: str | None = None,
        reason: WithdrawalReason = WithdrawalReason.SUPERSEDED,
        corrected_id: str | None = None,
        withdrawal_id: str | None = None,
    ) -> tuple[Envelope[EventData], Envelope[EventData]]:
        """Replace this agency's event `original_id` by `new_data` about `case_id` (which
        happened at `time`); the original was about `original_case_id` when that differs
        (`wrong-case`). Returns the corrected event and the withdrawal naming it.

        The corrected event goes first, and the withdrawal only once the broker has
        acknowledged it: so every reader has the corrected event before the original leaves,
        and a failure leaves the original in place rather than the case with neither (NotSent).
        """
        corrected = await self.publish(
            new_data, case_id=case_id, area=area, time=time, event_id=corrected_id
        )
        await self.flush()
        if any(unsent.event_id == corrected.id for unsent in self.summary.unsent):
            raise NotSent(f"corrected event {corrected.id} not acknowledged: nothing withdrawn")
        withdrawal = await self.withdraw(
            original_id,
            reason,
            case_id=original_case_id or case_id,
            area=area,
            corrected_by=corrected.id,
            withdrawal_id=withdrawal_id,
        )
        return corrected, withdrawal

    def check_publisher(self, data: EventData) -> None:
        """Refuse, before anything is sent, an event this agency may not publish."""
        _check_publisher(data, self.agency)

    async def send(self, event: Envelope[Any], *, wire: bytes | None = None) -> None:
        """Send an enveloped event of this agency; waits only when many are in flight. `wire`,
        when given, is the exact bytes the event was parsed from (a feed's CloudEvents line):
        they are sent and signed as they are. An event larger than subscribers accept, or of an
        area this publisher holds no key for, is refused here (WireError `oversized`,
        `wrong-area`), before the producer."""
        await self.send_all([outgoing(event, self.agency, self.keyring, self.namespace, wire)])

    async def send_all(self, records: Iterable[OutgoingFields]) -> None:
        """Send records `outgoing` made for this publisher's agency, keyring and namespace (a
        feed's spans of them, as columns zipped: `feed_workers.ReadySpan`), in order."""
        if self._batches is None:
            for event_id, topic, key, value, headers in records:
                future = await self._producer.send(topic, value, key=key, headers=headers)
                self._pending.append(_Pending(future, event_id))
                if len(self._pending) >= _IN_FLIGHT:
                    await self.flush()
            return
        batches, partitions = self._batches, self._partitions
        for event_id, topic, key, value, headers in records:
            # The partition murmur2 of the key gives, as the producer's own partitioner would
            # and every consumer checks.
            full = batches.append(
                topic, partition_of(key, partitions), key, value, headers, event_id
            )
            if full is not None:
                await self._hand_over(batches, full)

    async def _hand_over(self, batches: PartitionBatches, full: Full) -> None:
        """Hand a full batch to the producer; count the oldest answers once many wait."""
        try:
            sent = await batches.hand_over(full)
        except BatchFailed as failed:
            self._not_sent(failed.ids, failed.cause)
            raise failed.cause from None
        self._sent.append(sent)
        self._in_flight += len(sent.ids)
        while self._in_flight > _IN_FLIGHT:
            await self._count(self._sent.popleft())

    async def _count(self, batch: SentBatch) -> None:
        """Wait for the broker's answer to one batch and count it."""
        try:
            await batch.answer
        except Exception as error:
            self._not_sent(batch.ids, error)
        else:
            self._acknowledged(len(batch.ids))
        self._in_flight -= len(batch.ids)

    async def dead_letter(
        self,
        raw: bytes,
        error: WireError,
        *,
        origin: str,
        key: bytes | None = None,
        size: int | None = None,
    ) -> None:
        """Send a rejected input to the dead-letter topic with its reason and where it came
        from, so that nothing is dropped silently (an oversized one truncated: `size` is its
        whole size when `raw` is already only its start)."""
        letter = dead_letter(raw, error, origin, size=size, agency=self.agency.value)
        future = await self._producer.send(
            self.dead_letter_topic, letter.value, key=key, headers=letter.kafka_headers()
        )
        self._pending.append(_Pending(future, origin, dead_letter=True))

    async def flush(self) -> None:
        """Hand over every batch still filling, wait for the broker's answer to everything sent
        so far, and count it: acknowledged, or unsent with the reason (after the producer's own
        retries), never silently lost."""
        if self._batches is not None:
            handed, refused = await self._batches.hand_over_all()
            for failed in refused:
                self._not_sent(failed.ids, failed.cause)
            self._sent.extend(handed)
        batches, self._sent, self._in_flight = list(self._sent), deque(), 0
        answers = await asyncio.gather(*(b.answer for b in batches), return_exceptions=True)
        for batch, answer in zip(batches, answers, strict=True):
            if isinstance(answer, BaseException):
                self._not_sent(batch.ids, answer)
            else:
                self._acknowledged(len(batch.ids))
        pending, self._pending = self._pending, []
        outcomes = await asyncio.gather(*(p.future for p in pending), return_exceptions=True)
        for sent, outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                self.summary.unsent.append(Unsent(sent.event_id, repr(outcome)))
            elif sent.dead_letter:
                self.summary.dead_lettered += 1
            else:
                self._acknowledged(1)

    def _acknowledged(self, events: int) -> None:
        self.summary.accepted += events
        self.summary.by_agency[self.agency] = self.summary.by_agency.get(self.agency, 0) + events

    def _not_sent(self, ids: list[str], why: BaseException) -> None:
        self.summary.unsent.extend(Unsent(event_id, repr(why)) for event_id in ids)


ConnectionFor = Callable[[Agency], KafkaConnection]


async def publish_all(
    connection: KafkaConnection | ConnectionFor,
    events: Iterable[Envelope[EventData]],
    *,
    namespace: str = NAMESPACE,
    system: str = "feed",
    on_progress: Callable[[int], None] | None = None,
    keyring: Keyring | None = None,
    bulk: bool = True,
    daily: bool = False,
) -> PublishSummary:
    """Publish events of any agencies, each through a publisher of its own agency, signed with
    `keyring` (by default MAPPA_SIGNING_KEYS'): it must hold every area the events are about.

    `connection` may be one connection for all (a plaintext broker, or an administrator) or a
    function giving each agency's own principal, as the secured broker requires.

    In `bulk` (the default), as a feed is sent: one batch per partition, acknowledged per
    batch. Nothing here waits on one event before the next, and everything is flushed before
    the summary is returned, so batching costs no caller anything; `bulk=False` sends record
    by record, as a system publishing as things happen does.

    `daily`: every publisher hands over and waits for what it holds whenever an event's day is
    later than any before it, so the bus's append times follow the history's days, as a bus fed
    each day's events that day would have them (otherwise a batch of 512 KiB a partition goes
    when full, and the partitions' append times follow how fast each fills). An event of an
    earlier day than one already seen (an entering person's past) goes with the current day's.
    """
    connection_for = connection if callable(connection) else (lambda _agency: connection)
    keyring = keyring if keyring is not None else load_settings().signing_keyring()
    publishers: dict[Agency, AgencyPublisher] = {}
    summary = PublishSummary()
    latest: date | None = None
    try:
        for count, event in enumerate(events, start=1):
            day = event.time.date()
            if daily and latest is not None and day > latest:
                await asyncio.gather(*(publisher.flush() for publisher in publishers.values()))
            latest = day if latest is None else max(latest, day)
            agency = event.data.PUBLISHER
            if agency not in publishers:
                publishers[agency] = AgencyPublisher(
                    connection_for(agency),
                    agency,
                    system=system,
                    namespace=namespace,
                    keyring=keyring,
                    bulk=bulk,
                )
                await publishers[agency].__aenter__()
            await publishers[agency].send(event)
            if on_progress is not None and count % 1000 == 0:
                on_progress(count)
    finally:
        for publisher in publishers.values():
            await publisher.__aexit__(None, None, None)
            summary.add(publisher.summary)
    return summary
