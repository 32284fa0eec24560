"""A JSON Lines feed cut into spans of whole lines for worker processes: the cut, a span's lines
read as the whole file's would be, and what crosses between the processes."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from mappa_bus.adapters.feed_workers import (
    PARALLEL_FROM_BYTES,
    FeedJob,
    ReadySpan,
    Span,
    ready_span,
    spans,
    worker_count,
)
from mappa_bus.adapters.publisher import Outgoing
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Rejection, WireError, to_wire
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.probation import RecallIssued
from tests.keys import KEYRING


def _line(number: int) -> bytes:
    event = example_event(RecallIssued).model_copy(update={"id": f"recall-{number}"})
    return to_wire(event)


def _job(path: Path) -> FeedJob:
    return FeedJob(path, Agency.PROBATION, "x", None, KEYRING.only([Agency.PROBATION]), "test")


def test_spans_cut_a_file_at_line_ends_and_number_their_first_lines(tmp_path: Path) -> None:
    """Spans of at least 100 bytes follow one another from the file's start to its end, each
    ending at a line end (the last at the file's), a long line whole in one span; each span's
    first line is numbered as an editor numbers it."""
    text = b"a\r\n\n" + b"b" * 250 + b"\n" + b"".join(b"line %d\n" % n for n in range(40)) + b"z"
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(text)

    with feed.open("rb") as handle:
        cut = list(spans(handle, 100))

    assert [span.start for span in cut] == [0, *(span.end for span in cut[:-1])]
    assert cut[-1].end == len(text)
    assert all(text[span.end - 1 : span.end] == b"\n" for span in cut[:-1])
    assert all(span.end - span.start >= 100 for span in cut[:-1])
    assert [span.first_line for span in cut] == [
        text[: span.start].count(b"\n") + 1 for span in cut
    ]
    assert len(cut) > 3


def test_a_span_reads_its_lines_as_the_whole_file_does(tmp_path: Path) -> None:
    """The second span of a feed: its lines are numbered from the span's first, and a line that
    starts with a byte-order mark there is not JSON (only the file's start may hold one), as
    it is when the file is read whole."""
    first, marked, last = _line(1) + b"\n", b"\xef\xbb\xbf" + _line(2) + b"\n", _line(3) + b"\n"
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b"\xef\xbb\xbf" + first + marked + last)
    start = 3 + len(first)

    head = ready_span(_job(feed), Span(0, start, 1))
    rest = ready_span(_job(feed), Span(start, start + len(marked) + len(last), 2))

    assert (head.ids, head.rejected) == (["recall-1"], [])
    assert rest.ids == ["recall-3"]
    assert [(r.line, r.error.kind) for r in rest.rejected] == [(2, Rejection.NOT_JSON)]


def test_a_span_and_its_rejections_cross_between_processes_whole(tmp_path: Path) -> None:
    """Pickled and read back, a span keeps its records and each rejection its kind, field and
    reason (an exception is otherwise rebuilt from its message alone)."""
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(_line(1) + b"\n" + json.dumps({"type": "no-such-type"}).encode() + b"\n")

    span = ready_span(_job(feed), Span(0, feed.stat().st_size, 1))
    back = pickle.loads(pickle.dumps(span))  # noqa: S301 - our own bytes, as the pool hands them

    assert list(back.records()) == list(span.records())
    [refused] = back.rejected
    assert (refused.line, refused.error.kind, refused.error.field) == (
        2,
        Rejection.UNKNOWN_TYPE,
        "type",
    )
    assert isinstance(refused.error, WireError)


def test_a_span_holds_records_of_one_topic_and_header_names() -> None:
    """A record of another topic than the span's is refused, not sent with the wrong one."""
    span = ReadySpan()
    span.add(Outgoing("a", "topic-1", b"k", b"v", [("h", b"1")]))

    with pytest.raises(ValueError, match="record b: not the topic or headers"):
        span.add(Outgoing("b", "topic-2", b"k", b"v", [("h", b"1")]))
    assert [record[1] for record in span.records()] == ["topic-1"]


def test_workers_read_a_large_feed_and_one_process_a_small_one(tmp_path: Path) -> None:
    """By default a feed under `PARALLEL_FROM_BYTES` is read here and a larger one by a worker
    a core; asked for, the number asked is used whatever the size."""
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    small.write_bytes(_line(1) + b"\n")
    large.write_bytes(b"\n" * PARALLEL_FROM_BYTES)

    assert (worker_count(small), worker_count(small, 3)) == (0, 3)
    assert worker_count(large) >= 2 or worker_count(large) == 0  # 0 on a one-core machine
    assert worker_count(large, 0) == 0
