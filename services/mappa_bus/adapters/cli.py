"""`mappa publish`: an agency's batch feed onto the bus, with a summary of what was refused.

Exit codes (docs/feeds.md): 0 every line published (or the feed held none), 1 some lines
rejected and dead-lettered, 2 the broker refused or failed (publish the feed again), 64 a usage
error (no such file, a directory, bad options), 65 a feed refused as a whole (its CSV header).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

# typer (0.29) carries its own click, and exports its usage error only as BadParameter's base.
from typer._click.core import Context
from typer._click.exceptions import UsageError
from typer.core import TyperCommand

from mappa_bus.agencies import Agency
from mappa_bus.cli_common import command_settings

if TYPE_CHECKING:
    from mappa_bus.adapters.feed_publish import FeedOutcome
    from mappa_bus.catalogue import EventData

# Every `mappa` process makes this command: the feed readers, the publisher and Kafka are
# imported only when it runs.

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
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Processes that read and sign a JSON Lines feed, 0 for this one alone (a CSV "
            "feed is always read here). By default one a core, for a feed of 4 MiB or more.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Publish an agency's batch feed. Exit 0 when every line was published, 1 when any was
    rejected (dead-lettered), 2 when the broker refused or failed it, 64 on a usage error,
    65 when the feed's header cannot be read."""
    import asyncio

    from aiokafka.errors import KafkaError

    from mappa_bus.adapters.feed_publish import publish_feed
    from mappa_bus.adapters.feeds import BadHeader, layout
    from mappa_bus.credentials import CredentialsError
    from mappa_bus.keyring import KeyringError
    from mappa_bus.principals import ADMIN
    from mappa_bus.topic_state import explain_refusal
    from mappa_bus.topics import DEAD_LETTER, agency_topic

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
                connection,
                file,
                agency,
                system=system,
                default_type=event_type,
                keyring=keyring,
                workers=workers,
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
    from mappa_bus.adapters.feeds import resolve_type
    from mappa_bus.catalogue import WireError

    reason = f"unknown event type {name!r}"
    for candidate in [agency] if agency is not None else list(Agency):
        try:
            return resolve_type(name, candidate)
        except WireError as error:
            reason = error.reason
    raise typer.BadParameter(reason, param_hint=option)
