"""The commands every projection service has, made once: `run` (a member of its consumer
group until stopped), `catch-up` (apply what the topics hold, then stop) and, where the slice
can empty its store, `rebuild` (empty it, then catch up from the start of the topics).

A slice describes its commands in a `ServiceOptions` (their help and defaults) and itself in a
`ServiceCommands` (its role, projection and hooks, its summary line), and `add_service_commands`
puts the commands on its group; options, exit codes and outputs are the same for every slice.
Every `mappa` process makes every command, so the options are constants and the slice is made
(its projection, its service imported) only when one of its commands runs."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

import typer
from rich.console import Console

from mappa_bus.cli_common import (
    EXIT_CONFIG,
    Database,
    Namespace,
    OnProgress,
    command_settings,
    keyring_or_exit,
    run_with_progress,
)
from mappa_bus.operations.ports import PORT_OPTION
from mappa_bus.topics import NAMESPACE

if TYPE_CHECKING:
    from faststream import FastStream

    from mappa_bus.connection import KafkaConnection
    from mappa_bus.principals import Role
    from mappa_bus.projection.sealed import RecordKeys
    from mappa_bus.projection.shell import ProjectionKind
    from mappa_bus.projection.subscriber import Projection
    from mappa_bus.settings import Settings

console = Console(stderr=True)

P = TypeVar("P", bound="Projection[Any]")

Clock = Callable[[], date]
Today = Annotated[
    datetime | None,
    typer.Option(
        formats=["%Y-%m-%d"],
        help="The date the review clock takes for today (replaying a past year); "
        "default: the real date.",
    ),
]
CATCH_UP_HELP = "Apply every record now on the agency topics that the store has not, then stop."
REBUILD_HELP = "Empty the store and replay everything from the start of the agency topics."


@dataclass(frozen=True)
class ServiceOptions:
    """What a slice's service commands say and take."""

    port: int
    """The default port of its operations endpoints."""
    run_help: str
    catch_up_help: str = CATCH_UP_HELP
    clock: bool = False
    """Whether its commands take `--today` (a review clock)."""
    rebuild: bool = False
    """Whether it has `rebuild` (its `ServiceCommands.rebuild` empties its store)."""


@dataclass(frozen=True)
class ServiceCommands(Generic[P]):
    """What a slice gives for its service commands."""

    role: Role
    """Its principal: the Kafka connection and the consumer group are its."""
    kind: ProjectionKind[P]
    summary: Callable[[P, int], str]
    """The line printed after a catch-up of so many records."""
    verb: str = "applying"
    rebuild: Callable[[P], None] | None = None
    """Empties its store (for `rebuild`, which `ServiceOptions.rebuild` puts on its group)."""
    app: Callable[[KafkaConnection, P, int, Clock], FastStream] | None = None
    """Its service, given the endpoints' port and the clock; by default the plain shell's."""
    catch_up: Callable[[KafkaConnection, P, OnProgress, Clock], Coroutine[Any, Any, int]] | None = (
        None
    )
    """Its catch-up, given the progress callback and the clock; by default the plain shell's."""
    ingress: bool = False
    """Whether it reads the agency topics whatever `MAPPA_RECORD` says (the intake, which
    fills the sealed record from them)."""


def add_service_commands(
    group: typer.Typer, options: ServiceOptions, load: Callable[[], ServiceCommands[Any]]
) -> None:
    """Put `run`, `catch-up` and (given `options.rebuild`) `rebuild` on `group`; `load` makes
    the slice when one of them runs."""
    if options.clock:

        def run_on(
            namespace: Namespace = NAMESPACE,
            database: Database = None,
            today: Today = None,
            metrics_port: Annotated[int, PORT_OPTION] = options.port,
        ) -> None:
            run(load(), namespace, database, metrics_port, today)

        def catch_up_on(
            namespace: Namespace = NAMESPACE, database: Database = None, today: Today = None
        ) -> None:
            catch_up(load(), namespace, database, today, from_scratch=False)

        group.command("run", help=options.run_help)(run_on)
        group.command("catch-up", help=options.catch_up_help)(catch_up_on)
    else:

        def run_plain(
            namespace: Namespace = NAMESPACE,
            database: Database = None,
            metrics_port: Annotated[int, PORT_OPTION] = options.port,
        ) -> None:
            run(load(), namespace, database, metrics_port, None)

        def catch_up_plain(namespace: Namespace = NAMESPACE, database: Database = None) -> None:
            catch_up(load(), namespace, database, None, from_scratch=False)

        group.command("run", help=options.run_help)(run_plain)
        group.command("catch-up", help=options.catch_up_help)(catch_up_plain)
    if options.rebuild:

        def rebuild(namespace: Namespace = NAMESPACE, database: Database = None) -> None:
            catch_up(load(), namespace, database, None, from_scratch=True)

        group.command("rebuild", help=REBUILD_HELP)(rebuild)


def _keys(spec: ServiceCommands[Any], settings: Settings) -> RecordKeys:
    """What the slice reads with: the agencies' keys, or in sealed mode the case keys; without
    them, the command ends saying which setting to give."""
    from mappa_bus.keyring import KeyringError
    from mappa_bus.keystore import KeyStoreError
    from mappa_bus.projection.shell import record_keys

    if spec.ingress:
        return keyring_or_exit(settings.verification_keyring)
    try:
        return record_keys(settings)
    except (KeyringError, KeyStoreError) as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(EXIT_CONFIG) from None


def _clock(today: datetime | None) -> Clock:
    return date.today if today is None else today.date


def run(
    spec: ServiceCommands[P],
    namespace: str,
    database: str | None,
    metrics_port: int,
    today: datetime | None,
) -> None:
    """Run the slice's service until stopped (Ctrl-C, SIGTERM: the batch in hand is committed
    first)."""
    import asyncio

    from mappa_bus.projection.shell import open_projection, projection_service

    settings = command_settings(service=True)
    projection = open_projection(
        spec.kind, database or settings.database_url, namespace, keyring=_keys(spec, settings)
    )
    connection = settings.connection_for_role(spec.role.value)
    if spec.app is None:
        app = projection_service(connection, projection, spec.role, metrics_port=metrics_port).app
    else:
        app = spec.app(connection, projection, metrics_port, _clock(today))
    asyncio.run(app.run())


def catch_up(
    spec: ServiceCommands[P],
    namespace: str,
    database: str | None,
    today: datetime | None,
    *,
    from_scratch: bool,
) -> None:
    """Apply what the topics hold (`from_scratch`: into an emptied store), then print the
    slice's summary."""
    from mappa_bus.projection.shell import open_projection
    from mappa_bus.projection.subscriber import consume_until_caught_up

    settings = command_settings()
    projection = open_projection(
        spec.kind, database or settings.database_url, namespace, keyring=_keys(spec, settings)
    )
    if from_scratch:
        if spec.rebuild is None:
            raise TypeError(f"{spec.role.value}: `rebuild` on its group, no rebuild in its slice")
        spec.rebuild(projection)
    connection = settings.connection_for_role(spec.role.value)
    clock = _clock(today)

    def applying(progress: OnProgress) -> Coroutine[Any, Any, int]:
        if spec.catch_up is None:
            return consume_until_caught_up(connection, projection, on_progress=progress)
        return spec.catch_up(connection, projection, progress, clock)

    applied = run_with_progress(spec.verb, applying)
    console.print(spec.summary(projection, applied))
