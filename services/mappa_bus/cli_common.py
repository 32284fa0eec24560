"""What the `mappa` commands share: settings and logging first, the options every projection
command takes, and a catch-up run with a progress bar."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from mappa_bus.web.hosts import allowed_hosts

if TYPE_CHECKING:
    from mappa_bus.settings import Settings
    from mappa_bus.signing import Keyring

# Every `mappa` process imports this module (every command's options are made from it), so
# what only a running command needs is imported inside the function that needs it.

Namespace = Annotated[str, typer.Option(help="Topic namespace to read (demo: `demo`).")]
Database = Annotated[
    str | None, typer.Option("--database", help="SQLAlchemy URL of the store (MAPPA_DATABASE_URL).")
]
AllowedHosts = Annotated[
    list[str] | None,
    typer.Option(
        "--allowed-host",
        help="A host name the server answers (any port); repeat for more. "
        "Default: MAPPA_ALLOWED_HOSTS, else 127.0.0.1, localhost and [::1].",
    ),
]
OnProgress = Callable[[int, int], None]
Token = Annotated[
    str | None,
    typer.Option(
        envvar="MAPPA_ACCESS_TOKEN",
        help="Your OpenID Connect access token (MAPPA_ACCESS_TOKEN); says who you are.",
        show_default=False,
    ),
]
InsecureIdentity = Annotated[
    bool,
    typer.Option(
        "--insecure-dev-identity",
        help="Development only: take the reader's identity from headers (servers, loopback "
        "only) or from --user/--as/--area (commands) instead of an OpenID Connect issuer.",
    ),
]
DevUser = Annotated[
    str | None, typer.Option(help="With --insecure-dev-identity: who you are (audited).")
]
DevArea = Annotated[
    str | None,
    typer.Option(help="With --insecure-dev-identity: your areas, comma-separated, or national."),
]
# sysexits' EX_CONFIG: a setting the command needs is missing or wrong.
EXIT_CONFIG = 78

console = Console(stderr=True)


def command_group(help_text: str) -> typer.Typer:
    """A group of commands whose help reads as written: Markdown, so that the line breaks of
    a docstring are not kept as breaks in mid-sentence (typer's "rich" mode keeps them)."""
    return typer.Typer(help=help_text, rich_markup_mode="markdown")


def command_settings(*, service: bool = False) -> Settings:
    """The settings from the environment, with logging configured from them: for a `service`
    (a consumer, a server), JSON lines when not on a terminal; for a command people run,
    readable lines on stderr, never JSON among its output."""
    from mappa_bus.logs import configure_logging
    from mappa_bus.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level, for_people=not service)
    return settings


def hosts_to_answer(given: list[str] | None, settings: Settings) -> tuple[str, ...]:
    """The hosts a server answers: those given on the command line, else the settings'."""
    if not given:
        return settings.hosts()
    try:
        return allowed_hosts(given)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--allowed-host") from error


_T = TypeVar("_T")

# No issuer configured and no development flag: nobody can be identified.
EXIT_NO_IDENTITY = 4


def identity_or_exit(establish: Callable[[], _T]) -> _T:
    """What `establish` makes of the reader's identity (an authenticator, an identity); when
    no issuer is configured, the command ends saying how to configure one."""
    from mappa_bus.web.modes import IdentityConfigError

    try:
        return establish()
    except IdentityConfigError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(EXIT_NO_IDENTITY) from error


def keyring_or_exit(read: Callable[[], Keyring]) -> Keyring:
    """The keyring `read` (a Settings method) finds; without one, the command ends saying which
    setting to give."""
    from mappa_bus.keyring import KeyringError

    try:
        return read()
    except KeyringError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(EXIT_CONFIG) from None


def run_with_progress(verb: str, catch_up: Callable[[OnProgress], Coroutine[Any, Any, int]]) -> int:
    """Run `catch_up` (given a progress callback) under a progress bar; how many records it
    had to apply. Kafka refusing or failing ends the command with status 2."""
    import asyncio

    from aiokafka.errors import KafkaError
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from mappa_bus.projection.progress import MissingTopics

    progress = Progress(
        TextColumn(verb), BarColumn(), MofNCompleteColumn(), console=console, transient=True
    )
    with progress:
        task = progress.add_task("records", total=None)
        try:
            return asyncio.run(
                catch_up(lambda done, total: progress.update(task, completed=done, total=total))
            )
        except KafkaError as error:
            console.print(f"[red]Kafka refused or failed: {error!r}[/]")
            raise typer.Exit(2) from error
        except MissingTopics as error:
            console.print(f"[red]{escape(str(error))}[/]")
            raise typer.Exit(2) from error
