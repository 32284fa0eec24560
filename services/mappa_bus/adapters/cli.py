"""`mappa publish`: an agency's batch feed onto the bus, with a summary of what was refused.

Exit codes (docs/feeds.md): 0 every line published (or the feed held none), 1 some lines
rejected and dead-lettered, 2 the broker refused or failed (publish the feed again), 64 a usage
error (no such file, a directory, bad options), 65 a feed refused as a whole (its CSV header).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

# typer (0.29) carries its own click, and exports its usage error only as BadParameter's base.
from typer._click.core import Context
from typer._click.exceptions import UsageError
from typer.core import TyperCommand

from mappa_bus.adapters.feeds import (
    Accepted,
    BadHeader,
    Rejected,
    feed_lines,
    layout,
    read_csv,
    read_jsonl,
    resolve_type,
)
from mappa_bus.adapters.publisher import AgencyPublisher, Unsent
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import EventData, WireError, to_wire
from mappa_bus.cli_common import command_settings
from mappa_bus.connection import KafkaConnection
from mappa_bus.credentials import CredentialsError
from mappa_bus.keyring import KeyringError
from mappa_bus.principals import ADMIN
from mappa_bus.signing import Keyring
from mappa_bus.topic_state import explain_refusal
from mappa_bus.topics import DEAD_LETTER, NAMESPACE, agency_topic

console = Console(stderr=True)

EXIT_REJECTED = 1
EXIT_BROKER = 2
# The BSD sysexits codes, so that a script can tell a mistake in how it ran the command, or in
# the file it gave, from a broker that may answer next time (2, click's own code for usage).
EXIT_USAGE = 64
EXIT_BAD_FEED = 65


class UsageExit(TyperCommand):
    """A command whose usage errors (bad options, a missing file) exit with `EXIT_USAGE`
    rather than click's 2, which `mappa publish` keeps for the broker."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except UsageError as error:
            raise _usage_exit(error) from None

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except UsageError as error:
            raise _usage_exit(error) from None


class _UsageError(UsageError):
    exit_code = EXIT_USAGE


def _usage_exit(error: UsageError) -> UsageError:
    """The same usage error, shown as typer shows it, exiting with `EXIT_USAGE`."""
    return _UsageError(error.format_message(), error.ctx)


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


def print_outcome(outcome: FeedOutcome, path: Path) -> None:
    """The closing summary: counts, then each refused line with its reason."""
    if outcome.empty:
        console.print(f"{path.name}: no events in the feed; nothing published")
        return
    summary = Table(title=f"{path.name}: published")
    summary.add_column("accepted", justify="right")
    summary.add_column("rejected", justify="right")
    summary.add_row(str(outcome.accepted), str(len(outcome.rejected)))
    console.print(summary)
    if not outcome.rejected:
        return
    rejected = Table(title="Rejected lines (also on the dead-letter topic)")
    rejected.add_column("line", justify="right")
    rejected.add_column("reason")
    for item in outcome.rejected:
        rejected.add_row(str(item.line), str(item.error))
    console.print(rejected)


def print_unsent(outcome: FeedOutcome) -> None:
    """Every event the broker never acknowledged: publish the feed again to send them (the
    ones that did land have the same ids and are ignored)."""
    unsent = Table(title="NOT sent: the broker never acknowledged these; publish the feed again")
    unsent.add_column("event id")
    unsent.add_column("why")
    for item in outcome.unsent:
        unsent.add_row(item.event_id, item.reason)
    console.print(unsent)


def publish(
    file: Annotated[
        Path | None, typer.Argument(help="A JSON Lines (.jsonl) or CSV feed.", show_default=False)
    ] = None,
    agency: Annotated[
        Agency | None, typer.Option(help="The agency whose feed this is (its topic).")
    ] = None,
    event_type: Annotated[
        str | None,
        typer.Option("--type", help="Event type of lines without a `type` column."),
    ] = None,
    system: Annotated[str, typer.Option(help="The agency system the feed comes from.")] = "feed",
    show_layout: Annotated[
        str | None,
        typer.Option("--layout", help="Print the CSV header for an event type and exit."),
    ] = None,
) -> None:
    """Publish an agency's batch feed. Exit 0 when every line was published, 1 when any was
    rejected (dead-lettered), 2 when the broker refused or failed it, 64 on a usage error,
    65 when the feed's header cannot be read."""
    if show_layout is not None:
        model = _type_named(show_layout, agency, "--layout")
        typer.echo(",".join(layout(model)))
        return
    if file is None or agency is None:
        raise typer.BadParameter("give --agency and a FILE (or --layout TYPE)")
    _check_readable(file)
    if event_type is not None:
        _type_named(event_type, agency, "--type")
    settings = command_settings()
    try:
        keyring = settings.signing_keyring()
    except KeyringError as error:
        raise typer.BadParameter(str(error), param_hint="MAPPA_SIGNING_KEYS") from None
    # An agency's feed goes out as that agency's principal: the broker itself then refuses
    # anything written elsewhere.
    connection = settings.connection_for_role(agency.value)
    try:
        outcome = asyncio.run(
            publish_feed(
                connection, file, agency, system=system, default_type=event_type, keyring=keyring
            )
        )
    except BadHeader as error:
        console.print(f"[red]{file.name}: feed refused, nothing published: {error}[/]")
        raise typer.Exit(EXIT_BAD_FEED) from None
    except KafkaError as error:
        topics = (agency_topic(agency), DEAD_LETTER.name)
        try:
            admin = settings.connection_as(ADMIN)
        except CredentialsError:
            admin = None
        why = asyncio.run(explain_refusal(error, connection.username, topics, admin))
        console.print(f"[red]the broker refused the feed:[/] {escape(why)}", soft_wrap=True)
        raise typer.Exit(EXIT_BROKER) from error
    print_outcome(outcome, file)
    if outcome.stopped is not None:
        if outcome.unsent:
            print_unsent(outcome)
        # Events go out in batches per partition: those acknowledged are not a prefix of the
        # file, so the message does not say where to resume; the feed again is always right.
        console.print(
            f"[red]the broker refused or failed the feed: {outcome.stopped}; only the lines "
            "counted above were published: publish the feed again[/]"
        )
        raise typer.Exit(EXIT_BROKER)
    if outcome.unsent:
        print_unsent(outcome)
        raise typer.Exit(EXIT_BROKER)
    if outcome.rejected:
        raise typer.Exit(EXIT_REJECTED)


def _check_readable(file: Path) -> None:
    """A usage error, before anything connects, for a FILE that cannot be a feed."""
    if file.is_dir():
        raise typer.BadParameter(f"{file} is a directory, not a feed file", param_hint="FILE")
    if not file.exists():
        raise typer.BadParameter(f"no such file: {file}", param_hint="FILE")
    # A FIFO or a device would be read for ever, or not at all.
    if not file.is_file():
        raise typer.BadParameter(f"{file} is not a regular file", param_hint="FILE")
    try:
        file.open("rb").close()
    except OSError as error:
        reason = f"cannot read {file}: {error.strerror}"
        raise typer.BadParameter(reason, param_hint="FILE") from None


def _type_named(name: str, agency: Agency | None, option: str) -> type[EventData]:
    """The event type an option names, or a usage error saying why not."""
    reason = f"unknown event type {name!r}"
    for candidate in [agency] if agency is not None else list(Agency):
        try:
            return resolve_type(name, candidate)
        except WireError as error:
            reason = error.reason
    raise typer.BadParameter(reason, param_hint=option)
