"""The contract as an outside producer meets it: librdkafka (confluent-kafka), as each agency's
own principal, signing with its own Kent key as schemas/README.md says (HMAC-SHA256 of the
value's bytes, by hand, as any language would). A record whose key is not its subject, one that
librdkafka's default partitioner put on another partition than murmur2 of its key, and an event
about another area, are dead-lettered by every consumer with their reasons and change no store;
the same event produced as the README says (`partitioner=murmur2_random`, Kent) is folded; and a
plan action's completion counts only from its owner."""

from __future__ import annotations

import hashlib
import hmac
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from mappa_bus.agencies import Agency
from mappa_bus.case.model import ActionStatus
from mappa_bus.catalogue import (
    CONTENT_TYPE,
    Area,
    Envelope,
    EventData,
    make_event,
    published_by,
    to_wire,
)
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.plans import (
    ActionKind,
    HousingPlanActionCompleted,
    PolicePlanActionCompleted,
    ProbationPlanActionAgreed,
)
from mappa_bus.connection import KafkaConnection
from mappa_bus.kafka_codec import partition_of
from mappa_bus.signing import KeyId
from mappa_bus.topics import AGENCY_PARTITIONS, agency_topic
from tests.conftest import BrokerUnderTest
from tests.every_consumer import catch_up_every_consumer
from tests.keys import KEYRING

pytestmark = pytest.mark.kafka

CONSUMERS = ("picture", "reporting", "alerts")


@dataclass(frozen=True)
class Sent:
    """A record produced, what it should come to, and where librdkafka put it."""

    event: Envelope[EventData]
    key: bytes
    partition: int
    refused_as: str | None


def _librdkafka(broker: BrokerUnderTest, principal: str, **config: str) -> Producer:
    """A librdkafka producer signed in as `principal`, configured as an agency would."""
    assert broker.credentials is not None
    return Producer(
        {
            "bootstrap.servers": broker.bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-256",
            "sasl.username": principal,
            "sasl.password": broker.credentials.password(principal),
            "enable.idempotence": True,
            **config,
        }
    )


def _produce(producer: Producer, topic: str, event: Envelope[EventData], key: bytes) -> int:
    """Produce `event` keyed `key`, signed with its publisher's Kent key (the only one an
    agency's Kent system holds), wait for the broker's answer, and return its partition."""
    delivered: list[Any] = []
    value = to_wire(event)
    key_id = KeyId(event.publisher, Area.KENT, 1)
    signature = hmac.new(KEYRING.keys[key_id], value, hashlib.sha256).hexdigest()
    producer.produce(
        topic,
        value=value,
        key=key,
        headers=[
            ("content-type", CONTENT_TYPE.encode()),
            ("mappa-key-id", str(key_id).encode()),
            ("mappa-signature", signature.encode()),
        ],
        on_delivery=lambda error, message: delivered.append((error, message)),
    )
    producer.flush(30)
    [(error, message)] = delivered
    assert error is None, error
    partition: int = message.partition()
    return partition


def _elsewhere_by_crc32(prefix: str) -> str:
    """A case id that librdkafka's default partitioner (CRC32 of the key) puts on another
    partition than murmur2 of it does."""
    for n in range(100):
        case_id = f"{prefix}-{n}"
        if zlib.crc32(case_id.encode()) % AGENCY_PARTITIONS != partition_of(case_id.encode()):
            return case_id
    raise AssertionError("no such case id among a hundred")


def _example(
    agency: Agency, case_id: str, suffix: str, area: Area = Area.KENT
) -> Envelope[EventData]:
    """The agency's first example event, about `case_id` in `area`, with an id of its own."""
    example = example_event(published_by(agency)[0])
    update = {"subject": case_id, "id": f"{case_id}-{suffix}", "mappaarea": area}
    return example.model_copy(update=update)


def _send_each_agency(broker: BrokerUnderTest, namespace: str, unique: str) -> list[Sent]:
    """For each agency, as its principal with its Kent key: its first example event keyed by
    something else, the same on librdkafka's default partitioner, the same about Cumbria, and
    the same as the README says."""
    sent: list[Sent] = []
    for agency in Agency:
        topic = agency_topic(agency, namespace)
        # Compressed as the bus's own producers compress: the consumers read librdkafka's
        # zstd frames (mappa_bus/kafka_zstd.py).
        as_documented = _librdkafka(
            broker, agency.value, partitioner="murmur2_random", **{"compression.type": "zstd"}
        )
        by_default = _librdkafka(broker, agency.value)

        wrong_key = _example(agency, f"KEN-{unique}-{agency.value}-K", "key")
        key = b"REL-not-the-subject"
        placed = _produce(as_documented, topic, wrong_key, key)
        sent.append(Sent(wrong_key, key, placed, "wrong-key"))

        elsewhere = _example(agency, _elsewhere_by_crc32(f"KEN-{unique}-{agency.value}"), "p")
        key = elsewhere.case_id.encode()
        placed = _produce(by_default, topic, elsewhere, key)
        assert placed != partition_of(key)
        sent.append(Sent(elsewhere, key, placed, "wrong-partition"))

        other_area = _example(agency, f"CUM-{unique}-{agency.value}-A", "area", Area.CUMBRIA)
        key = other_area.case_id.encode()
        placed = _produce(as_documented, topic, other_area, key)
        sent.append(Sent(other_area, key, placed, "wrong-area"))

        right = _example(agency, f"KEN-{unique}-{agency.value}-R", "ok")
        key = right.case_id.encode()
        placed = _produce(as_documented, topic, right, key)
        assert placed == partition_of(key)
        sent.append(Sent(right, key, placed, None))
    return sent


async def test_records_out_of_place_are_dead_lettered_by_every_consumer_and_fold_nothing(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    kafka_broker: BrokerUnderTest,
    namespace: str,
    unique: str,
    tmp_path: Path,
) -> None:
    """Every agency's wrong-key, wrong-partition and wrong-area records are dead-lettered by the
    picture, reporting and alerts consumers with their reasons, and no store holds anything of
    them; every agency's record produced as documented is folded."""
    sent = _send_each_agency(kafka_broker, namespace, unique)

    consumed = await catch_up_every_consumer(
        kafka, kafka_as, namespace, f"sqlite:///{tmp_path / 'store.db'}"
    )

    refused = [s for s in sent if s.refused_as]
    folded = [s for s in sent if not s.refused_as]
    assert Counter(
        (d["mappa-consumer"], d["mappa-rejection"]) for d in consumed.letters
    ) == Counter(
        {
            (consumer, kind): len(Agency)
            for consumer in CONSUMERS
            for kind in ("wrong-key", "wrong-partition", "wrong-area")
        }
    )
    # The MAPPA unit's example is a merge: each projection keeps it as a link, not a picture.
    pictured = {s.event.case_id for s in folded if s.event.publisher is not Agency.MAPPA_UNIT}
    [merge] = [s.event.id for s in folded if s.event.publisher is Agency.MAPPA_UNIT]
    assert set(consumed.pictures.stored_pictures()) == pictured
    assert set(consumed.raised.stored_pictures()) == pictured
    for projection in (consumed.pictures, consumed.facts, consumed.raised):
        assert [link.event_id for link in projection.links] == [merge]
    assert not {s.event.id for s in refused} & consumed.facts.seen
    assert {s.event.id for s in folded} <= consumed.facts.seen
    assert not {s.event.case_id for s in refused} & set(consumed.facts.cases)


def _plan_event(data: EventData, case_id: str, day: int, event_id: str) -> Envelope[EventData]:
    return make_event(
        data,
        case_id=case_id,
        area=Area.KENT,
        time=datetime(2024, 5, day, 10, 0, tzinfo=UTC),
        system="outside",
        event_id=event_id,
    )


async def test_a_plan_action_is_agreed_and_completed_only_by_its_owner_from_librdkafka(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    kafka_broker: BrokerUnderTest,
    namespace: str,
    unique: str,
    tmp_path: Path,
) -> None:
    """Probation agrees an action owned by housing; police's completion of it is dead-lettered
    as `not-owner` by the picture consumer and changes nothing, housing's completes it: every
    record produced by librdkafka as the README says."""
    case_id = f"KEN-{unique}-PLAN"
    store = f"sqlite:///{tmp_path / 'store.db'}"
    agreed = _plan_event(
        ProbationPlanActionAgreed(
            action_id="ACT-1",
            meeting_reference="MTG-1",
            agreed_on=date(2024, 5, 1),
            owner=Agency.HOUSING,
            kind=ActionKind.ACCOMMODATION_SEARCH,
            due_on=date(2024, 5, 29),
        ),
        case_id,
        1,
        f"{case_id}-agreed",
    )
    by_police = _plan_event(
        PolicePlanActionCompleted(action_id="ACT-1", completed_on=date(2024, 5, 10)),
        case_id,
        10,
        f"{case_id}-police",
    )
    by_housing = _plan_event(
        HousingPlanActionCompleted(action_id="ACT-1", completed_on=date(2024, 5, 20)),
        case_id,
        20,
        f"{case_id}-housing",
    )

    def produce(event: Envelope[EventData]) -> None:
        agency = event.publisher
        producer = _librdkafka(kafka_broker, agency.value, partitioner="murmur2_random")
        _produce(producer, agency_topic(agency, namespace), event, case_id.encode())

    # The agreement first, folded, so that police's completion meets a known action (one that
    # arrives before its agreement waits for it instead, docs/picture.md).
    produce(agreed)
    await catch_up_every_consumer(kafka, kafka_as, namespace, store)
    produce(by_police)
    produce(by_housing)
    consumed = await catch_up_every_consumer(kafka, kafka_as, namespace, store)

    letters = [(d["mappa-consumer"], d["mappa-rejection"]) for d in consumed.letters]
    plan = consumed.pictures.stored_pictures()[case_id].plan
    assert plan is not None
    [action] = plan.actions
    assert letters == [("picture", "not-owner")]
    assert (ActionStatus.COMPLETED, date(2024, 5, 20)) == (action.status, action.completed_on)
