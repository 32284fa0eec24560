"""The AsyncAPI document of the bus: every topic, every event type, who publishes, who reads."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import CATALOGUE, CONTENT_TYPE, Area, EventData, published_by
from mappa_bus.contract.asyncapi import (
    DEAD_LETTER_TITLE,
    SUBSCRIPTIONS,
    bus_specification,
    publisher_title,
)
from mappa_bus.contract.json_schemas import all_event_schemas, event_schema, shared_definitions
from mappa_bus.signing import KEY_ID_HEADER, SIGNATURE_HEADER, generate_keyring, sign
from mappa_bus.topics import AGENCY_PARTITIONS, DEAD_LETTER, WALKING_SKELETON, agency_topic

JsonObject = dict[str, Any]
DOCUMENT = bus_specification()


def resolve(reference: JsonObject, document: JsonObject = DOCUMENT) -> JsonObject:
    """The object a `{"$ref": "#/..."}` in the document points at."""
    node: Any = document
    for part in reference["$ref"].removeprefix("#/").split("/"):
        node = node[part]
    resolved: JsonObject = node
    return resolved


def operations(action: str, document: JsonObject = DOCUMENT) -> dict[str, JsonObject]:
    """Operations with `action` (send or receive), by their channel's address."""
    return {
        resolve(operation["channel"], document)["address"]: operation
        for operation in document["operations"].values()
        if operation["action"] == action
    }


def message(operation: JsonObject, document: JsonObject = DOCUMENT) -> JsonObject:
    """The component message of an operation with one message."""
    (reference,) = operation["messages"]
    return resolve(resolve(reference, document), document)


def payload_types(agency: Agency) -> list[str]:
    """The `type` constants of the payload(s) sent on `agency`'s topic."""
    payload = resolve(message(operations("send")[agency_topic(agency)])["payload"])
    alternatives = [resolve(option) for option in payload.get("oneOf", [])] or [payload]
    return [option["properties"]["type"]["const"] for option in alternatives]


def test_the_document_is_asyncapi_3() -> None:
    """FastStream wrote an AsyncAPI 3.0.0 document titled for the bus."""
    assert (DOCUMENT["asyncapi"], DOCUMENT["info"]["title"]) == ("3.0.0", "MAPPA Bus")


def test_every_agency_topic_has_a_publisher_named_for_its_agency() -> None:
    """Each agency topic is sent on, by a channel named after and describing its agency."""
    sent = operations("send")

    for agency in Agency:
        operation = sent[agency_topic(agency)]
        assert f"#/channels/{publisher_title(agency)}" == operation["channel"]["$ref"]
        assert f"Events {agency.value} publishes" in resolve(operation["channel"])["description"]


@pytest.mark.parametrize("agency", list(Agency))
def test_each_agency_topic_carries_exactly_its_agencys_event_types(agency: Agency) -> None:
    """The message on an agency topic is one of that agency's events, each pinned by `type`."""
    assert [model.event_type() for model in published_by(agency)] == payload_types(agency)


def test_every_event_type_is_named_in_the_document() -> None:
    """No catalogue type is missing from the document."""
    text = json.dumps(DOCUMENT)

    assert [model.event_type() for model in CATALOGUE if model.event_type() not in text] == []


IDENTITY = {"$defs", "$schema", "$id", "title", "description", "examples"}


@pytest.mark.parametrize("model", CATALOGUE, ids=lambda model: model.event_type())
def test_the_payload_of_each_type_is_its_json_schema(model: type[EventData]) -> None:
    """The AsyncAPI payload of a type says what its JSON Schema file says."""
    schema = event_schema(model)
    constraints = {key: value for key, value in schema.items() if key not in IDENTITY}
    component = DOCUMENT["components"]["schemas"][f"{model.__name__}Event"]

    assert json.loads(json.dumps(constraints).replace("#/$defs/", "#/components/schemas/")) == {
        key: value for key, value in component.items() if key not in IDENTITY
    }
    assert schema["description"] == component["description"]


def test_shared_definitions_are_the_json_schemas_definitions() -> None:
    """Vocabularies shared by many types (Area, Agency, ...) have one meaning, as in the files."""
    shared = shared_definitions(list(all_event_schemas().values()))
    components = DOCUMENT["components"]["schemas"]
    rewritten = json.loads(json.dumps(shared).replace("#/$defs/", "#/components/schemas/"))

    assert rewritten == {name: components[name] for name in shared}


def test_agency_messages_are_cloudevents_keyed_by_case_id() -> None:
    """Agency messages declare the CloudEvents content type, the case id as Kafka key, and the
    partitioner that places it; each agency topic its partition count."""
    for agency in Agency:
        sent = message(operations("send")[agency_topic(agency)])
        key = sent["bindings"]["kafka"]["key"]
        assert sent["contentType"] == CONTENT_TYPE
        assert key["pattern"] == "^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$"
        assert "murmur2" in key["description"]
        assert "partitioner=murmur2_random" in key["description"]
        channel = DOCUMENT["channels"][publisher_title(agency)]
        assert channel["bindings"]["kafka"]["partitions"] == AGENCY_PARTITIONS


def test_every_agency_message_requires_its_signature_headers() -> None:
    """Each agency's message names the key-id and signature headers, in the form a record the
    SDK signs has them, and says what a consumer refuses."""
    signed = sign(generate_keyring(), Agency.POLICE, Area.KENT, b"{}")
    for agency in Agency:
        sent = message(operations("send")[agency_topic(agency)])
        headers = sent["headers"]
        assert headers["required"] == ["content-type", KEY_ID_HEADER, SIGNATURE_HEADER]
        for name, value in signed.items():
            assert re.fullmatch(headers["properties"][name]["pattern"], value), name
        assert "`wrong-area`" in sent["description"]


def test_the_dead_letter_topic_is_published_with_reason_and_source_headers() -> None:
    """The dead-letter channel carries raw bytes and requires the two headers."""
    sent = message(operations("send")[DEAD_LETTER.name])
    payload = resolve(sent["payload"])

    assert (payload["type"], payload["format"]) == ("string", "binary")
    assert sent["headers"]["required"] == ["mappa-reason", "mappa-source"]
    assert f"{DEAD_LETTER_TITLE}:Message" == sent["title"]


def test_the_skeleton_subscriber_is_shown_with_its_group_and_what_it_reads() -> None:
    """Today's one subscriber appears as a receive operation in its consumer group."""
    received = operations("receive")[WALKING_SKELETON.name]

    assert received["bindings"]["kafka"]["groupId"] == {"type": "string", "enum": ["mappa-demo"]}
    assert message(received)["payload"] == {"$ref": "#/components/schemas/SkeletonEvent"}


def test_a_service_adds_its_subscriber_through_a_subscription_function() -> None:
    """A raw-record subscriber on an agency topic shows that topic's events and its group."""

    def case_picture(broker: KafkaBroker) -> None:
        @broker.subscriber(agency_topic(Agency.POLICE), group_id="case-picture")
        async def on_event(message: KafkaMessage) -> None: ...

    document = bus_specification((*SUBSCRIPTIONS, case_picture))
    received = operations("receive", document)[agency_topic(Agency.POLICE)]
    sent = operations("send", document)[agency_topic(Agency.POLICE)]

    assert message(sent, document)["payload"] == message(received, document)["payload"]
    assert received["bindings"]["kafka"]["groupId"]["enum"] == ["case-picture"]
    assert "EmptyPayload" not in document["components"]["schemas"]
