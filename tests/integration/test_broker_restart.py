"""A broker restart in the middle of the work: agencies keep publishing and the case-picture
service keeps consuming while the broker stops and starts again; every event the publishers
report as accepted is in the final store exactly once, and nothing is reported unsent."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from mappa_bus.adapters.publisher import AgencyPublisher, PublishSummary
from mappa_bus.agencies import Agency
from mappa_bus.case.fold import apply
from mappa_bus.case.model import CasePicture
from mappa_bus.catalogue import Envelope, EventData
from mappa_bus.connection import KafkaConnection
from mappa_bus.credentials import read_credentials
from mappa_bus.kafka_admin import ensure_acls, ensure_topics
from mappa_bus.picture.store import load_pictures
from mappa_bus.principals import ADMIN, acl_bindings
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.progress import end_offsets
from mappa_bus.topics import agency_topic, bus_topic_specs
from tests.area_year import small_area_year
from tests.ports import free_port_pair
from tests.stores import applied, unrecorded

pytestmark = [pytest.mark.slow, pytest.mark.kafka]

KAFKA_LOCAL = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "kafka-local"
MAPPA = Path(sys.executable).with_name("mappa")
# A broker of this module's own, on ports free when the tests are collected.
PORT = free_port_pair()
BOOTSTRAP = f"127.0.0.1:{PORT}"
NAMESPACE = "restart"
CHUNK = 1_000
# The first part of an area's year: enough for the restart to fall mid-stream with thousands of
# events on either side of it; a whole year only made the test slower, not stronger.
STREAM_EVENTS = 12_000


def _kafka_local(command: str, data_dir: Path) -> None:
    env = {
        **os.environ,
        "KAFKA_PORT": str(PORT),
        "KAFKA_CONTROLLER_PORT": str(PORT + 1),
        "KAFKA_DATA_DIR": str(data_dir),
    }
    done = subprocess.run(
        [str(KAFKA_LOCAL), command], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


async def _publish_in_chunks(
    connect: Any, stream: list[Envelope[EventData]], third_out: asyncio.Event, url: str
) -> PublishSummary:
    """Long-lived publishers, one per agency as adapters run, sending a chunk at a time; after
    the first chunk they wait for the service to apply something, so the restart falls in the
    middle of its stream and not in its start-up (which on a loaded machine can outlast the
    whole stream)."""
    summary = PublishSummary()
    async with contextlib.AsyncExitStack() as stack:
        publishers = {
            agency: await stack.enter_async_context(
                AgencyPublisher(connect(agency), agency, system="restart", namespace=NAMESPACE)
            )
            for agency in {event.publisher for event in stream}
        }
        for start in range(0, len(stream), CHUNK):
            for event in stream[start : start + CHUNK]:
                await publishers[event.publisher].send(event)
            if start == 0:
                await _consuming(url)
            if start + CHUNK >= len(stream) // 3:
                third_out.set()
            await asyncio.sleep(0.2)
        for publisher in publishers.values():
            await publisher.flush()
            summary.add(publisher.summary)
    return summary


async def _consuming(url: str) -> None:
    deadline = time.monotonic() + 120
    while applied(url) == 0:
        assert time.monotonic() < deadline, "the service applied nothing in 120 s"
        await asyncio.sleep(0.2)


async def _restart_when(data_dir: Path, third_out: asyncio.Event) -> float:
    """Stop and start the broker once a third of the stream is out; how long it was down."""
    await third_out.wait()
    stopped = time.monotonic()
    await asyncio.to_thread(_kafka_local, "stop", data_dir)
    await asyncio.to_thread(_kafka_local, "start", data_dir)
    return time.monotonic() - stopped


def _start_service(url: str, data_dir: Path, log: Path) -> Any:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP,
        "MAPPA_KAFKA_CREDENTIALS": str(data_dir / "credentials.json"),
        "MAPPA_LOG_FORMAT": "json",
    }
    command = [str(MAPPA), "picture", "run", "--namespace", NAMESPACE, "--database", url]
    with log.open("w") as sink:
        return subprocess.Popen(command, env=env, stdout=sink, stderr=sink)


def _wait_for(url: str, total: int, service: Any, log: Path) -> None:
    deadline = time.monotonic() + 180
    while applied(url) < total:
        assert service.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)  # blocking on purpose: the service is another process


async def test_a_broker_restart_mid_stream_loses_and_doubles_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "kafka"
    _kafka_local("start", data_dir)
    credentials = read_credentials(data_dir / "credentials.json")
    admin = KafkaConnection(BOOTSTRAP).as_principal(ADMIN, credentials.password(ADMIN))

    def connect(agency: Agency) -> KafkaConnection:
        return admin.as_principal(agency.value, credentials.password(agency.value))

    service: Any = None
    try:
        await ensure_topics(admin, bus_topic_specs(NAMESPACE))
        await ensure_acls(admin, acl_bindings(NAMESPACE))
        stream = small_area_year()[:STREAM_EVENTS]
        url = f"sqlite:///{tmp_path / 'pictures.db'}"
        log = tmp_path / "service.log"
        service = _start_service(url, data_dir, log)

        third_out = asyncio.Event()
        summary, downtime = await asyncio.gather(
            _publish_in_chunks(connect, stream, third_out, url), _restart_when(data_dir, third_out)
        )
        topics = [agency_topic(agency, NAMESPACE) for agency in Agency]
        on_the_log = sum((await end_offsets(admin, topics)).values())
        _wait_for(url, on_the_log, service, log)
    finally:
        if service is not None:
            service.send_signal(signal.SIGKILL)
            service.wait()
        _kafka_local("stop", data_dir)

    engine = open_engine(url)
    with engine.connect() as connection:
        stored = load_pictures(connection)
    expected: dict[str, CasePicture] = {}
    for event in stream:
        expected[event.case_id] = apply(expected.get(event.case_id), event, event.time)
    assert downtime > 1
    assert summary.unsent == []
    assert summary.accepted == len(stream) <= on_the_log
    assert stored.keys() == expected.keys()
    assert all(unrecorded(stored[case]) == unrecorded(expected[case]) for case in expected)
