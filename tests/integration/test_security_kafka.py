"""The trust boundary, enforced by the real broker: SASL/SCRAM principals and their ACLs.

Each test runs in a namespace of its own, whose topics exist with the ACLs principals.py grants
(the `kafka_as` fixture sets them up as `mappa topics create` does for `mappa`).
"""

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.conn import create_conn
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
)
from aiokafka.protocol.metadata import MetadataRequest

from mappa_bus.adapters.publisher import AgencyPublisher
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.police import ShpoMade
from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_admin import describe_acls, ensure_acls
from mappa_bus.principals import (
    ADMIN,
    PRINCIPALS,
    Operation,
    ResourceType,
    Role,
    acl_bindings,
    group_prefix,
)
from mappa_bus.topics import agency_topic, alerts_topic, bus_topic_specs

pytestmark = pytest.mark.kafka

KafkaAs = Callable[[str], KafkaConnection]
ORDER = ShpoMade(made_on=date(2021, 3, 1), interim=False, foreign_travel_restriction=True)


async def _publish_police_order(connection: KafkaConnection, namespace: str, case_id: str) -> None:
    """Publish one police event through the real SDK (idempotent producer) as `connection`."""
    async with AgencyPublisher(
        connection, Agency.POLICE, system="test", namespace=namespace
    ) as publisher:
        await publisher.publish(
            ORDER, case_id=case_id, area=Area.KENT, time=datetime(2021, 3, 1, tzinfo=UTC)
        )


async def _produce(connection: KafkaConnection, topic: str) -> None:
    producer = AIOKafkaProducer(**connection.aiokafka_options())
    try:  # stopped even when start() is refused, so nothing is left unclosed
        await producer.start()
        await producer.send_and_wait(topic, b"{}")
    finally:
        await producer.stop()


async def _consume_one(connection: KafkaConnection, topic: str, group_id: str) -> Any:
    consumer = AIOKafkaConsumer(
        topic, group_id=group_id, auto_offset_reset="earliest", **connection.aiokafka_options()
    )
    try:
        await consumer.start()
        return await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()


async def _count_records(admin: KafkaConnection, topic: str) -> int:
    consumer = AIOKafkaConsumer(topic, **admin.aiokafka_options())
    try:
        await consumer.start()
        partitions = consumer.assignment() or set()
        while not partitions:
            await asyncio.sleep(0.05)
            partitions = consumer.assignment()
        ends = await consumer.end_offsets(list(partitions))
        starts = await consumer.beginning_offsets(list(partitions))
    finally:
        await consumer.stop()
    return sum(ends[tp] - starts[tp] for tp in partitions)


async def test_probation_cannot_publish_on_the_police_topic(
    kafka: KafkaConnection, kafka_as: KafkaAs, namespace: str
) -> None:
    """A probation principal publishing a police event (the SDK's own check satisfied, as a
    misconfigured or rogue system would be) is refused by the broker, and nothing lands."""
    police_topic = agency_topic(Agency.POLICE, namespace)

    with pytest.raises(TopicAuthorizationFailedError) as refused:
        await _publish_police_order(kafka_as(Agency.PROBATION), namespace, "KEN-1")

    assert police_topic in str(refused.value)
    assert await _count_records(kafka, police_topic) == 0


async def test_police_publishes_on_its_own_topic_and_a_subscriber_reads_it(
    kafka_as: KafkaAs, namespace: str, unique: str
) -> None:
    """Police's own principal publishes with the idempotent producer (topic WRITE is enough);
    the case-picture service reads it with a consumer group under its own prefix."""
    await _publish_police_order(kafka_as(Agency.POLICE), namespace, f"KEN-{unique}")

    record = await _consume_one(
        kafka_as(Role.PICTURE),
        agency_topic(Agency.POLICE, namespace),
        f"{group_prefix(Role.PICTURE, namespace)}-1",
    )

    assert record.key == f"KEN-{unique}".encode()


async def test_a_subscriber_cannot_write_an_agency_topic(
    kafka: KafkaConnection, kafka_as: KafkaAs, namespace: str
) -> None:
    """The case-picture service may read the police topic but the broker refuses its writes."""
    police_topic = agency_topic(Agency.POLICE, namespace)

    with pytest.raises(TopicAuthorizationFailedError) as refused:
        await _produce(kafka_as(Role.PICTURE), police_topic)

    assert police_topic in str(refused.value)
    assert await _count_records(kafka, police_topic) == 0


async def test_a_subscriber_uses_only_consumer_groups_under_its_own_prefix(
    kafka_as: KafkaAs, namespace: str
) -> None:
    """The case-picture service cannot join (and so cannot move) the reporting service's group."""
    reporting_group = group_prefix(Role.REPORTING, namespace)

    with pytest.raises(GroupAuthorizationFailedError) as refused:
        await _consume_one(
            kafka_as(Role.PICTURE), agency_topic(Agency.POLICE, namespace), reporting_group
        )

    assert reporting_group in str(refused.value)


async def test_the_coordinator_reads_alerts_but_not_agency_topics(
    kafka_as: KafkaAs, namespace: str
) -> None:
    """A coordinator receives what the alerts service raised, and is refused the agency record."""
    coordinator = kafka_as(Role.COORDINATOR)
    group = group_prefix(Role.COORDINATOR, namespace)
    await _produce(kafka_as(Role.ALERTS), alerts_topic(namespace))

    alert = await _consume_one(coordinator, alerts_topic(namespace), group)
    with pytest.raises(TopicAuthorizationFailedError) as refused:
        await _consume_one(coordinator, agency_topic(Agency.POLICE, namespace), group)

    assert alert.value == b"{}"
    assert agency_topic(Agency.POLICE, namespace) in str(refused.value)


async def test_each_principal_writes_exactly_where_principals_py_grants_it(
    kafka_as: KafkaAs, namespace: str
) -> None:
    """Every principal but the super user tries every topic of the namespace: the broker lets
    through exactly the writes the ACL table grants, and nobody else writes anywhere."""
    topics = [spec.name for spec in bus_topic_specs(namespace)]
    granted = {
        (binding.principal, binding.resource_name)
        for binding in acl_bindings(namespace)
        if binding.resource_type is ResourceType.TOPIC and binding.operation is Operation.WRITE
    }
    allowed: set[tuple[str, str]] = set()
    for principal in PRINCIPALS:
        if principal == ADMIN:
            continue
        producer = AIOKafkaProducer(**kafka_as(principal).aiokafka_options())
        try:
            await producer.start()
            for topic in topics:
                try:
                    await producer.send_and_wait(topic, b"{}")
                except TopicAuthorizationFailedError:
                    continue
                allowed.add((principal, topic))
        finally:
            await producer.stop()

    assert allowed == granted


async def _metadata_on_one_connection(connection: KafkaConnection) -> Any:
    """One connection, one Metadata request: the broker's own answer, not a client's retries."""
    options = connection.aiokafka_options()
    host, port = options.pop("bootstrap_servers").rsplit(":", 1)
    conn = await create_conn(host, int(port), **options)
    try:
        return await conn.send(MetadataRequest())
    finally:
        conn.close()


async def test_an_unauthenticated_client_is_refused(kafka: KafkaConnection) -> None:
    """A client that does not authenticate gets no answer: the broker closes the connection
    on its first request (so a producer cannot even bootstrap), while admin is answered."""
    anonymous = KafkaConnection(kafka.bootstrap_servers)

    with pytest.raises(KafkaConnectionError, match="closed"):
        await _metadata_on_one_connection(anonymous)
    with pytest.raises(KafkaConnectionError, match="Unable to bootstrap"):
        await _produce(anonymous, "anything")
    assert (await _metadata_on_one_connection(kafka)).brokers


async def test_a_wrong_password_is_refused(kafka: KafkaConnection) -> None:
    """The police principal with a wrong password fails SCRAM authentication (Kafka error 58)."""
    impostor = kafka.as_principal(Agency.POLICE, "not-the-password")

    with pytest.raises(SaslAuthenticationFailed) as refused:
        await _metadata_on_one_connection(impostor)

    assert refused.value.errno == 58


async def test_granting_the_acls_again_changes_nothing(
    kafka: KafkaConnection, kafka_as: KafkaAs, namespace: str
) -> None:
    """`ensure_acls` is safe to repeat: the broker holds each of police's ACLs once."""
    police = {b for b in acl_bindings(namespace) if b.principal == Agency.POLICE}

    await ensure_acls(kafka, acl_bindings(namespace))
    held = {b for b in await describe_acls(kafka, Agency.POLICE) if namespace in b.resource_name}

    assert held == police
