"""Coordinators receiving alerts from the real broker, as the `coordinator` principal: each
matching alert once (a duplicate and a bad record on the topic notwithstanding), through the
SDK and through `mappa alerts tail`."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from aiokafka import AIOKafkaProducer
from structlog.testing import capture_logs

from mappa_bus.alerts.model import AlertRaised
from mappa_bus.alerts.subscription import AlertFilter, follow, subscribe
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.vocabulary import Level
from mappa_bus.connection import KafkaConnection
from mappa_bus.topics import acknowledgements_topic, alerts_topic
from tests.unit.test_alert_subscription import make_ack, make_alert

pytestmark = pytest.mark.kafka

MAPPA = Path(sys.executable).with_name("mappa")
KENT_FROM_LEVEL_2 = AlertFilter(areas=frozenset({Area.KENT}), min_level=Level.TWO)
# Long enough for a fetch of anything still to come, from a broker on this machine.
QUIET_S = 3.0
T = TypeVar("T")

# Wanted: Kent at levels 3 and 2. Not wanted: Essex, and a Kent case at level 1.
WANTED = (make_alert("event-a"), make_alert("event-b", level=Level.TWO, case_id="case-2"))
UNWANTED = (
    make_alert("event-c", area=Area.ESSEX, case_id="case-3"),
    make_alert("event-d", level=Level.ONE, case_id="case-4"),
)


async def publish(
    connection: KafkaConnection,
    namespace: str,
    alerts: tuple[AlertRaised | bytes, ...],
    *,
    at: datetime | None = None,
) -> None:
    """Put `alerts` on the alerts topic as its producer does (keyed by area); bytes as given."""
    producer = AIOKafkaProducer(acks="all", **connection.aiokafka_options())
    await producer.start()
    try:
        for alert in alerts:
            value = alert if isinstance(alert, bytes) else alert.model_dump_json().encode()
            key = b"kent" if isinstance(alert, bytes) else alert.mappaarea.value.encode()
            timestamp = None if at is None else int(at.timestamp() * 1000)
            await producer.send_and_wait(
                alerts_topic(namespace), value, key=key, timestamp_ms=timestamp
            )
    finally:
        await producer.stop()


async def take(items: AsyncGenerator[T, None], count: int) -> list[T]:
    """The first `count` items, then a check that no more come for a while."""
    taken = [await asyncio.wait_for(anext(items), timeout=60) for _ in range(count)]
    try:
        extra = await asyncio.wait_for(anext(items), timeout=QUIET_S)
    except TimeoutError:
        return taken
    raise AssertionError(f"more than {count} came: {[*taken, extra]}")


async def test_subscribe_gives_each_matching_alert_once_and_skips_bad_records(
    kafka_as: Callable[[str], KafkaConnection], namespace: str
) -> None:
    """Two wanted, one of them twice, two not wanted, one not an alert at all."""
    first, second = WANTED
    on_topic = (first, b"\x00not json", *UNWANTED, first, second)
    await publish(kafka_as("alerts"), namespace, on_topic)

    alerts = subscribe(kafka_as("coordinator"), namespace, KENT_FROM_LEVEL_2, from_beginning=True)
    with capture_logs() as logs:
        async with aclosing(alerts):
            received = await take(alerts, 2)

    assert received == [first, second]
    [skipped] = [entry for entry in logs if entry["log_level"] == "warning"]
    assert skipped["topic"] == alerts_topic(namespace)
    assert skipped["offset"] == 1  # the second record of the Kent partition
    assert "json" in skipped["reason"]


async def test_a_start_time_leaves_out_what_came_before(
    kafka_as: Callable[[str], KafkaConnection], namespace: str
) -> None:
    """A page showing the last day starts from the first record the bus recorded since then,
    on every partition."""
    old, new = WANTED
    await publish(kafka_as("alerts"), namespace, (old,))
    await asyncio.sleep(0.01)  # the record times are in milliseconds: `since` falls between
    since = datetime.now(UTC)
    await publish(kafka_as("alerts"), namespace, (new,))

    alerts = subscribe(kafka_as("coordinator"), namespace, since=since)
    async with aclosing(alerts):
        assert await take(alerts, 1) == [new]


async def test_follow_gives_the_time_the_bus_recorded_not_the_time_claimed(
    kafka_as: Callable[[str], KafkaConnection], namespace: str
) -> None:
    """The alerts and acknowledgements topics stamp records on arrival: a producer's claimed
    timestamp, and an acknowledgement's own `time`, do not become the record time."""
    alert = make_alert()
    backdated = make_ack(alert, minutes=-60 * 24)
    before = datetime.now(UTC)
    await publish(kafka_as("alerts"), namespace, (alert,), at=before - timedelta(days=2))
    producer = AIOKafkaProducer(acks="all", **kafka_as("coordinator").aiokafka_options())
    await producer.start()
    try:
        claimed = int((before - timedelta(days=2)).timestamp() * 1000)
        await producer.send_and_wait(
            acknowledgements_topic(namespace),
            backdated.model_dump_json().encode(),
            key=b"kent",
            timestamp_ms=claimed,
        )
    finally:
        await producer.stop()

    items = follow(kafka_as("coordinator"), namespace, from_beginning=True)
    async with aclosing(items):
        received = await take(items, 2)

    assert {item.event.id for item in received} == {alert.id, backdated.id}
    for item in received:
        # The broker's clock, to the millisecond it keeps.
        assert item.recorded_at >= before - timedelta(milliseconds=1)


async def test_a_consumer_group_resumes_after_what_it_was_given(
    kafka_as: Callable[[str], KafkaConnection], namespace: str
) -> None:
    """A coordinator system stopped and started again is not given the same alerts again."""
    group = f"{namespace}-coordinator-kent-desk"
    coordinator = kafka_as("coordinator")
    first, second = WANTED
    await publish(kafka_as("alerts"), namespace, (first,))

    alerts = subscribe(coordinator, namespace, group_id=group, from_beginning=True)
    async with aclosing(alerts):
        assert await take(alerts, 1) == [first]
    await publish(kafka_as("alerts"), namespace, (second,))
    alerts = subscribe(coordinator, namespace, group_id=group, from_beginning=True)
    async with aclosing(alerts):
        assert await take(alerts, 1) == [second]


async def test_tail_prints_each_matching_alert_once_until_ctrl_c(
    kafka_as: Callable[[str], KafkaConnection],
    service_env: dict[str, str],
    namespace: str,
) -> None:
    """`mappa alerts tail --area Kent --min-level 2 --from-beginning`: first says what it waits
    for (on stderr), then a line per alert, with time, severity, area, rule, case and summary;
    Ctrl-C ends it cleanly."""
    first, second = WANTED
    await publish(kafka_as("alerts"), namespace, (first, b"{}", *UNWANTED, first, second))
    command = ["alerts", "tail", "--area", "Kent", "--min-level", "2", "--from-beginning"]
    process = await asyncio.create_subprocess_exec(
        str(MAPPA),
        *command,
        "--namespace",
        namespace,
        env={**service_env, "COLUMNS": "200"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        lines = await _lines(process, 2)
        with pytest.raises(TimeoutError):  # and no third
            await _lines(process, 1, wait_s=QUIET_S)
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    assert process.returncode == 0, err.decode()
    assert [line.split()[5] for line in lines] == ["case-1", "case-2"]
    assert all("URGENT" in line and "Kent" in line for line in lines)
    assert all("released-from-custody" in line and first.data.summary in line for line in lines)
    assert "stopped" in err.decode()
    assert (
        f"waiting for alerts from {alerts_topic(namespace)}; is `mappa alerts run` running?"
        in err.decode()
    )


async def _lines(process: asyncio.subprocess.Process, count: int, wait_s: float = 60) -> list[str]:
    assert process.stdout is not None
    return [
        (await asyncio.wait_for(process.stdout.readline(), wait_s)).decode() for _ in range(count)
    ]
