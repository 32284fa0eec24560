"""The local broker script: idempotent start, stop of its own broker, data kept across restarts."""

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_admin import ensure_topics
from mappa_bus.topics import TopicSpec

KAFKA_LOCAL = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "kafka-local"
PORT = int(os.environ.get("MAPPA_TEST_SCRIPT_KAFKA_PORT", "29092"))

pytestmark = pytest.mark.slow


def _run(command: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KAFKA_PORT": str(PORT),
        "KAFKA_CONTROLLER_PORT": str(PORT + 1),
        "KAFKA_DATA_DIR": str(data_dir),
    }
    return subprocess.run(
        [str(KAFKA_LOCAL), command], env=env, capture_output=True, text=True, check=False
    )


async def _produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def _consume_one(bootstrap: str, topic: str) -> bytes:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()
    value: bytes = record.value
    return value


def test_start_is_idempotent_stop_ends_it_and_a_restart_keeps_data(tmp_path: Path) -> None:
    """Start twice, stop, start again: the second start says so and the data survives."""
    bootstrap = f"127.0.0.1:{PORT}"
    try:
        first = _run("start", tmp_path)
        assert first.returncode == 0, first.stdout + first.stderr
        assert str(tmp_path / "broker.log") in first.stdout

        second = _run("start", tmp_path)
        assert (second.returncode, "already running" in second.stdout) == (0, True)
        assert _run("status", tmp_path).returncode == 0

        asyncio.run(ensure_topics(KafkaConnection(bootstrap), [TopicSpec("kept", 1, "test")]))
        asyncio.run(_produce(bootstrap, "kept", b"still here"))

        assert _run("stop", tmp_path).returncode == 0
        assert _run("status", tmp_path).returncode == 3

        assert _run("start", tmp_path).returncode == 0
        assert asyncio.run(_consume_one(bootstrap, "kept")) == b"still here"
    finally:
        _run("stop", tmp_path)
    assert _run("status", tmp_path).returncode == 3


def test_stop_when_nothing_runs_says_so_and_succeeds(tmp_path: Path) -> None:
    """Stopping a broker that is not running is not an error, and touches nothing else."""
    result = _run("stop", tmp_path)

    assert (result.returncode, "not running" in result.stdout + result.stderr) == (0, True)
