"""Parsing wire messages: the typed event, or a clear error naming the field and the reason."""

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from mappa_bus.catalogue import (
    CATALOGUE,
    MAX_EVENT_BYTES,
    Area,
    EventData,
    Rejection,
    WireError,
    make_event,
    parse_event,
    to_wire,
)
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.prisons import ReleasedFromCustody
from mappa_bus.catalogue.probation import RecallIssued


def _example(model: type[EventData] = RecallIssued) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(to_wire(example_event(model)))
    return document


def _rejection(document: Any) -> WireError:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    with pytest.raises(WireError) as caught:
        parse_event(raw)
    return caught.value


@pytest.mark.parametrize("model", CATALOGUE, ids=lambda model: model.__name__)
def test_every_example_round_trips_through_the_wire(model: type[EventData]) -> None:
    """Serialising and parsing an event gives back the same typed event."""
    event = example_event(model)

    parsed = parse_event(to_wire(event))

    assert (parsed, type(parsed.data)) == (event, model)


def test_an_out_of_range_category_names_the_field_and_the_value() -> None:
    """A bad enum value is reported as `data.<field>: must be ..., got <value>`."""
    from mappa_bus.catalogue.probation import MappaEligibilityIdentified

    document = _example(MappaEligibilityIdentified)
    document["data"]["category"] = 5

    error = _rejection(document)

    assert (error.kind, str(error)) == (
        Rejection.INVALID_DATA,
        "data.category: must be 1, 2, 3 or 4, got 5",
    )


def test_strings_are_not_echoed_into_reasons() -> None:
    """A rejected string value stays out of the reason: it could be personal text."""
    document = _example()
    document["data"]["recall_type"] = "Jane Example, 12 Any Street"

    error = _rejection(document)

    assert error.field == "data.recall_type"
    assert "Jane" not in str(error)


def test_a_model_rule_is_reported_against_data() -> None:
    """A release on licence without an end date is refused with the rule's own words."""
    document = _example(ReleasedFromCustody)
    del document["data"]["licence_ends_on"]

    error = _rejection(document)

    assert error.kind == Rejection.INVALID_DATA
    assert "licence_ends_on is required for a release on licence" in str(error)


@pytest.mark.parametrize(
    ("mutate", "kind", "message"),
    [
        (
            lambda d: d.update(type="uk.gov.mappa.probation.made-up.v1"),
            Rejection.UNKNOWN_TYPE,
            "type: unknown event type 'uk.gov.mappa.probation.made-up.v1'",
        ),
        (
            lambda d: d.update(source="/mappa/housing/register"),
            Rejection.WRONG_PUBLISHER,
            "source: housing may not publish uk.gov.mappa.probation.recall-issued.v1; "
            "only probation may",
        ),
        (lambda d: d.pop("subject"), Rejection.MALFORMED_ENVELOPE, "subject: Field required"),
        (
            lambda d: d.update(specversion="0.3"),
            Rejection.MALFORMED_ENVELOPE,
            "specversion: must be '1.0'",
        ),
        (
            lambda d: d.update(mappaarea="atlantis"),
            Rejection.MALFORMED_ENVELOPE,
            "mappaarea: must be 'avon-and-somerset', ",
        ),
        (
            lambda d: d.update(time="2021-03-31T12:00:00"),
            Rejection.MALFORMED_ENVELOPE,
            "time: Input should have timezone info",
        ),
        (
            lambda d: d.update(dataschema="https://elsewhere.example/schema.json"),
            Rejection.MALFORMED_ENVELOPE,
            "dataschema: must be 'urn:uk:gov:mappa:schema:",
        ),
    ],
    ids=[
        "unknown-type",
        "wrong-publisher",
        "no-subject",
        "old-spec",
        "bad-area",
        "naive-time",
        "foreign-schema",
    ],
)
def test_each_kind_of_bad_envelope_has_its_own_reason(
    mutate: Any, kind: Rejection, message: str
) -> None:
    """Unknown types, wrong publishers and malformed envelopes are told apart."""
    document = _example()
    mutate(document)

    error = _rejection(document)

    assert error.kind == kind
    assert str(error).startswith(message)


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (b"\xff\xfe not json", Rejection.NOT_JSON),
        (b"[1, 2]", Rejection.MALFORMED_ENVELOPE),
        (b" " * (MAX_EVENT_BYTES + 1), Rejection.OVERSIZED),
    ],
    ids=["bytes", "array", "oversized"],
)
def test_messages_that_are_not_events_at_all_are_refused(raw: bytes, kind: Rejection) -> None:
    """Non-JSON bytes, non-objects and oversized messages each get their own rejection."""
    assert _rejection(raw).kind == kind


def test_unknown_extension_attributes_and_data_fields_are_tolerated() -> None:
    """Newer producers may add optional fields and CloudEvents extensions; older readers cope."""
    document = _example()
    document["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    document["data"]["added_in_a_later_revision"] = True

    event = parse_event(json.dumps(document))

    assert event.data == RecallIssued(issued_on=date(2021, 1, 13), recall_type="standard")


@pytest.mark.parametrize(
    "named",
    [ReleasedFromCustody.event_type(), RecallIssued.event_type(), "uk.gov.mappa.nobody.none.v1"],
    ids=["another-type", "the-same-type", "an-unknown-type"],
)
def test_a_type_field_before_the_envelopes_does_not_decide_the_event(named: str) -> None:
    """The parser finds the type in the bytes without reading the whole message first; a
    `type` of an extension attribute's, met before the envelope's own, does not change what
    the message is parsed as."""
    document = _example()
    ahead = {"trace": {"type": named, "span": 1}, **document}

    event = parse_event(json.dumps(ahead).encode())

    assert (event, type(event.data)) == (parse_event(json.dumps(document).encode()), RecallIssued)


def test_the_envelope_carries_case_area_publisher_and_marking() -> None:
    """make_event fills the CloudEvents attributes from the payload's class."""
    event = make_event(
        RecallIssued(issued_on=date(2021, 1, 13), recall_type="fixed-term"),
        case_id="KEN-1",
        area=Area.KENT,
        time=datetime(2021, 1, 13, 16, 5, tzinfo=UTC),
        system="ndelius",
    )

    assert (event.case_id, event.publisher.value, event.mappaarea, event.mappahandling) == (
        "KEN-1",
        "probation",
        Area.KENT,
        "OFFICIAL-SENSITIVE",
    )
    assert event.type == "uk.gov.mappa.probation.recall-issued.v1"


@pytest.mark.parametrize("model", CATALOGUE, ids=lambda model: model.__name__)
def test_a_parsed_event_serialises_back_to_the_same_bytes(model: type[EventData]) -> None:
    """What a subscriber parsed, it can pass on unchanged (dead letters, republication)."""
    wire = to_wire(example_event(model))

    assert to_wire(parse_event(wire)) == wire
