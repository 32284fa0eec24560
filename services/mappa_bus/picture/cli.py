"""`mappa picture`: the case-picture service (run, catch up, rebuild) and its reads."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from mappa_bus.cli_common import (
    AllowedHosts,
    Database,
    DevArea,
    DevUser,
    InsecureIdentity,
    Namespace,
    Token,
    command_group,
    command_settings,
    hosts_to_answer,
    identity_or_exit,
)
from mappa_bus.operations.ports import PICTURE_PORT
from mappa_bus.projection.commands import ServiceCommands, ServiceOptions, add_service_commands
from mappa_bus.topics import NAMESPACE

if TYPE_CHECKING:
    from mappa_bus.picture.consumer import PictureProjection
    from mappa_bus.settings import Settings
    from mappa_bus.web.identity import Identity

# Every `mappa` process makes these commands: what only a running one needs (the store, the
# API) is imported inside it.

picture_cli = command_group("The case-picture service: every case's shared record.")
console = Console(stderr=True)


def picture_service() -> ServiceCommands[PictureProjection]:
    """The picture slice, for its `run`, `catch-up` and `rebuild`."""
    from mappa_bus.picture.consumer import PictureProjection
    from mappa_bus.picture.service import rebuild
    from mappa_bus.principals import Role

    return ServiceCommands(
        role=Role.PICTURE,
        kind=PictureProjection,
        summary=lambda projection, applied: (
            f"{applied:,} records applied; {projection.case_count():,} cases in the store"
        ),
        rebuild=rebuild,
    )


add_service_commands(
    picture_cli,
    ServiceOptions(
        port=PICTURE_PORT,
        run_help="Run the service as one member of its consumer group until stopped (Ctrl-C, "
        "SIGTERM: the batch in hand is committed first).",
        rebuild=True,
    ),
    picture_service,
)


@picture_cli.command("show")
def show_command(
    case_id: Annotated[str, typer.Argument(help="The case id.")],
    reason: Annotated[str, typer.Option(help="Why you read this case (audited).")],
    token: Token = None,
    known_at: Annotated[
        datetime | None,
        typer.Option(
            "--as-known-at",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"],
            help="Show the case as the bus knew it then (RFC 3339 with offset, e.g. "
            "2020-11-05T09:00:00+00:00), and what each agency had shared by then.",
        ),
    ] = None,
    role: Annotated[
        str | None, typer.Option("--as", help="The role you read in (if you hold several).")
    ] = None,
    insecure: InsecureIdentity = False,
    user: DevUser = None,
    area: DevArea = None,
    database: Database = None,
) -> None:
    """Print one case as your role may see it, as JSON; the read is audited, as through the API.
    Who you are comes from your access token (MAPPA_ACCESS_TOKEN), verified by the issuer."""
    from mappa_bus.access.policy import CASE_VIEWS
    from mappa_bus.picture.gate import Attempt, Gate, Refusal
    from mappa_bus.picture.schema import create_schema
    from mappa_bus.picture.views import as_known_at_view, known_then, view_of
    from mappa_bus.projection.database import open_engine

    settings = command_settings()
    engine = open_engine(database or settings.database_url)
    create_schema(engine)
    gate = Gate(engine)
    identity = _identity(settings, token, insecure, user, role, area)
    subject = f"mappa picture show {case_id}" + (f" --as-known-at {known_at}" if known_at else "")
    attempt = Attempt(identity, role, reason, subject)
    try:
        caller, checked = gate.admit(attempt, CASE_VIEWS)
        if known_at is None:
            picture = gate.read_case(attempt, caller, checked, case_id)
            typer.echo(view_of(picture, caller.role).model_dump_json(indent=2))
            return
        past = gate.read_case(
            attempt, caller, checked, case_id, lambda p: known_then(p, known_at, caller.role)
        )
        typer.echo(as_known_at_view(past, caller.role, known_at).model_dump_json(indent=2))
    except Refusal as refused:
        console.print(f"[red]{refused.problem.detail}[/]")
        raise typer.Exit(3 if refused.status != 404 else 1) from refused


def _identity(
    settings: Settings,
    token: str | None,
    insecure: bool,
    user: str | None,
    role: str | None,
    area: str | None,
) -> Identity:
    from mappa_bus.web.modes import command_identity

    return identity_or_exit(
        lambda: command_identity(
            settings, token=token, insecure=insecure, user=user, roles=role, areas=area
        )
    )


@picture_cli.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    insecure: InsecureIdentity = False,
    database: Database = None,
    allowed_host: AllowedHosts = None,
) -> None:
    """Serve the case API (its OpenAPI document at /openapi.json) over the store; callers
    identified by access tokens from the issuer in MAPPA_OIDC_ISSUER."""
    import uvicorn

    from mappa_bus.picture.api import create_app
    from mappa_bus.picture.schema import create_schema
    from mappa_bus.projection.database import open_engine
    from mappa_bus.web.modes import http_authenticator

    settings = command_settings(service=True)
    authenticator = identity_or_exit(
        lambda: http_authenticator(settings, insecure=insecure, host=host)
    )
    engine = open_engine(database or settings.database_url)
    create_schema(engine)
    if insecure:
        console.print("[yellow]INSECURE development identity: callers name themselves[/]")
    console.print(f"case API on http://{host}:{port}/ (OpenAPI at /openapi.json)")
    app = create_app(engine, authenticator, hosts=hosts_to_answer(allowed_host, settings))
    uvicorn.run(app, host=host, port=port, log_config=None)


@picture_cli.command("erase-expired")
def erase_expired_command(
    retention_years: Annotated[
        int | None,
        typer.Option(help="Years kept after MAPPA management ends (MAPPA_RETENTION_YEARS)."),
    ] = None,
    today: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="The date erasure is due by (default: today)."),
    ] = None,
    namespace: Namespace = NAMESPACE,
    database: Database = None,
) -> None:
    """Erase from the picture store alone the details of every case whose retention has passed
    since its management ended; each erasure is kept, and audited, and a rebuild does not bring
    the details back. `mappa erase-expired` erases them from every store."""
    from mappa_bus.picture.service import erase_expired, open_projection
    from mappa_bus.signing import Keyring

    settings = command_settings()
    # Erasing reads the store alone, no record: no keys to check them with.
    projection = open_projection(database or settings.database_url, namespace, keyring=Keyring({}))
    years = retention_years if retention_years is not None else settings.retention_years
    erased = erase_expired(projection, (today or datetime.now()).date(), years)
    console.print(f"{len(erased):,} cases erased (retention {years} years after management ended)")
