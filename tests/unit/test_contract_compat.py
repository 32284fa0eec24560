"""The compatibility rule on small synthetic schemas: only optional fields may be added."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from mappa_bus.contract.compat import breaking_changes

JsonObject = dict[str, Any]

OLD: JsonObject = {
    "title": "t.v1",
    "type": "object",
    "properties": {
        "on": {"type": "string", "format": "date", "description": "When."},
        "level": {"type": "integer", "enum": [1, 2, 3]},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}},
        "area": {"$ref": "#/$defs/Area"},
    },
    "required": ["on", "level"],
    "$defs": {"Area": {"type": "string", "enum": ["kent", "surrey"]}},
}


def changed(edit: Callable[[JsonObject], object]) -> JsonObject:
    """A copy of OLD with `edit` applied to it."""
    schema = copy.deepcopy(OLD)
    edit(schema)
    return schema


def test_an_identical_schema_breaks_nothing() -> None:
    """Comparing a schema with itself reports no change."""
    assert breaking_changes(OLD, copy.deepcopy(OLD)) == []


def test_adding_an_optional_field_is_allowed() -> None:
    """A new property that is not required is the one change the rule allows."""
    new = changed(lambda s: s["properties"].update(extra={"type": "string"}))

    assert breaking_changes(OLD, new) == []


def test_a_new_definition_for_a_new_optional_field_is_allowed() -> None:
    """A new optional field may bring its own new `$defs` entry."""

    def edit(schema: JsonObject) -> None:
        schema["$defs"]["Colour"] = {"enum": ["red"]}
        schema["properties"]["colour"] = {"$ref": "#/$defs/Colour"}

    assert breaking_changes(OLD, changed(edit)) == []


def test_descriptions_titles_and_examples_may_change() -> None:
    """Annotations that constrain no instance are free to change, at any depth."""

    def edit(schema: JsonObject) -> None:
        schema["description"] = "Now described."
        schema["examples"] = [{"on": "2024-01-01", "level": 1}]
        schema["properties"]["on"]["description"] = "The day it happened."
        schema["$defs"]["Area"]["title"] = "MAPPA area"

    assert breaking_changes(OLD, changed(edit)) == []


def test_removing_a_field_is_reported() -> None:
    """A removed property is breaking, named with the type and where it was."""

    def edit(schema: JsonObject) -> None:
        del schema["properties"]["on"]
        schema["required"] = ["level"]

    assert breaking_changes(OLD, changed(edit)) == ["t.v1: $: property `on` removed"]


def test_adding_a_required_field_is_reported() -> None:
    """A new required property breaks every producer that does not send it yet."""

    def edit(schema: JsonObject) -> None:
        schema["properties"]["extra"] = {"type": "string"}
        schema["required"].append("extra")

    assert breaking_changes(OLD, changed(edit)) == [
        "t.v1: $: property `extra` is newly required (only optional fields may be added)"
    ]


def test_making_a_required_field_optional_is_reported() -> None:
    """A consumer relies on a required field being there, so it must stay required."""
    new = changed(lambda s: s.update(required=["on"]))

    assert (breaking_changes(OLD, new)) == [
        "t.v1: $: property `level` is no longer required (consumers rely on it)"
    ]


def test_changing_a_type_is_reported() -> None:
    """A property's `type` must keep its value."""
    new = changed(lambda s: s["properties"]["level"].update(type="string"))

    assert breaking_changes(OLD, new) == [
        't.v1: $.level: `type` changed from "integer" to "string"'
    ]


def test_changing_or_adding_a_format_or_pattern_is_reported() -> None:
    """Formats and patterns are constraints: changing or adding one is breaking."""

    def edit(schema: JsonObject) -> None:
        schema["properties"]["on"]["format"] = "date-time"
        schema["properties"]["on"]["pattern"] = "^2"

    assert breaking_changes(OLD, changed(edit)) == [
        't.v1: $.on: `format` changed from "date" to "date-time"',
        't.v1: $.on: `pattern` added ("^2")',
    ]


def test_narrowing_an_enum_is_reported() -> None:
    """Dropping an allowed value breaks producers that send it."""
    new = changed(lambda s: s["properties"]["level"].update(enum=[1, 2]))

    assert breaking_changes(OLD, new) == ["t.v1: $.level: enum narrowed: no longer allows 3"]


def test_widening_an_enum_is_reported() -> None:
    """A new value breaks consumers that handle every value they were promised."""
    new = changed(lambda s: s["properties"]["level"].update(enum=[1, 2, 3, 4]))

    assert breaking_changes(OLD, new) == ["t.v1: $.level: enum widened: now also allows 4"]


def test_reordering_an_enum_is_no_change() -> None:
    """An enum is a set of values: the order they are listed in constrains nothing."""
    new = changed(lambda s: s["properties"]["level"].update(enum=[3, 2, 1]))

    assert breaking_changes(OLD, new) == []


def test_changing_a_default_is_reported() -> None:
    """What an absent field means is part of the contract."""
    new = changed(lambda s: s["properties"]["note"].update(default=""))

    assert breaking_changes(OLD, new) == ['t.v1: $.note: `default` changed from null to ""']


def test_a_change_inside_a_definition_is_reported_where_it_is_used() -> None:
    """`$ref`s are followed into `$defs`, and the message names the field using it."""
    new = changed(lambda s: s["$defs"]["Area"].update(enum=["kent"]))

    assert breaking_changes(OLD, new) == ['t.v1: $.area: enum narrowed: no longer allows "surrey"']


def test_renaming_a_definition_is_no_change() -> None:
    """A definition moved to another name with the same content accepts the same events."""

    def edit(schema: JsonObject) -> None:
        schema["$defs"] = {"MappaArea": schema["$defs"]["Area"]}
        schema["properties"]["area"] = {"$ref": "#/$defs/MappaArea"}

    assert breaking_changes(OLD, changed(edit)) == []


def test_a_change_to_array_items_is_reported() -> None:
    """The schema of an array's items is compared like any other."""
    new = changed(lambda s: s["properties"]["tags"]["items"].update(enum=["a"]))

    assert breaking_changes(OLD, new) == ['t.v1: $.tags[*]: enum narrowed: no longer allows "b"']


def test_removing_an_alternative_is_reported() -> None:
    """A nullable field that stops accepting null changes its `anyOf`."""
    new = changed(lambda s: s["properties"]["note"].update(anyOf=[{"type": "string"}]))

    assert breaking_changes(OLD, new) == ["t.v1: $.note: `anyOf` changed from 2 to 1 schemas"]


def test_a_change_inside_an_alternative_is_reported() -> None:
    """Each branch of an `anyOf` is compared with the branch in the same place."""
    new = changed(lambda s: s["properties"]["note"]["anyOf"][0].update(maxLength=10))

    assert breaking_changes(OLD, new) == ["t.v1: $.note.anyOf[0]: `maxLength` added (10)"]


def test_a_recursive_definition_is_compared_without_looping() -> None:
    """A definition that refers to itself is walked once per path, and a change is found."""
    node: JsonObject = {
        "title": "tree.v1",
        "$ref": "#/$defs/Node",
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
            }
        },
    }
    new = copy.deepcopy(node)
    new["$defs"]["Node"]["properties"]["name"]["minLength"] = 1

    assert breaking_changes(node, copy.deepcopy(node)) == []
    assert breaking_changes(node, new) == ["tree.v1: $.name: `minLength` added (1)"]
