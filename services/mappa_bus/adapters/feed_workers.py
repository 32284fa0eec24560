"""A JSON Lines feed read, validated and signed by worker processes (`mappa publish`, issue 17).

Validating a line and signing its record cost more than the producer spends sending it, and in
one process they hold the feed to one core. Here the file is cut at line ends into spans of
about a MiB; each worker process reads its spans from the file itself (no line crosses between
processes), and hands back each line's checked, signed record (`Outgoing`) or its rejection.
The publishing process takes the spans' results in the file's order and only batches and sends
them, so a case's events reach its partition in the order the feed gives them, as they do in
one process.

CSV feeds stay in one process: a quoted cell may run over several lines, so a CSV file cannot
be cut at line ends. The workers are forked (they start at once, with the catalogue already
imported, and the keyring is never pickled): on Linux; elsewhere the feed is read in one
process.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import sys
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from mappa_bus.adapters.feeds import Accepted, Rejected, feed_lines, read_jsonl
from mappa_bus.adapters.publisher import Outgoing, OutgoingFields, outgoing
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import WireError, to_wire
from mappa_bus.signing import Keyring

# About this much of the file a span: a few hundred lines, enough that handing a span over and
# back costs little beside reading it, few enough that the workers share a small feed.
SPAN_BYTES = 1024 * 1024
# A file smaller than this is read in one process: starting workers would cost more than they
# save.
PARALLEL_FROM_BYTES = 4 * SPAN_BYTES
# How much of a long line (no line end within a span's bytes) is read at a time while finding
# its end: it is never held whole.
_SCAN = 1024 * 1024

Ready = Outgoing | Rejected
"""A feed line made ready: its record to send, or its rejection to dead-letter."""


@dataclass(frozen=True)
class Span:
    """Whole lines of a feed file: the bytes from `start` to `end`, the first of them the feed's
    line `first_line`."""

    start: int
    end: int
    first_line: int


def spans(handle: BinaryIO, size: int | None = None) -> Iterator[Span]:
    """Cut the file `handle` reads, from its start, into spans of whole lines of at least
    `size` bytes (`SPAN_BYTES` by default; the last perhaps fewer); a line longer than that
    ends its span."""
    size = size or SPAN_BYTES
    handle.seek(0)
    start, first_line = 0, 1
    while block := handle.read(size):
        end, lines, tail = start + len(block), block.count(b"\n"), block[-1:]
        while tail != b"\n" and (more := handle.readline(_SCAN)):
            end, lines, tail = end + len(more), lines + more.count(b"\n"), more[-1:]
        yield Span(start, end, first_line)
        start, first_line = end, first_line + lines


@dataclass(frozen=True)
class FeedJob:
    """What a worker needs to make a feed's lines ready: the feed, whose it is, the keyring
    that signs them and the namespace they go to."""

    path: Path
    agency: Agency
    system: str
    default_type: str | None
    keyring: Keyring
    namespace: str


def ready(result: Accepted | Rejected, job: FeedJob) -> Ready:
    """An accepted line's record, signed; its rejection instead when the publisher would
    refuse it (an event grown too large in its envelope, or of an area without a key)."""
    if isinstance(result, Rejected):
        return result
    try:
        return outgoing(result.event, job.agency, job.keyring, job.namespace, result.wire)
    except WireError as error:
        return Rejected(result.line, result.wire or to_wire(result.event), error)


@dataclass
class ReadySpan:
    """Lines of a feed made ready: their records, in the feed's order, as columns, and the lines
    refused. Columns, because they cross between processes: a list of strings or bytes pickles
    and unpickles at the speed of a copy, while a record's own tuple and its headers' would each
    cost an object built. Every record of a feed has the same topic and header names; each
    header's values are a column (`header_values[i]` those of `header_names[i]`). `end`:
    where in the file the last of the lines ends."""

    end: int = 0
    topic: str = ""
    ids: list[str] = field(default_factory=list)
    keys: list[bytes] = field(default_factory=list)
    values: list[bytes] = field(default_factory=list)
    header_names: tuple[str, ...] = ()
    header_values: list[list[bytes]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def records(self) -> Iterator[OutgoingFields]:
        """Each record's fields, in order, as `AgencyPublisher.send_all` takes them."""
        names = self.header_names
        for event_id, key, value, *headers in zip(
            self.ids, self.keys, self.values, *self.header_values, strict=True
        ):
            yield event_id, self.topic, key, value, list(zip(names, headers, strict=True))

    @property
    def lines(self) -> int:
        """How many of the feed's lines (blank lines aside) the span holds."""
        return len(self.ids) + len(self.rejected)

    def add(self, record: Outgoing) -> None:
        """Add a record: of the same topic and header names as those before it."""
        names = tuple(name for name, _ in record.headers)
        if not self.ids:
            self.topic, self.header_names = record.topic, names
            self.header_values = [[] for _ in names]
        elif (record.topic, names) != (self.topic, self.header_names):
            raise ValueError(f"record {record.event_id}: not the topic or headers of the span's")
        self.ids.append(record.event_id)
        self.keys.append(record.key)
        self.values.append(record.value)
        for column, (_, value) in zip(self.header_values, record.headers, strict=True):
            column.append(value)


def gathered(items: Iterable[Ready], end: int = 0) -> ReadySpan:
    """`items` in columns, as a span ending at `end` in its file."""
    span = ReadySpan(end)
    for item in items:
        if isinstance(item, Rejected):
            span.rejected.append(item)
        else:
            span.add(item)
    return span


class _Window:
    """The lines of a file from where it stands, `size` bytes of them and no more."""

    def __init__(self, handle: BinaryIO, size: int) -> None:
        self._handle = handle
        # Counted here: asking the file where it stands costs a system call a line.
        self._left = size

    def readline(self, size: int = -1, /) -> bytes:
        if self._left <= 0:
            return b""
        line = self._handle.readline(self._left if size < 0 else min(size, self._left))
        self._left -= len(line)
        return line


def ready_span(job: FeedJob, span: Span) -> ReadySpan:
    """Every line of `span` of `job`'s feed made ready, in order (blank lines have none)."""
    with job.path.open("rb") as handle:
        handle.seek(span.start)
        window = _Window(handle, span.end - span.start)
        lines = feed_lines(window, start_of_file=span.start == 0)
        read = read_jsonl(
            lines,
            job.agency,
            system=job.system,
            default_type=job.default_type,
            first_line=span.first_line,
        )
        return gathered((ready(result, job) for result in read), span.end)


# The job of this worker process, set as it starts (`_start`).
_job: FeedJob | None = None


def _start(job: FeedJob) -> None:
    global _job
    _job = job
    # What the fork copied is never freed here: the collector leaves it alone, rather than
    # walk it (and copy every page it touches) whenever it collects the oldest generation.
    gc.freeze()


def _ready_span(span: Span) -> ReadySpan:
    assert _job is not None, "a feed worker runs only once started with its job"
    return ready_span(_job, span)


def worker_count(path: Path, requested: int | None = None) -> int:
    """How many worker processes read `path` (0: this process does). On Linux, `requested`,
    or as many as this process may use cores when it has two or more, for a JSON Lines feed of
    at least `PARALLEL_FROM_BYTES`; elsewhere none."""
    # Only Linux: macOS offers fork but its system libraries are not safe in a forked child.
    if sys.platform != "linux":
        return 0
    if requested is not None:
        return requested
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if (cores or 1) < 2 or path.stat().st_size < PARALLEL_FROM_BYTES:
        return 0
    return cores or 1


class FeedWorkers:
    """Worker processes making one feed's spans ready, started at once (before the caller
    starts threads of its own: a fork copies only the thread that forks)."""

    def __init__(self, job: FeedJob, workers: int) -> None:
        self._job = job
        self._workers = workers
        self._pool = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_start,
            initargs=(job,),
        )
        # A fork-started pool starts every process at its first task.
        self._pool.submit(int).result()

    def close(self) -> None:
        self._pool.shutdown(cancel_futures=True)

    async def results(self) -> AsyncIterator[ReadySpan]:
        """Each span of the feed with its lines made ready, in the file's order; the workers
        keep two spans each in hand, so a feed's memory stays that of a few spans."""
        loop = asyncio.get_running_loop()
        waiting: deque[asyncio.Future[ReadySpan]] = deque()
        with self._job.path.open("rb") as handle:
            for span in spans(handle):
                waiting.append(loop.run_in_executor(self._pool, _ready_span, span))
                if len(waiting) >= 2 * self._workers:
                    yield await waiting.popleft()
        while waiting:
            yield await waiting.popleft()
