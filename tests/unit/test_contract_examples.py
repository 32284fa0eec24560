"""Events written by hand from the schemas alone, as a producer in another language would.

The files in schemas/examples/ are plain JSON, committed and never generated: each must pass an
off-the-shelf JSON Schema validator against its type's schema AND the bus's own parser, and an
event the schema refuses must be one the parser refuses too.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import BY_TYPE, WireError, parse_event

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
EXAMPLES = sorted((SCHEMAS / "examples").glob("*.json"))
ELIGIBILITY = "uk.gov.mappa.probation.mappa-eligibility-identified.v1"


def load(path: Path) -> dict[str, Any]:
    """A JSON file as an object."""
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def validator_for(event_type: str) -> Draft202012Validator:
    """The checked-in schema of `event_type`, with format checking on."""
    schema = load(SCHEMAS / "events" / f"{event_type}.json")
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_the_validator_checks_date_and_date_time_formats() -> None:
    """Formats are only checked when their checker is installed; these two must be."""
    checked = set(Draft202012Validator.FORMAT_CHECKER.checkers)

    assert {"date", "date-time"} <= checked


def test_there_are_examples_from_at_least_three_agencies() -> None:
    """The hand-written examples cover several publishers, not one agency's habits."""
    publishers = {load(path)["source"].split("/")[2] for path in EXAMPLES}

    assert len(publishers) >= 3, publishers


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_a_hand_written_event_meets_its_schema(path: Path) -> None:
    """The example validates against the schema of the type it names (and its file name)."""
    event = load(path)

    assert path.stem == event["type"]
    assert [error.message for error in validator_for(event["type"]).iter_errors(event)] == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_a_hand_written_event_is_accepted_by_the_parser(path: Path) -> None:
    """What the schema accepts, the bus accepts: the parser returns the typed event."""
    event = parse_event(path.read_bytes())

    assert (path.stem, BY_TYPE[path.stem]) == (event.type, type(event.data))
    assert BY_TYPE[path.stem].PUBLISHER is event.publisher


def eligibility(**changes: Any) -> dict[str, Any]:
    """The hand-written eligibility example with `changes` merged in (`data` merged too)."""
    event = copy.deepcopy(load(SCHEMAS / "examples" / f"{ELIGIBILITY}.json"))
    data = changes.pop("data", {})
    event.update(changes)
    event["data"].update(data)
    return event


INVALID = {
    "category 5": eligibility(data={"category": 5}),
    "a lead agency that cannot lead": eligibility(data={"lead_agency": "housing"}),
    "a date that is not a date": eligibility(data={"identified_on": "16/07/2024"}),
    "a time without its offset": eligibility(time="2024-07-16T14:05:12"),
    "another agency as source": eligibility(source=f"/mappa/{Agency.POLICE.value}/visor"),
    "a name for a case id": eligibility(subject="John Smith"),
    "an unknown area": eligibility(mappaarea="atlantis"),
}


@pytest.mark.parametrize("event", INVALID.values(), ids=list(INVALID))
def test_an_invalid_event_fails_the_schema_and_the_parser(event: dict[str, Any]) -> None:
    """A clearly invalid event is refused by the JSON Schema validator and by the parser."""
    assert not validator_for(ELIGIBILITY).is_valid(event)
    with pytest.raises(WireError):
        parse_event(json.dumps(event).encode())
