"""Reading agency feeds: each line an accepted event or a rejection with line and reason."""

import json

import pytest

from mappa_bus.adapters.feeds import Accepted, Rejected, layout, read_csv, read_jsonl
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Rejection, to_wire
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.police import ShpoMade
from mappa_bus.catalogue.probation import MappaMeetingHeld, RecallIssued

RECALL = {
    "type": "recall-issued",
    "case_id": "KEN-000001",
    "area": "kent",
    "time": "2021-01-13T16:05:00+00:00",
    "issued_on": "2021-01-13",
    "recall_type": "standard",
}


def _jsonl(*records: object) -> list[bytes]:
    return [r if isinstance(r, bytes) else json.dumps(r).encode() for r in records]


def _probation(lines: list[bytes]) -> list[Accepted | Rejected]:
    return list(read_jsonl(lines, Agency.PROBATION, system="ndelius"))


def test_a_flat_record_becomes_a_full_event_of_the_feeds_agency() -> None:
    """The flat columns fill the envelope; the rest is the typed payload."""
    [result] = _probation(_jsonl(RECALL))

    assert isinstance(result, Accepted)
    event = result.event
    assert (event.type, event.source, event.case_id, event.mappaarea.value) == (
        "uk.gov.mappa.probation.recall-issued.v1",
        "/mappa/probation/ndelius",
        "KEN-000001",
        "kent",
    )
    assert isinstance(event.data, RecallIssued)


def test_the_same_line_gets_the_same_id_so_republishing_is_harmless() -> None:
    """Ids derived from content make a re-run of the same feed a duplicate, not new events."""
    first, second, other = _probation(_jsonl(RECALL, RECALL, {**RECALL, "case_id": "KEN-2"}))

    assert isinstance(first, Accepted)
    assert isinstance(second, Accepted)
    assert isinstance(other, Accepted)
    assert first.event.id == second.event.id != other.event.id


def test_bad_lines_are_rejected_with_their_line_number_and_reason() -> None:
    """Blank lines are skipped but counted; every bad line says what is wrong with it."""
    lines = _jsonl(
        RECALL,
        b"",
        b"not json",
        {**RECALL, "recall_type": "eventually"},
        {**RECALL, "case_id": "x"},
        {**RECALL, "type": "shpo-made"},
        {**RECALL, "colour": "blue"},
        {key: value for key, value in RECALL.items() if key != "time"},
    )

    rejected = [
        (r.line, r.error.kind, str(r.error)) for r in _probation(lines) if isinstance(r, Rejected)
    ]

    assert [(line, kind) for line, kind, _ in rejected] == [
        (3, Rejection.NOT_JSON),
        (4, Rejection.INVALID_DATA),
        (5, Rejection.MALFORMED_ENVELOPE),
        (6, Rejection.WRONG_PUBLISHER),
        (7, Rejection.INVALID_DATA),
        (8, Rejection.MALFORMED_ENVELOPE),
    ]
    assert [message.split(":")[0] for _, _, message in rejected] == [
        "(line)",
        "recall_type",
        "case_id",
        "type",
        "colour",
        "time",
    ]


def test_whole_cloudevents_lines_are_accepted_only_from_the_feeds_agency() -> None:
    """A line that is already a CloudEvent passes if it is the agency's own event."""
    own = to_wire(example_event(RecallIssued))
    foreign = to_wire(example_event(ShpoMade))

    accepted, rejected = _probation([own, foreign])

    assert isinstance(accepted, Accepted)
    assert accepted.event == example_event(RecallIssued)
    assert isinstance(rejected, Rejected)
    assert rejected.error.kind == Rejection.WRONG_PUBLISHER


def test_csv_cells_become_lists_numbers_and_booleans_where_the_field_needs_them() -> None:
    """`;` separates list values; "2" is the level 2; "false" is False."""
    meeting = ",".join(layout(MappaMeetingHeld))
    meeting_row = (
        "mappa-meeting-held,KEN-2,kent,2021-01-13,,R-1,2021-01-13,2,police;housing,2021-04-13"
    )
    shpo = "type,case_id,area,time,made_on,interim,foreign_travel_restriction"
    shpo_row = "shpo-made,KEN-3,kent,2021-02-01T09:00:00+00:00,2021-02-01,false,true"

    [held] = read_csv([meeting, meeting_row], Agency.PROBATION, system="ndelius")
    [order] = read_csv([shpo, shpo_row], Agency.POLICE, system="visor")

    assert isinstance(held, Accepted)
    assert isinstance(order, Accepted)
    assert held.event.data == MappaMeetingHeld(
        agency_reference="R-1",
        held_on="2021-01-13",
        level=2,
        agencies_present=[Agency.POLICE, Agency.HOUSING],
        next_review_on="2021-04-13",
    )
    assert (order.event.data.interim, order.event.data.foreign_travel_restriction) == (False, True)  # type: ignore[attr-defined]
    assert held.event.time.isoformat() == "2021-01-13T00:00:00+00:00"


@pytest.mark.parametrize(
    ("row", "line", "reason"),
    [
        (
            "mappa-meeting-held,KEN-2,kent,2021-01-13,,,2021-01-13,4,police,2021-04-13",
            2,
            "level: must be 2 or 3, got 4",
        ),
        (
            "mappa-meeting-held,KEN-2,kent,2021-01-13,,,2021-01-13,2,police,2021-04-13,surplus",
            2,
            "(line): more cells than columns",
        ),
    ],
)
def test_csv_rejections_name_the_line_and_field(row: str, line: int, reason: str) -> None:
    """CSV lines are numbered as an editor shows them, the header being line 1."""
    [result] = read_csv([",".join(layout(MappaMeetingHeld)), row], Agency.PROBATION, system="x")

    assert isinstance(result, Rejected)
    assert (result.line, str(result.error)) == (line, reason)


def test_a_single_type_feed_may_leave_out_the_type_column() -> None:
    """`--type` supplies the event type of lines that have none."""
    record = {key: value for key, value in RECALL.items() if key != "type"}

    [result] = read_jsonl(
        _jsonl(record), Agency.PROBATION, system="x", default_type="recall-issued"
    )

    assert isinstance(result, Accepted)
