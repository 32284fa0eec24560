"""The reporting consumer against the real broker: exact, restart-safe, and replayable."""

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from mappa_bus.adapters.publisher import publish_all
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, Envelope, EventData, to_wire
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.police import ShpoMade
from mappa_bus.catalogue.probation import MappaLevelSet
from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import read_to_end
from mappa_bus.reporting.count import count_year
from mappa_bus.reporting.national import national
from mappa_bus.reporting.partnership import combine
from mappa_bus.reporting.population import SHIPPED_POPULATIONS
from mappa_bus.reporting.publication import StatisticsPublished
from mappa_bus.reporting.queries import statistics_for
from mappa_bus.reporting.service import catch_up, open_projection
from mappa_bus.reporting.tables import kent_2020_21
from mappa_bus.simulator.options import ALL_AREAS, SimulationOptions
from mappa_bus.simulator.run import events, intended, simulate
from mappa_bus.topics import agency_topic, dead_letter_topic, statistics_topic
from tests.area_year import kent_year
from tests.keys import headers_of

pytestmark = pytest.mark.kafka

YEAR = date(2020, 4, 1)


def _kent() -> list[Envelope[EventData]]:
    return kent_year()


def _json(database: str, namespace: str) -> str:
    projection = open_projection(database, namespace)
    counted = count_year(projection.cases, YEAR, SHIPPED_POPULATIONS)
    return json.dumps({area.value: s.model_dump(mode="json") for area, s in counted.items()})


async def test_the_consumer_counts_kent_2020_21_and_a_restart_changes_nothing(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
) -> None:
    """Published in two halves with a restart between (and the second half sent twice), the
    Kent year counts to the seed report's tables, byte-identical to an uninterrupted replay."""
    kent = _kent()
    half = len(kent) // 2
    interrupted = f"sqlite:///{tmp_path / 'interrupted.db'}"
    replayed = f"sqlite:///{tmp_path / 'replayed.db'}"
    by_agency = lambda agency: kafka_as(agency.value)  # noqa: E731 - one line, used twice

    await publish_all(by_agency, kent[:half], namespace=namespace)
    first = await catch_up(kafka_as("reporting"), open_projection(interrupted, namespace))
    await publish_all(by_agency, kent[half:] + kent[half:], namespace=namespace)
    second = await catch_up(kafka_as("reporting"), open_projection(interrupted, namespace))
    again = await catch_up(kafka_as("reporting"), open_projection(interrupted, namespace))
    whole = await catch_up(kafka_as("reporting"), open_projection(replayed, namespace))

    restarted = open_projection(interrupted, namespace)
    counted = count_year(restarted.cases, YEAR, SHIPPED_POPULATIONS)
    counts = combine(restarted.partnership.values())
    shared = sum(tally.events_shared for tally in counts.values())
    published = [
        StatisticsPublished.model_validate_json(record.value)
        async for batch in read_to_end(kafka, [statistics_topic(namespace)])
        for record in batch
    ]
    for_kent = [e for e in published if (e.subject, e.data.year_start) == ("kent", YEAR)]
    assert counted[Area.KENT] == kent_2020_21()
    # Every event counted once in the partnership indicators, though half were sent twice.
    assert shared == len(kent) == len(restarted.seen)
    # The first half ends before 2020-21 has any event, so each store published Kent 2020-21
    # once, complete (revision 1, hence one event id), and the idle restart published nothing.
    assert [e.revision for e in for_kent] == [1, 1]
    assert for_kent[0].data == for_kent[1].data == kent_2020_21()
    assert for_kent[0].id == for_kent[1].id
    assert (first, second, again, whole) == (half, 2 * (len(kent) - half), 0, 2 * len(kent) - half)
    assert _json(interrupted, namespace) == _json(replayed, namespace)


async def test_a_bad_record_is_dead_lettered_and_the_partition_keeps_flowing(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    database_url: str,
) -> None:
    """Non-JSON bytes and a police event on probation's topic go to the dead-letter topic with
    their reasons; the good event after them on the same partition is applied, and the store
    (SQLite and PostgreSQL alike) holds exactly what the consumer holds."""
    topic = agency_topic(Agency.PROBATION, namespace)
    good = example_event(MappaLevelSet)
    producer = AIOKafkaProducer(**kafka.aiokafka_options())
    await producer.start()
    try:
        for value in (b"\x00not json", to_wire(example_event(ShpoMade)), to_wire(good)):
            await producer.send_and_wait(
                topic, value, key=good.case_id.encode(), headers=headers_of(value)
            )
    finally:
        await producer.stop()

    projection = open_projection(database_url, namespace)
    applied = await catch_up(kafka_as("reporting"), projection)

    consumer = AIOKafkaConsumer(
        dead_letter_topic(namespace), auto_offset_reset="earliest", **kafka.aiokafka_options()
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=10_000)
    finally:
        await consumer.stop()
    reasons = sorted(
        dict(record.headers)["mappa-rejection"].decode()
        for part in batches.values()
        for record in part
    )
    assert (applied, reasons) == (3, ["not-json", "wrong-publisher"])
    assert [fact.event_id for fact in projection.cases[good.case_id]] == [good.id]
    reloaded = open_projection(database_url, namespace)
    assert (reloaded.cases, reloaded.offsets) == (projection.cases, projection.offsets)


async def test_a_national_year_through_the_broker_reports_the_simulators_truth(
    kafka_as: Callable[[str], KafkaConnection], namespace: str, tmp_path: Path
) -> None:
    """All 42 areas (at 2% of their size) published and consumed: every area's report is the
    simulator's own truth, and England and Wales is the sum of the areas."""
    options = SimulationOptions(areas=ALL_AREAS, scale=0.02, seed=3)
    published = [event for item in simulate(options) for event in events(item, options.seed)]
    await publish_all(lambda agency: kafka_as(agency.value), published, namespace=namespace)

    projection = open_projection(f"sqlite:///{tmp_path / 'national.db'}", namespace)
    await catch_up(kafka_as("reporting"), projection, publish=False)

    counted = count_year(projection.cases, YEAR, options.populations)
    truth = {area: s for area, s in intended(options).items() if area in counted}
    everyone = statistics_for(projection.cases, None, 2020, options.populations)
    assert len(counted) == 42
    assert counted == truth
    assert everyone == national(counted.values(), options.populations)
