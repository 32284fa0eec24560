"""The AsyncAPI document of the bus: every topic, every event type, who publishes, who reads."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import (
    CASE_ID_PATTERN,
    CATALOGUE,
    CONTENT_TYPE,
    Area,
    EventData,
    published_by,
)
from mappa_bus.contract.asyncapi import DEAD_LETTER_TITLE, bus_specification, publisher_title
from mappa_bus.contract.json_schemas import all_event_schemas, event_schema, shared_definitions
from mappa_bus.principals import (
    SUBSCRIBERS,
    Operation,
    ResourceType,
    Role,
    acl_bindings,
    group_prefix,
)
from mappa_bus.signing import KEY_ID_HEADER, SIGNATURE_HEADER, generate_keyring, sign
from mappa_bus.topics import (
    AGENCY_PARTITIONS,
    DEAD_LETTER,
    acknowledgements_topic,
    agency_topic,
    alerts_topic,
    bus_topic_specs,
    record_spec,
    statistics_topic,
)

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
    """The one operation with `action` (send or receive) on each channel that has one, by the
    channel's address: for a topic with one publisher (or one reader)."""
    found: dict[str, list[JsonObject]] = {}
    for operation in document["operations"].values():
        if operation["action"] == action:
            address = resolve(operation["channel"], document)["address"]
            found.setdefault(address, []).append(operation)
    return {address: ops[0] for address, ops in found.items() if len(ops) == 1}


def principals(action: str, address: str) -> set[str]:
    """Who the document says sends to (or receives from) the topic at `address`."""
    return {
        tag["name"].removeprefix("principal:")
        for operation in DOCUMENT["operations"].values()
        if operation["action"] == action and resolve(operation["channel"])["address"] == address
        for tag in operation["tags"]
    }


def message(operation: JsonObject, document: JsonObject = DOCUMENT) -> JsonObject:
    """The component message of an operation with one message."""
    (reference,) = operation["messages"]
    return resolve(resolve(reference, document), document)


def channel_message(address: str) -> JsonObject:
    """The component message carried on the topic at `address`."""
    (channel,) = (c for c in DOCUMENT["channels"].values() if c["address"] == address)
    return resolve(channel["messages"]["Message"])


def payload_types(agency: Agency) -> list[str]:
    """The `type` constants of the payload(s) sent on `agency`'s topic."""
    payload = resolve(channel_message(agency_topic(agency))["payload"])
    alternatives = [resolve(option) for option in payload.get("oneOf", [])] or [payload]
    return [option["properties"]["type"]["const"] for option in alternatives]


def test_the_document_is_asyncapi_3() -> None:
    """FastStream wrote an AsyncAPI 3.0.0 document titled for the bus."""
    assert (DOCUMENT["asyncapi"], DOCUMENT["info"]["title"]) == ("3.0.0", "MAPPA Bus")


def test_every_topic_of_the_bus_has_a_channel() -> None:
    """Each topic the bus creates is in the document, and nothing else is."""
    addresses = {channel["address"] for channel in DOCUMENT["channels"].values()}

    assert addresses == {spec.name for spec in bus_topic_specs()}


def test_every_agency_topic_is_published_by_its_agency_alone() -> None:
    """Each agency topic has one publisher, its agency, on a channel named for it."""
    sent = operations("send")

    for agency in Agency:
        operation = sent[agency_topic(agency)]
        assert f"#/channels/{publisher_title(agency)}" == operation["channel"]["$ref"]
        assert f"Events {agency.value} publishes" in resolve(operation["channel"])["description"]
        assert principals("send", agency_topic(agency)) == {agency.value}


def test_the_operations_are_exactly_what_the_acls_allow() -> None:
    """Every topic a principal may write is a send of its, every topic it may read a receive."""
    allowed = {
        (binding.principal, "send" if binding.operation is Operation.WRITE else "receive", topic)
        for binding in acl_bindings()
        if binding.resource_type is ResourceType.TOPIC
        and binding.operation in (Operation.READ, Operation.WRITE)
        for topic in [binding.resource_name]
    }
    documented = {
        (tag["name"].removeprefix("principal:"), operation["action"], channel["address"])
        for operation in DOCUMENT["operations"].values()
        for channel in [resolve(operation["channel"])]
        for tag in operation["tags"]
    }

    assert documented == allowed


@pytest.mark.parametrize("role", SUBSCRIBERS)
def test_each_subscriber_service_reads_every_agency_topic_in_its_group(role: Role) -> None:
    """Picture, reporting and alerts each read every agency topic, in the group named for them,
    and the message they read is the one the agency publishes."""
    for agency in Agency:
        operation = DOCUMENT["operations"][f"{role.value}-reads-{publisher_title(agency)}"]
        group = operation["bindings"]["kafka"]["groupId"]
        assert (operation["action"], group["default"]) == ("receive", group_prefix(role))
        assert message(operation) == channel_message(agency_topic(agency))


def test_alerts_acknowledgements_and_statistics_name_who_writes_and_who_reads() -> None:
    """The alerts service raises alerts, coordinators acknowledge them, reporting publishes the
    statistics; coordinators read alerts and acknowledgements."""
    assert principals("send", alerts_topic()) == {Role.ALERTS.value}
    assert principals("receive", alerts_topic()) == {Role.ALERTS.value, Role.COORDINATOR.value}
    assert principals("send", acknowledgements_topic()) == {Role.COORDINATOR.value}
    assert principals("receive", acknowledgements_topic()) == {Role.COORDINATOR.value}
    assert principals("send", statistics_topic()) == {Role.REPORTING.value}
    clear, sealed = resolve(channel_message(alerts_topic())["payload"])["anyOf"]
    assert [resolve(option)["title"] for option in clear["oneOf"]] == [
        "AlertRaised",
        "AlertWithdrawn",
    ]
    assert resolve(sealed)["title"] == "SealedAlert"
    acknowledged = resolve(channel_message(acknowledgements_topic())["payload"])["anyOf"]
    assert [resolve(option)["title"] for option in acknowledged] == [
        "AlertAcknowledged",
        "SealedAcknowledgement",
    ]
    assert channel_message(statistics_topic())["bindings"]["kafka"]["key"]["enum"][-1] == (
        "england-and-wales"
    )


def test_alerts_and_acknowledgements_are_keyed_by_area() -> None:
    """Both carry CloudEvents keyed by the MAPPA area's slug."""
    for topic in (alerts_topic(), acknowledgements_topic()):
        sent = channel_message(topic)
        assert sent["contentType"] == CONTENT_TYPE
        assert sent["bindings"]["kafka"]["key"]["enum"] == [area.value for area in Area]


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
        sent = channel_message(agency_topic(agency))
        key = sent["bindings"]["kafka"]["key"]
        assert sent["contentType"] == CONTENT_TYPE
        assert key["pattern"] == CASE_ID_PATTERN
        assert "murmur2" in key["description"]
        assert "partitioner=murmur2_random" in key["description"]
        channel = DOCUMENT["channels"][publisher_title(agency)]
        assert channel["bindings"]["kafka"]["partitions"] == AGENCY_PARTITIONS


def test_every_agency_message_requires_its_signature_headers() -> None:
    """Each agency's message names the key-id and signature headers, in the form a record the
    SDK signs has them, and says what a consumer refuses."""
    signed = sign(generate_keyring(), Agency.POLICE, Area.KENT, b"{}")
    for agency in Agency:
        sent = channel_message(agency_topic(agency))
        headers = sent["headers"]
        assert headers["required"] == ["content-type", KEY_ID_HEADER, SIGNATURE_HEADER]
        for name, value in signed.items():
            assert re.fullmatch(headers["properties"][name]["pattern"], value), name
        assert "`wrong-area`" in sent["description"]


def test_the_dead_letter_topic_is_published_with_reason_and_source_headers() -> None:
    """The dead-letter channel carries raw bytes and requires the reason, kind and source."""
    sent = channel_message(DEAD_LETTER.name)
    payload = resolve(sent["payload"])

    assert (payload["type"], payload["format"]) == ("string", "binary")
    assert sent["headers"]["required"] == ["mappa-reason", "mappa-rejection", "mappa-source"]
    assert f"{DEAD_LETTER_TITLE}:Message" == sent["title"]
    assert principals("send", DEAD_LETTER.name) == {
        *(agency.value for agency in Agency),
        *(role.value for role in SUBSCRIBERS),
        Role.INTAKE.value,
    }


def test_the_sealed_record_is_an_internal_channel_whose_data_is_the_sealed_object() -> None:
    """`mappa.record` is named internal, written by the intake alone, read by the services,
    keyed by case id, and its message's `data` is `{alg, kid, nonce, ciphertext}` with no
    `time` beside it."""
    topic = record_spec().name
    sent = channel_message(topic)
    payload = resolve(sent["payload"])
    data = resolve(payload["properties"]["data"])
    channel = next(c for c in DOCUMENT["channels"].values() if c["address"] == topic)
    assert channel["description"].startswith("Internal: not for outside producers")
    assert sorted(data["required"]) == ["alg", "ciphertext", "kid", "nonce"]
    assert "time" not in payload["properties"]
    assert principals("send", topic) == {Role.INTAKE.value}
    assert principals("receive", topic) == {role.value for role in SUBSCRIBERS}
    assert sent["bindings"]["kafka"]["key"]["pattern"] == CASE_ID_PATTERN
