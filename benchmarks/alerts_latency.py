"""Publish-to-alert latency under a steady load of agency events, beside raw aiokafka's
produce-to-consume latency at the same rate, in one run.

    .venv/bin/python -m benchmarks.alerts_latency [--rate 1000] [--seconds 15]
        [--mappa ../other-checkout/.venv/bin/mappa]

Needs a running broker (deploy/kafka/kafka-local start). The alerts service runs as its own
process (`mappa alerts run`, one member of its consumer group, SQLite store), as deployed; this
process publishes through the SDK as probation and listens as a coordinator would, with the SDK.
Half the events raise an alert (a recall), half do not (a level 1 meeting-free level set), so
the service also folds work that alerts nobody.

`--mappa` runs another checkout's service (the code before a change, in its own virtual
environment) against this run's benchmark. The table's caption gives the service's CPU seconds
and peak RSS over the measured load and the load average before and after it: the machine is
shared, and a loaded one lengthens every turn.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console
from rich.table import Table

from benchmarks.common import high_water_mark, machine, mappa_command
from mappa_bus.adapters.producer_settings import PRODUCER_OPTIONS
from mappa_bus.adapters.publisher import AgencyPublisher
from mappa_bus.agencies import Agency
from mappa_bus.alerts.model import AlertRaised
from mappa_bus.alerts.subscription import follow
from mappa_bus.catalogue import Area, Envelope, EventData, Level, make_event, to_wire
from mappa_bus.catalogue.probation import LevelReason, MappaLevelSet, RecallIssued
from mappa_bus.cli_common import command_settings
from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_admin import ensure_acls, ensure_topics
from mappa_bus.log_reader import partitions_of
from mappa_bus.principals import acl_bindings
from mappa_bus.settings import Settings
from mappa_bus.topics import TopicSpec, bus_topic_specs

TICK_SECONDS = 0.01  # events go out in small bursts this far apart: a steady rate, not a flood


def events(count: int, run: str) -> list[Envelope[EventData]]:
    """Probation events for distinct cases: every other one a recall, which always alerts."""
    now = datetime.now(UTC)
    made: list[Envelope[EventData]] = []
    for n in range(count):
        data: EventData
        if n % 2:
            data = RecallIssued(issued_on=now.date(), recall_type="standard")
        else:
            data = MappaLevelSet(set_on=now.date(), level=Level.ONE, reason=LevelReason.REVIEW)
        made.append(
            make_event(
                data,
                case_id=f"BEN-{run}-{n:06d}",
                area=Area.KENT,
                time=now - timedelta(minutes=1),
                system="bench",
                event_id=f"{run}-{n}",
            )
        )
    return made


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def paced(count: int, rate: int) -> AsyncIterator[int]:
    """Indices 0..count-1, released at `rate` per second in bursts every TICK_SECONDS."""
    started = time.perf_counter()
    for n in range(count):
        due = started + n / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(max(wait, TICK_SECONDS) if n % 10 == 0 else wait)
        yield n


async def raw_latencies(
    connection: KafkaConnection, topic: str, values: list[bytes], rate: int
) -> list[float]:
    """The ceiling: aiokafka producing the same bytes at the same rate, consumed at once."""
    partitions = await partitions_of(connection, (topic,))
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **connection.aiokafka_options())
    producer = AIOKafkaProducer(**PRODUCER_OPTIONS, **connection.aiokafka_options())
    await consumer.start()
    await producer.start()
    sent: dict[int, float] = {}
    latencies: list[float] = []
    try:
        consumer.assign(partitions)
        for partition, offset in (await consumer.end_offsets(partitions)).items():
            consumer.seek(partition, offset)

        async def receive() -> None:
            while len(latencies) < len(values):
                for batch in (await consumer.getmany(timeout_ms=5)).values():
                    now = time.perf_counter()
                    latencies.extend((now - sent[int(r.key)]) * 1000 for r in batch)

        receiving = asyncio.create_task(receive())
        async for n in paced(len(values), rate):
            sent[n] = time.perf_counter()
            await producer.send(topic, values[n], key=str(n).encode())
        await asyncio.wait_for(receiving, 60)
    finally:
        await producer.stop()
        await consumer.stop()
    return latencies


def free_port() -> int:
    """A port nothing listens on now (for the service's metrics: the default may be taken)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def alerts_service(
    namespace: str, database: str, mappa: str | None = None, metrics_port: int = 0
) -> Iterator[subprocess.Popen[bytes]]:
    """`mappa alerts run` as its own process (`mappa`: another checkout's), for the duration
    of the block."""
    arguments = ["alerts", "run", "--namespace", namespace, "--database", database]
    arguments += ["--metrics-port", str(metrics_port)]
    command = mappa_command(*arguments) if mappa is None else [mappa, *arguments]
    env = {**os.environ, "MAPPA_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        # Killed, not terminated: a member leaving its group by SIGTERM takes FastStream about
        # 30 s, and this namespace's group is never used again.
        process.kill()
        process.wait()


@dataclass(frozen=True)
class Legs:
    """Where each alert's time went, in milliseconds, by the wall clock and the broker's
    append timestamps (whole milliseconds): the event's send to its append on the agency
    topic; its append to the alert being raised (the service's poll and fold); the alert raised
    to its append on the alerts topic (the store's commit and the outbox's send); its append to
    the coordinator's SDK handing it over (the reader's fetch)."""

    appended: list[float]
    raised: list[float]
    published: list[float]
    received: list[float]


async def alert_latencies(
    settings: Settings, namespace: str, stream: list[Envelope[EventData]], rate: int
) -> tuple[list[float], Legs]:
    """Publish `stream` at `rate` through the SDK; the latency of every alert, from the send
    of its triggering event to its arrival at a coordinator's reader, and its legs."""
    expected = sum(1 for event in stream if isinstance(event.data, RecallIssued))
    sent: dict[str, tuple[float, float]] = {}
    latencies: list[float] = []
    legs = Legs([], [], [], [])
    coordinator = settings.connection_for_role("coordinator")

    async def listen() -> None:
        # `follow`, the SDK reader `subscribe` is made of, for the alert record's append time.
        alerts = follow(coordinator, namespace)
        async with contextlib.aclosing(alerts):
            async for item in alerts:
                alert = item.event
                if not isinstance(alert, AlertRaised):
                    continue  # a withdrawal: none is sent here
                trigger = alert.data.trigger_event_id
                if trigger in sent:
                    at, wall = sent[trigger]
                    now, now_wall = time.perf_counter(), time.time()
                    latencies.append((now - at) * 1000)
                    appended = alert.data.recorded_at
                    if appended is not None:
                        legs.appended.append((appended.timestamp() - wall) * 1000)
                        legs.raised.append((alert.time - appended).total_seconds() * 1000)
                    legs.published.append((item.recorded_at - alert.time).total_seconds() * 1000)
                    legs.received.append((now_wall - item.recorded_at.timestamp()) * 1000)
                if len(latencies) >= expected:
                    return

    listening = asyncio.create_task(listen())
    await asyncio.sleep(2)  # the subscription is at the topic's end before anything is sent
    probation = settings.connection_for_role(Agency.PROBATION.value)
    async with AgencyPublisher(
        probation, Agency.PROBATION, system="bench", namespace=namespace
    ) as sender:
        async for n in paced(len(stream), rate):
            sent[stream[n].id] = (time.perf_counter(), time.time())
            await sender.send(stream[n])
        await sender.flush()
    await asyncio.wait_for(listening, 120)
    return latencies, legs


async def wait_until_serving(settings: Settings, namespace: str) -> None:
    """Publish one recall until its alert comes back: the service has joined its group."""
    probe = events(2, f"probe{uuid.uuid4().hex[:6]}")[1:]
    for _ in range(60):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(alert_latencies(settings, namespace, probe, 10), 5)
            return
        probe = events(2, f"probe{uuid.uuid4().hex[:6]}")[1:]
    raise RuntimeError("the alerts service never raised the probe's alert")


def batches(metrics_port: int) -> tuple[int, float]:
    """How many batches the service has folded and committed, and the seconds that took (its
    `mappa_batch_seconds` histogram: the fold, the dead letters and the commit, not the
    outbox's send)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as page:
        text = page.read().decode()
    found = {"count": 0.0, "sum": 0.0}
    for line in text.splitlines():
        for what in found:
            if line.startswith(f"mappa_batch_seconds_{what}{{") and 'projection="alerts"' in line:
                found[what] = float(line.rsplit(" ", 1)[1])
    return int(found["count"]), found["sum"]


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system, every thread) process `pid` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are the 14th and 15th fields; the split starts at the 3rd.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Service:
    """What the alerts service used while the load ran, and the machine's load around it."""

    cpu_seconds: float
    peak_rss_bytes: int
    load_before: float
    load_after: float
    batches: int
    batch_seconds: float

    def __str__(self) -> str:
        per_batch = max(self.batches, 1)
        return (
            f"service: {self.cpu_seconds:.1f} CPU s over the load, peak RSS "
            f"{self.peak_rss_bytes / 2**20:.0f} MiB; {self.batches:,} batches, "
            f"{1000 * self.cpu_seconds / per_batch:.1f} CPU ms a batch, fold and commit "
            f"{1000 * self.batch_seconds / per_batch:.1f} ms a batch; load average (1 min) "
            f"{self.load_before:.2f} before, {self.load_after:.2f} after"
        )


@dataclass(frozen=True)
class Latencies:
    """Milliseconds, one per record (raw) and one per alert."""

    raw: list[float]
    alerted: list[float]
    legs: Legs
    namespace: str
    service: Service | None = None


async def measure(rate: int, seconds: int, *, mappa: str | None = None) -> Latencies:
    """Raw produce-to-consume, then publish-to-alert, each at `rate` for `seconds` (the service
    run by `mappa`: another checkout's; by default this one's)."""
    settings = command_settings()
    admin = settings.connection()
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    raw_topic = TopicSpec(f"{namespace}.raw", 6, "bench: raw produce-to-consume")
    await ensure_topics(admin, [*bus_topic_specs(namespace), raw_topic])
    await ensure_acls(admin, acl_bindings(namespace))
    # New partitions' leaders reach every metadata cache a moment after creation; producing
    # at once measures NotLeader retries, not latency.
    await asyncio.sleep(3)
    stream = events(rate * seconds, "run")
    values = [to_wire(e) for e in stream]
    # The inputs live for the whole run: keep the collector from walking them (as the service
    # does with its own state), or this process's pauses would be measured as the bus's.
    gc.collect()
    gc.freeze()
    port = free_port()
    try:
        await raw_latencies(admin, raw_topic.name, values[:rate], rate)  # warm-up, not counted
        raw = await raw_latencies(admin, raw_topic.name, values, rate)
        with (
            tempfile.TemporaryDirectory() as folder,
            alerts_service(namespace, f"sqlite:///{folder}/alerts.db", mappa, port) as process,
        ):
            await wait_until_serving(settings, namespace)
            load_before, cpu_before = os.getloadavg()[0], cpu_seconds(process.pid)
            batches_before = batches(port)
            alerted, legs = await alert_latencies(settings, namespace, stream, rate)
            batches_after = batches(port)
            service = Service(
                cpu_seconds(process.pid) - cpu_before,
                high_water_mark(Path(f"/proc/{process.pid}/status")),
                load_before,
                os.getloadavg()[0],
                batches_after[0] - batches_before[0],
                batches_after[1] - batches_before[1],
            )
    finally:
        gc.unfreeze()
    return Latencies(raw, alerted, legs, namespace, service)


async def main(rate: int, seconds: int, mappa: str | None) -> None:
    latencies = await measure(rate, seconds, mappa=mappa)
    raw, alerted = latencies.raw, latencies.alerted
    caption = f"{machine()}\n{latencies.service}"
    table = Table(title=f"Latency at {rate:,} events/s for {seconds} s", caption=caption)
    for column in ("what", "measured", "p50 ms", "p99 ms", "max ms"):
        table.add_column(column)
    table.add_row("raw aiokafka produce -> consume (ceiling)", f"{len(raw):,} records", *_ms(raw))
    table.add_row(
        "agency event published -> coordinator receives its alert",
        f"{len(alerted):,} alerts",
        *_ms(alerted),
    )
    legs = latencies.legs
    for what, values in (
        ("  leg: event sent -> appended to its agency topic", legs.appended),
        ("  leg: event appended -> alert raised (poll, fold)", legs.raised),
        ("  leg: alert raised -> appended to the alerts topic (commit, outbox)", legs.published),
        ("  leg: alert appended -> received by the SDK reader", legs.received),
    ):
        table.add_row(what, f"{len(values):,} alerts", *_ms(values))
    Console().print(table)


def _ms(values: list[float]) -> tuple[str, str, str]:
    return (
        f"{statistics.median(values):.1f}",
        f"{percentile(values, 0.99):.1f}",
        f"{max(values):.1f}",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=1000, help="agency events per second")
    parser.add_argument("--seconds", type=int, default=15, help="how long the load lasts")
    parser.add_argument(
        "--mappa", default=None, help="another checkout's `mappa`, to run its service instead"
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rate, arguments.seconds, arguments.mappa))
