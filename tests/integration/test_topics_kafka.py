"""Explicit topic creation against a real broker."""

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_admin import ensure_topics
from mappa_bus.topics import TopicSpec

pytestmark = pytest.mark.kafka


async def test_topics_are_created_once_with_their_settings(
    kafka: KafkaConnection, unique: str
) -> None:
    """A first call creates the topic with its partitions and retention; a second creates none."""
    spec = TopicSpec(
        f"test.record.{unique}",
        3,
        "test",
        {"retention.ms": "-1", "message.timestamp.type": "LogAppendTime"},
    )

    first = await ensure_topics(kafka, [spec])
    second = await ensure_topics(kafka, [spec])

    admin = AIOKafkaAdminClient(**kafka.aiokafka_options())
    await admin.start()
    try:
        [description] = await admin.describe_topics([spec.name])
        [configs] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, spec.name)]
        )
    finally:
        await admin.close()
    values = {entry[0]: entry[1] for entry in configs.resources[0][4]}
    assert (first, second) == ([spec.name], [])
    assert len(description["partitions"]) == 3
    assert (values["retention.ms"], values["message.timestamp.type"]) == ("-1", "LogAppendTime")
