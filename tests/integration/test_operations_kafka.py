"""`mappa picture run` against the real broker, watched as an operator would: through /readyz
and /metrics; and stopped with SIGTERM in the middle of a replay, which it survives promptly,
at a batch boundary, with a store that agrees with its offsets."""

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
from prometheus_client.parser import text_string_to_metric_families

from mappa_bus.adapters.publisher import publish_all
from mappa_bus.agencies import Agency
from mappa_bus.connection import KafkaConnection
from mappa_bus.picture.service import catch_up, open_projection
from mappa_bus.picture.store import PROJECTION, load_pictures
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.offsets import load_offsets
from mappa_bus.topics import agency_topic
from tests.area_year import small_area_year
from tests.ports import free_port
from tests.stores import applied

pytestmark = pytest.mark.kafka

MAPPA = Path(sys.executable).with_name("mappa")
# Before the partitions were sought in one call, a member took about 30 s to leave its group
# on a new store; now it takes a fraction of a second (docs/operations.md).
PROMPT_EXIT_SECONDS = 15.0


def _service(env: dict[str, str], namespace: str, database_url: str, port: int, log: Path) -> Any:
    command = [str(MAPPA), "picture", "run", "--namespace", namespace, "--database", database_url]
    with log.open("a") as sink:
        return subprocess.Popen(
            [*command, "--metrics-port", str(port)], env=env, stdout=sink, stderr=sink
        )


def _wait_for(predicate: Callable[[], bool], process: Any, log: Path) -> None:
    # Blocking on purpose: the service is another process, and nothing else runs meanwhile.
    deadline = time.monotonic() + 120
    while not predicate():
        assert process.poll() is None, f"the service stopped: {log.read_text()[-2000:]}"
        assert time.monotonic() < deadline, f"no progress: {log.read_text()[-2000:]}"
        time.sleep(0.05)


def _stop(process: Any) -> tuple[int, float]:
    """SIGTERM, then how the process ended and how long it took."""
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    return code, time.monotonic() - sent


def _get(port: int, path: str) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)
    except httpx.TransportError:
        return None  # not serving yet


def _samples(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = _get(port, "/metrics")
    if response is None:
        return {}
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _metric(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _ready(port: int) -> bool:
    response = _get(port, "/readyz")
    return response is not None and response.status_code == 200


async def test_readyz_and_metrics_show_what_the_service_applied_and_refused(
    service_env: dict[str, str],
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
) -> None:
    """A few events and one bad record: ready once it consumes; the events applied, the record
    dead-lettered as not JSON, every one consumed, no lag left; SIGTERM ends it at once."""
    sent = small_area_year()[:40]
    await publish_all(lambda agency: kafka_as(agency.value), sent, namespace=namespace)
    producer = AIOKafkaProducer(**kafka.aiokafka_options())
    await producer.start()
    try:
        topic = agency_topic(Agency.PROBATION, namespace)
        await producer.send_and_wait(topic, b"\x00not json", key=sent[0].case_id.encode())
    finally:
        await producer.stop()

    port, log = free_port(), tmp_path / "service.log"
    database_url = f"sqlite:///{tmp_path / 'pictures.db'}"
    process = _service(service_env, namespace, database_url, port, log)
    try:
        _wait_for(lambda: _ready(port), process, log)

        def counted() -> bool:
            samples = _samples(port)
            return _metric(samples, "mappa_events_consumed_total", projection="picture") >= 41

        _wait_for(counted, process, log)
        samples = _samples(port)
    finally:
        code, seconds = _stop(process)

    assert _metric(samples, "mappa_events_consumed_total", projection="picture") == 41
    assert _metric(samples, "mappa_events_applied_total", projection="picture") == 40
    dead = {"projection": "picture", "rejection": "not-json"}
    assert _metric(samples, "mappa_events_dead_lettered_total", **dead) == 1
    assert _metric(samples, "mappa_batch_seconds_count", projection="picture") >= 1
    lags = [value for (name, _), value in samples.items() if name == "mappa_consumer_lag"]
    assert lags, "no lag reported"
    assert set(lags) == {0.0}
    # Only topic names, partitions and kinds of rejection label the series: no case id.
    labels = " ".join(str(key) for key in samples)
    assert all(event.case_id not in labels for event in sent)
    assert code == 0, log.read_text()[-2000:]
    assert seconds < PROMPT_EXIT_SECONDS


async def test_sigterm_mid_replay_commits_a_whole_batch_and_exits_promptly(
    service_env: dict[str, str],
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
) -> None:
    """SIGTERM a third of the way through an area's year: the process exits 0 within bounds,
    its store holds exactly the events its offsets say (a batch boundary, nothing half-done),
    and a later catch-up applies precisely the rest."""
    year = small_area_year()
    await publish_all(lambda agency: kafka_as(agency.value), year, namespace=namespace)
    port, log = free_port(), tmp_path / "service.log"
    database_url = f"sqlite:///{tmp_path / 'pictures.db'}"
    process = _service(service_env, namespace, database_url, port, log)
    try:
        _wait_for(lambda: applied(database_url) >= len(year) // 3, process, log)
    finally:
        code, seconds = _stop(process)

    stopped_at, on_timelines = _stored(database_url)
    assert code == 0, log.read_text()[-2000:]
    assert seconds < PROMPT_EXIT_SECONDS, f"{seconds:.1f} s to exit"
    assert "shut down gracefully" in log.read_text()
    assert 0 < stopped_at < len(year)
    assert on_timelines == stopped_at

    projection = open_projection(database_url, namespace)
    rest = await catch_up(kafka_as("picture"), projection)
    assert rest == len(year) - stopped_at
    assert _stored(database_url) == (len(year), len(year))


def _stored(database_url: str) -> tuple[int, int]:
    """How many records the store's offsets count, and how many events its pictures hold."""
    engine = open_engine(database_url)
    with engine.connect() as connection:
        offsets = load_offsets(connection, PROJECTION)
        pictures = load_pictures(connection)
    engine.dispose()
    return sum(offsets.values()), sum(len(picture.timeline) for picture in pictures.values())
