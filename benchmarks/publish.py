"""Publishing throughput: agency feeds through the SDK and the feed reader, beside raw aiokafka
producing the same bytes with the same producer settings, in one run.

    .venv/bin/python -m benchmarks.publish [--events 100000] [--runs 3]

Standalone, the feed is probation's, of flat records; the suite (`benchmarks.suite`) publishes
a simulated year's feeds of every agency. Needs a running broker (deploy/kafka/kafka-local
start) and creates its own topics.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer

from benchmarks.common import (
    Figure,
    Stopwatch,
    interleaved_rates,
    new_namespace,
    prepare_namespaces,
    print_table,
)
from mappa_bus.adapters.cli import publish_lines
from mappa_bus.adapters.feeds import Accepted, read_jsonl
from mappa_bus.adapters.producer_settings import PRODUCER_OPTIONS
from mappa_bus.adapters.publisher import AgencyPublisher
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import CONTENT_TYPE, Envelope, EventData, published_by
from mappa_bus.catalogue.examples import EXAMPLES
from mappa_bus.cli_common import command_settings
from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_codec import to_record
from mappa_bus.settings import load_settings
from mappa_bus.topics import agency_topic, agency_topic_specs

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


RawRecord = tuple[Agency, bytes, bytes]  # the agency (its topic), key, value


async def raw_produce(
    connection: KafkaConnection, namespace: str, records: list[RawRecord], watch: Stopwatch
) -> None:
    """The ceiling: aiokafka sending pre-serialised bytes, nothing else."""
    producer = AIOKafkaProducer(**PRODUCER_OPTIONS, **connection.aiokafka_options())
    await producer.start()
    try:
        headers = [("content-type", CONTENT_TYPE.encode())]
        topics = {agency: agency_topic(agency, namespace) for agency, _, _ in records}
        for topic in topics.values():  # metadata outside the clock, as the SDK does
            await producer.partitions_for(topic)
        watch.start()
        futures = [
            await producer.send(topics[agency], value, key=key, headers=headers)
            for agency, key, value in records
        ]
        await asyncio.gather(*futures)
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
    connection: KafkaConnection, namespace: str, feeds: Feeds, watch: Stopwatch
) -> None:
    """`mappa publish`: read, validate, envelope and send every line of every file."""
    async with contextlib.AsyncExitStack() as stack:
        senders = {
            agency: await stack.enter_async_context(
                AgencyPublisher(connection, agency, system="bench", namespace=namespace)
            )
            for agency in feeds
        }
        watch.start()
        for agency, sender in senders.items():
            await publish_lines(sender, feeds[agency], show_progress=False)
        for sender in senders.values():
            await sender.flush()
        watch.stop()


@dataclass(frozen=True)
class PublishRates:
    """Events per second of each path (medians), and the namespaces they published into:
    each of `sdk_namespaces` and `feed_namespaces` holds the same events, once."""

    raw: float
    sdk: float
    feed: float
    sdk_namespaces: list[str]
    feed_namespaces: list[str]


async def measure(connection: KafkaConnection, feeds: Feeds, runs: int) -> PublishRates:
    """Publish `feeds` `runs` times by each path, interleaved, each run into fresh topics."""
    parsed = {agency: read_events(path, agency) for agency, path in feeds.items()}
    events = sum(len(items) for items in parsed.values())
    keyring = load_settings().signing_keyring()
    records = [
        (agency, record.key, record.value)
        for agency, items in parsed.items()
        for record in (to_record(event, keyring) for event in items)
    ]
    raw_names = [new_namespace() for _ in range(runs)]
    sdk_names = [new_namespace() for _ in range(runs)]
    feed_names = [new_namespace() for _ in range(runs)]
    raw_specs = [spec for name in raw_names for spec in agency_topic_specs(name)]
    await prepare_namespaces(connection, [*sdk_names, *feed_names], raw_specs)
    # The inputs (the parsed events) are long-lived; without this the cyclic garbage collector
    # walks them again and again while the runs allocate, charging every path for the
    # benchmark's own set-up.
    gc.collect()
    gc.freeze()
    try:
        # Warm up: connections, metadata and leaders of the new topics, before any clock runs.
        await raw_produce(connection, raw_names[0], records[:1000], Stopwatch())
        rates = await interleaved_rates(
            runs,
            events,
            {
                "raw": lambda run, watch: raw_produce(connection, raw_names[run], records, watch),
                "sdk": lambda run, watch: sdk_publish(connection, sdk_names[run], parsed, watch),
                "feed": lambda run, watch: feed_publish(connection, feed_names[run], feeds, watch),
            },
        )
    finally:
        gc.unfreeze()
    return PublishRates(rates["raw"], rates["sdk"], rates["feed"], sdk_names, feed_names)


async def main(events: int, runs: int) -> None:
    connection = command_settings().connection()
    with tempfile.TemporaryDirectory() as folder:
        feed = Path(folder) / "probation.jsonl"
        write_feed(feed, events)
        rates = await measure(connection, {AGENCY: feed}, runs)
    size = f"{events:,} events"
    print_table(
        f"Publishing a {AGENCY.value} feed: median of {runs} runs against the real broker",
        [
            Figure("raw aiokafka produce (same bytes)", size, rates.raw),
            Figure("SDK: AgencyPublisher.send", size, rates.sdk, rates.raw),
            Figure(
                "feed: mappa publish (read, validate, envelope, send)", size, rates.feed, rates.raw
            ),
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.runs))
