"""Running the alerts service: for ever in its consumer group, with a clock for the time-driven
rules, or until it has caught up (a batch job, the demo, the tests).

Publication is an outbox: alerts are stored with the offsets that raised them, then published,
then marked published. A batch's alerts are sent as its commit stored them and marked in the
next batch's transaction (or, when none comes, `MARK_AFTER_SECONDS` later). A crash between
publishing and marking leaves alerts marked unpublished that may already be on the topic; on
start, before consuming, the service reads its topic back and marks those it finds, and sends
the rest, so that none is lost and none is published twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import date

import orjson
import structlog
from faststream import FastStream
from faststream.kafka import KafkaBroker, TopicPartition
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from mappa_bus.agencies import Agency
from mappa_bus.alerts.consumer import AlertProjection, Outgoing
from mappa_bus.alerts.model import AlertRaised, AlertWithdrawn
from mappa_bus.alerts.rules import ALL_RULES
from mappa_bus.alerts.store import mark_published, unpublished
from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import partitions_of, read_to_end
from mappa_bus.operations.http import flag_check
from mappa_bus.operations.metrics import count_alerts, declare_rules
from mappa_bus.principals import Role
from mappa_bus.projection import shell
from mappa_bus.projection.heap import HeapKeeper
from mappa_bus.projection.offsets import Position
from mappa_bus.projection.publish import publish_event
from mappa_bus.projection.sealed import RecordKeys, SealedBusEvents, bus_sealer
from mappa_bus.projection.shell import projection_service
from mappa_bus.projection.subscriber import consume_until_caught_up, register_projection
from mappa_bus.topics import NAMESPACE, agency_topic, alerts_topic

log = structlog.get_logger(__name__)

REVIEW_CHECK_SECONDS = 60.0
# How long sent alerts wait for a commit to mark them before they are marked on their own: a
# quiet moment, no batch behind them (under load the next batch's transaction marks them).
MARK_AFTER_SECONDS = 1.0
# Alerts sent at once, a share of a round at a time. A catch-up's last round holds every review
# that fell due over its history, tens of thousands nationally: sent all at once, those waiting
# longest for room in the producer's batches gave up (KafkaTimeoutError), failing a national
# catch-up at its very end (docs/benchmarks.md).
SENDS_AT_ONCE = 1_000


def open_projection(
    database_url: str, namespace: str = NAMESPACE, *, keyring: RecordKeys | None = None
) -> AlertProjection:
    """The alerts projection on its store, loaded (its pictures are folded again as it reads)."""
    return shell.open_projection(AlertProjection, database_url, namespace, keyring=keyring)


class Outbox:
    """Publishes stored alerts to the alerts topic, each once; in sealed mode (`sealer`) each
    sealed under its case's key (decision 0002), and an alert of a case whose key is destroyed
    not at all. `outgoing` is what it shares with the projection's commits: the alerts they
    stored, and those it sent for the next commit to mark."""

    def __init__(
        self,
        engine: Engine,
        namespace: str,
        sealer: SealedBusEvents | None = None,
        outgoing: Outgoing | None = None,
    ) -> None:
        self._engine = engine
        self._topic = alerts_topic(namespace)
        self._sealer = sealer
        self._outgoing = Outgoing() if outgoing is None else outgoing
        # The batch handler and the review clock both publish; one at a time, or both could
        # send the same pending alert.
        self._lock = asyncio.Lock()
        self._marking: asyncio.TimerHandle | None = None

    async def publish(self, broker: KafkaBroker) -> int:
        """Send every stored alert not yet sent; return how many. They are marked published
        by the next commit, or `MARK_AFTER_SECONDS` later (`mark_sent`)."""
        async with self._lock:
            pending = self._pending()
            if not pending:
                return 0
            try:
                # Alerts before withdrawals: a withdrawal of an alert sent in the same round
                # then follows it on its partition (both are keyed by area).
                for kind in (AlertRaised, AlertWithdrawn):
                    sending = [(e, self._value(e)) for e in pending if isinstance(e, kind)]
                    for start in range(0, len(sending), SENDS_AT_ONCE):
                        await asyncio.gather(
                            *(
                                publish_event(broker, e, self._topic, value=value)
                                for e, value in sending[start : start + SENDS_AT_ONCE]
                                if value is not None
                            )
                        )
            except BaseException:
                # Stored and maybe not sent: the next round reads back all the store holds.
                self._outgoing.complete = False
                raise
            self._outgoing.sent.update(alert.id for alert in pending)
            self._mark_later()
        count_alerts(alert.data.rule for alert in pending if isinstance(alert, AlertRaised))
        log.debug("alerts published", alerts=len(pending))
        return len(pending)

    def _pending(self) -> list[AlertRaised | AlertWithdrawn]:
        """What to send: what the commits stored since the last round, as they stored it; or,
        when that may not be all (`Outgoing.complete`), every alert the store has not marked,
        read back, but those sent already."""
        outgoing = self._outgoing
        if outgoing.complete:
            pending, outgoing.stored = outgoing.stored, []
            return pending
        with self._engine.connect() as connection:
            pending = [e for e in unpublished(connection) if e.id not in outgoing.sent]
        # What the commits stored was committed before this read: it is in it.
        outgoing.stored = []
        outgoing.complete = True
        return pending

    def mark_sent(self) -> int:
        """Mark published, in a transaction of their own, the alerts sent that no commit has
        marked yet; how many."""
        sent = sorted(self._outgoing.sent)
        if sent:
            with self._engine.begin() as connection:
                mark_published(connection, sent)
            self._outgoing.sent.difference_update(sent)
        return len(sent)

    def _mark_later(self) -> None:
        if self._marking is None:
            loop = asyncio.get_running_loop()
            self._marking = loop.call_later(MARK_AFTER_SECONDS, self._mark_late)

    def _mark_late(self) -> None:
        self._marking = None
        try:
            self.mark_sent()
        except SQLAlchemyError as error:
            # The store is out: the next commit marks them (a crash first: `recover`).
            log.warning("sent alerts not marked yet", error=type(error).__name__)

    def close(self) -> None:
        """Mark what was sent, now, and stop waiting to (the service is stopping)."""
        if self._marking is not None:
            self._marking.cancel()
            self._marking = None
        self.mark_sent()

    def _value(self, event: AlertRaised | AlertWithdrawn) -> bytes | None:
        """The record value of `event`: its JSON, or sealed in sealed mode; None for a case
        erased since it was stored (its key destroyed: the erasure, on its way to this service,
        deletes the row; until then it is marked sent, and never sent)."""
        return event.kafka_value() if self._sealer is None else self._sealer.seal(event)

    async def recover(self, connection: KafkaConnection) -> int:
        """Mark as published the pending alerts already on the topic (a crash came between
        sending and marking); return how many were found."""
        with self._engine.connect() as db:
            # Each pending alert by the id it has on the topic (sealed: not its own).
            pending = {self._wire_id(alert): alert.id for alert in unpublished(db)}
        if not pending:
            return 0
        found: set[str] = set()
        async for batch in read_to_end(connection, [self._topic]):
            found.update(_alert_id(record.value) for record in batch)
        there = sorted(alert_id for on_wire, alert_id in pending.items() if on_wire in found)
        with self._engine.begin() as db:
            mark_published(db, there)
        log.info("outbox recovered", pending=len(pending), already_published=len(there))
        return len(there)

    def _wire_id(self, event: AlertRaised | AlertWithdrawn) -> str | None:
        """The id `event` has on the topic: its own, or sealed, the one its case's key gives
        it (None once the key is destroyed: never sent, see `_value`)."""
        return event.id if self._sealer is None else self._sealer.wire_id(event)


def outbox_of(projection: AlertProjection) -> Outbox:
    """The outbox of `projection`'s store, sealing as the projection reads (sealed mode: the
    case keys it opens the sealed record with)."""
    return Outbox(
        projection.engine,
        projection.namespace,
        bus_sealer(projection.keyring),
        projection.outgoing,
    )


def _alert_id(value: bytes | None) -> str:
    try:
        return str(orjson.loads(value or b"{}").get("id", ""))
    except (orjson.JSONDecodeError, AttributeError):
        return ""  # not ours to judge here: readers skip what they cannot parse


async def catch_up(
    connection: KafkaConnection,
    projection: AlertProjection,
    *,
    today: Callable[[], date] | None = date.today,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Fold every record now on the agency topics, raise and publish what the rules find
    (and, given `today`, the reviews overdue then); return how many records there were."""
    outbox = outbox_of(projection)
    await outbox.recover(connection)

    async def publish_and_settle(broker: KafkaBroker) -> None:
        await outbox.publish(broker)
        # As the picture's catch-up does: without it, full collections over the cached cases
        # took a quarter of a catch-up's CPU (4.3 of 18 s for Kent's year).
        projection.heap.after_batch()

    async def finish(broker: KafkaBroker) -> None:
        if today is not None:
            projection.raise_overdue(today())
        await outbox.publish(broker)
        outbox.close()

    return await consume_until_caught_up(
        connection,
        projection,
        on_progress=on_progress,
        then=finish,
        after_commit=publish_and_settle,
    )


@contextlib.asynccontextmanager
async def running(connection: KafkaConnection, projection: AlertProjection) -> AsyncIterator[None]:
    """The service at work on every agency partition itself (no consumer group to join or
    leave) while the block runs: for the demo's live case and the latency benchmark."""
    outbox = outbox_of(projection)
    await outbox.recover(connection)
    topics = tuple(agency_topic(agency, projection.namespace) for agency in Agency)
    partitions = [
        TopicPartition(tp.topic, tp.partition) for tp in await partitions_of(connection, topics)
    ]
    broker = connection.broker(client_id="mappa-alerts", logger=None)
    register_projection(broker, projection, partitions=partitions, after_commit=outbox.publish)
    async with broker:
        await broker.start()
        yield
    outbox.close()


def alerts_app(
    connection: KafkaConnection,
    projection: AlertProjection,
    *,
    today: Callable[[], date] = date.today,
    review_check_seconds: float = REVIEW_CHECK_SECONDS,
    group_id: str | None = None,
    metrics_port: int = 0,
) -> FastStream:
    """The service as a FastStream application: one member of the alerts consumer group, with
    a clock that raises overdue reviews as time passes, and its operations endpoints on
    `metrics_port`."""
    outbox = outbox_of(projection)
    heap = projection.heap

    async def publish_and_settle(broker: KafkaBroker) -> None:
        await outbox.publish(broker)
        if projection.warm_over(held()):
            heap.settle()

    def held() -> list[Position]:
        return service.held()

    warm = flag_check(lambda: projection.warm_over(held()), "pictures cold")
    service = projection_service(
        connection,
        projection,
        Role.ALERTS,
        group_id=group_id,
        metrics_port=metrics_port,
        after_commit=publish_and_settle,
        checks={"pictures": warm},
    )
    app, broker = service.app, service.app.broker
    assert isinstance(broker, KafkaBroker)  # projection_service makes a Kafka one
    declare_rules(rule.name for rule in ALL_RULES)
    clock: dict[str, asyncio.Task[None]] = {}

    @app.on_startup
    async def recover() -> None:
        await outbox.recover(connection)

    @app.after_startup
    async def start_clock() -> None:
        await outbox.publish(broker)
        clock["task"] = asyncio.create_task(
            _watch_reviews(projection, outbox, broker, today, review_check_seconds, heap, held)
        )

    @app.on_shutdown
    async def stop_clock() -> None:
        if task := clock.get("task"):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        outbox.close()

    return app


async def _watch_reviews(
    projection: AlertProjection,
    outbox: Outbox,
    broker: KafkaBroker,
    today: Callable[[], date],
    every_seconds: float,
    heap: HeapKeeper,
    held: Callable[[], list[Position]],
) -> None:
    while True:
        await asyncio.sleep(every_seconds)
        if projection.raise_overdue(today(), held()):
            await outbox.publish(broker)
        heap.sweep_if_due()
