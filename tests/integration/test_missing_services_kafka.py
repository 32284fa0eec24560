"""A refused publish names its real cause, asked of the real broker: a topic never created
(Kafka says "not authorized" for it) versus an ACL that does not allow the principal; and
`topics list` says which topics the broker has."""

from __future__ import annotations

import asyncio
import os
import sys
from asyncio.subprocess import PIPE
from collections.abc import Callable
from pathlib import Path

import pytest
from aiokafka.errors import KafkaError

from mappa_bus.adapters.feed_publish import publish_feed
from mappa_bus.agencies import Agency
from mappa_bus.connection import KafkaConnection
from mappa_bus.topic_state import explain_refusal, topic_partitions
from mappa_bus.topics import ALL_TOPICS, agency_topic, bus_topic_specs, dead_letter_topic
from tests.conftest import BrokerUnderTest

pytestmark = pytest.mark.kafka

MAPPA = Path(sys.executable).with_name("mappa")

FEED = (
    '{"type": "recall-issued", "case_id": "KEN-2025-000001", "area": "kent", '
    '"time": "2025-07-01", "issued_on": "2025-07-01", "recall_type": "standard"}\n'
)


async def _refusal(connection: KafkaConnection, namespace: str, feed: Path) -> KafkaError:
    with pytest.raises(KafkaError) as refused:
        await publish_feed(
            connection,
            feed,
            Agency.PROBATION,
            system="test",
            namespace=namespace,
            dead_letter_topic=dead_letter_topic(namespace),
            show_progress=False,
        )
    return refused.value


async def test_a_topic_never_created_is_named_missing_not_unauthorised(
    kafka: KafkaConnection, kafka_broker: BrokerUnderTest, namespace: str, tmp_path: Path
) -> None:
    """Publishing before `mappa topics create`: the broker says "not authorized"; the
    explanation says the topic does not exist and to create the topics."""
    if kafka_broker.credentials is None:
        pytest.skip("needs a secured broker")
    feed = tmp_path / "feed.jsonl"
    feed.write_text(FEED, encoding="utf-8")
    probation = kafka.as_principal("probation", kafka_broker.credentials.password("probation"))

    error = await _refusal(probation, namespace, feed)
    topics = (agency_topic(Agency.PROBATION, namespace), dead_letter_topic(namespace))
    why = await explain_refusal(error, "probation", topics, kafka)

    assert why.startswith(f"the broker has no topic {topics[0]}, {topics[1]}")
    assert "mappa topics create" in why


async def test_an_acl_that_does_not_allow_the_principal_is_named_as_such(
    kafka_as: Callable[[str], KafkaConnection],
    kafka: KafkaConnection,
    namespace: str,
    tmp_path: Path,
) -> None:
    """The topics exist but police may not write probation's: the explanation says police is
    not allowed, and `topics list`'s question finds every topic with its partitions."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text(FEED, encoding="utf-8")

    error = await _refusal(kafka_as("police"), namespace, feed)
    topics = (agency_topic(Agency.PROBATION, namespace), dead_letter_topic(namespace))
    why = await explain_refusal(error, "police", topics, kafka)
    partitions = await topic_partitions(kafka, [spec.name for spec in bus_topic_specs(namespace)])

    assert why.startswith(f"police is not allowed to use {topics[0]}")
    assert partitions == {spec.name: spec.partitions for spec in bus_topic_specs(namespace)}


async def test_topics_list_shows_each_full_name_and_its_state_on_the_broker(
    kafka: KafkaConnection, kafka_broker: BrokerUnderTest
) -> None:
    """`mappa topics list` names every topic in full, with "exists, N partitions" or
    "missing" as the broker has it."""
    names = [spec.name for spec in ALL_TOPICS]
    existing = await topic_partitions(kafka, names)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap,
        "COLUMNS": "250",
        "MAPPA_KAFKA_CREDENTIALS": str(kafka_broker.credentials.path)
        if kafka_broker.credentials
        else "",
    }
    listed = await asyncio.create_subprocess_exec(
        str(MAPPA), "topics", "list", env=env, stdout=PIPE, stderr=PIPE
    )
    out, _ = await listed.communicate()

    lines = out.decode().splitlines()
    for name in names:
        [line] = [line for line in lines if f" {name} " in line]
        state = f"exists, {existing[name]} partitions" if name in existing else "missing"
        assert state in line, line
