"""`mappa alerts`: coordinators receive alerts (tail, web); the alerts service's own commands
(`run`, `catch-up`) are registered on the same `alerts_cli` by the service's module."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer
from aiokafka.errors import KafkaError
from pydantic import SecretStr
from rich.console import Console
from rich.text import Text

from mappa_bus.alerts.model import AlertRaised, Severity
from mappa_bus.alerts.subscription import AlertFilter, subscribe
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.areas import AREA_NAMES
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.cli_common import (
    AllowedHosts,
    InsecureIdentity,
    Namespace,
    command_group,
    command_settings,
    hosts_to_answer,
)
from mappa_bus.connection import KafkaConnection
from mappa_bus.principals import Role
from mappa_bus.topics import NAMESPACE, alerts_topic
from mappa_bus.web.modes import IdentityConfigError, http_authenticator

alerts_cli = command_group("Coordinator alerts: follow them (tail, web); the alerts service.")
# The alerts themselves go to stdout (they are the output); progress and problems to stderr.
out = Console(highlight=False)
console = Console(stderr=True)

# How long `tail` waits in silence before saying again what it waits for.
QUIET_SECONDS = 60.0
STYLES = {Severity.URGENT: "bold red", Severity.HIGH: "yellow", Severity.ROUTINE: "cyan"}

Areas = Annotated[
    list[str] | None,
    typer.Option("--area", help="A MAPPA area, by name or slug (e.g. Kent); repeat for more."),
]
MinLevel = Annotated[
    int | None, typer.Option("--min-level", min=1, max=3, help="Only cases at this level or up.")
]
Categories = Annotated[
    list[int] | None,
    typer.Option("--category", min=1, max=4, help="Only cases of this category; repeatable."),
]
Rules = Annotated[
    list[str] | None,
    typer.Option("--rule", help="Only this rule, e.g. released-from-custody; repeatable."),
]


def parse_area(text: str) -> Area:
    """The area `text` names, by slug or by name, in any case (`Kent`, `avon and somerset`)."""
    wanted = text.strip().casefold().replace(" ", "-")
    for area in Area:
        if wanted in (area.value, AREA_NAMES[area].casefold().replace(" ", "-")):
            return area
    raise typer.BadParameter(f"no MAPPA area {text!r} (e.g. kent, greater-manchester)")


def alert_filter(
    areas: list[str] | None,
    min_level: int | None,
    categories: list[int] | None,
    rules: list[str] | None,
) -> AlertFilter:
    """The filter the command-line options describe (an option not given: any)."""
    return AlertFilter(
        areas=frozenset(parse_area(area) for area in areas) if areas else None,
        min_level=None if min_level is None else Level(min_level),
        categories=frozenset(Category(c) for c in categories) if categories else None,
        rules=frozenset(rules) if rules else None,
    )


def alert_line(alert: AlertRaised) -> Text:
    """One alert as one line: time, severity, area, rule, case id, summary."""
    data = alert.data
    return Text.assemble(
        (alert.time.astimezone().strftime("%Y-%m-%d %H:%M:%S"), "dim"),
        "  ",
        (f"{data.severity.value.upper():<7}", STYLES[data.severity]),
        "  ",
        AREA_NAMES[data.area],
        "  ",
        (data.rule, "bold"),
        "  ",
        data.case_id,
        "  ",
        data.summary,
    )


@alerts_cli.command("tail")
def tail_command(
    area: Areas = None,
    min_level: MinLevel = None,
    category: Categories = None,
    rule: Rules = None,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Every alert still kept, then new ones.")
    ] = False,
    namespace: Namespace = NAMESPACE,
) -> None:
    """Print alerts as they are raised (as the coordinator principal) until Ctrl-C."""
    where = alert_filter(area, min_level, category, rule)
    connection = command_settings().connection_for_role(Role.COORDINATOR.value)
    try:
        asyncio.run(_tail(connection, namespace, where, from_beginning=from_beginning))
    except KeyboardInterrupt:
        console.print("stopped")
    except KafkaError as error:
        console.print(f"[red]Kafka refused or failed: {error!r}[/]")
        raise typer.Exit(2) from error


async def _tail(
    connection: KafkaConnection, namespace: str, where: AlertFilter, *, from_beginning: bool
) -> None:
    # Alerts come only while the alerts service runs: say so when nothing comes, rather than
    # leave a coordinator in front of an empty terminal wondering.
    waiting = f"waiting for alerts from {alerts_topic(namespace)}; is `mappa alerts run` running?"
    console.print(waiting, markup=False, soft_wrap=True)
    alerts = subscribe(connection, namespace, where, from_beginning=from_beginning)
    async with contextlib.aclosing(alerts):
        following: asyncio.Future[AlertRaised] | None = None
        try:
            while True:
                following = asyncio.ensure_future(anext(alerts))
                while not (await asyncio.wait({following}, timeout=QUIET_SECONDS))[0]:
                    console.print(
                        f"nothing for {QUIET_SECONDS:.0f} s: {waiting}",
                        markup=False,
                        soft_wrap=True,
                    )
                try:
                    alert = following.result()
                except StopAsyncIteration:
                    return
                out.print(alert_line(alert), soft_wrap=True)
        finally:
            # The generator cannot be closed while a step of it is still running.
            if following is not None and not following.done():
                following.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await following


@alerts_cli.command("web")
def web_command(
    area: Areas = None,
    min_level: MinLevel = None,
    category: Categories = None,
    rule: Rules = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8001,
    namespace: Namespace = NAMESPACE,
    pictures_database: Annotated[
        str | None,
        typer.Option(
            "--pictures-database",
            envvar="MAPPA_PICTURES_DATABASE_URL",
            help="The picture service's store, whose cases the page opens (its --database; "
            "default MAPPA_DATABASE_URL).",
            show_default=False,
        ),
    ] = None,
    allowed_host: AllowedHosts = None,
    insecure: InsecureIdentity = False,
) -> None:
    """Serve the live alerts page, with acknowledgement and the cases' coordinator view. People
    sign in at the OpenID Connect issuer (MAPPA_OIDC_ISSUER) as client MAPPA_OIDC_CLIENT_ID."""
    from mappa_bus.alerts.board import StreamCaps
    from mappa_bus.alerts.web import create_web_app, web_server
    from mappa_bus.picture.store import create_schema
    from mappa_bus.projection.database import open_engine
    from mappa_bus.web.modes import is_loopback
    from mappa_bus.web.signin import WebClient

    settings = command_settings(service=True)
    try:
        authenticator = http_authenticator(settings, insecure=insecure, host=host)
    except IdentityConfigError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(4) from error
    engine = open_engine(pictures_database or settings.database_url)
    create_schema(engine)
    app = create_web_app(
        settings.connection_for_role(Role.COORDINATOR.value),
        namespace,
        engine,
        authenticator,
        client=WebClient(
            client_id=settings.oidc_client_id,
            client_secret=_secret(settings.oidc_client_secret),
            session_secret=_secret(settings.session_secret),
            # Plain http is only ever right on this machine; anywhere else TLS is in front.
            secure_cookie=not is_loopback(host),
        ),
        where=alert_filter(area, min_level, category, rule),
        hosts=hosts_to_answer(allowed_host, settings),
        caps=StreamCaps(settings.alerts_streams, settings.alerts_streams_per_user),
    )
    shown = f"[{host}]" if ":" in host else host
    console.print(f"alerts page on http://{shown}:{port}/")
    if insecure:
        console.print("[bold red]INSECURE DEVELOPMENT IDENTITY[/]: anyone signs in as anyone")
    web_server(app, host=host, port=port).run()


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()
