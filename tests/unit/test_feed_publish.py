"""Publishing a feed through a bulk publisher, against a fake producer: a whole CloudEvents line
reaches the producer as its own bytes, signed over them, in per-partition batches, and every
consumer's check reads it back as the event the line holds."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaConnectionError
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch

from mappa_bus.adapters import feed_workers
from mappa_bus.adapters import publisher as publisher_module
from mappa_bus.adapters.feed_publish import FeedOutcome, publish_lines
from mappa_bus.adapters.publisher import AgencyPublisher
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, Rejection, parse_event, to_wire
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.police import ShpoMade
from mappa_bus.catalogue.probation import LicenceBreached, RecallIssued
from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_codec import partition_of
from mappa_bus.projection.subscriber import read_event
from mappa_bus.signing import KeyId, Keyring
from mappa_bus.topics import AGENCY_PARTITIONS, DEAD_LETTER, NAMESPACE, agency_topic
from tests.keys import KEYRING

# Small enough that a feed of a few dozen lines fills several batches of one partition.
_BATCH_BYTES = 4096


class FakeProducer:
    """Stands in for aiokafka's producer: builds batches as aiokafka does, keeps each record as
    it would reach the broker (read back out of the built batch) and answers at once, or with
    `failure` when one is set."""

    failure: Exception | None = None

    def __init__(self, **_options: Any) -> None:
        self.records: list[ConsumerRecord[bytes, bytes]] = []
        self.batches = 0

    async def start(self) -> None:
        """Nothing to connect to."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def partitions_for(self, _topic: str) -> set[int]:
        return set(range(AGENCY_PARTITIONS))

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(_BATCH_BYTES, 0)

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        self.batches += 1
        for record in DefaultRecordBatch(bytearray(batch._build())):
            self._keep(topic, partition, record.key, record.value, record.headers)
        return self._answer()

    async def send(
        self,
        topic: str,
        value: bytes,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        self._keep(topic, partition_of(key or b""), key, value, headers or [])
        return self._answer()

    def _keep(
        self,
        topic: str,
        partition: int,
        key: bytes | None,
        value: bytes,
        headers: list[tuple[str, bytes]],
    ) -> None:
        offset = len(self.records)
        self.records.append(
            ConsumerRecord(
                topic, partition, offset, 0, 1, key, value, None, 0, len(value), tuple(headers)
            )
        )

    def _answer(self) -> asyncio.Future[Any]:
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.failure is None:
            answer.set_result(None)
        else:
            answer.set_exception(self.failure)
        return answer


async def _publish(
    feed: Path, monkeypatch: pytest.MonkeyPatch, keyring: Keyring = KEYRING
) -> tuple[AgencyPublisher, Any]:
    """Publish `feed` as probation, through a bulk publisher on a fake producer."""
    _, sender, producer = await _published(feed, monkeypatch, keyring)
    return sender, producer


async def _published(
    feed: Path, monkeypatch: pytest.MonkeyPatch, keyring: Keyring = KEYRING, workers: int = 0
) -> tuple[FeedOutcome, AgencyPublisher, Any]:
    """`_publish`, read by `workers` processes (0: this one), with the feed's outcome."""
    monkeypatch.setattr(publisher_module, "AIOKafkaProducer", FakeProducer)
    sender = AgencyPublisher(
        KafkaConnection("127.0.0.1:9"), Agency.PROBATION, system="x", keyring=keyring, bulk=True
    )
    async with sender:
        outcome = await publish_lines(sender, feed, show_progress=False, workers=workers)
    return outcome, sender, sender._producer


def _recall(number: int) -> dict[str, Any]:
    """A probation recall of its own case and id, as the bus writes events, read as JSON."""
    event = example_event(RecallIssued).model_copy(
        update={"id": f"recall-{number}", "subject": f"KEN-2021-{number:06d}"}
    )
    record: dict[str, Any] = json.loads(to_wire(event))
    return record


async def test_a_cloudevents_line_reaches_the_producer_as_its_own_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines as the bus writes them, with spaces and keys in another order, with an extension
    attribute: each record's value is its line byte for byte (without the line ending)."""
    lines = [
        to_wire(example_event(LicenceBreached)),
        json.dumps(_recall(1), sort_keys=True, indent=None).encode(),
        json.dumps(
            {"traceparent": "00-0af7-b7ad-01", **_recall(2)}, separators=(" , ", " : ")
        ).encode(),
    ]
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\r\n".join(lines) + b"\r\n")

    sender, producer = await _publish(feed, monkeypatch)

    assert sorted(lines) == sorted(record.value for record in producer.records)
    assert (sender.summary.accepted, sender.summary.unsent) == (3, [])


async def test_every_consumer_reads_an_exact_bytes_line_back_as_the_lines_event(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The consumers' own check (`read_event`: topic, key = subject, murmur2 partition, the
    signature over the value) accepts every record, and the event it reads is the one the line
    holds, whatever the line's spacing and key order, equal to the event the bus would write."""
    canonical = [_recall(number) for number in range(40)]
    reordered = [
        json.dumps(dict(reversed(record.items())), indent=1).replace("\n", "")
        for record in canonical
    ]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(line + "\n" for line in reordered))

    _, producer = await _publish(feed, monkeypatch)

    read = {
        event.id: event for event in (read_event(r, NAMESPACE, KEYRING) for r in producer.records)
    }
    expected = {r["id"]: parse_event(json.dumps(r)) for r in canonical}
    assert expected == read
    assert {agency_topic(Agency.PROBATION)} == {record.topic for record in producer.records}


async def test_a_feed_goes_in_batches_and_is_counted_per_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixty events of six cases fill more than one batch per partition; each case's events
    reach its partition in the feed's order, and all sixty are counted as acknowledged."""
    records = [{**_recall(number % 6), "id": f"recall-{number}"} for number in range(60)]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps(record) + "\n" for record in records))

    sender, producer = await _publish(feed, monkeypatch)

    by_case: dict[bytes, list[str]] = {}
    for record in producer.records:
        by_case.setdefault(record.key, []).append(json.loads(record.value)["id"])
    expected = {
        f"KEN-2021-{case:06d}".encode(): [f"recall-{n}" for n in range(case, 60, 6)]
        for case in range(6)
    }
    assert expected == by_case
    assert producer.batches > len({partition_of(key) for key in by_case})
    assert (sender.summary.accepted, sender.summary.by_agency[Agency.PROBATION]) == (60, 60)


async def test_a_batch_the_broker_never_acknowledges_names_every_event_in_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the broker's answer to the batches is an error, every event is named as unsent
    with the reason, and none is counted as published."""
    monkeypatch.setattr(FakeProducer, "failure", KafkaConnectionError("broker gone"))
    records = [_recall(number) for number in range(30)]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(json.dumps(record) + "\n" for record in records))

    sender, _ = await _publish(feed, monkeypatch)

    assert sender.summary.accepted == 0
    assert sorted(r["id"] for r in records) == sorted(u.event_id for u in sender.summary.unsent)
    assert {"KafkaConnectionError('broker gone')"} == {u.reason for u in sender.summary.unsent}


async def test_a_flat_record_is_sent_as_the_event_the_bus_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flat record has no bytes of its own to send: its envelope is serialised, and read back
    by the consumers' check as the event the reader made."""
    flat = {
        "type": "recall-issued",
        "case_id": "KEN-2021-000009",
        "area": "kent",
        "time": "2021-01-13",
        "issued_on": "2021-01-13",
        "recall_type": "standard",
    }
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps(flat) + "\n")

    _, producer = await _publish(feed, monkeypatch)

    [record] = producer.records
    event = read_event(record, NAMESPACE, KEYRING)
    assert (to_wire(event), Area.KENT, "KEN-2021-000009") == (
        record.value,
        event.mappaarea,
        event.case_id,
    )


async def test_a_cloudevents_line_of_an_area_without_a_key_is_dead_lettered_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kent's probation key only: a Cumbria line, spaced as its system writes it, goes to the
    dead-letter topic as `wrong-area` with the line's own bytes, and the Kent line is sent."""
    kent = KeyId(Agency.PROBATION, Area.KENT)
    cumbria = json.dumps({**_recall(1), "mappaarea": "cumbria"}, indent=0).replace("\n", "")
    feed = tmp_path / "feed.jsonl"
    feed.write_text(f"{json.dumps(_recall(0))}\n{cumbria}\n")

    sender, producer = await _publish(feed, monkeypatch, Keyring({kent: KEYRING.keys[kent]}))

    [letter] = [record for record in producer.records if record.topic == DEAD_LETTER.name]
    assert (letter.value, dict(letter.headers)["mappa-rejection"]) == (
        cumbria.encode(),
        b"wrong-area",
    )
    assert sender.summary.accepted == 1


def _mixed_feed(path: Path) -> None:
    """A feed of every kind of line, in an order that runs them across spans: whole CloudEvents
    of twelve cases (a byte-order mark before the first), flat records, blank lines, junk, a
    line too long, another agency's event and a Cumbria event (of an area without a key)."""
    police = json.dumps(json.loads(to_wire(example_event(ShpoMade))))
    flat = {
        "type": "recall-issued",
        "area": "kent",
        "time": "2021-01-13",
        "issued_on": "2021-01-13",
        "recall_type": "standard",
    }
    lines: list[str] = []
    for number in range(120):
        lines.append(json.dumps({**_recall(number % 12), "id": f"recall-{number}"}))
        if number % 10 == 3:
            lines.append(json.dumps({**flat, "case_id": f"KEN-2021-{number:06d}"}))
        if number % 25 == 7:
            lines += ["", "not json", police, "{" + '"pad": "' + "p" * 70_000 + '"}']
        if number % 40 == 11:
            lines.append(json.dumps({**_recall(number), "mappaarea": "cumbria"}))
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\n")


def _sent(producer: Any) -> dict[tuple[str, int], list[tuple[Any, ...]]]:
    """What reached each partition, in order: every record's key, value and headers."""
    sent: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
    for record in producer.records:
        where = (record.topic, record.partition)
        sent.setdefault(where, []).append((record.key, record.value, record.headers))
    return sent


async def test_a_feed_read_by_worker_processes_sends_what_one_process_sends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cut into spans of 4 KiB and read by two worker processes, a feed of every kind of line
    reaches each partition as the same records in the same order as read in one process; the
    same lines are dead-lettered, numbered alike, with the same reasons."""
    monkeypatch.setattr(feed_workers, "SPAN_BYTES", 4096)
    feed = tmp_path / "feed.jsonl"
    _mixed_feed(feed)
    kent = KeyId(Agency.PROBATION, Area.KENT)
    keyring = Keyring({kent: KEYRING.keys[kent]})

    one, alone, here = await _published(feed, monkeypatch, keyring, workers=0)
    two, shared, there = await _published(feed, monkeypatch, keyring, workers=2)

    refused = [(r.line, r.error.kind, str(r.error)) for r in one.rejected]
    assert [(r.line, r.error.kind, str(r.error)) for r in two.rejected] == refused
    assert {kind for _, kind, _ in refused} == {
        Rejection.NOT_JSON,
        Rejection.OVERSIZED,
        Rejection.WRONG_PUBLISHER,
        Rejection.WRONG_AREA,
    }
    assert _sent(there) == _sent(here)
    assert (shared.summary.accepted, alone.summary.accepted) == (132, 132)
