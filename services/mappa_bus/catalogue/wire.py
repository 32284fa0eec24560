"""Bytes to typed events and back: the one parser every subscriber uses.

`parse_event` returns the typed event or raises `WireError` naming the field and the reason,
with a `kind` that says which of the ways a message can be bad it is. Nothing else escapes it.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.envelope import Envelope
from mappa_bus.catalogue.registry import BY_TYPE

# Larger than any honest event by two orders of magnitude; Kafka's own default limit is 1 MiB.
MAX_EVENT_BYTES = 64 * 1024
# What a dead letter keeps of an input larger than that: enough to see what it was, small enough
# that the dead letter itself always fits the broker (docs/feeds.md).
OVERSIZED_KEPT_BYTES = 4 * 1024


class Rejection(StrEnum):
    """The ways a wire message can be refused, each with its own dead-letter reason."""

    OVERSIZED = "oversized"
    NOT_JSON = "not-json"
    MALFORMED_ENVELOPE = "malformed-envelope"
    UNKNOWN_TYPE = "unknown-type"
    WRONG_PUBLISHER = "wrong-publisher"
    INVALID_DATA = "invalid-data"
    # Where the record sits, not what it says: its key is not its subject, or it is not on the
    # partition murmur2 of its key gives (schemas/README.md, "Key and partition").
    WRONG_KEY = "wrong-key"
    WRONG_PARTITION = "wrong-partition"
    # Who may say it (docs/decisions/0001-area-bound-publishers.md): no signature or a key the
    # keyring does not hold, a signature that does not match, a key of another area.
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad-signature"
    WRONG_AREA = "wrong-area"
    # What it says of another's: an outcome (completed, closed, re-dated) of a plan action that
    # the bus knows another agency owns. Refused by the consumers that know the plan, not by
    # the parser: it is a valid event, sent by an agency that may not say it.
    NOT_OWNER = "not-owner"
    # A withdrawal a consumer cannot apply (catalogue/withdrawal.py): it names no event of its
    # case that the consumer holds, or one another agency published.
    UNKNOWN_EVENT = "unknown-event"
    NOT_OWN_EVENT = "not-own-event"
    # A merge or unmerge a consumer cannot apply (catalogue/merges.py): a case merged into
    # itself, an id already merged (or a chain), an unmerge of two ids not merged.
    SELF_MERGE = "self-merge"
    ALREADY_MERGED = "already-merged"
    NOT_MERGED = "not-merged"


class WireError(ValueError):
    """A message that is not a valid bus event: `field: reason`, and the kind of rejection."""

    def __init__(self, kind: Rejection, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.kind = kind
        self.field = field
        self.reason = reason

    def __reduce__(self) -> tuple[type[WireError], tuple[Rejection, str, str]]:
        # Pickled as made (a feed's worker processes hand rejections back): an exception is
        # otherwise rebuilt from its message alone.
        return type(self), (self.kind, self.field, self.reason)


_INCOMING: TypeAdapter[Envelope[dict[str, Any]]] = TypeAdapter(Envelope[dict[str, Any]])


def parse_event(raw: bytes | str, *, decoded: Any = None) -> Envelope[EventData]:
    """Parse one wire message into its typed event, or raise `WireError`. `decoded` is `raw`
    as `orjson.loads` reads it, when the caller has read it already (a feed line, to tell a
    whole CloudEvent from a flat record): it is not read twice."""
    if len(raw) > MAX_EVENT_BYTES:
        raise oversized("(message)", len(raw))
    return _parse_valid(raw, decoded) or _parse_checked(raw)


def oversized(field: str, size: int) -> WireError:
    """The refusal of an input of `size` bytes, larger than any event may be."""
    return WireError(Rejection.OVERSIZED, field, f"{size} bytes, more than {MAX_EVENT_BYTES}")


def _parse_valid(raw: bytes | str, decoded: Any = None) -> Envelope[EventData] | None:
    """The fast path, for the valid events that are nearly all of the traffic: the type read
    first, then envelope and payload validated in one pass. None sends anything amiss to the
    checked path, which says exactly what is wrong."""
    found = _type_in(raw) if decoded is None else None
    event = _valid_as(raw, found) if found is not None else None
    if event is not None:
        return event
    # No `type` found in the bytes, or the one found was not the envelope's (a payload's own
    # field of that name): read the whole message to find it.
    try:
        record = orjson.loads(raw) if decoded is None else decoded
        name = record.get("type")
    except (orjson.JSONDecodeError, AttributeError, TypeError):
        return None
    # The envelope's own type, already tried: an invalid event, not validated twice.
    if not isinstance(name, str) or name == found:
        return None
    return _valid_as(raw, name)


# The first `"type": "..."` of a message, read without decoding the rest: a record's bytes are
# otherwise read twice, once as a dict only to learn which model validates them (a fifth of
# the parse). It may be a payload's field rather than the envelope's; `_valid_as` then fails
# on the type or schema it checks, and the message is read whole.
_TYPE_FIELD = re.compile(rb'"type"\s*:\s*"([^"\\]{1,200})"')


def _type_in(raw: bytes | str) -> str | None:
    if not isinstance(raw, bytes):
        return None
    found = _TYPE_FIELD.search(raw)
    return None if found is None else found.group(1).decode("ascii", "replace")


def _valid_as(raw: bytes | str, name: str) -> Envelope[EventData] | None:
    """`raw` validated in one pass as an event of the type `name`, or None: no such type, not
    valid, or of another publisher or schema than the type's."""
    typed = _fast_model(name)
    if typed is None:
        return None
    model, publisher, schema = typed
    try:
        event = model.model_validate_json(raw)
    except ValidationError:
        return None
    if event.type != name or event.publisher is not publisher or event.dataschema != schema:
        return None
    return event


def _fast_model(name: str) -> tuple[type[Envelope[EventData]], Agency, str] | None:
    """The envelope model of the event type `name`, its publisher and its schema's URI; None
    for a name the catalogue lacks (not cached: any string may come off the wire)."""
    model = BY_TYPE.get(name)
    return None if model is None else _typed(model)


@functools.cache
def _typed(model: type[EventData]) -> tuple[type[Envelope[EventData]], Agency, str]:
    return Envelope[model], model.PUBLISHER, model.schema_uri()  # type: ignore[valid-type]


def _parse_checked(raw: bytes | str) -> Envelope[EventData]:
    """Parse in steps (envelope, type, publisher, schema, payload), so that a refusal names
    the first thing wrong as the rules in this module word it."""
    try:
        incoming = _INCOMING.validate_json(raw)
    except ValidationError as error:
        raise _envelope_error(error) from None
    model = BY_TYPE.get(incoming.type)
    if model is None:
        raise WireError(Rejection.UNKNOWN_TYPE, "type", f"unknown event type {incoming.type!r}")
    if incoming.publisher is not model.PUBLISHER:
        raise wrong_publisher("source", incoming.publisher, model)
    if incoming.dataschema != model.schema_uri():
        raise WireError(
            Rejection.MALFORMED_ENVELOPE, "dataschema", f"must be {model.schema_uri()!r}"
        )
    try:
        data = model.model_validate(incoming.data)
    except ValidationError as error:
        raise _data_error(error) from None
    # The envelope is already valid: swap in the typed payload without validating it again.
    typed: Envelope[EventData] = incoming.model_copy(update={"data": data})  # type: ignore[assignment]
    return typed


def wrong_publisher(field: str, agency: Agency, model: type[EventData]) -> WireError:
    """The refusal of an event type from an agency that may not publish it."""
    return WireError(
        Rejection.WRONG_PUBLISHER,
        field,
        f"{agency.value} may not publish {model.event_type()}; only {model.PUBLISHER.value} may",
    )


def to_wire(event: Envelope[Any]) -> bytes:
    """The structured-mode CloudEvents JSON of `event`."""
    return event.model_dump_json().encode()


def _envelope_error(error: ValidationError) -> WireError:
    first = error.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return WireError(Rejection.NOT_JSON, "(message)", "not valid JSON")
    if first["type"] == "model_type":
        return WireError(Rejection.MALFORMED_ENVELOPE, "(message)", "must be a JSON object")
    return WireError(Rejection.MALFORMED_ENVELOPE, _where(first), _reason(first))


def _data_error(error: ValidationError) -> WireError:
    return from_validation_error(error, Rejection.INVALID_DATA, prefix="data")


def from_validation_error(error: ValidationError, kind: Rejection, prefix: str = "") -> WireError:
    """The project's error for pydantic's: the first problem's field path and reason."""
    first = error.errors(include_url=False)[0]
    return WireError(kind, _where(first, prefix=prefix), _reason(first))


def _where(detail: ErrorDetails, prefix: str = "") -> str:
    parts = [prefix] if prefix else []
    parts += [str(part) for part in detail["loc"]]
    return ".".join(parts) or "(message)"


def _reason(detail: ErrorDetails) -> str:
    """pydantic's message in the project's words, with the offending value when it is safe.

    Only numbers, booleans and null are echoed: a string might be personal text sent in the
    wrong field, and reasons travel to the dead-letter topic and into logs.
    """
    reason = detail["msg"].replace("Input should be", "must be")
    value = detail.get("input")
    if value is None or isinstance(value, bool | int | float):
        return f"{reason}, got {value!r}"
    return reason
