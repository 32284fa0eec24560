"""The generated contract files: checked in up to date, valid, and pinned to their type."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mappa_bus.agencies import SHARING_AGENCIES, Agency
from mappa_bus.catalogue import CATALOGUE, EventData
from mappa_bus.catalogue.examples import example_event
from mappa_bus.contract.artefacts import generated_files
from mappa_bus.contract.json_schemas import (
    DIALECT,
    all_event_schemas,
    envelope_schema,
    event_schema,
    wire_json,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
GENERATED = generated_files()


def validator(schema: dict[str, Any]) -> Draft202012Validator:
    """A draft 2020-12 validator that also checks formats (dates, date-times)."""
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@pytest.mark.parametrize("path", sorted(GENERATED))
def test_the_checked_in_file_is_what_the_generator_writes(path: str) -> None:
    """Every generated file is checked in exactly as the models generate it today."""
    target = SCHEMAS / path
    checked_in = target.read_text(encoding="utf-8") if target.exists() else None

    assert GENERATED[path] == checked_in, (
        f"schemas/{path} is out of date: run `mappa schemas generate` and commit the result"
    )


def test_no_event_schema_is_checked_in_for_a_type_the_catalogue_lacks() -> None:
    """schemas/events/ holds exactly one file per catalogue event type."""
    checked_in = sorted(f"events/{path.name}" for path in (SCHEMAS / "events").glob("*.json"))

    assert sorted(path for path in GENERATED if path.startswith("events/")) == checked_in


def test_every_schema_is_a_valid_draft_2020_12_schema() -> None:
    """Each generated schema declares draft 2020-12 and passes its metaschema."""
    schemas = [envelope_schema(), *all_event_schemas().values()]

    for schema in schemas:
        Draft202012Validator.check_schema(schema)
    assert [DIALECT] * len(schemas) == [schema["$schema"] for schema in schemas]


def test_each_event_schema_is_identified_by_the_events_dataschema() -> None:
    """The `$id` of a type's schema is the `dataschema` its events carry."""
    expected = {model.event_type(): model.schema_uri() for model in CATALOGUE}

    assert expected == {name: schema["$id"] for name, schema in all_event_schemas().items()}


@pytest.mark.parametrize("model", CATALOGUE, ids=lambda model: model.event_type())
def test_the_example_event_meets_its_schema_and_the_envelope_schema(
    model: type[EventData],
) -> None:
    """A well-formed event of each type is valid against its own schema, and against the generic
    one but for the MAPPA unit's `source` (envelope.json is the sharing agencies' envelope)."""
    event = wire_json(example_event(model))
    expected = [] if model.PUBLISHER in SHARING_AGENCIES else [["source"]]

    assert list(validator(event_schema(model)).iter_errors(event)) == []
    assert expected == [list(e.path) for e in validator(envelope_schema()).iter_errors(event)]


def other_agency(agency: Agency) -> Agency:
    """Some agency that is not `agency`."""
    return next(other for other in Agency if other is not agency)


@pytest.mark.parametrize("model", CATALOGUE, ids=lambda model: model.event_type())
def test_an_event_schema_admits_only_its_own_type_dataschema_and_publisher(
    model: type[EventData],
) -> None:
    """`type`, `dataschema` and the agency in `source` are pinned to this event type."""
    event = wire_json(example_event(model))
    other = next(candidate for candidate in CATALOGUE if candidate is not model)
    wrong = {
        "type": other.event_type(),
        "dataschema": other.schema_uri(),
        "source": f"/mappa/{other_agency(model.PUBLISHER).value}/system",
    }
    check = validator(event_schema(model))

    for attribute, value in wrong.items():
        tampered = copy.deepcopy(event)
        tampered[attribute] = value
        assert not check.is_valid(tampered), f"{attribute}={value!r} was accepted"


def test_the_generated_json_is_stable_and_readable() -> None:
    """JSON files have sorted keys, two-space indentation and end in one newline."""
    for path, text in GENERATED.items():
        if path.endswith(".json"):
            canonical = json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False)
            assert text == canonical + "\n", path
