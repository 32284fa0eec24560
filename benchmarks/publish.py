"""Publishing throughput: agency feeds through the SDK and the feed reader, beside raw aiokafka
producing the same records (bytes, keys and headers) with the same producer settings, in one
run: record by record (`send`, as the SDK does) and in per-partition batches (`send_batch`, as
the feed path does).

    .venv/bin/python -m benchmarks.publish [--events 100000] [--runs 3] [--form both]

`--form cloudevents`: the first N events of a simulated national year as each agency's JSON
Lines feed, one whole CloudEvent a line (what the suite, `benchmarks.suite`, publishes);
`--form flat`: probation's feed of flat records, which the reader must envelope. Needs a
running broker (deploy/kafka/kafka-local start); creates its own topics and deletes them after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import resource
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder

from benchmarks.common import (
    Figure,
    Stopwatch,
    delete_namespaces,
    interleaved_rates,
    new_namespace,
    prepare_namespaces,
    print_table,
)
from benchmarks.workload import write_feeds
from mappa_bus.adapters.feed_publish import publish_lines
from mappa_bus.adapters.feeds import Accepted, read_jsonl
from mappa_bus.adapters.producer_settings import PRODUCER_OPTIONS
from mappa_bus.adapters.publisher import AgencyPublisher
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Envelope, EventData, published_by
from mappa_bus.catalogue.examples import EXAMPLES
from mappa_bus.cli_common import command_settings
from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_codec import partition_of, to_record
from mappa_bus.settings import load_settings
from mappa_bus.topics import AGENCY_PARTITIONS, agency_topic, agency_topic_specs

AGENCY = Agency.PROBATION

Feeds = Mapping[Agency, Path]


def write_feed(path: Path, events: int) -> None:
    """A probation feed of flat records, cycling through probation's event types."""
    models = published_by(AGENCY)
    start = datetime(2020, 4, 1, 9, tzinfo=UTC)
    with path.open("w") as feed:
        for n in range(events):
            model = models[n % len(models)]
            data = EXAMPLES[model].model_dump(mode="json", exclude_none=True)
            record = {
                "type": model.NAME,
                "case_id": f"KEN-2020-{n % 2500:06d}",
                "area": "kent",
                "time": (start + timedelta(minutes=n)).isoformat(),
                **data,
            }
            feed.write(json.dumps(record) + "\n")


def read_events(path: Path, agency: Agency = AGENCY) -> list[Envelope[EventData]]:
    """The feed's events as the reader makes them (all lines are valid)."""
    with path.open("rb") as feed:
        results = list(read_jsonl(feed, agency, system="bench"))
    return [result.event for result in results if isinstance(result, Accepted)]


# The agency (its topic), key, value and headers (content type and signature) of a record.
RawRecord = tuple[Agency, bytes, bytes, list[tuple[str, bytes]]]


async def raw_produce(
    connection: KafkaConnection, namespace: str, records: list[RawRecord], watch: Stopwatch
) -> None:
    """A ceiling: aiokafka sending ready records one by one (`send`), nothing else."""
    producer = AIOKafkaProducer(**PRODUCER_OPTIONS, **connection.aiokafka_options())
    await producer.start()
    try:
        topics = {agency: agency_topic(agency, namespace) for agency, _, _, _ in records}
        for topic in topics.values():  # metadata outside the clock, as the SDK does
            await producer.partitions_for(topic)
        watch.start()
        futures = [
            await producer.send(topics[agency], value, key=key, headers=headers)
            for agency, key, value, headers in records
        ]
        await asyncio.gather(*futures)
        watch.stop()
    finally:
        await producer.stop()


async def raw_batches(
    connection: KafkaConnection, namespace: str, records: list[RawRecord], watch: Stopwatch
) -> None:
    """A ceiling: aiokafka sending ready records in one batch per partition (`create_batch`,
    `send_batch` when full), each on the partition murmur2 of its key gives, nothing else."""
    producer = AIOKafkaProducer(**PRODUCER_OPTIONS, **connection.aiokafka_options())
    await producer.start()
    try:
        topics = {agency: agency_topic(agency, namespace) for agency, _, _, _ in records}
        for topic in topics.values():
            await producer.partitions_for(topic)
        watch.start()
        filling: dict[tuple[str, int], BatchBuilder] = {}
        answers = []
        for agency, key, value, headers in records:
            where = (topics[agency], partition_of(key, AGENCY_PARTITIONS))
            batch = filling.get(where) or filling.setdefault(where, producer.create_batch())
            if batch.append(timestamp=None, key=key, value=value, headers=headers) is None:
                batch.close()
                answers.append(await producer.send_batch(batch, where[0], partition=where[1]))
                batch = filling[where] = producer.create_batch()
                batch.append(timestamp=None, key=key, value=value, headers=headers)
        for (topic, partition), batch in filling.items():
            batch.close()
            answers.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*answers)
        watch.stop()
    finally:
        await producer.stop()


async def sdk_publish(
    connection: KafkaConnection,
    namespace: str,
    events: Mapping[Agency, list[Envelope[EventData]]],
    watch: Stopwatch,
) -> None:
    """The SDK: envelope to wire, to record, to the producer (one publisher per agency)."""
    async with contextlib.AsyncExitStack() as stack:
        senders = {
            agency: await stack.enter_async_context(
                AgencyPublisher(connection, agency, system="bench", namespace=namespace)
            )
            for agency in events
        }
        watch.start()
        for agency, sender in senders.items():
            for event in events[agency]:
                await sender.send(event)
        for sender in senders.values():
            await sender.flush()
        watch.stop()


async def feed_publish(
    connection: KafkaConnection,
    namespace: str,
    feeds: Feeds,
    watch: Stopwatch,
    workers: int | None = None,
) -> None:
    """`mappa publish`: read, validate, envelope (a flat record) and send every line of every
    file, through bulk publishers as `publish_feed` makes them; each file read by `workers`
    processes (by default as `mappa publish` chooses: a worker a core for a file of 4 MiB or
    more; 0: this process alone)."""
    async with contextlib.AsyncExitStack() as stack:
        senders = {
            agency: await stack.enter_async_context(
                AgencyPublisher(connection, agency, system="bench", namespace=namespace, bulk=True)
            )
            for agency in feeds
        }
        watch.start()
        for agency, sender in senders.items():
            await publish_lines(sender, feeds[agency], show_progress=False, workers=workers)
        for sender in senders.values():
            await sender.flush()
        watch.stop()


@dataclass(frozen=True)
class PublishRates:
    """Events per second of each path (medians), and the namespaces they published into:
    each of `sdk_namespaces` and `feed_namespaces` holds the same events, once; the other
    paths' namespaces are in `raw_namespaces`. `ceiling` is the faster raw path's rate.
    `feed` is `mappa publish` as it chooses its worker processes, `feed_alone` in one process."""

    raw: float
    raw_batched: float
    sdk: float
    feed: float
    feed_alone: float
    sdk_namespaces: list[str]
    feed_namespaces: list[str]
    raw_namespaces: list[str]
    cpu_per_event: dict[str, float]
    """Microseconds of CPU per event, by path (medians): this process's and its children's
    (the feed's worker processes)."""

    @property
    def ceiling(self) -> float:
        return max(self.raw, self.raw_batched)


async def measure(connection: KafkaConnection, feeds: Feeds, runs: int) -> PublishRates:
    """Publish `feeds` `runs` times by each path, interleaved, each run into fresh topics."""
    parsed = {agency: read_events(path, agency) for agency, path in feeds.items()}
    events = sum(len(items) for items in parsed.values())
    keyring = load_settings().signing_keyring()
    records = [
        (agency, record.key, record.value, [(k, v.encode()) for k, v in record.headers.items()])
        for agency, items in parsed.items()
        for record in (to_record(event, keyring) for event in items)
    ]
    raw_names = [new_namespace() for _ in range(runs)]
    batched_names = [new_namespace() for _ in range(runs)]
    sdk_names = [new_namespace() for _ in range(runs)]
    feed_names = [new_namespace() for _ in range(runs)]
    alone_names = [new_namespace() for _ in range(runs)]
    others = [*raw_names, *batched_names]
    raw_specs = [spec for name in others for spec in agency_topic_specs(name)]
    await prepare_namespaces(connection, [*sdk_names, *feed_names, *alone_names], raw_specs)
    # The inputs (the parsed events) are long-lived; without this the cyclic garbage collector
    # walks them again and again while the runs allocate, charging every path for the
    # benchmark's own set-up.
    gc.collect()
    gc.freeze()
    try:
        # Warm up: connections, metadata and leaders of the new topics, before any clock runs.
        await raw_produce(connection, raw_names[0], records[:1000], Stopwatch())
        cpu: dict[str, list[float]] = {}
        rates = await interleaved_rates(
            runs,
            events,
            {
                "raw": _cpu_of(
                    cpu, "raw", lambda run, w: raw_produce(connection, raw_names[run], records, w)
                ),
                "batched": _cpu_of(
                    cpu,
                    "batched",
                    lambda run, w: raw_batches(connection, batched_names[run], records, w),
                ),
                "sdk": _cpu_of(
                    cpu, "sdk", lambda run, w: sdk_publish(connection, sdk_names[run], parsed, w)
                ),
                "feed": _cpu_of(
                    cpu, "feed", lambda run, w: feed_publish(connection, feed_names[run], feeds, w)
                ),
                "alone": _cpu_of(
                    cpu,
                    "alone",
                    lambda run, w: feed_publish(connection, alone_names[run], feeds, w, workers=0),
                ),
            },
        )
    finally:
        gc.unfreeze()
    return PublishRates(
        rates["raw"],
        rates["batched"],
        rates["sdk"],
        rates["feed"],
        rates["alone"],
        sdk_names,
        feed_names,
        [*raw_names, *batched_names, *alone_names],
        {name: statistics.median(seconds) / events * 1e6 for name, seconds in cpu.items()},
    )


Path_ = Callable[[int, Stopwatch], Awaitable[object]]


def _cpu_of(seconds: dict[str, list[float]], name: str, path: Path_) -> Path_:
    """`path`, also noting the CPU time this process spent on each run of it (every thread:
    the producer's sender too; its client's start-up and SCRAM sign-in, outside the clock,
    included: a few milliseconds), and its child processes (a feed's workers, counted once
    they have ended). On a machine shared with other work the rates fall with the CPU share
    the benchmark gets; the CPU an event costs does much less."""

    async def run(number: int, watch: Stopwatch) -> object:
        started = _cpu_seconds()
        result = await path(number, watch)
        seconds.setdefault(name, []).append(_cpu_seconds() - started)
        return result

    return run


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have ended."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


FORMS = {
    "cloudevents": "whole CloudEvents, 10 agencies",
    "flat": "flat records, probation",
}


async def main(events: int, runs: int, forms: list[str]) -> None:
    connection = command_settings().connection()
    figures: list[Figure] = []
    for form in forms:
        with tempfile.TemporaryDirectory() as folder:
            if form == "flat":
                feeds: Feeds = {AGENCY: Path(folder) / "probation.jsonl"}
                write_feed(feeds[AGENCY], events)
            else:
                feeds = write_feeds(Path(folder), events)
            rates = await measure(connection, feeds, runs)
        await delete_namespaces(
            connection, [*rates.raw_namespaces, *rates.sdk_namespaces, *rates.feed_namespaces]
        )
        size = f"{events:,} events, {FORMS[form]}"
        cpu = {path: f"; {us:.1f} us CPU an event" for path, us in rates.cpu_per_event.items()}
        figures += [
            Figure("raw aiokafka, record by record (send)" + cpu["raw"], size, rates.raw),
            Figure(
                "raw aiokafka, per-partition batches (send_batch)" + cpu["batched"],
                size,
                rates.raw_batched,
            ),
            Figure("SDK: AgencyPublisher.send" + cpu["sdk"], size, rates.sdk, rates.ceiling),
            Figure(
                "feed: mappa publish (read, validate, send)" + cpu["feed"],
                size,
                rates.feed,
                rates.ceiling,
            ),
            Figure(
                "feed in one process (mappa publish --workers 0)" + cpu["alone"],
                size,
                rates.feed_alone,
                rates.ceiling,
            ),
        ]
    print_table(
        f"Publishing feeds: median of {runs} runs against the real broker; ratios to the "
        "faster raw path",
        figures,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--form", choices=[*FORMS, "both"], default="both")
    arguments = parser.parse_args()
    chosen = list(FORMS) if arguments.form == "both" else [arguments.form]
    asyncio.run(main(arguments.events, arguments.runs, chosen))
