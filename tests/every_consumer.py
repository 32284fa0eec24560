"""Every consumer service caught up once over a test's namespace, each as its own principal, and
what they dead-lettered: for the integration tests of what the consumers refuse."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mappa_bus.alerts import service as alerts
from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import read_to_end
from mappa_bus.picture import service as picture
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.reporting import service as reporting
from mappa_bus.reporting.consumer import ReportingProjection
from mappa_bus.topics import dead_letter_topic


@dataclass(frozen=True)
class Consumed:
    """The three projections after their catch-up, and the dead letters' headers."""

    pictures: PictureProjection
    facts: ReportingProjection
    raised: AlertProjection
    letters: list[dict[str, str]]


async def catch_up_every_consumer(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    store: str,
) -> Consumed:
    """Run the picture, reporting and alerts catch-ups over `namespace` into `store`, then read
    the namespace's dead-letter topic as the super user `kafka`."""
    pictures = picture.open_projection(store, namespace)
    facts = reporting.open_projection(store, namespace)
    raised = alerts.open_projection(store, namespace)
    await picture.catch_up(kafka_as("picture"), pictures)
    await reporting.catch_up(kafka_as("reporting"), facts, publish=False)
    await alerts.catch_up(kafka_as("alerts"), raised, today=None)
    letters = [
        {name: value.decode() for name, value in record.headers}
        async for batch in read_to_end(kafka, [dead_letter_topic(namespace)])
        for record in batch
    ]
    return Consumed(pictures, facts, raised, letters)
