"""JSON Schemas (draft 2020-12) of whole events: one per event type, and the generic envelope.

Each schema describes the complete CloudEvent as it travels, not only its `data`, so that a
producer in any language can check what it is about to send with an off-the-shelf validator.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from mappa_bus.agencies import SHARING_AGENCIES
from mappa_bus.catalogue.base import SCHEMA_URI_PREFIX, EventData
from mappa_bus.catalogue.envelope import Envelope
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.registry import CATALOGUE
from mappa_bus.catalogue.wire import to_wire
from mappa_bus.contract.pinned import pinned_envelope, sources_pattern

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ENVELOPE_SCHEMA_URI = f"{SCHEMA_URI_PREFIX}envelope"
ENVELOPE_TITLE = "MAPPA Bus event envelope"

JsonObject = dict[str, Any]


def event_schema(model: type[EventData]) -> JsonObject:
    """The schema of a whole event of `model`'s type; its `$id` is the event's `dataschema`."""
    return _identified(
        pinned_envelope(model).model_json_schema(),
        uri=model.schema_uri(),
        title=model.event_type(),
        description=_docstring(model),
        example=wire_json(example_event(model)),
    )


def envelope_schema() -> JsonObject:
    """The schema every event meets whatever its type: what a consumer checks before it looks
    at `type` (the parser's first step, with `data` any JSON object)."""
    schema = Envelope[dict[str, Any]].model_json_schema()
    # The sharing agencies' sources only, as published before the MAPPA unit published: a
    # pattern of a published schema may not change (compat.py), and nothing outside the bus
    # produces the unit's events, whose own schemas (events/uk.gov.mappa.mappa-unit.*) pin
    # their source. The parser itself admits every publisher's (catalogue/envelope.py).
    schema["properties"]["source"]["pattern"] = sources_pattern(SHARING_AGENCIES)
    return _identified(
        schema,
        uri=ENVELOPE_SCHEMA_URI,
        title=ENVELOPE_TITLE,
        description=_docstring(Envelope),
        example=wire_json(example_event(CATALOGUE[0])),
    )


def schema_file(event_type: str) -> str:
    """Where the schema of `event_type` lives, relative to `schemas/`."""
    return f"events/{event_type}.json"


def all_event_schemas() -> dict[str, JsonObject]:
    """Every event type's schema, by event type, in catalogue order."""
    return {model.event_type(): event_schema(model) for model in CATALOGUE}


def shared_definitions(schemas: list[JsonObject]) -> dict[str, JsonObject]:
    """The `$defs` of all `schemas` by name, which must mean the same wherever they appear:
    documents that gather the types in one namespace (the AsyncAPI components, the catalogue
    page's vocabularies) would otherwise show one meaning for two."""
    shared: dict[str, JsonObject] = {}
    for schema in schemas:
        for name, definition in schema.get("$defs", {}).items():
            if shared.setdefault(name, definition) != definition:
                raise ValueError(f"two different definitions are both named {name!r}")
    return shared


def wire_json(event: Envelope[Any]) -> JsonObject:
    """`event` exactly as it travels, as a JSON object."""
    loaded: JsonObject = json.loads(to_wire(event))
    return loaded


def _identified(
    schema: JsonObject, *, uri: str, title: str, description: str, example: JsonObject
) -> JsonObject:
    return {
        **schema,
        "$schema": DIALECT,
        "$id": uri,
        "title": title,
        "description": description,
        "examples": [example],
    }


def _docstring(cls: type) -> str:
    return inspect.cleandoc(cls.__doc__ or "")
