"""The human-readable catalogue page names every event, its publisher, fields and example."""

from __future__ import annotations

import json
import re

import pytest

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import CATALOGUE, CONTENT_TYPE, Envelope, EventData
from mappa_bus.catalogue.examples import example_event
from mappa_bus.contract.catalogue_page import catalogue_page, type_text
from mappa_bus.contract.json_schemas import wire_json
from mappa_bus.topics import agency_topic

PAGE = catalogue_page()


def section(model: type[EventData]) -> str:
    """The part of the page about `model`, from its heading to the next heading of any event."""
    start = PAGE.index(f"### `{model.event_type()}`")
    end = PAGE.find("\n### ", start + 1)
    return PAGE[start : end if end != -1 else len(PAGE)]


def test_every_event_type_has_its_own_section() -> None:
    """Each catalogue type appears as a heading, once, in catalogue order within its agency."""
    headings = re.findall(r"^### `(uk\.gov\.mappa\.[^`]+)`$", PAGE, flags=re.MULTILINE)
    expected = [
        model.event_type() for agency in Agency for model in CATALOGUE if model.PUBLISHER is agency
    ]

    assert expected == headings


def test_agencies_appear_in_agency_order() -> None:
    """Agency sections follow the `Agency` enum's order."""
    headings = re.findall(r"^## (\S+)$", PAGE, flags=re.MULTILINE)

    assert [agency.value for agency in Agency] == [h for h in headings if h in set(Agency)]


@pytest.mark.parametrize("model", CATALOGUE, ids=lambda model: model.event_type())
def test_an_event_section_names_publisher_topic_fields_and_example(
    model: type[EventData],
) -> None:
    """The section says who publishes on which topic, lists every field, shows the example."""
    text = section(model)
    example = json.dumps(wire_json(example_event(model)), indent=2)

    assert f"Published by {model.PUBLISHER.value} on `{agency_topic(model.PUBLISHER)}`" in text
    assert [name for name in model.model_fields if f"| `{name}` |" not in text] == []
    assert f"```json\n{example}\n```" in text


def test_the_intro_explains_the_envelope_key_and_content_type() -> None:
    """Every envelope attribute, the Kafka key and the content-type header are described."""
    intro = PAGE[: PAGE.index("## Event types by publisher")]

    assert [name for name in Envelope.model_fields if f"| `{name}` |" not in intro] == []
    assert "| record key | the case id (the event's `subject`)" in intro
    assert f"| header `content-type` | `{CONTENT_TYPE}` |" in intro


def test_the_page_is_the_same_on_every_run() -> None:
    """Generating twice gives the same text (so the checked-in page can be compared)."""
    assert catalogue_page() == PAGE


def test_types_are_described_in_words() -> None:
    """Common schema shapes read as words, with enums linked to their vocabulary."""
    root = {"$defs": {"Area": {"enum": ["kent"]}}}
    cases = {
        "string (date)": {"type": "string", "format": "date"},
        "[Area](#area) or null": {"anyOf": [{"$ref": "#/$defs/Area"}, {"type": "null"}]},
        "array of [Area](#area) (at least 1)": {
            "type": "array",
            "items": {"$ref": "#/$defs/Area"},
            "minItems": 1,
        },
        "one of `2`, `3`": {"type": "integer", "enum": [2, 3]},
        "integer 1 to 120": {"type": "integer", "minimum": 1, "maximum": 120},
    }

    assert list(cases) == [type_text(node, root) for node in cases.values()]
