"""Publishing throughput: a 100,000-event agency feed through the SDK and the feed reader,
beside raw aiokafka producing the same bytes with the same producer settings, in one run.

    .venv/bin/python -m benchmarks.publish [--events 100000] [--runs 3]

Needs a running broker (deploy/kafka/kafka-local start) and creates its own topics.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer

from benchmarks.common import Figure, Stopwatch, interleaved_rates, print_table
from mappa_bus.adapters.cli import publish_lines
from mappa_bus.adapters.feeds import Accepted, read_jsonl
from mappa_bus.adapters.producer_settings import PRODUCER_OPTIONS
from mappa_bus.adapters.publisher import AgencyPublisher
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import CONTENT_TYPE, Envelope, EventData, published_by
from mappa_bus.catalogue.examples import EXAMPLES
from mappa_bus.cli_common import command_settings
from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_admin import ensure_topics
from mappa_bus.kafka_codec import to_record
from mappa_bus.topics import TopicSpec, agency_topic_specs

AGENCY = Agency.PROBATION


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


def read_events(path: Path) -> list[Envelope[EventData]]:
    """The feed's events as the reader makes them (all lines are valid)."""
    with path.open("rb") as feed:
        results = list(read_jsonl(feed, AGENCY, system="bench"))
    return [result.event for result in results if isinstance(result, Accepted)]


async def raw_produce(
    connection: KafkaConnection, topic: str, records: list[tuple[bytes, bytes]], watch: Stopwatch
) -> None:
    """The ceiling: aiokafka sending pre-serialised bytes, nothing else."""
    producer = AIOKafkaProducer(**PRODUCER_OPTIONS, **connection.aiokafka_options())
    await producer.start()
    try:
        headers = [("content-type", CONTENT_TYPE.encode())]
        await producer.partitions_for(topic)  # metadata outside the clock, as the SDK does
        watch.start()
        futures = [
            await producer.send(topic, value, key=key, headers=headers) for key, value in records
        ]
        await asyncio.gather(*futures)
        watch.stop()
    finally:
        await producer.stop()


async def sdk_publish(
    connection: KafkaConnection,
    namespace: str,
    events: list[Envelope[EventData]],
    watch: Stopwatch,
) -> None:
    """The SDK: envelope to wire, to record, to the producer."""
    async with AgencyPublisher(connection, AGENCY, system="bench", namespace=namespace) as sender:
        watch.start()
        for event in events:
            await sender.send(event)
        await sender.flush()
        watch.stop()


async def feed_publish(
    connection: KafkaConnection, namespace: str, feed: Path, watch: Stopwatch
) -> None:
    """`mappa publish`: read, validate, envelope and send every line of the file."""
    async with AgencyPublisher(connection, AGENCY, system="bench", namespace=namespace) as sender:
        watch.start()
        await publish_lines(sender, feed, show_progress=False)
        await sender.flush()
        watch.stop()


async def main(events: int, runs: int) -> None:
    connection = command_settings().connection()
    with tempfile.TemporaryDirectory() as folder:
        feed = Path(folder) / "probation.jsonl"
        write_feed(feed, events)
        parsed = read_events(feed)
        records = [(record.key, record.value) for record in map(to_record, parsed)]
        namespaces = [f"bench-{uuid.uuid4().hex[:8]}" for _ in range(runs)]
        raw_topics = [TopicSpec(f"{name}.raw", 6, "bench") for name in namespaces]
        specs = [spec for name in namespaces for spec in agency_topic_specs(name)]
        await ensure_topics(connection, [*raw_topics, *specs])
        # New partitions' leaders are known to the controller before every broker's metadata
        # cache has them; producing at once costs NotLeader retries that would skew the runs.
        await asyncio.sleep(3)
        # The inputs (100,000 parsed events) are long-lived; without this the cyclic garbage
        # collector walks them again and again while the runs allocate, charging every path for
        # the benchmark's own set-up.
        gc.collect()
        gc.freeze()
        # Warm up: connections, metadata and leaders of the new topics, before any clock runs.
        await raw_produce(connection, raw_topics[0].name, records[:1000], Stopwatch())
        rates = await interleaved_rates(
            runs,
            events,
            {
                "raw": lambda run, watch: raw_produce(
                    connection, raw_topics[run].name, records, watch
                ),
                "sdk": lambda run, watch: sdk_publish(connection, namespaces[run], parsed, watch),
                "feed": lambda run, watch: feed_publish(connection, namespaces[run], feed, watch),
            },
        )
        raw, sdk, cli = rates["raw"], rates["sdk"], rates["feed"]
    size = f"{events:,} events"
    print_table(
        f"Publishing a {AGENCY.value} feed: median of {runs} runs against the real broker",
        [
            Figure("raw aiokafka produce (same bytes)", size, raw),
            Figure("SDK: AgencyPublisher.send", size, sdk, raw),
            Figure("feed: mappa publish (read, validate, envelope, send)", size, cli, raw),
        ],
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.runs))
