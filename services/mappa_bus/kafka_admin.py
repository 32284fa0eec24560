"""Creating the bus's topics explicitly, as `topics.py` specifies them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from mappa_bus.connection import KafkaConnection
from mappa_bus.topics import TopicSpec

# Kafka's error code for "that topic already exists": another process won the race to create
# it, which is as good as having created it ourselves.
_TOPIC_ALREADY_EXISTS = 36


class TopicCreationError(RuntimeError):
    """The broker refused to create a topic; the message names the topic and the reason."""


async def ensure_topics(
    connection: KafkaConnection, specs: Iterable[TopicSpec], *, replication_factor: int = 1
) -> list[str]:
    """Create every topic in `specs` that does not exist yet; return the names created.

    Existing topics are left as they are: changing the retention of a topic that is the record
    is a deliberate operation, not something a start-up does in passing.
    """
    admin = AIOKafkaAdminClient(client_id="mappa-admin", **connection.aiokafka_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [
                NewTopic(
                    name=spec.name,
                    num_partitions=spec.partitions,
                    replication_factor=replication_factor,
                    topic_configs=dict(spec.config),
                )
                for spec in missing
            ]
        )
        _raise_on_errors(response.topic_errors)
        names = [spec.name for spec in missing]
        await _wait_for_leaders(admin, names)
    finally:
        await admin.close()
    return names


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: list[str], wait_seconds: float = 30
) -> None:
    """Return once every partition of `names` has a leader.

    A broker answers CreateTopics before it has elected the new partitions' leaders; a producer
    that writes in that gap gets NotLeaderForPartition and has to retry.
    """
    async with asyncio.timeout(wait_seconds):
        # Polling is the only way: the broker offers no notification of leader election.
        while not _all_led(await admin.describe_topics(names)):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


def _all_led(descriptions: list[dict[str, Any]]) -> bool:
    return all(
        topic["error_code"] == 0
        and topic["partitions"]
        and all(partition["leader"] >= 0 for partition in topic["partitions"])
        for topic in descriptions
    )


def _raise_on_errors(topic_errors: Iterable[tuple[object, ...]]) -> None:
    failures = [
        f"{error[0]}: {error[2] if len(error) > 2 else ''} (Kafka error {error[1]})"
        for error in topic_errors
        if error[1] not in (0, _TOPIC_ALREADY_EXISTS)
    ]
    if failures:
        raise TopicCreationError("could not create topics: " + "; ".join(failures))
