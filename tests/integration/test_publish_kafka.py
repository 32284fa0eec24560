"""Agency feeds onto the real broker: good lines on the agency topic, bad ones dead-lettered."""

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from typer.testing import CliRunner

from mappa_bus.adapters.cli import publish_feed
from mappa_bus.adapters.publisher import AgencyPublisher
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, Rejection, WireError, parse_event
from mappa_bus.catalogue.police import ShpoMade
from mappa_bus.cli import app
from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_admin import ensure_acls, ensure_topics
from mappa_bus.principals import acl_bindings
from mappa_bus.topics import ALL_TOPICS, TopicSpec, agency_topic, agency_topic_specs
from tests.conftest import BrokerUnderTest

pytestmark = pytest.mark.kafka

GOOD = {
    "type": "recall-issued",
    "case_id": "KEN-000001",
    "area": "kent",
    "time": "2021-01-13T16:05:00+00:00",
    "issued_on": "2021-01-13",
    "recall_type": "standard",
}


async def _drain(kafka: KafkaConnection, topic: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(topic, auto_offset_reset="earliest", **kafka.aiokafka_options())
    await consumer.start()
    records: list[Any] = []
    try:
        async with asyncio.timeout(30):
            while len(records) < count:
                batch = await consumer.getmany(timeout_ms=500)
                records += [record for part in batch.values() for record in part]
    finally:
        await consumer.stop()
    return records


async def test_a_feed_publishes_good_lines_and_dead_letters_bad_ones(
    kafka: KafkaConnection, unique: str, tmp_path: Path
) -> None:
    """Two good lines reach probation's topic; the bad line reaches the dead-letter topic with
    its reason, rejection kind and line."""
    namespace, dead = f"test-{unique}", f"test.dead.{unique}"
    await ensure_topics(kafka, [*agency_topic_specs(namespace), TopicSpec(dead, 1, "test")])
    feed = tmp_path / "recalls.jsonl"
    bad = {**GOOD, "recall_type": "eventually"}
    feed.write_text("\n".join(json.dumps(r) for r in [GOOD, bad, {**GOOD, "case_id": "KEN-2"}]))

    outcome = await publish_feed(
        kafka,
        feed,
        Agency.PROBATION,
        system="ndelius",
        namespace=namespace,
        dead_letter_topic=dead,
        show_progress=False,
    )

    published = await _drain(kafka, agency_topic(Agency.PROBATION, namespace), 2)
    [dead_letter] = await _drain(kafka, dead, 1)
    headers = {name: value.decode() for name, value in dead_letter.headers}
    assert (outcome.accepted, [r.line for r in outcome.rejected]) == (2, [2])
    assert sorted(parse_event(r.value).case_id for r in published) == ["KEN-000001", "KEN-2"]
    assert json.loads(dead_letter.value) == bad
    assert headers == {
        "mappa-reason": "recall_type: must be 'fixed-term', 'standard' or 'emergency'",
        "mappa-rejection": "invalid-data",
        "mappa-source": "recalls.jsonl:2",
        "mappa-agency": "probation",
    }


async def test_the_sdk_refuses_another_agencys_event_before_sending(
    kafka: KafkaConnection, namespace: str
) -> None:
    """A probation publisher cannot send a police order: refused in the SDK, nothing sent."""
    await ensure_topics(kafka, agency_topic_specs(namespace))
    publisher = AgencyPublisher(kafka, Agency.PROBATION, system="ndelius", namespace=namespace)
    async with publisher:
        with pytest.raises(WireError) as refused:
            await publisher.publish(
                ShpoMade(made_on="2021-01-01", interim=False, foreign_travel_restriction=False),
                case_id="KEN-1",
                area=Area.KENT,
                time=datetime(2021, 1, 1, tzinfo=UTC),
            )
    assert refused.value.kind == Rejection.WRONG_PUBLISHER
    assert publisher.summary.accepted == 0


async def test_the_cli_reports_each_rejected_line_and_exits_1(
    kafka: KafkaConnection,
    kafka_broker: BrokerUnderTest,
    unique: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`mappa publish`, as the police principal, prints a summary with each bad line's number
    and reason, and exits 1."""
    await ensure_topics(kafka, ALL_TOPICS)
    feed = tmp_path / "orders.csv"
    feed.write_text(
        "type,case_id,area,time,made_on,interim,foreign_travel_restriction\n"
        f"shpo-made,KEN-{unique},kent,2021-02-01,2021-02-01,false,false\n"
        f"shpo-made,KEN-{unique},atlantis,2021-02-01,2021-02-01,false,false\n"
    )
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers)
    monkeypatch.setenv("MAPPA_KAFKA_CREDENTIALS", "")
    if kafka_broker.credentials is not None:
        await ensure_acls(kafka, acl_bindings())
        monkeypatch.setenv("MAPPA_KAFKA_USERNAME", "police")
        monkeypatch.setenv("MAPPA_KAFKA_PASSWORD", kafka_broker.credentials.password("police"))

    runner = CliRunner(env={"COLUMNS": "200"})
    result = await asyncio.to_thread(
        runner.invoke, app, ["publish", "--agency", "police", str(feed)]
    )

    rows = [line for line in result.output.splitlines() if "area: must be" in line]
    assert result.exit_code == 1, result.output
    assert [row.split("│")[1].strip() for row in rows] == ["3"]
