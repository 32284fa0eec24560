"""The AsyncAPI 3.0 document of the whole bus, as FastStream generates it from a broker.

`bus_broker()` declares, on a KafkaBroker that is never connected, what is really on the bus:
each agency's publisher (its message: the pinned envelope of each of its event types), the
dead-letter publisher, the walking skeleton's, and every subscriber registered in
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
from mappa_bus.catalogue.wire import MAX_EVENT_BYTES, OVERSIZED_KEPT_BYTES, Rejection
from mappa_bus.connection import KafkaConnection
from mappa_bus.contract.json_schemas import JsonObject
from mappa_bus.contract.pinned import pinned_envelope
from mappa_bus.settings import Settings
from mappa_bus.signing import KEY_ID_HEADER, SIGNATURE_HEADER
from mappa_bus.skeleton import SkeletonEvent, build_skeleton
from mappa_bus.topics import AGENCY_PARTITIONS, DEAD_LETTER, WALKING_SKELETON, agency_topic

Subscription = Callable[[KafkaBroker], object]
"""Registers one service's subscriber(s) on the broker it is given."""


def _walking_skeleton(broker: KafkaBroker) -> object:
    # The group `mappa demo` consumes in (run_demo's default).
    return build_skeleton(broker, group_id="mappa-demo")


SUBSCRIPTIONS: tuple[Subscription, ...] = (_walking_skeleton,)

DEAD_LETTER_TITLE = "dead-letter"
SKELETON_TITLE = "skeleton"

# Kafka bindings at the version FastStream writes for its channel bindings.
_BINDING_VERSION = "0.4.0"
# FastStream's payload for a handler that takes the raw message and no body.
_NO_BODY = "#/components/schemas/EmptyPayload"

# Read from the settings' declaration, not from the environment: the document must not depend
# on where it was generated.
_DEFAULT_SERVERS: str = Settings.model_fields["kafka_bootstrap_servers"].default

# Where a record must sit, which the JSON Schemas cannot say: every consumer checks it.
PLACEMENT = (
    "The record key is the event's `subject` (the case id) in UTF-8, and the record is on the "
    f"partition murmur2 of the key gives (positive, modulo the topic's {AGENCY_PARTITIONS} "
    "partitions): the default partitioner of Java's and aiokafka's producers; with librdkafka "
    "set `partitioner=murmur2_random`, as its own default (`consistent_random`, CRC32) puts a "
    "key elsewhere. A case's events are then on the same partition number of every agency "
    "topic. Consumers dead-letter a record whose key is not its subject (`wrong-key`) or that "
    "is on another partition (`wrong-partition`) before folding anything from it."
)

# Who may say it, which the JSON Schemas cannot say either: every consumer checks it.
SIGNATURE = (
    f"Every agency record carries the headers `{KEY_ID_HEADER}` (the key that signed it, "
    f"`<agency>/<area>/<generation>`, e.g. `police/kent/1`) and `{SIGNATURE_HEADER}` (the "
    "HMAC-SHA256 of the record value's exact bytes under that key, lowercase hex). A publisher "
    "holds one key per area it serves. Consumers dead-letter a record with no signature or an "
    "unknown key (`unsigned`), a signature that does not match (`bad-signature`), another "
    "agency's key (`wrong-publisher`) or a key of another area than the event's `mappaarea` "
    "(`wrong-area`) before folding anything from it."
)

_DESCRIPTION = (
    "The event backbone of MAPPA (Multi-Agency Public Protection Arrangements). Each agency "
    "publishes CloudEvents 1.0 events (structured JSON mode) on its own topic, keyed by the case "
    "id so that one case's events stay in order; subscriber services read them, each in its own "
    "consumer group, and dead-letter what they cannot accept. The JSON Schema of each event "
    "type is in schemas/events/, named by the event's `type`; its `$id` is the event's "
    f"`dataschema`. {PLACEMENT} {SIGNATURE}"
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
        "they arrived (an oversized value truncated, see `mappa-size`), with the reason and "
        "where it came from in the headers. " + DEAD_LETTER.purpose.capitalize() + ".",
        schema=bytes,
    )
    broker.publisher(
        WALKING_SKELETON.name,
        title=SKELETON_TITLE,
        description="The walking skeleton's demonstration events (`mappa demo`), keyed by "
        "case id; not part of the event catalogue.",
        schema=SkeletonEvent,
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
    key = {**case_id, "description": f"The event's `subject`. {PLACEMENT}"}
    for agency in Agency:
        message = messages[f"{publisher_title(agency)}:Message"]
        message["contentType"] = CONTENT_TYPE
        message["description"] = f"{PLACEMENT} {SIGNATURE}"
        message["headers"] = _AGENCY_HEADERS
        message["bindings"] = {"kafka": {"key": key, "bindingVersion": _BINDING_VERSION}}
        channel = document["channels"][publisher_title(agency)]
        channel["bindings"]["kafka"]["partitions"] = AGENCY_PARTITIONS
    messages[f"{DEAD_LETTER_TITLE}:Message"]["headers"] = _DEAD_LETTER_HEADERS
    _show_what_raw_subscribers_read(document)
    _name_consumer_groups(document, broker)


_AGENCY_HEADERS: JsonObject = {
    "type": "object",
    "required": ["content-type", KEY_ID_HEADER, SIGNATURE_HEADER],
    "properties": {
        "content-type": {"type": "string", "const": CONTENT_TYPE},
        KEY_ID_HEADER: {
            "type": "string",
            "pattern": "^[a-z-]+/[a-z-]+/[1-9][0-9]*$",
            "description": "The signing key: `<agency>/<area>/<generation>`, the publishing "
            "agency's key for the event's `mappaarea`.",
            "examples": ["police/kent/1"],
        },
        SIGNATURE_HEADER: {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$",
            "description": "HMAC-SHA256 of the record value's exact bytes under that key, "
            "lowercase hex.",
        },
    },
}

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
            "description": "Where the record came from, as `<topic>/<partition>/<offset>`, or "
            "`<file>:<line>` for a feed line `mappa publish` refused.",
        },
        "mappa-rejection": {
            "type": "string",
            "enum": [kind.value for kind in Rejection],
            "description": "The kind of rejection.",
        },
        "mappa-size": {
            "type": "string",
            "description": f"For an input over {MAX_EVENT_BYTES} bytes: its whole size in "
            f"bytes (decimal); the value then holds only its first {OVERSIZED_KEPT_BYTES}.",
        },
        "mappa-consumer": {
            "type": "string",
            "description": "The consumer that refused a record (`picture`, `reporting`, ...).",
        },
        "mappa-agency": {
            "type": "string",
            "description": "The agency whose publishing tool refused a feed line.",
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
        del document["components"]["schemas"]["EmptyPayload"]


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
