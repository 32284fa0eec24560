"""The AsyncAPI 3.0 document of the whole bus, as FastStream generates it from a broker.

`bus_broker()` declares, on a KafkaBroker that is never connected, what is really on the bus:
each agency's publisher (its message: the pinned envelope of each of its event types), the
dead-letter publisher, and every subscriber registered in
`SUBSCRIPTIONS`. A service adds its subscriber to the document by adding to that tuple the
function that registers it on a broker, the same function its runtime calls.

FastStream cannot say some things the bus relies on (the Kafka key, the CloudEvents content
type, the dead-letter headers, consumer groups); `_complete` adds them to its output, and says
what a subscriber that reads raw records (to dead-letter what does not parse) really reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from importlib.metadata import version
from typing import Annotated, Any, Union
from urllib.parse import unquote

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.utils import clear_key
from pydantic import Field

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.envelope import CONTENT_TYPE, Envelope
from mappa_bus.catalogue.registry import published_by
from mappa_bus.connection import KafkaConnection
from mappa_bus.contract.json_schemas import JsonObject
from mappa_bus.contract.pinned import pinned_envelope
from mappa_bus.settings import Settings
from mappa_bus.topics import DEAD_LETTER, agency_topic

Subscription = Callable[[KafkaBroker], object]
"""Registers one service's subscriber(s) on the broker it is given."""


SUBSCRIPTIONS: tuple[Subscription, ...] = ()

DEAD_LETTER_TITLE = "dead-letter"

# Kafka bindings at the version FastStream writes for its channel bindings.
_BINDING_VERSION = "0.4.0"
# FastStream's payload for a handler that takes the raw message and no body.
_NO_BODY = "#/components/schemas/EmptyPayload"

# Read from the settings' declaration, not from the environment: the document must not depend
# on where it was generated.
_DEFAULT_SERVERS: str = Settings.model_fields["kafka_bootstrap_servers"].default

_DESCRIPTION = (
    "The event backbone of MAPPA (Multi-Agency Public Protection Arrangements). Each agency "
    "publishes CloudEvents 1.0 events (structured JSON mode) on its own topic, keyed by the case "
    "id so that one case's events stay in order; subscriber services read them, each in its own "
    "consumer group, and dead-letter what they cannot accept. The JSON Schema of each event "
    "type is in schemas/events/, named by the event's `type`; its `$id` is the event's "
    "`dataschema`."
)


def publisher_title(agency: Agency) -> str:
    """The channel (and operation) name of `agency`'s publisher in the document."""
    return agency.value


def bus_specification(subscriptions: tuple[Subscription, ...] = SUBSCRIPTIONS) -> JsonObject:
    """The AsyncAPI 3.0 document of the bus with `subscriptions`, as a JSON object."""
    broker = bus_broker(subscriptions)
    specification = AsyncAPI(
        broker,
        title="MAPPA Bus",
        version=version("mappa-bus"),
        description=_DESCRIPTION,
        schema_version="3.0.0",
    ).to_specification()
    document: JsonObject = specification.to_jsonable()
    _complete(document, broker)
    return document


def bus_broker(subscriptions: tuple[Subscription, ...] = SUBSCRIPTIONS) -> KafkaBroker:
    """A broker (never connected) declaring every publisher and the given subscribers."""
    broker = KafkaConnection(_DEFAULT_SERVERS).broker(
        description="The local development broker (deploy/kafka/kafka-local); each deployment "
        "has its own.",
        logger=None,
    )
    for agency in Agency:
        _declare_agency_publisher(broker, agency)
    broker.publisher(
        DEAD_LETTER.name,
        title=DEAD_LETTER_TITLE,
        description="Every subscriber's rejected input: the record's value and key exactly as "
        "they arrived, with the reason and where it came from in the headers. "
        + DEAD_LETTER.purpose.capitalize()
        + ".",
        schema=bytes,
    )
    for subscribe in subscriptions:
        subscribe(broker)
    return broker


def _declare_agency_publisher(broker: KafkaBroker, agency: Agency) -> None:
    models = published_by(agency)
    types = ", ".join(f"`{model.event_type()}`" for model in models)
    broker.publisher(
        agency_topic(agency),
        title=publisher_title(agency),
        description=f"Events {agency.value} publishes (only {agency.value} may): {types}. "
        "Kept indefinitely; the record.",
        schema=_one_of(tuple(pinned_envelope(model) for model in models)),
    )


def _one_of(envelopes: tuple[type[Envelope[Any]], ...]) -> Any:
    """One envelope, or a union of them told apart by `type` (each pins it to a constant)."""
    if len(envelopes) == 1:
        return envelopes[0]
    return Annotated[Union[envelopes], Field(discriminator="type")]  # noqa: UP007


def _complete(document: JsonObject, broker: KafkaBroker) -> None:
    """Add what FastStream cannot express; see the module's docstring."""
    messages = document["components"]["messages"]
    case_id = Envelope.model_json_schema()["properties"]["subject"]
    for agency in Agency:
        message = messages[f"{publisher_title(agency)}:Message"]
        message["contentType"] = CONTENT_TYPE
        message["bindings"] = {"kafka": {"key": case_id, "bindingVersion": _BINDING_VERSION}}
    messages[f"{DEAD_LETTER_TITLE}:Message"]["headers"] = _DEAD_LETTER_HEADERS
    _show_what_raw_subscribers_read(document)
    _name_consumer_groups(document, broker)


_DEAD_LETTER_HEADERS: JsonObject = {
    "type": "object",
    "required": ["mappa-reason", "mappa-source"],
    "properties": {
        "mappa-reason": {
            "type": "string",
            "description": "Why the record was refused: the offending field and the reason, "
            "e.g. `data.category: must be 1, 2, 3 or 4`.",
        },
        "mappa-source": {
            "type": "string",
            "description": "Where the record came from, as `<topic>/<partition>/<offset>`.",
        },
    },
}


def _show_what_raw_subscribers_read(document: JsonObject) -> None:
    """A subscriber that takes the raw record shows no body in FastStream's output; it reads
    what is published on its topic, so its message gets that payload."""
    published = {
        channel["address"]: _message(document, operation)["payload"]
        for operation, channel in _operations(document, "send")
    }
    for operation, channel in _operations(document, "receive"):
        message = _message(document, operation)
        if message["payload"] == {"$ref": _NO_BODY} and channel["address"] in published:
            message["payload"] = published[channel["address"]]
    if f'"{_NO_BODY}"' not in json.dumps(document):
        document["components"]["schemas"].pop("EmptyPayload", None)


def _name_consumer_groups(document: JsonObject, broker: KafkaBroker) -> None:
    """Who subscribes: the consumer group of each receive operation, as a Kafka binding."""
    # Only Kafka's subscribers have a group id, and one given partitions has none.
    groups = {
        clear_key(key): getattr(subscriber, "group_id", None)
        for subscriber in broker.subscribers
        for key in subscriber.schema()
    }
    for operation, _ in _operations(document, "receive"):
        group = groups.get(_channel_key(operation))
        if group:
            operation["bindings"] = {
                "kafka": {
                    "groupId": {"type": "string", "enum": [group]},
                    "bindingVersion": _BINDING_VERSION,
                }
            }


def _operations(document: JsonObject, action: str) -> Iterator[tuple[JsonObject, JsonObject]]:
    for operation in document["operations"].values():
        if operation["action"] == action:
            yield operation, document["channels"][_channel_key(operation)]


def _channel_key(operation: JsonObject) -> str:
    return _pointer_part(operation["channel"]["$ref"].removeprefix("#/channels/"))


def _message(document: JsonObject, operation: JsonObject) -> JsonObject:
    """The component message an operation sends or receives (through its channel)."""
    (reference,) = operation["messages"]
    _, channel, _, name = reference["$ref"].removeprefix("#/").split("/")
    channel_message = document["channels"][_pointer_part(channel)]["messages"][name]
    component = channel_message["$ref"].removeprefix("#/components/messages/")
    message: JsonObject = document["components"]["messages"][_pointer_part(component)]
    return message


def _pointer_part(encoded: str) -> str:
    return unquote(encoded).replace("~1", "/").replace("~0", "~")
