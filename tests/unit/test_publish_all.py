"""`publish_all` (the simulator's `--publish`, the demo, the benchmarks) against fake producers:
in bulk by default, one batch per partition for each agency's publisher, every event on its
agency's topic once and each case's in order, counted per batch; record by record when asked."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, ClassVar

import pytest
from aiokafka.errors import KafkaConnectionError

from mappa_bus.adapters import publisher as publisher_module
from mappa_bus.adapters.publisher import PublishSummary, publish_all
from mappa_bus.catalogue import Area, Envelope, EventData
from mappa_bus.connection import KafkaConnection
from mappa_bus.simulator.options import SimulationOptions
from mappa_bus.simulator.run import all_events
from mappa_bus.topics import NAMESPACE, agency_topic
from tests.keys import KEYRING
from tests.unit.test_feed_publish import FakeProducer

EVENTS: list[Envelope[EventData]] = list(
    all_events(SimulationOptions(areas=(Area.CUMBRIA,), scale=0.02, seed=4))
)


class RecordingProducer(FakeProducer):
    """A fake producer that is kept (one per agency's publisher) and counts the records sent
    one by one rather than in a batch."""

    made: ClassVar[list[RecordingProducer]] = []

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.alone = 0
        self.batch_ids: list[list[str]] = []
        RecordingProducer.made.append(self)

    async def send_batch(self, batch: Any, topic: str, *, partition: int) -> Any:
        before = len(self.records)
        answer = await super().send_batch(batch, topic, partition=partition)
        self.batch_ids.append([json.loads(r.value)["id"] for r in self.records[before:]])
        return answer

    async def send(self, *args: Any, **kwargs: Any) -> Any:
        self.alone += 1
        return await super().send(*args, **kwargs)


@pytest.fixture
def producers(monkeypatch: pytest.MonkeyPatch) -> list[RecordingProducer]:
    monkeypatch.setattr(RecordingProducer, "made", [])
    monkeypatch.setattr(publisher_module, "AIOKafkaProducer", RecordingProducer)
    return RecordingProducer.made


async def _publish(bulk: bool | None = None) -> PublishSummary:
    """Publish the run's events as the simulator does; with `bulk` only when it is given."""
    connection = KafkaConnection("127.0.0.1:9")
    if bulk is None:
        return await publish_all(connection, EVENTS, system="simulator", keyring=KEYRING)
    return await publish_all(connection, EVENTS, system="simulator", keyring=KEYRING, bulk=bulk)


def _sent(producers: list[RecordingProducer]) -> dict[tuple[str, str], list[str]]:
    """Each (topic, case)'s event ids in the order its producer was given them."""
    sent: dict[tuple[str, str], list[str]] = {}
    for producer in producers:
        for record in producer.records:
            case = (record.key or b"").decode()
            sent.setdefault((record.topic, case), []).append(json.loads(record.value)["id"])
    return sent


def _expected() -> dict[tuple[str, str], list[str]]:
    expected: dict[tuple[str, str], list[str]] = {}
    for event in EVENTS:
        topic = agency_topic(event.publisher, NAMESPACE)
        expected.setdefault((topic, event.case_id), []).append(event.id)
    return expected


async def test_by_default_every_agency_publishes_in_per_partition_batches(
    producers: list[RecordingProducer],
) -> None:
    """Every event reaches its agency's topic once, each case's in the order given, in
    batches (no record sent alone), and is counted as acknowledged for its agency."""
    summary = await _publish()

    by_agency = Counter(event.publisher for event in EVENTS)
    assert _expected() == _sent(producers)
    alone_and_batched = (0, True)
    assert alone_and_batched == (
        sum(producer.alone for producer in producers),
        all(producer.batches > 0 for producer in producers),
    )
    assert (len(EVENTS), dict(by_agency), []) == (
        summary.accepted,
        summary.by_agency,
        summary.unsent,
    )
    assert len(by_agency) == len(producers) > 3


async def test_record_by_record_when_asked(producers: list[RecordingProducer]) -> None:
    """With bulk=False each event goes to the producer on its own, and the same events land."""
    summary = await _publish(bulk=False)

    assert _expected() == _sent(producers)
    assert (len(EVENTS), 0) == (
        sum(producer.alone for producer in producers),
        sum(producer.batches for producer in producers),
    )
    assert len(EVENTS) == summary.accepted


async def test_daily_hands_each_days_events_over_before_the_next_days(
    producers: list[RecordingProducer],
) -> None:
    """With daily=True no batch holds events of two days (an event's day: the latest day of
    the events up to it), so the append times follow the history's days; the same events land."""
    connection = KafkaConnection("127.0.0.1:9")
    latest, published = 0, {}
    for event in EVENTS:
        latest = max(latest, event.time.toordinal())
        published[event.id] = latest

    await publish_all(connection, EVENTS, system="simulator", keyring=KEYRING, daily=True)

    days = [{published[i] for i in ids} for producer in producers for ids in producer.batch_ids]
    assert _expected() == _sent(producers)
    assert [batch for batch in days if len(batch) > 1] == []


async def test_batches_the_broker_refuses_name_every_event_unsent(
    producers: list[RecordingProducer], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When every batch's answer is an error, every event is named unsent with the reason and
    none is counted as published."""
    monkeypatch.setattr(FakeProducer, "failure", KafkaConnectionError("broker gone"))

    summary = await _publish()

    assert (0, sorted(event.id for event in EVENTS)) == (
        summary.accepted,
        sorted(unsent.event_id for unsent in summary.unsent),
    )
    assert {"KafkaConnectionError('broker gone')"} == {u.reason for u in summary.unsent}
