"""Consuming throughput: the case-picture and reporting catch-ups into fresh SQLite and
PostgreSQL stores, beside raw aiokafka reading the same records with no parsing, in one run.

    .venv/bin/python -m benchmarks.consume [--events 200000] [--runs 3]

Standalone, it publishes the first `--events` events of a simulated year into a namespace of its
own first; the suite consumes what its publishing benchmark published. Each run starts from an
empty store; the clock runs from the moment the consumer is connected (store loaded, broker
started) until every record is applied. Needs a running broker (deploy/kafka/kafka-local start);
PostgreSQL is deploy/postgres/pg-local on port 55460, started if need be (or
MAPPA_BENCH_POSTGRES_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from benchmarks.common import (
    Figure,
    Stopwatch,
    delete_namespaces,
    fresh_database,
    interleaved_rates,
    new_namespace,
    postgres_url,
    prepare_namespaces,
    print_table,
)
from benchmarks.workload import write_feeds
from mappa_bus.adapters.publisher import publish_all
from mappa_bus.agencies import Agency
from mappa_bus.cli_common import command_settings
from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import partitions_of
from mappa_bus.picture import service as picture_service
from mappa_bus.projection.offsets import Position
from mappa_bus.projection.progress import end_offsets, lag
from mappa_bus.reporting import service as reporting_service
from mappa_bus.settings import Settings
from mappa_bus.simulator.files import read_events
from mappa_bus.topics import agency_topic

BATCH = 2_000  # as many records a fetch as the projections' subscriber takes

Run = Callable[[int, Stopwatch], Awaitable[object]]


def agency_topics(namespace: str) -> list[str]:
    return [agency_topic(agency, namespace) for agency in Agency]


async def raw_consume(connection: KafkaConnection, namespace: str, watch: Stopwatch) -> int:
    """The ceiling: aiokafka reading every partition of the agency topics from its beginning
    to its end, the records' bytes untouched; return how many records."""
    partitions = await partitions_of(connection, tuple(agency_topics(namespace)))
    # Reset to the earliest offset, as the projections' subscriber does: an assignment starts
    # a reset at once, and a `seek_to_beginning` may lose the race to a reset to the latest.
    consumer = AIOKafkaConsumer(
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=BATCH,
        **connection.aiokafka_options(),
    )
    await consumer.start()
    count = 0
    try:
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        watch.start()
        consumer.assign(partitions)
        while remaining:
            fetched = await consumer.getmany(timeout_ms=100, max_records=BATCH)
            for tp, records in fetched.items():
                count += len(records)
                if records and records[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
        watch.stop()
    finally:
        await consumer.stop()
    return count


async def timed_catch_up(
    catch_up: Callable[[Callable[[int, int], None]], Awaitable[int]],
    projection: Any,
    ends: Mapping[Position, int],
    watch: Stopwatch,
) -> None:
    """Run a catch-up with the clock from its first progress report (the store is loaded and
    the broker started then) to the moment its stored offsets reach `ends`."""
    started: list[float] = []

    def on_progress(done: int, total: int) -> None:
        if not started:
            started.append(time.perf_counter())

    async def caught_up() -> float:
        while True:  # polled, as the catch-up itself polls, but more often
            if lag(ends, projection.offsets) == 0:
                return time.perf_counter()
            await asyncio.sleep(0.005)

    finished = asyncio.create_task(caught_up())
    await catch_up(on_progress)
    watch.seconds = await finished - started[0]


async def picture_catch_up(
    settings: Settings, namespace: str, url: str, ends: Mapping[Position, int], watch: Stopwatch
) -> None:
    """The case-picture service's catch-up (`mappa picture catch-up`) into the store at `url`."""
    projection = picture_service.open_projection(url, namespace)
    connection = settings.connection_for_role("picture")
    await timed_catch_up(
        lambda progress: picture_service.catch_up(connection, projection, on_progress=progress),
        projection,
        ends,
        watch,
    )
    projection.engine.dispose()


async def reporting_catch_up(
    settings: Settings, namespace: str, url: str, ends: Mapping[Position, int], watch: Stopwatch
) -> None:
    """The reporting consumer's catch-up (`mappa reporting catch-up`, without publishing the
    statistics afterwards) into the store at `url`."""
    projection = reporting_service.open_projection(url, namespace)
    connection = settings.connection_for_role("reporting")
    await timed_catch_up(
        lambda progress: reporting_service.catch_up(
            connection, projection, on_progress=progress, publish=False
        ),
        projection,
        ends,
        watch,
    )
    projection.engine.dispose()


Store = Callable[[], contextlib.AbstractContextManager[str]]


def sqlite_store(folder: Path) -> Store:
    counter = iter(range(1_000_000))

    @contextlib.contextmanager
    def fresh() -> Iterator[str]:
        yield f"sqlite:///{folder}/store-{next(counter)}.db"

    return fresh


def postgres_store(server: str) -> Store:
    return lambda: fresh_database(server)


PATHS = {
    "picture": picture_catch_up,
    "reporting": reporting_catch_up,
}


async def measure(
    settings: Settings, namespace: str, runs: int, postgres: str | None
) -> dict[str, float]:
    """Events per second of each path, the median of `runs` interleaved runs: `raw`, and
    `picture sqlite`, `picture postgresql`, `reporting sqlite`, `reporting postgresql`."""
    ends = await end_offsets(settings.connection(), agency_topics(namespace))
    events = sum(ends.values())
    with tempfile.TemporaryDirectory() as folder:
        stores: dict[str, Store] = {"sqlite": sqlite_store(Path(folder))}
        if postgres is not None:
            stores["postgresql"] = postgres_store(postgres)
        paths: dict[str, Run] = {"raw": _raw(settings, namespace)}
        for name, path in PATHS.items():
            for kind, store in stores.items():
                paths[f"{name} {kind}"] = _in_store(path, settings, namespace, store, ends)
        await raw_consume(settings.connection_for_role("picture"), namespace, Stopwatch())
        return await interleaved_rates(runs, events, paths)


def _raw(settings: Settings, namespace: str) -> Run:
    async def run(_run: int, watch: Stopwatch) -> None:
        await raw_consume(settings.connection_for_role("picture"), namespace, watch)

    return run


def _in_store(
    path: Callable[[Settings, str, str, Mapping[Position, int], Stopwatch], Awaitable[None]],
    settings: Settings,
    namespace: str,
    store: Store,
    ends: Mapping[Position, int],
) -> Run:
    async def run(_run: int, watch: Stopwatch) -> None:
        with store() as url:
            await path(settings, namespace, url, ends, watch)
        gc.collect()  # the finished run's store in memory goes before the next run's clock

    return run


async def publish_simulated(settings: Settings, events: int) -> str:
    """A fresh namespace holding the first `events` events of a simulated year."""
    namespace = new_namespace()
    admin = settings.connection()
    await prepare_namespaces(admin, [namespace])
    with tempfile.TemporaryDirectory() as folder:
        feeds = write_feeds(Path(folder), events)
        stream = (event for path in feeds.values() for event in read_events(path))
        await publish_all(admin, stream, namespace=namespace, system="bench")
    return namespace


async def main(events: int, runs: int) -> None:
    settings = command_settings()
    namespace = await publish_simulated(settings, events)
    try:
        rates = await measure(settings, namespace, runs, postgres_url())
    finally:
        await delete_namespaces(settings.connection(), [namespace])
    size = f"{events:,} events, 10 topics"
    print_table(
        f"Consuming a simulated year's events: median of {runs} runs against the real broker",
        [
            Figure(
                f"{name}" if name != "raw" else "raw aiokafka consume",
                size,
                rate,
                None if name == "raw" else rates["raw"],
            )
            for name, rate in rates.items()
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.runs))
