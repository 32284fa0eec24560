"""The case-picture service against the real broker: its store holds what the pure fold makes
of the same events, and a SIGKILL in the middle of a replay neither loses nor doubles any."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import Engine

from mappa_bus.adapters.publisher import publish_all
from mappa_bus.agencies import Agency
from mappa_bus.case.fold import apply
from mappa_bus.case.model import CasePicture
from mappa_bus.catalogue import Envelope, EventData, to_wire
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.police import ShpoMade
from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import read_to_end
from mappa_bus.picture.api import create_app
from mappa_bus.picture.service import catch_up, open_projection, rebuild
from mappa_bus.picture.store import PROJECTION, load_pictures
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.offsets import load_offsets
from mappa_bus.topics import agency_topic, dead_letter_topic
from mappa_bus.web.identity import DevelopmentHeaders
from tests.area_year import small_area_year
from tests.keys import headers_of
from tests.stores import applied, unrecorded

pytestmark = pytest.mark.kafka

MAPPA = Path(sys.executable).with_name("mappa")


def _in_memory(stream: list[Envelope[EventData]], recorded: Any) -> dict[str, CasePicture]:
    pictures: dict[str, CasePicture] = {}
    for event in stream:
        pictures[event.case_id] = apply(pictures.get(event.case_id), event, recorded)
    return pictures


async def test_the_store_holds_what_the_fold_makes_of_a_simulated_year(
    kafka_as: Callable[[str], KafkaConnection], namespace: str, tmp_path: Path
) -> None:
    """Published by each agency and consumed as the picture role, a simulated area-year gives
    every case the picture the pure fold gives when handed the same events in another order."""
    stream = small_area_year()
    started = time.time()
    await publish_all(lambda agency: kafka_as(agency.value), stream, namespace=namespace)
    projection = open_projection(f"sqlite:///{tmp_path / 'pictures.db'}", namespace)
    applied = await catch_up(kafka_as("picture"), projection)

    expected = _in_memory(list(reversed(stream)), recorded=stream[0].time)
    stored = open_projection(f"sqlite:///{tmp_path / 'pictures.db'}", namespace).stored_pictures()
    served = await _served(projection.engine, sorted(expected))
    assert applied == len(stream)
    assert stored.keys() == expected.keys()
    assert all(unrecorded(stored[case]) == unrecorded(expected[case]) for case in expected)
    assert all(
        unrecorded(CasePicture.model_validate(served[case])) == unrecorded(expected[case])
        for case in expected
    )
    # What only the log knows: every event reached the bus during this test.
    recorded = [entry.recorded_at.timestamp() for p in stored.values() for entry in p.timeline]
    assert len(recorded) == len(stream)
    assert started - 1 <= min(recorded) <= max(recorded) <= time.time() + 1


async def _served(engine: Engine, cases: list[str]) -> dict[str, dict[str, Any]]:
    """Every case as the API gives it to the police, who see the whole record."""
    headers = {
        "X-Mappa-User": "t.tester",
        "X-Mappa-Role": "police",
        "X-Mappa-Reason": "checking the API",
    }
    transport = httpx.ASGITransport(app=create_app(engine, DevelopmentHeaders()))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        served = {}
        for case in cases:
            response = await client.get(f"/cases/{case}", headers=headers)
            assert response.status_code == 200, response.text
            view = response.json()
            # What only a view says (who reads, what is held back) is not the picture's.
            view_only = ("role", "withheld", "own_actions_only")
            served[case] = {k: v for k, v in view.items() if k not in view_only}
    return served


async def test_resent_events_change_nothing_bad_ones_are_dead_lettered_and_rebuild_agrees(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
) -> None:
    """Part of the year sent twice, and two bad records among it: every good event is on its
    case's timeline once, the bad ones are on the dead-letter topic with the picture service's
    name and their reasons (again on the rebuild's replay), and the rebuild from the start of
    the topics gives the same store."""
    stream = small_area_year()[:3_000]
    await publish_all(lambda agency: kafka_as(agency.value), stream, namespace=namespace)
    producer = AIOKafkaProducer(**kafka.aiokafka_options())
    await producer.start()
    try:
        topic = agency_topic(Agency.PROBATION, namespace)
        for value in (b"\x00not json", to_wire(example_event(ShpoMade))):
            await producer.send_and_wait(
                topic, value, key=stream[0].case_id.encode(), headers=headers_of(value)
            )
    finally:
        await producer.stop()
    await publish_all(lambda agency: kafka_as(agency.value), stream[:1_000], namespace=namespace)

    projection = open_projection(f"sqlite:///{tmp_path / 'pictures.db'}", namespace)
    applied = await catch_up(kafka_as("picture"), projection)
    first = projection.stored_pictures()
    rebuild(projection)
    await catch_up(kafka_as("picture"), projection)

    dead = [
        {name: value.decode() for name, value in record.headers}
        async for batch in read_to_end(kafka, [dead_letter_topic(namespace)])
        for record in batch
    ]
    on_timelines = [entry.event_id for p in first.values() for entry in p.timeline]
    assert applied == 3_000 + 2 + 1_000
    assert sorted(on_timelines) == sorted(event.id for event in stream)
    # Refused once by the first catch-up and once again by the rebuild's replay.
    assert sorted(d["mappa-rejection"] for d in dead) == ["not-json"] * 2 + ["wrong-publisher"] * 2
    assert {d["mappa-consumer"] for d in dead} == {"picture"}
    assert projection.stored_pictures() == first


def _service(env: dict[str, str], namespace: str, database_url: str, log: Path) -> Any:
    command = [str(MAPPA), "picture", "run", "--namespace", namespace, "--database", database_url]
    with log.open("a") as sink:
        return subprocess.Popen(command, env=env, stdout=sink, stderr=sink)


def _wait_for(predicate: Callable[[], bool], process: Any, log: Path) -> None:
    # Blocking on purpose: the service is another process, and nothing else runs meanwhile.
    deadline = time.monotonic() + 120
    while not predicate():
        assert process.poll() is None, f"the service stopped: {log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"no progress: {log.read_text()[-2000:]}"
        time.sleep(0.02)


async def test_sigkill_in_the_middle_of_a_replay_loses_and_doubles_nothing(
    service_env: dict[str, str],
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    database_url: str,
    tmp_path: Path,
) -> None:
    """The service, killed twice mid-replay without warning and started again each time,
    ends with the very store an uninterrupted catch-up makes."""
    stream = small_area_year()
    await publish_all(lambda agency: kafka_as(agency.value), stream, namespace=namespace)
    reference = open_projection(f"sqlite:///{tmp_path / 'reference.db'}", namespace)
    await catch_up(kafka_as("picture"), reference)

    env = service_env
    log = tmp_path / "service.log"
    killed_at: list[int] = []
    for share in (0.2, 0.6):
        process = _service(env, namespace, database_url, log)
        target = max(int(len(stream) * share), killed_at[-1] + 1 if killed_at else 1)
        _wait_for(lambda: applied(database_url) >= target, process, log)  # noqa: B023
        process.send_signal(signal.SIGKILL)
        process.wait()
        killed_at.append(applied(database_url))
    process = _service(env, namespace, database_url, log)
    _wait_for(lambda: applied(database_url) == len(stream), process, log)
    process.send_signal(signal.SIGKILL)
    process.wait()

    engine = open_engine(database_url)
    with engine.connect() as connection:
        pictures, offsets = load_pictures(connection), load_offsets(connection, PROJECTION)
    engine.dispose()
    assert all(0 < at < len(stream) for at in killed_at), killed_at
    assert offsets == reference.offsets
    assert pictures == reference.stored_pictures()
