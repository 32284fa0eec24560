"""`mappa publish`: an agency's batch feed onto the bus, with a summary of what was refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, AnyStr, Literal

import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from mappa_bus.adapters.feeds import Accepted, Rejected, layout, read_csv, read_jsonl, resolve_type
from mappa_bus.adapters.publisher import AgencyPublisher, Unsent
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import EventData
from mappa_bus.cli_common import command_settings
from mappa_bus.connection import KafkaConnection
from mappa_bus.credentials import CredentialsError
from mappa_bus.principals import ADMIN
from mappa_bus.topic_state import explain_refusal
from mappa_bus.topics import DEAD_LETTER, NAMESPACE, agency_topic

console = Console(stderr=True)


@dataclass
class FeedOutcome:
    """What happened to a feed: how many lines went on the bus, each refused line, and each
    line the broker never acknowledged (to send again)."""

    accepted: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    unsent: list[Unsent] = field(default_factory=list)


def _feed_format(path: Path, chosen: str) -> Literal["jsonl", "csv"]:
    if chosen in ("jsonl", "csv"):
        return "jsonl" if chosen == "jsonl" else "csv"
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def _results(
    path: Path, agency: Agency, system: str, default_type: str | None, progress: Progress
) -> Iterator[Accepted | Rejected]:
    task = progress.add_task(path.name, total=path.stat().st_size)
    if _feed_format(path, "auto") == "csv":
        with path.open(newline="", encoding="utf-8") as handle:
            lines = _advancing(handle, progress, task)
            yield from read_csv(lines, agency, system=system, default_type=default_type)
        return
    with path.open("rb") as handle:
        yield from read_jsonl(
            _advancing(handle, progress, task), agency, system=system, default_type=default_type
        )


def _advancing(lines: Iterable[AnyStr], progress: Progress, task: TaskID) -> Iterator[AnyStr]:
    for line in lines:
        progress.advance(task, len(line))
        yield line


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
) -> FeedOutcome:
    """Publish every valid line of `path`; dead-letter every other line with its reason."""
    sender = AgencyPublisher(
        connection, agency, system=system, namespace=namespace, dead_letter_topic=dead_letter_topic
    )
    async with sender:
        outcome = await publish_lines(
            sender, path, default_type=default_type, show_progress=show_progress
        )
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
    """Send `path`'s lines through a started publisher; the caller flushes and stops it."""
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
            if isinstance(result, Accepted):
                await sender.send(result.event)
                outcome.accepted += 1
                continue
            await sender.dead_letter(result.raw, result.error, origin=f"{path.name}:{result.line}")
            outcome.rejected.append(result)
    return outcome


def print_outcome(outcome: FeedOutcome, path: Path) -> None:
    """The closing summary: counts, then each refused line with its reason."""
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
    file: Annotated[Path | None, typer.Argument(help="A JSON Lines (.jsonl) or CSV feed.")] = None,
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
    """Publish an agency's batch feed; exit 1 if any line was rejected, 2 if the broker
    refused or failed it."""
    if show_layout is not None:
        model = resolve_type(show_layout, agency) if agency else _any_agency_type(show_layout)
        typer.echo(",".join(layout(model)))
        return
    if file is None or agency is None:
        raise typer.BadParameter("give --agency and a FILE (or --layout TYPE)")
    if not file.is_file():
        raise typer.BadParameter(f"no such file: {file}", param_hint="FILE")
    # An agency's feed goes out as that agency's principal: the broker itself then refuses
    # anything written elsewhere.
    settings = command_settings()
    connection = settings.connection_for_role(agency.value)
    try:
        outcome = asyncio.run(
            publish_feed(connection, file, agency, system=system, default_type=event_type)
        )
    except KafkaError as error:
        topics = (agency_topic(agency), DEAD_LETTER.name)
        try:
            admin = settings.connection_as(ADMIN)
        except CredentialsError:
            admin = None
        why = asyncio.run(explain_refusal(error, connection.username, topics, admin))
        console.print(f"[red]the broker refused the feed:[/] {escape(why)}", soft_wrap=True)
        raise typer.Exit(2) from error
    print_outcome(outcome, file)
    if outcome.unsent:
        print_unsent(outcome)
        raise typer.Exit(2)
    if outcome.rejected:
        raise typer.Exit(1)


def _any_agency_type(name: str) -> type[EventData]:
    for agency in Agency:
        try:
            return resolve_type(name, agency)
        except ValueError:
            continue
    raise typer.BadParameter(f"unknown event type {name!r}", param_hint="--layout")
