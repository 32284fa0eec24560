"""An agency's batch feed onto the bus (`mappa publish`): every valid line published, signed,
as the agency's own principal; every other line dead-lettered with its reason."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from mappa_bus.adapters.feed_workers import (
    FeedJob,
    FeedWorkers,
    ReadySpan,
    gathered,
    ready,
    worker_count,
)
from mappa_bus.adapters.feeds import Rejected, feed_lines, read_csv, read_jsonl
from mappa_bus.adapters.publisher import AgencyPublisher, Unsent
from mappa_bus.agencies import Agency
from mappa_bus.connection import KafkaConnection
from mappa_bus.signing import Keyring
from mappa_bus.topics import DEAD_LETTER, NAMESPACE

console = Console(stderr=True)


@dataclass
class FeedOutcome:
    """What happened to a feed: how many lines went on the bus, each refused line, each line
    the broker never acknowledged (to send again), and the broker's refusal that stopped the
    feed, if one did."""

    accepted: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    unsent: list[Unsent] = field(default_factory=list)
    stopped: str | None = None

    @property
    def empty(self) -> bool:
        """Whether the feed held no events at all (an empty file, a CSV header alone)."""
        return not (self.accepted or self.rejected or self.unsent or self.stopped)


def _feed_format(path: Path, chosen: str) -> Literal["jsonl", "csv"]:
    if chosen in ("jsonl", "csv"):
        return "jsonl" if chosen == "jsonl" else "csv"
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


# Lines read in this process between two sends (and updates of the progress bar): the bar's
# update (rich's lock, the file's position) costs about 3 us, and a few hundred updates a second
# are more than the eye needs.
_LINES_A_SPAN = 500


def _spans_here(path: Path, job: FeedJob) -> Iterator[ReadySpan]:
    """The lines of `path` made ready in this process, a few hundred at a time."""
    read = read_csv if _feed_format(path, "auto") == "csv" else read_jsonl
    with path.open("rb") as handle:
        lines = read(
            feed_lines(handle), job.agency, system=job.system, default_type=job.default_type
        )
        # Each line's event is let go as soon as its record is made: holding a span's events
        # at once costs more (a third more CPU a line at 500 lines) than reading them.
        made = (ready(result, job) for result in lines)
        while (span := gathered(itertools.islice(made, _LINES_A_SPAN))).lines:
            span.end = handle.tell()
            yield span


def _task(progress: Progress, path: Path) -> TaskID:
    return progress.add_task(path.name, total=path.stat().st_size)


async def _ready_spans(
    path: Path, job: FeedJob, pool: FeedWorkers | None
) -> AsyncIterator[ReadySpan]:
    if pool is None:
        for span in _spans_here(path, job):
            yield span
        return
    async for span in pool.results():
        yield span


async def publish_feed(
    connection: KafkaConnection,
    path: Path,
    agency: Agency,
    *,
    system: str,
    default_type: str | None = None,
    namespace: str = NAMESPACE,
    dead_letter_topic: str = DEAD_LETTER.name,
    show_progress: bool = True,
    keyring: Keyring | None = None,
    workers: int | None = None,
) -> FeedOutcome:
    """Publish every valid line of `path`, signed with `keyring` (by default MAPPA_SIGNING_KEYS');
    dead-letter every other line with its reason, a line of an area the keyring holds no key
    for as `wrong-area`. `workers`: how many processes read a JSON Lines feed (0: this one;
    by default, as `feed_workers.worker_count` decides)."""
    sender = AgencyPublisher(
        connection,
        agency,
        system=system,
        namespace=namespace,
        dead_letter_topic=dead_letter_topic,
        keyring=keyring,
        bulk=True,
    )
    async with sender:
        try:
            outcome = await publish_lines(
                sender,
                path,
                default_type=default_type,
                show_progress=show_progress,
                workers=workers,
            )
        except KafkaError as error:
            # What went out before is counted below; what did not is the rest of the file.
            outcome = FeedOutcome(stopped=repr(error))
        await sender.flush()
    outcome.accepted = sender.summary.accepted
    outcome.unsent = sender.summary.unsent
    return outcome


async def publish_lines(
    sender: AgencyPublisher,
    path: Path,
    *,
    default_type: str | None = None,
    show_progress: bool = True,
    workers: int | None = None,
) -> FeedOutcome:
    """Send `path`'s lines through a started publisher (a `bulk` one, as `publish_feed`'s, is
    the fast way); the caller flushes and stops it. A JSON Lines feed is read by `workers`
    processes (0: by this one; by default, as `feed_workers.worker_count` decides)."""
    job = FeedJob(
        path, sender.agency, sender.system, default_type, sender.keyring, sender.namespace
    )
    count = 0 if _feed_format(path, "auto") == "csv" else worker_count(path, workers)
    # Started before the progress bar's thread: a fork copies only the thread that forks.
    pool = FeedWorkers(job, count) if count else None
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=console,
        disable=not show_progress,
        transient=True,
    )
    outcome = FeedOutcome()
    try:
        with progress:
            task = _task(progress, path)
            async for span in _ready_spans(path, job, pool):
                for refused in span.rejected:
                    origin = f"{path.name}:{refused.line}"
                    await sender.dead_letter(
                        refused.raw, refused.error, origin=origin, size=refused.size
                    )
                outcome.rejected.extend(span.rejected)
                await sender.send_all(span.records())
                outcome.accepted += len(span.ids)
                progress.update(task, completed=span.end)
    finally:
        if pool is not None:
            pool.close()
    return outcome
