"""Explicit topic creation against a real broker, and what a command says of topics missing."""

import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_admin import ensure_topics
from mappa_bus.topics import TopicSpec

pytestmark = pytest.mark.kafka

MAPPA = Path(sys.executable).with_name("mappa")


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


def test_a_catch_up_of_a_namespace_without_topics_names_them_and_exits_2(
    service_env: dict[str, str], unique: str, tmp_path: Path
) -> None:
    """No traceback: the command says which topics the broker lacks and how to make them."""
    namespace = f"absent-{unique}"
    done = subprocess.run(
        [
            str(MAPPA),
            "picture",
            "catch-up",
            "--namespace",
            namespace,
            "--database",
            f"sqlite:///{tmp_path / 'pictures.db'}",
        ],
        env={**service_env, "COLUMNS": "400"},
        capture_output=True,
        text=True,
        check=False,
    )
    said = done.stdout + done.stderr
    assert done.returncode == 2, said[-2000:]
    assert f"{namespace}.probation.events" in said
    assert "mappa topics create" in said
    assert "Traceback" not in said
