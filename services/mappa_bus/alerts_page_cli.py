"""`mappa alerts web`: the alerts page, wired to the case-picture API it mounts (the one
place that joins the two slices: alerts does not import picture)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from mappa_bus.alerts.cli import Areas, Categories, MinLevel, Rules, alert_filter
from mappa_bus.cli_common import (
    AllowedHosts,
    InsecureIdentity,
    Namespace,
    command_settings,
    hosts_to_answer,
    identity_or_exit,
)
from mappa_bus.principals import Role
from mappa_bus.topics import NAMESPACE

if TYPE_CHECKING:
    from pydantic import SecretStr

console = Console(stderr=True)


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
    from mappa_bus.alerts.cli import case_keys
    from mappa_bus.alerts.web import create_web_app, web_server
    from mappa_bus.picture.api import case_api_for
    from mappa_bus.picture.schema import create_schema
    from mappa_bus.projection.database import open_engine
    from mappa_bus.web.modes import http_authenticator, is_loopback
    from mappa_bus.web.signin import WebClient

    settings = command_settings(service=True)
    authenticator = identity_or_exit(
        lambda: http_authenticator(settings, insecure=insecure, host=host)
    )
    engine = open_engine(pictures_database or settings.database_url)
    create_schema(engine)
    app = create_web_app(
        settings.connection_for_role(Role.COORDINATOR.value),
        namespace,
        case_api_for(engine),
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
        keys=case_keys(settings),
    )
    shown = f"[{host}]" if ":" in host else host
    console.print(f"alerts page on http://{shown}:{port}/")
    if insecure:
        console.print("[bold red]INSECURE DEVELOPMENT IDENTITY[/]: anyone signs in as anyone")
    web_server(app, host=host, port=port).run()


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()
