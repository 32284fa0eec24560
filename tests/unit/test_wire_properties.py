"""Property tests of the wire format: every type round-trips; nothing but WireError escapes."""

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappa_bus.catalogue import CATALOGUE, EventData, WireError, parse_event, to_wire
from mappa_bus.catalogue.examples import example_event
from tests.strategies import envelopes, json_values

# Raise for a long fuzzing run, e.g. MAPPA_FUZZ_EXAMPLES=100000.
FUZZ_EXAMPLES = int(os.environ.get("MAPPA_FUZZ_EXAMPLES", "300"))
_FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=None)


@pytest.mark.parametrize("model", CATALOGUE, ids=lambda model: model.__name__)
def test_every_event_type_round_trips(model: type[EventData]) -> None:
    """Any valid event of any type parses back from its wire form to an equal typed event."""

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(envelopes(model))
    def round_trip(event: Any) -> None:
        parsed = parse_event(to_wire(event))
        assert (parsed, type(parsed.data)) == (event, model)

    round_trip()


def _parses_or_refuses(raw: bytes) -> None:
    """Parse `raw`; a refusal must be a WireError that names its field and says why."""
    outcome: Any
    try:
        outcome = parse_event(raw)
    except WireError as error:
        outcome = error
    if isinstance(outcome, WireError):
        assert (str(outcome), bool(outcome.field), bool(outcome.reason)) == (
            f"{outcome.field}: {outcome.reason}",
            True,
            True,
        )
    else:
        assert outcome.type == outcome.data.event_type()


@pytest.mark.fuzz
@_FUZZ
@given(st.binary(max_size=512))
def test_arbitrary_bytes_only_ever_raise_wire_error(raw: bytes) -> None:
    """No byte string makes the parser raise anything but the project's validation error."""
    _parses_or_refuses(raw)


@pytest.mark.fuzz
@_FUZZ
@given(
    st.sampled_from(CATALOGUE),
    st.lists(st.sampled_from(["envelope", "data"]), min_size=1, max_size=3),
    st.data(),
)
def test_mutated_events_only_ever_raise_wire_error(
    model: type[EventData], where: list[str], data: st.DataObject
) -> None:
    """A valid event with any of its attributes or fields replaced by any JSON is refused
    cleanly or still valid; never a crash."""
    document: dict[str, Any] = json.loads(to_wire(example_event(model)))
    for place in sorted(where):  # data first: the envelope may then replace `data` itself
        target = document if place == "envelope" else document["data"]
        key = data.draw(st.sampled_from([*target, "extra"]))
        target[key] = data.draw(json_values)
    _parses_or_refuses(json.dumps(document).encode())


@pytest.mark.fuzz
@_FUZZ
@given(json_values)
def test_any_json_document_only_ever_raises_wire_error(value: Any) -> None:
    """Any JSON at all, object or not, is parsed or refused with WireError."""
    _parses_or_refuses(json.dumps(value).encode())
