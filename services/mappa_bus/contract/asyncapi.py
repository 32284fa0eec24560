"""The AsyncAPI 3.0 document of the whole bus, as FastStream generates it from a broker.

`bus_broker()` declares, on a KafkaBroker that is never connected, a publisher for every topic
the bus uses (`topics.bus_topic_specs`) with the message it carries: each agency's pinned
envelopes, the dead letters' raw bytes, the alerts, the acknowledgements and the statistics.

Who publishes and who subscribes is not declared a second time here: it is read from the ACLs
the broker enforces (`principals.acl_bindings`), so the document cannot name a reader or writer
the broker would refuse, nor leave one out. Each topic a principal may write becomes a `send`
operation of that principal's, each topic it may read a `receive` one, with its consumer group.

FastStream cannot say some things the bus relies on (the Kafka key, the CloudEvents content
type, the dead-letter headers, consumer groups); `_complete` adds them to its output.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated, Any, Literal, Union

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, ConfigDict, Field

from mappa_bus.agencies import Agency
from mappa_bus.alerts.model import AlertAcknowledged, OnAlertsTopic
from mappa_bus.catalogue import CASE_ID_PATTERN, Area, Rejection
from mappa_bus.catalogue.envelope import CONTENT_TYPE, Envelope
from mappa_bus.catalogue.erasure import CaseErased
from mappa_bus.catalogue.registry import published_by
from mappa_bus.catalogue.wire import MAX_EVENT_BYTES, OVERSIZED_KEPT_BYTES
from mappa_bus.connection import KafkaConnection
from mappa_bus.contract.json_schemas import JsonObject
from mappa_bus.contract.pinned import pinned_envelope
from mappa_bus.principals import (
    SUBSCRIBERS,
    AclBinding,
    Operation,
    ResourceType,
    Role,
    acl_bindings,
    group_prefix,
)
from mappa_bus.reporting.publication import NATIONAL, StatisticsPublished
from mappa_bus.settings import Settings
from mappa_bus.signing import KEY_ID_HEADER, SIGNATURE_HEADER
from mappa_bus.topics import (
    AGENCY_PARTITIONS,
    NAMESPACE,
    TopicSpec,
    acknowledgements_spec,
    agency_topic,
    alerts_spec,
    dead_letter_spec,
    erasures_spec,
    record_spec,
    statistics_spec,
)

# Kafka bindings at the version FastStream writes for its channel bindings.
_BINDING_VERSION = "0.4.0"

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


DEAD_LETTER_TITLE = "dead-letter"
ALERTS_TITLE = "alerts"
ACKNOWLEDGEMENTS_TITLE = "alert-acknowledgements"
STATISTICS_TITLE = "statistics"
RECORD_TITLE = "record"
ERASURES_TITLE = "erasures"

# Who each role's principal is, as the operations' descriptions name it.
_ROLE_IS = {
    Role.PICTURE: "the case-picture service (`mappa picture run`)",
    Role.REPORTING: "the reporting service (`mappa reporting run`)",
    Role.ALERTS: "the alerts service (`mappa alerts run`)",
    Role.COORDINATOR: "MAPPA coordinators (`mappa alerts tail`, `mappa alerts web`)",
    Role.INTAKE: "the intake (`mappa intake run`), in sealed mode",
    Role.ERASURE: "the erasure of cases on a recorded decision or after retention "
    "(`mappa erase`, `mappa erase-expired`)",
}
# Why a principal reads or writes a topic that is not the obvious one for it.
_BECAUSE = {
    (Role.ALERTS.value, Operation.READ, ALERTS_TITLE): "its own alerts, read back after a "
    "restart so as to publish none twice",
    (Role.COORDINATOR.value, Operation.READ, ACKNOWLEDGEMENTS_TITLE): "every coordinator's "
    "acknowledgements, to show which alerts are in hand",
    (Role.COORDINATOR.value, Operation.READ, ERASURES_TITLE): "to stop showing an erased "
    "case's alerts on the alerts page",
    **{
        (role.value, Operation.READ, ERASURES_TITLE): "to cut each erased case from its store, "
        "now and in every rebuild"
        for role in SUBSCRIBERS
    },
}


def publisher_title(agency: Agency) -> str:
    """The channel name of `agency`'s topic in the document."""
    return agency.value


def bus_specification() -> JsonObject:
    """The AsyncAPI 3.0 document of the bus, as a JSON object."""
    specification = AsyncAPI(
        bus_broker(),
        title="MAPPA Bus",
        version=version("mappa-bus"),
        description=_DESCRIPTION,
        schema_version="3.0.0",
    ).to_specification()
    document: JsonObject = specification.to_jsonable()
    _complete(document)
    return document


def bus_broker() -> KafkaBroker:
    """A broker (never connected) declaring a publisher for every topic of the bus."""
    broker = KafkaConnection(_DEFAULT_SERVERS).broker(
        description="The local development broker (deploy/kafka/kafka-local); each deployment "
        "has its own.",
        logger=None,
    )
    for agency in Agency:
        _declare_agency_topic(broker, agency)
    _declare(
        broker,
        dead_letter_spec(),
        DEAD_LETTER_TITLE,
        "Rejected input: the record's value and key exactly as they arrived (an oversized value "
        "truncated, see `mappa-size`), with the reason and where it came from in the headers.",
        bytes,
    )
    _declare(
        broker,
        alerts_spec(),
        ALERTS_TITLE,
        "Alerts raised by the alerts service from the agencies' events (CloudEvents), keyed by "
        "MAPPA area; and the withdrawal of an alert whose triggering event its agency withdrew "
        "(`uk.gov.mappa.alerts.alert-withdrawn.v1`), keyed as the alert is, after it. "
        f"{_SEALED_BUS_EVENTS}",
        Union[OnAlertsTopic, SealedAlert],  # noqa: UP007
    )
    _declare(
        broker,
        acknowledgements_spec(),
        ACKNOWLEDGEMENTS_TITLE,
        "Coordinators' acknowledgements of alerts (CloudEvents), keyed by MAPPA area as the "
        "alerts are; apart from the alerts so that a coordinator may acknowledge one but never "
        f"forge one. {_SEALED_BUS_EVENTS}",
        Union[AlertAcknowledged, SealedAcknowledgement],  # noqa: UP007
    )
    _declare(
        broker,
        statistics_spec(),
        STATISTICS_TITLE,
        "Each closed reporting year's MAPPA statistics (CloudEvents), one event per area and "
        f"one for `{NATIONAL}`, keyed by that subject; a correction is a new revision.",
        StatisticsPublished,
    )
    _declare(
        broker,
        record_spec(),
        RECORD_TITLE,
        "Internal: not for outside producers or consumers. In sealed mode (decision 0002) the "
        "intake copies every agency record that passes the consumers' checks here, keyed by "
        "case id on the same partition number, with its routing fields in the clear and its "
        "`data` the sealed object: AES-256-GCM under the case's own key over the agency record "
        "value as it was signed (its `time` and `data`), bound to `id`, `type` and `subject`. "
        "Erasing a case destroys its key; every consumer skips what no longer opens.",
        SealedRecord,
    )
    _declare(
        broker,
        erasures_spec(),
        ERASURES_TITLE,
        "Internal: the erasure of a case (CloudEvents), keyed by its case id, which every "
        "projection folds: each store cuts the case's details and never folds them back in "
        "(docs/decisions/0002-erasure-reaching-the-log.md). Names the case, its area, the "
        "ground and the decision's reference, and nothing about the person.",
        CaseErased,
    )
    return broker


class SealedObject(BaseModel):
    """The sealed `data` of a record on the sealed record (sealing.py)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    alg: Literal["A256GCM"]
    """AES-256-GCM."""
    kid: str
    """The key's id: the case id whose key sealed it (the record's `subject`)."""
    nonce: str = Field(pattern="^[A-Za-z0-9+/]{16}$")
    """The 96-bit nonce, base64 (RFC 4648 section 4)."""
    ciphertext: str = Field(pattern="^[A-Za-z0-9+/]+={0,2}$")
    """The sealed plaintext (the agency record value; a bus event, whole), with its 128-bit
    tag, base64 (RFC 4648 section 4)."""


class SealedRecord(BaseModel):
    """A record of the sealed record: a CloudEvent without `time`, its `data` sealed."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    specversion: Literal["1.0"]
    id: str
    """The sealed event's id."""
    source: str
    type: str
    subject: str
    """The case id (the record key)."""
    dataschema: str
    """The sealed event's `dataschema`."""
    datacontenttype: Literal["application/json"]
    mappaarea: Area
    mappahandling: str
    data: SealedObject


_SEALED_BUS_EVENTS = (
    "In sealed mode (decision 0002) each event is sealed under its case's own key as the sealed "
    "record's are: `source`, `type`, `subject` (the case id), `mappaarea` and `mappahandling` in "
    "the clear, no `time`, an `id` that is not the event's own but an HMAC of it under a key "
    "derived from the case's (stable, and unguessable), and `data` the sealed object over the "
    "whole event as it reads in the clear, bound to `id`, `type` and `subject`; a reader opens "
    "it with the case keys, and shows one that no longer opens (the case erased) as erased."
)


class SealedBusEvent(BaseModel):
    """One of the bus's own events about a case, sealed under the case's key (sealed mode):
    a CloudEvent without `time`, its `data` the sealed event."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, max_length=256)
    """Not the sealed event's own id: 128 bits of HMAC-SHA256 of it under a key derived from
    the case's, as a UUID (the same for the same event; the event's own id is inside)."""
    source: str
    subject: str
    """The case id, whose key sealed it."""
    datacontenttype: Literal["application/json"]
    mappaarea: Area
    """The area it is keyed by."""
    mappahandling: str
    data: SealedObject
    """The whole event as it reads in the clear, sealed."""


class SealedAlert(SealedBusEvent):
    """An alert, or an alert's withdrawal, sealed under its case's key (sealed mode)."""

    type: Literal["uk.gov.mappa.alerts.alert-raised.v1", "uk.gov.mappa.alerts.alert-withdrawn.v1"]


class SealedAcknowledgement(SealedBusEvent):
    """An acknowledgement, sealed under its alert's case's key (sealed mode)."""

    type: Literal["uk.gov.mappa.coordinator.alert-acknowledged.v1"]


def _declare(broker: KafkaBroker, spec: TopicSpec, title: str, what: str, schema: Any) -> None:
    broker.publisher(
        spec.name,
        title=title,
        description=f"{what} {spec.purpose.capitalize()}.",
        schema=schema,
    )


def _declare_agency_topic(broker: KafkaBroker, agency: Agency) -> None:
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


def _complete(document: JsonObject) -> None:
    """Add what FastStream cannot express; see the module's docstring."""
    messages = document["components"]["messages"]
    case_id = Envelope.model_json_schema()["properties"]["subject"]
    key = {**case_id, "description": f"The event's `subject`. {PLACEMENT}"}
    area: JsonObject = {"type": "string", "enum": [area.value for area in Area]}
    for agency in Agency:
        message = messages[f"{publisher_title(agency)}:Message"]
        _kafka_message(message, key)
        message["description"] = f"{PLACEMENT} {SIGNATURE}"
        message["headers"] = _AGENCY_HEADERS
        channel = document["channels"][publisher_title(agency)]
        channel["bindings"]["kafka"]["partitions"] = AGENCY_PARTITIONS
    _kafka_message(messages[f"{ALERTS_TITLE}:Message"], area)
    _kafka_message(messages[f"{ACKNOWLEDGEMENTS_TITLE}:Message"], area)
    _kafka_message(messages[f"{RECORD_TITLE}:Message"], case_id)
    messages[f"{RECORD_TITLE}:Message"]["contentType"] = "application/json"
    document["channels"][RECORD_TITLE]["bindings"]["kafka"]["partitions"] = AGENCY_PARTITIONS
    _kafka_message(
        messages[f"{STATISTICS_TITLE}:Message"],
        {"type": "string", "enum": [*area["enum"], NATIONAL]},
    )
    _kafka_message(
        messages[f"{ERASURES_TITLE}:Message"], {"type": "string", "pattern": CASE_ID_PATTERN}
    )
    # As many partitions as the agency topics: a case's erasure on its events' partition number.
    document["channels"][ERASURES_TITLE]["bindings"]["kafka"]["partitions"] = AGENCY_PARTITIONS
    dead_letter = messages[f"{DEAD_LETTER_TITLE}:Message"]
    dead_letter["headers"] = _DEAD_LETTER_HEADERS
    dead_letter["bindings"] = {
        "kafka": {
            "key": {"type": "string", "description": "The refused record's own key, if any."},
            "bindingVersion": _BINDING_VERSION,
        }
    }
    titles = {channel["address"]: title for title, channel in document["channels"].items()}
    document["operations"] = {
        _operation_id(binding, titles[binding.resource_name]): _operation(
            binding, titles[binding.resource_name]
        )
        for binding in acl_bindings(NAMESPACE)
        if binding.resource_type is ResourceType.TOPIC
        and binding.operation in (Operation.READ, Operation.WRITE)
    }


def _kafka_message(message: JsonObject, key: JsonObject) -> None:
    message["contentType"] = CONTENT_TYPE
    message["bindings"] = {"kafka": {"key": key, "bindingVersion": _BINDING_VERSION}}


def _operation_id(binding: AclBinding, title: str) -> str:
    verb = "publishes" if binding.operation is Operation.WRITE else "reads"
    return f"{binding.principal}-{verb}-{title}"


def _operation(binding: AclBinding, title: str) -> JsonObject:
    """One principal's sending to, or receiving from, one topic, as its ACL allows."""
    sends = binding.operation is Operation.WRITE
    who = _principal_is(binding.principal)
    why = _BECAUSE.get((binding.principal, binding.operation, title))
    summary = f"{'Published on' if sends else 'Read from'} `{binding.resource_name}` by {who}"
    operation: JsonObject = {
        "action": "send" if sends else "receive",
        "channel": {"$ref": f"#/channels/{title}"},
        "messages": [{"$ref": f"#/channels/{title}/messages/Message"}],
        "summary": summary if why is None else f"{summary}: {why}",
        "tags": [{"name": f"principal:{binding.principal}"}],
    }
    if not sends:
        operation["bindings"] = {"kafka": _consumer_group(binding.principal)}
    return operation


def _principal_is(principal: str) -> str:
    if principal in {role.value for role in Role}:
        return _ROLE_IS[Role(principal)]
    return f"{principal} (its systems, through its adapter or `mappa publish`)"


def _consumer_group(principal: str) -> JsonObject:
    """The consumer group a reader uses: a service's instances share one named for its role
    (they may be given another under that prefix); a coordinator reads in its own, or none."""
    role = Role(principal)
    prefix = group_prefix(role, NAMESPACE)
    if role in SUBSCRIBERS or role is Role.INTAKE:
        group = {"type": "string", "pattern": f"^{prefix}", "default": prefix}
    else:
        group = {"type": "string", "pattern": f"^{prefix}"}
    return {"groupId": group, "bindingVersion": _BINDING_VERSION}


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
    "required": ["mappa-reason", "mappa-rejection", "mappa-source"],
    "properties": {
        "mappa-reason": {
            "type": "string",
            "description": "Why the record was refused: the offending field and the reason, "
            "e.g. `data.category: must be 1, 2, 3 or 4`.",
        },
        "mappa-rejection": {
            "type": "string",
            "enum": [rejection.value for rejection in Rejection],
            "description": "The kind of rejection.",
        },
        "mappa-size": {
            "type": "string",
            "description": f"For an input over {MAX_EVENT_BYTES} bytes: its whole size in "
            f"bytes (decimal); the value then holds only its first {OVERSIZED_KEPT_BYTES}.",
        },
        "mappa-source": {
            "type": "string",
            "description": "Where the record came from, as `<topic>/<partition>/<offset>`, or "
            "`<file>:<line>` for a feed line `mappa publish` refused.",
        },
        "mappa-consumer": {
            "type": "string",
            "description": "The subscriber service that refused it (picture, reporting, alerts).",
        },
        "mappa-agency": {
            "type": "string",
            "description": "The agency whose publishing tool refused it.",
        },
    },
}
