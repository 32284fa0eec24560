"""Publishing the bus's own events (alerts, statistics) from a projection's broker."""

from __future__ import annotations

from faststream.kafka import KafkaBroker

from mappa_bus.catalogue.bus_event import BUS_EVENT_HEADERS, BusEvent


async def publish_event(
    broker: KafkaBroker, event: BusEvent, topic: str, *, value: bytes | None = None
) -> None:
    """Send `event` to `topic` in its one wire form: JSON, its kind's key, CloudEvents headers;
    `value` instead of its JSON when given (sealed, in sealed mode: `projection.sealed`)."""
    await broker.publish(
        event.kafka_value() if value is None else value,
        topic,
        key=event.kafka_key,
        headers=dict(BUS_EVENT_HEADERS),
    )
