"""Poison messages on an agency topic, against the real broker: every subscriber service
dead-letters each with its reason and carries on with the good events behind them on the same
partition; a replayed duplicate is applied once (it is not bad input, so it is not refused)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from mappa_bus.alerts.store import all_raised
from mappa_bus.catalogue import Area, Rejection, to_wire
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.police import ShpoMade
from mappa_bus.catalogue.probation import MappaLevelSet, RecallIssued
from mappa_bus.connection import KafkaConnection
from mappa_bus.topics import agency_topic
from tests.every_consumer import catch_up_every_consumer
from tests.keys import headers_of, kafka_headers

pytestmark = pytest.mark.kafka

POISON = {
    Rejection.NOT_JSON: "b'\\x00\\xff not json'",
    Rejection.INVALID_DATA: "a level of 7",
    Rejection.UNKNOWN_TYPE: "an event type nobody publishes",
    Rejection.WRONG_PUBLISHER: "a police event on probation's topic",
    Rejection.OVERSIZED: "100 KiB of JSON",
    Rejection.UNSIGNED: "a good event without a signature",
    Rejection.BAD_SIGNATURE: "an event whose bytes were changed after signing",
    Rejection.WRONG_AREA: "a London event signed with the Kent key",
}


Produced = tuple[bytes, list[tuple[str, bytes]]]


def _records(case_id: str) -> tuple[list[Produced], list[str]]:
    """The poison, then good events (one of them twice), each with its headers; and the good
    events' ids."""
    level = example_event(MappaLevelSet).model_copy(update={"subject": case_id})
    recall = example_event(RecallIssued).model_copy(update={"subject": case_id})
    valid = json.loads(to_wire(level))
    invalid = {**valid, "id": "poison-level-7", "data": {**valid["data"], "level": 7}}
    unknown = {**valid, "id": "poison-unknown", "type": "uk.gov.mappa.probation.no-such.v1"}
    police = example_event(ShpoMade).model_copy(update={"subject": case_id})
    oversized = {**valid, "id": "poison-big", "padding": "x" * 100_000}
    unsigned = to_wire(level.model_copy(update={"id": "poison-unsigned"}))
    altered = to_wire(level.model_copy(update={"id": "poison-altered"}))
    london = level.model_copy(update={"id": "poison-london", "mappaarea": Area.LONDON})
    poison = [
        (b"\x00\xff not json", []),
        *((json.dumps(value).encode(), []) for value in (invalid, unknown)),
        (to_wire(police), headers_of(to_wire(police))),
        (json.dumps(oversized).encode(), []),
        (unsigned, []),
        (altered.replace(b"poison-altered", b"poison-alterex"), headers_of(altered)),
        (to_wire(london), kafka_headers(to_wire(london), level)),
    ]
    good = [to_wire(level), to_wire(level), to_wire(recall)]
    return [*poison, *((value, headers_of(value)) for value in good)], [level.id, recall.id]


async def test_each_service_dead_letters_the_poison_and_applies_the_rest(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
) -> None:
    """Each poison record, signature faults included, is dead-lettered once by every consumer
    with its own reason, and the good events behind it are applied."""
    case_id = "KEN-2021-POISON1"
    values, good = _records(case_id)
    producer = AIOKafkaProducer(max_request_size=2**20, **kafka.aiokafka_options())
    await producer.start()
    try:
        for value, headers in values:
            topic = agency_topic(MappaLevelSet.PUBLISHER, namespace)
            await producer.send_and_wait(topic, value, key=case_id.encode(), headers=headers)
    finally:
        await producer.stop()

    consumed = await catch_up_every_consumer(
        kafka, kafka_as, namespace, f"sqlite:///{tmp_path / 'store.db'}"
    )
    letters = consumed.letters
    refused = Counter((d["mappa-consumer"], d["mappa-rejection"]) for d in letters)
    timeline = [entry.event_id for entry in consumed.pictures.stored_pictures()[case_id].timeline]
    assert refused == Counter(
        {
            (consumer, kind.value): 1
            for consumer in ("picture", "reporting", "alerts")
            for kind in POISON
        }
    )
    assert all(d["mappa-reason"] and d["mappa-source"].startswith(namespace) for d in letters)
    # Behind the poison on the same partition: both good events, the duplicate once.
    assert sorted(timeline) == sorted(good)
    # A recall is not counted.
    assert [fact.event_id for fact in consumed.facts.cases[case_id]] == [good[0]]
    with consumed.raised.engine.connect() as connection:
        assert [alert.data.rule for alert in all_raised(connection)] == ["recalled"]
