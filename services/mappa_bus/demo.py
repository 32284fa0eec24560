"""The main job on the embedded default: events through the real broker, shown as they arrive.

For now it runs the walking skeleton; later issues grow it into the full area-year demo.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_admin import ensure_topics
from mappa_bus.skeleton import Delivered, SkeletonEvent, build_skeleton, publish_skeleton_event
from mappa_bus.topics import ALL_TOPICS


class DemoTimeoutError(RuntimeError):
    """The published events did not come back through the broker in time."""


@dataclass(frozen=True)
class DemoResult:
    """What the demo published, what came back, and the topics it had to create."""

    created_topics: list[str]
    delivered: list[Delivered]
    seconds: float


async def run_demo(
    connection: KafkaConnection,
    *,
    events: int = 3,
    group_id: str = "mappa-demo",
    wait_seconds: float = 30,
) -> DemoResult:
    """Publish `events` skeleton events and wait until the subscriber has consumed each one."""
    started = time.perf_counter()
    created = await ensure_topics(connection, ALL_TOPICS)
    broker = connection.broker(client_id="mappa-demo", logger=None)
    queue = build_skeleton(broker, group_id=group_id)
    await broker.start()
    try:
        sent = [SkeletonEvent(case_id=f"DEMO-{n:04d}") for n in range(1, events + 1)]
        for event in sent:
            await publish_skeleton_event(broker, event)
        delivered = await _collect(queue, {event.event_id for event in sent}, wait_seconds)
    finally:
        await broker.stop()
    return DemoResult(created, delivered, time.perf_counter() - started)


async def _collect(
    queue: asyncio.Queue[Delivered], wanted: set[object], wait_seconds: float
) -> list[Delivered]:
    """Take deliveries until every wanted id has arrived (older ones from a past run pass by)."""
    seen: list[Delivered] = []
    missing = set(wanted)
    try:
        async with asyncio.timeout(wait_seconds):
            while missing:
                item = await queue.get()
                if item.event.event_id in missing:
                    missing.discard(item.event.event_id)
                    seen.append(item)
    except TimeoutError:
        raise DemoTimeoutError(
            f"{len(missing)} of {len(wanted)} events did not come back within {wait_seconds:.0f} s"
        ) from None
    return seen
