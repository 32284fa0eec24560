"""Reading agency feeds: each line an accepted event or a rejection with line and reason."""

import io
import json

import pytest

from mappa_bus.adapters.feeds import (
    Accepted,
    BadHeader,
    Oversized,
    Rejected,
    feed_lines,
    layout,
    read_csv,
    read_jsonl,
)
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Rejection, WireError, to_wire
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.police import ShpoMade
from mappa_bus.catalogue.probation import MappaMeetingHeld, RecallIssued
from mappa_bus.catalogue.wire import MAX_EVENT_BYTES, OVERSIZED_KEPT_BYTES
from mappa_bus.kafka_codec import dead_letter

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


def _probation(lines: list[bytes | Oversized] | list[bytes]) -> list[Accepted | Rejected]:
    return list(read_jsonl(lines, Agency.PROBATION, system="ndelius"))


def _lines(text: bytes) -> list[bytes | Oversized]:
    """A feed file's content as `mappa publish` reads it."""
    return list(feed_lines(io.BytesIO(text)))


def _csv(*rows: str) -> list[bytes | Oversized]:
    return _lines("".join(f"{row}\r\n" for row in rows).encode())


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

    [held] = read_csv(_csv(meeting, meeting_row), Agency.PROBATION, system="ndelius")
    [order] = read_csv(_csv(shpo, shpo_row), Agency.POLICE, system="visor")

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
            "mappa-meeting-held,KEN-2,kent,2021-01-13,,,2021-01-13,2,police,2021-04-13,M-1,surplus",
            2,
            "(line): more cells than columns",
        ),
    ],
)
def test_csv_rejections_name_the_line_and_field(row: str, line: int, reason: str) -> None:
    """CSV lines are numbered as an editor shows them, the header being line 1."""
    [result] = read_csv(_csv(",".join(layout(MappaMeetingHeld)), row), Agency.PROBATION, system="x")

    assert isinstance(result, Rejected)
    assert (result.line, str(result.error)) == (line, reason)


def test_a_single_type_feed_may_leave_out_the_type_column() -> None:
    """`--type` supplies the event type of lines that have none."""
    record = {key: value for key, value in RECALL.items() if key != "type"}

    [result] = read_jsonl(
        _jsonl(record), Agency.PROBATION, system="x", default_type="recall-issued"
    )

    assert isinstance(result, Accepted)


def test_an_oversized_line_is_rejected_alone_and_the_feed_goes_on() -> None:
    """Junk, a 1.5 MB line, junk, a 100 KB line: four rejections in order, the long lines as
    `oversized` with their sizes, kept only as their first bytes."""
    huge, large = b"x" * 1_500_000, b'{"a": "' + b"y" * 100_000 + b'"}'
    text = b"junk\n" + huge + b"\n{junk\n" + large + b"\n"

    results = _probation(_lines(text))

    assert all(isinstance(r, Rejected) for r in results)
    rejected = [r for r in results if isinstance(r, Rejected)]
    assert [(r.line, r.error.kind) for r in rejected] == [
        (1, Rejection.NOT_JSON),
        (2, Rejection.OVERSIZED),
        (3, Rejection.NOT_JSON),
        (4, Rejection.OVERSIZED),
    ]
    assert [(r.size, len(r.raw)) for r in rejected if r.size] == [
        (len(huge), OVERSIZED_KEPT_BYTES),
        (len(large), OVERSIZED_KEPT_BYTES),
    ]
    assert str(rejected[1].error) == f"(line): {len(huge)} bytes, more than {MAX_EVENT_BYTES}"


def test_a_line_just_within_the_limit_is_read_and_one_byte_more_is_not() -> None:
    """The limit is on the line without its ending, whether it ends in LF or CRLF."""
    within = b'"' + b"1" * (MAX_EVENT_BYTES - 2) + b'"'
    over = within + b" "

    lines = _lines(within + b"\r\n" + over + b"\r\n" + over)

    assert [len(line) if isinstance(line, bytes) else line.size for line in lines] == [
        MAX_EVENT_BYTES + 2,
        MAX_EVENT_BYTES + 1,
        MAX_EVENT_BYTES + 1,
    ]
    assert [r.error.kind for r in _probation(lines) if isinstance(r, Rejected)] == [
        Rejection.MALFORMED_ENVELOPE,
        Rejection.OVERSIZED,
        Rejection.OVERSIZED,
    ]


def test_a_dead_letter_of_an_oversized_input_keeps_its_start_and_says_its_size() -> None:
    """What fits is dead-lettered whole; what does not, as its first bytes and `mappa-size`."""
    error = WireError(Rejection.OVERSIZED, "(line)", "too long")

    small = dead_letter(b"short", error, "feed.jsonl:1", agency="probation")
    big = dead_letter(b"z" * (MAX_EVENT_BYTES + 1), error, "feed.jsonl:2")
    head = dead_letter(b"z" * 10, error, "feed.jsonl:3", size=50_000_000)

    assert (small.value, "mappa-size" in small.headers) == (b"short", False)
    assert small.headers["mappa-agency"] == "probation"
    assert (len(big.value), big.headers["mappa-size"]) == (
        OVERSIZED_KEPT_BYTES,
        str(MAX_EVENT_BYTES + 1),
    )
    assert (head.value, head.headers["mappa-size"]) == (b"z" * 10, "50000000")


def test_a_byte_order_mark_is_not_part_of_the_first_line() -> None:
    """A feed saved with a UTF-8 BOM reads as one without, in JSON Lines and CSV alike."""
    bom = b"\xef\xbb\xbf"
    row = "recall-issued,KEN-1,kent,2021-01-13,,,2021-01-13,standard"

    [jsonl] = _probation(_lines(bom + json.dumps(RECALL).encode()))
    [csv_line] = read_csv(
        _lines(bom + (",".join(layout(RecallIssued)) + "\n" + row).encode()),
        Agency.PROBATION,
        system="x",
    )

    assert isinstance(jsonl, Accepted)
    assert isinstance(csv_line, Accepted)


def test_a_bad_header_is_one_error_naming_unknown_and_missing_columns() -> None:
    """The header is checked once, before any line: not one rejection per line."""
    lines = _csv("type,case_id,colour,when,made_on,size", "shpo-made,KEN-1,red,x,y,z")

    with pytest.raises(BadHeader) as refused:
        list(read_csv(lines, Agency.POLICE, system="x"))

    assert str(refused.value) == (
        "header: unknown columns 'colour', 'size', 'when'; missing columns 'area', 'time'"
    )


def test_a_single_type_header_must_hold_that_types_required_fields() -> None:
    """With `--type`, the header is checked against that type: a required field missing is
    refused at once, as is a header without `type` and without `--type`."""
    header = "case_id,area,time,issued_on"

    with pytest.raises(BadHeader, match="missing columns 'recall_type'"):
        list(read_csv(_csv(header), Agency.PROBATION, system="x", default_type="recall-issued"))
    with pytest.raises(BadHeader, match="missing columns 'type'"):
        list(read_csv(_csv(header), Agency.PROBATION, system="x"))


def test_an_empty_csv_or_a_header_alone_holds_no_lines() -> None:
    """Nothing to read is not an error of the reader; the command says so."""
    assert list(read_csv(_lines(b""), Agency.PROBATION, system="x")) == []
    assert list(read_csv(_csv(",".join(layout(RecallIssued))), Agency.PROBATION, system="x")) == []


def test_csv_lines_that_cannot_be_read_are_rejected_and_the_rest_read_on() -> None:
    """An oversized line, a line that is not UTF-8 and one csv cannot parse are each rejected
    with their own line number; the lines around them are read."""
    header = ",".join(layout(RecallIssued))
    row = "recall-issued,KEN-{},kent,2021-01-13,,,2021-01-13,standard\n"
    text = (
        f"{header}\n{row.format(1)}".encode()
        + b"x" * (MAX_EVENT_BYTES + 10)
        + b"\n\xff\xfe,not,utf8\n"
        + b"a\rb,c\n"
        + row.format(2).encode()
    )

    results = list(read_csv(_lines(text), Agency.PROBATION, system="x"))

    assert [(r.line, type(r).__name__) for r in results] == [
        (2, "Accepted"),
        (3, "Rejected"),
        (4, "Rejected"),
        (5, "Rejected"),
        (6, "Accepted"),
    ]
    assert [r.error.kind for r in results if isinstance(r, Rejected)] == [
        Rejection.OVERSIZED,
        Rejection.MALFORMED_ENVELOPE,
        Rejection.MALFORMED_ENVELOPE,
    ]


@pytest.mark.parametrize("agency", [Agency.HOUSING, Agency.DWP])
def test_a_plan_action_outcome_in_a_feed_is_the_feeds_own_agencys(agency: Agency) -> None:
    """`plan-action-completed` names ten types: a feed's line is its own agency's; another
    agency's full type in it is refused as a wrong publisher."""
    line = {
        "type": "plan-action-completed",
        "case_id": "KEN-000001",
        "area": "kent",
        "time": "2021-01-13T16:05:00+00:00",
        "action_id": "KEN-0716-05",
        "completed_on": "2021-01-13",
    }
    other = {**line, "type": "uk.gov.mappa.police.plan-action-completed.v1"}

    own, foreign = read_jsonl(_jsonl(line, other), agency, system="x")

    assert isinstance(own, Accepted)
    assert isinstance(foreign, Rejected)
    assert (own.event.type, foreign.error.kind) == (
        f"uk.gov.mappa.{agency.value}.plan-action-completed.v1",
        Rejection.WRONG_PUBLISHER,
    )
