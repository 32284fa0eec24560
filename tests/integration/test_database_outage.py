"""A database outage under load: PostgreSQL stops while agencies publish and the case-picture
service consumes; the service backs off, keeps its offsets, and when the database returns it
catches up with nothing lost and nothing applied twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mappa_bus.adapters.publisher import publish_all
from mappa_bus.case.fold import apply
from mappa_bus.case.model import CasePicture
from mappa_bus.connection import KafkaConnection
from mappa_bus.picture.store import load_pictures
from mappa_bus.projection.database import open_engine
from tests.area_year import small_area_year
from tests.conftest import LocalPostgres
from tests.stores import applied, unrecorded

pytestmark = pytest.mark.kafka

MAPPA = Path(sys.executable).with_name("mappa")


def _pg(cluster: LocalPostgres, command: str) -> None:
    done = cluster.run(command)
    assert done.returncode == 0, done.stderr


def _wait(predicate: Callable[[], bool], service: Any, log: Path) -> None:
    deadline = time.monotonic() + 180
    while not predicate():
        assert service.poll() is None, log.read_text()[-2000:]
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)  # blocking on purpose: the service is another process


def _start(env: dict[str, str], namespace: str, url: str, log: Path) -> Any:
    command = [str(MAPPA), "picture", "run", "--namespace", namespace, "--database", url]
    with log.open("w") as sink:
        return subprocess.Popen(command, env=env, stdout=sink, stderr=sink)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_the_service_rides_out_a_database_outage(
    service_env: dict[str, str],
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    database_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if os.environ.get("MAPPA_TEST_POSTGRES_URL"):
        pytest.skip("stops the tests' own PostgreSQL cluster; this one is someone else's")
    local_postgres: LocalPostgres = request.getfixturevalue("local_postgres")
    year = small_area_year()
    half = len(year) // 2
    log = tmp_path / "service.log"
    await publish_all(lambda agency: kafka_as(agency.value), year[:half], namespace=namespace)
    service = _start(service_env, namespace, database_url, log)
    try:
        _wait(lambda: applied(database_url) >= half // 2, service, log)
        _pg(local_postgres, "stop")
        try:
            await publish_all(
                lambda agency: kafka_as(agency.value), year[half:], namespace=namespace
            )
            # Down until the service has backed off and tried again, alive: a second retry
            # is what shows it waits rather than failing once and stopping.
            _wait(lambda: log.read_text().count("store unavailable") >= 2, service, log)
        finally:
            _pg(local_postgres, "start")
        _wait(lambda: applied(database_url) == len(year), service, log)
    finally:
        service.send_signal(signal.SIGKILL)
        service.wait()

    engine = open_engine(database_url)
    with engine.connect() as connection:
        stored = load_pictures(connection)
    engine.dispose()
    expected: dict[str, CasePicture] = {}
    for event in year:
        expected[event.case_id] = apply(expected.get(event.case_id), event, event.time)
    retries = log.read_text().count("store unavailable")
    assert retries >= 2
    assert stored.keys() == expected.keys()
    assert all(unrecorded(stored[case]) == unrecorded(expected[case]) for case in expected)
