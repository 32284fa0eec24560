"""Fixtures shared by every test: above all, a real Kafka broker.

The broker comes from, in this order: `KAFKA_BOOTSTRAP_SERVERS` when set; a testcontainers Kafka
when a Docker engine answers; else the project's own local broker (`deploy/kafka/kafka-local`),
started on test ports with its own data dir and stopped again if this session started it.
Under `CI=true` a broker that cannot be had fails the tests that need it; elsewhere it skips them.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from mappa_bus.connection import KafkaConnection

REPO = Path(__file__).resolve().parent.parent
KAFKA_LOCAL = REPO / "deploy" / "kafka" / "kafka-local"
# Test ports differ from the default 9092 so that the test suite never touches (or stops) a
# broker a developer is using for the demo.
TEST_KAFKA_PORT = int(os.environ.get("MAPPA_TEST_KAFKA_PORT", "19092"))


def _docker_engine_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:  # any failure to reach an engine means "no Docker here"
        return False
    return True


def _local_broker_env(port: int) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(port + 1),
    }


@pytest.fixture(scope="session")
def kafka(kafka_bootstrap: str) -> KafkaConnection:
    """A connection to the session's real Kafka broker, with full (administrative) rights."""
    return KafkaConnection(kafka_bootstrap)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The bootstrap address of a real Kafka broker for this test session."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    if _docker_engine_answers():
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    yield from _local_broker(TEST_KAFKA_PORT)


def _local_broker(port: int) -> Iterator[str]:
    env = _local_broker_env(port)
    already_running = (
        subprocess.run(
            [str(KAFKA_LOCAL), "status"], env=env, capture_output=True, check=False
        ).returncode
        == 0
    )
    started = subprocess.run(
        [str(KAFKA_LOCAL), "start"], env=env, capture_output=True, text=True, check=False
    )
    if started.returncode != 0:
        _no_broker(f"the local Kafka broker did not start:\n{started.stdout}\n{started.stderr}")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        if not already_running:
            subprocess.run([str(KAFKA_LOCAL), "stop"], env=env, capture_output=True, check=False)


def _no_broker(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def unique() -> str:
    """A suffix that keeps this test's topics and consumer groups apart from every other's."""
    return uuid.uuid4().hex[:12]


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    """Undo any logging configuration a test made, so the next one starts from defaults."""
    yield
    structlog.reset_defaults()
