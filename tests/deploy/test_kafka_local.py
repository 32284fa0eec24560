"""The local broker script: idempotent start, stop of its own broker, data kept across restarts,
secured by default with generated credentials."""

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area
from mappa_bus.connection import KafkaConnection
from mappa_bus.credentials import read_credentials
from mappa_bus.kafka_admin import ensure_topics
from mappa_bus.keyring import read_keyring
from mappa_bus.principals import ADMIN, PRINCIPALS
from mappa_bus.topics import TopicSpec
from tests.ports import free_port_pair

KAFKA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
KAFKA_LOCAL = KAFKA_DIR / "kafka-local"
# A broker of this module's own, on ports free when the tests are collected.
PORT = free_port_pair()
BOOTSTRAP = f"127.0.0.1:{PORT}"

pytestmark = pytest.mark.slow


def _run(command: str, data_dir: Path, security: str = "scram") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KAFKA_PORT": str(PORT),
        "KAFKA_CONTROLLER_PORT": str(PORT + 1),
        "KAFKA_DATA_DIR": str(data_dir),
        "KAFKA_SECURITY": security,
    }
    return subprocess.run(
        [str(KAFKA_LOCAL), command], env=env, capture_output=True, text=True, check=False
    )


def _ping(*options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(KAFKA_DIR / "kafka_ping.py"), "--port", str(PORT), *options],
        capture_output=True,
        text=True,
        check=False,
    )


def _admin(data_dir: Path) -> KafkaConnection:
    credentials = read_credentials(data_dir / "credentials.json")
    return KafkaConnection(BOOTSTRAP).as_principal(ADMIN, credentials.password(ADMIN))


async def _produce(connection: KafkaConnection, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(acks="all", **connection.aiokafka_options())
    await producer.start()
    try:
        await producer.send_and_wait(topic, value)
    finally:
        await producer.stop()


async def _consume_one(connection: KafkaConnection, topic: str) -> bytes:
    consumer = AIOKafkaConsumer(
        topic, auto_offset_reset="earliest", **connection.aiokafka_options()
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()
    value: bytes = record.value
    return value


def test_start_is_idempotent_stop_ends_it_and_a_restart_keeps_data(tmp_path: Path) -> None:
    """Start twice, stop, start again: the second start says so and the data (and the same
    credentials) survive."""
    try:
        first = _run("start", tmp_path)
        assert first.returncode == 0, first.stdout + first.stderr
        assert str(tmp_path / "broker.log") in first.stdout
        credentials = (tmp_path / "credentials.json").read_text()

        second = _run("start", tmp_path)
        assert (second.returncode, "already running" in second.stdout) == (0, True)
        assert _run("status", tmp_path).returncode == 0

        admin = _admin(tmp_path)
        asyncio.run(ensure_topics(admin, [TopicSpec("kept", 1, "test")]))
        asyncio.run(_produce(admin, "kept", b"still here"))

        assert _run("stop", tmp_path).returncode == 0
        assert _run("status", tmp_path).returncode == 3

        assert _run("start", tmp_path).returncode == 0
        assert asyncio.run(_consume_one(admin, "kept")) == b"still here"
        assert (tmp_path / "credentials.json").read_text() == credentials
    finally:
        _run("stop", tmp_path)
    assert _run("status", tmp_path).returncode == 3


def test_the_broker_is_secured_by_default_with_private_generated_credentials(
    tmp_path: Path,
) -> None:
    """A first start writes one random password per principal, and a signing key per agency
    and area, into files only their owner can read; the broker answers kafka_ping as admin
    (SCRAM), refuses a wrong password (exit 2) and says nothing to a client that does not
    authenticate (exit 1)."""
    try:
        started = _run("start", tmp_path)
        assert started.returncode == 0, started.stdout + started.stderr
        path = Path(_run("credentials", tmp_path).stdout.strip())
        document = json.loads(path.read_text())
        keyring_path = Path(_run("keyring", tmp_path).stdout.strip())
        wrong = tmp_path / "wrong.json"
        wrong.write_text(json.dumps({**document, "principals": {"admin": "not-it"}}))

        as_admin = _ping("--credentials", str(path))
        as_police = _ping("--credentials", str(path), "--principal", "police")
        refused = _ping("--credentials", str(wrong))
        anonymous = _ping()
    finally:
        _run("stop", tmp_path)

    assert path == tmp_path / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "server.properties").stat().st_mode) == 0o600
    assert (document["mechanism"], document["bootstrap"]) == ("SCRAM-SHA-256", BOOTSTRAP)
    assert tuple(document["principals"]) == PRINCIPALS
    assert len(set(document["principals"].values())) == len(PRINCIPALS)
    assert (as_admin.returncode, as_police.returncode) == (0, 0), as_admin.stderr
    assert (refused.returncode, "Kafka error 58" in refused.stderr) == (2, True)
    assert anonymous.returncode == 1
    assert keyring_path == tmp_path / "keyring.json"
    assert stat.S_IMODE(keyring_path.stat().st_mode) == 0o600
    assert len(read_keyring(keyring_path).keys) == len(Agency) * len(Area)


def test_a_data_dir_formatted_without_security_is_refused_until_reset(tmp_path: Path) -> None:
    """KAFKA_SECURITY=plaintext still runs the old unauthenticated broker; a secured start,
    while it runs or later on its data dir (no SCRAM users), is refused with what to do."""
    try:
        plain = _run("start", tmp_path, security="plaintext")
        assert plain.returncode == 0, plain.stdout + plain.stderr
        asyncio.run(ensure_topics(KafkaConnection(BOOTSTRAP), [TopicSpec("open", 1, "test")]))
        while_running = _run("start", tmp_path)
        assert _run("stop", tmp_path, security="plaintext").returncode == 0

        secured = _run("start", tmp_path)
        left = (_run("status", tmp_path).returncode, (tmp_path / "credentials.json").exists())

        assert _run("reset", tmp_path).returncode == 0
        fresh = _run("start", tmp_path)
    finally:
        _run("stop", tmp_path)

    assert while_running.returncode == 1
    assert "already running" in while_running.stderr
    assert "KAFKA_SECURITY=plaintext" in while_running.stderr
    assert secured.returncode == 1
    assert "formatted without security" in secured.stderr
    assert "reset" in secured.stderr
    assert "KAFKA_SECURITY=plaintext" in secured.stderr
    assert left == (3, False)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr


def test_stop_when_nothing_runs_says_so_and_succeeds(tmp_path: Path) -> None:
    """Stopping a broker that is not running is not an error, and touches nothing else."""
    result = _run("stop", tmp_path)

    assert (result.returncode, "not running" in result.stdout + result.stderr) == (0, True)


def test_brokers_started_at_once_on_a_fresh_cache_fetch_the_jars_once_and_both_run(
    tmp_path: Path,
) -> None:
    """Two brokers started together with an empty jar cache (two test workers on a fresh
    machine): one fetches the jars, the other waits for them instead of fetching again and
    replacing them under the first; both answer."""
    cache = tmp_path / "cache"
    ports = [free_port_pair()]
    while len(ports) < 2:
        # Each broker takes a pair (its controller the second port): the two pairs apart.
        if abs((port := free_port_pair()) - ports[0]) > 1:
            ports.append(port)
    data_dirs = [tmp_path / "one", tmp_path / "two"]

    def start(port: int, data_dir: Path) -> subprocess.Popen[str]:
        env = {
            **os.environ,
            "KAFKA_PORT": str(port),
            "KAFKA_CONTROLLER_PORT": str(port + 1),
            "KAFKA_DATA_DIR": str(data_dir),
            "KAFKA_CACHE_DIR": str(cache),
        }
        return subprocess.Popen(
            [str(KAFKA_LOCAL), "start"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def stop(port: int, data_dir: Path) -> None:
        env = {**os.environ, "KAFKA_PORT": str(port), "KAFKA_DATA_DIR": str(data_dir)}
        env |= {"KAFKA_CONTROLLER_PORT": str(port + 1), "KAFKA_CACHE_DIR": str(cache)}
        subprocess.run([str(KAFKA_LOCAL), "stop"], env=env, capture_output=True, check=False)

    try:
        starts = [start(port, data_dir) for port, data_dir in zip(ports, data_dirs, strict=True)]
        outputs = [process.communicate(timeout=600)[0] for process in starts]
        codes = [process.returncode for process in starts]
        ping = [sys.executable, str(KAFKA_DIR / "kafka_ping.py")]
        answered = [
            subprocess.run(
                [*ping, "--port", str(port), "--credentials", str(data_dir / "credentials.json")],
                capture_output=True,
                check=False,
            ).returncode
            for port, data_dir in zip(ports, data_dirs, strict=True)
        ]
    finally:
        for port, data_dir in zip(ports, data_dirs, strict=True):
            stop(port, data_dir)

    assert codes == [0, 0], outputs
    assert answered == [0, 0]
    assert sum("fetching Apache Kafka" in output for output in outputs) == 1, outputs
