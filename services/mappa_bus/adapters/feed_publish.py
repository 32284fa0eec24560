"""An agency's batch feed onto the bus (`mappa publish`): every valid line published, signed,
as the agency's own principal; every other line dead-lettered with its reason."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from mappa_bus.adapters.feeds import Accepted, Rejected, feed_lines, read_csv, read_jsonl
from mappa_bus.adapters.publisher import AgencyPublisher, Unsent
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import WireError, to_wire
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


# Lines read between two updates of the progress bar: an update (rich's lock, the file's
# position) costs about 3 us, a tenth of what a line costs in all, and a few hundred updates a
# second are more than the eye needs.
_PROGRESS_EVERY = 500


def _results(
    path: Path, agency: Agency, system: str, default_type: str | None, progress: Progress
) -> Iterator[Accepted | Rejected]:
    task = progress.add_task(path.name, total=path.stat().st_size)
    read = read_csv if _feed_format(path, "auto") == "csv" else read_jsonl
    with path.open("rb") as handle:
        lines = read(feed_lines(handle), agency, system=system, default_type=default_type)
        for count, result in enumerate(lines, start=1):
            if count % _PROGRESS_EVERY == 0:
                _advance(progress, task, handle)
            yield result
        _advance(progress, task, handle)


def _advance(progress: Progress, task: TaskID, handle: BinaryIO) -> None:
    progress.update(task, completed=handle.tell())


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
) -> FeedOutcome:
    """Publish every valid line of `path`, signed with `keyring` (by default MAPPA_SIGNING_KEYS');
    dead-letter every other line with its reason, a line of an area the keyring holds no key
    for as `wrong-area`."""
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
                sender, path, default_type=default_type, show_progress=show_progress
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
) -> FeedOutcome:
    """Send `path`'s lines through a started publisher (a `bulk` one, as `publish_feed`'s, is
    the fast way); the caller flushes and stops it."""
    outcome = FeedOutcome()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=console,
        disable=not show_progress,
        transient=True,
    )
    with progress:
        for result in _results(path, sender.agency, sender.system, default_type, progress):
            refused = result if isinstance(result, Rejected) else await _send(sender, result)
            if refused is None:
                outcome.accepted += 1
                continue
            await sender.dead_letter(
                refused.raw, refused.error, origin=f"{path.name}:{refused.line}", size=refused.size
            )
            outcome.rejected.append(refused)
    return outcome


async def _send(sender: AgencyPublisher, accepted: Accepted) -> Rejected | None:
    """Send an accepted line's event, a whole CloudEvent line as its own bytes; the line
    refused instead when the publisher refuses it (an event grown too large in its envelope,
    or of an area it holds no key for)."""
    try:
        await sender.send(accepted.event, wire=accepted.wire)
    except WireError as error:
        return Rejected(accepted.line, accepted.wire or to_wire(accepted.event), error)
    return None
