"""`mappa picture`: the case-picture service (run, catch up, rebuild) and its reads."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mappa_bus.cli_common import (
    Database,
    Namespace,
    command_settings,
    keyring_or_exit,
    run_with_progress,
)
from mappa_bus.operations.http import PICTURE_PORT, PORT_OPTION
from mappa_bus.picture.api import (
    Caller,
    Claim,
    Gate,
    Refusal,
    as_known_at_view,
    create_app,
    known_then,
)
from mappa_bus.picture.service import (
    catch_up,
    erase_expired,
    open_projection,
    picture_app,
    rebuild,
)
from mappa_bus.picture.store import create_schema
from mappa_bus.picture.views import CASE_VIEWS, ViewerRole, view_of
from mappa_bus.projection.database import open_engine
from mappa_bus.signing import Keyring
from mappa_bus.topics import NAMESPACE

picture_cli = typer.Typer(help="The case-picture service: every case's shared record.")
console = Console(stderr=True)


@picture_cli.command("run")
def run_command(
    namespace: Namespace = NAMESPACE,
    database: Database = None,
    metrics_port: Annotated[int, PORT_OPTION] = PICTURE_PORT,
) -> None:
    """Run the service as one member of its consumer group until stopped (Ctrl-C, SIGTERM:
    the batch in hand is committed first)."""
    settings = command_settings()
    projection = open_projection(
        database or settings.database_url,
        namespace,
        keyring=keyring_or_exit(settings.verification_keyring),
    )
    connection = settings.connection_for_role("picture")
    app = picture_app(connection, projection, metrics_port=metrics_port)
    asyncio.run(app.run())


@picture_cli.command("catch-up")
def catch_up_command(namespace: Namespace = NAMESPACE, database: Database = None) -> None:
    """Apply every record now on the agency topics that the store has not, then stop."""
    _catch_up(namespace, database, from_scratch=False)


@picture_cli.command("rebuild")
def rebuild_command(namespace: Namespace = NAMESPACE, database: Database = None) -> None:
    """Empty the store and replay everything from the start of the agency topics."""
    _catch_up(namespace, database, from_scratch=True)


def _catch_up(namespace: str, database: str | None, *, from_scratch: bool) -> None:
    settings = command_settings()
    projection = open_projection(
        database or settings.database_url,
        namespace,
        keyring=keyring_or_exit(settings.verification_keyring),
    )
    if from_scratch:
        rebuild(projection)
    connection = settings.connection_for_role("picture")
    applied = run_with_progress(
        "applying", lambda progress: catch_up(connection, projection, on_progress=progress)
    )
    console.print(f"{applied:,} records applied; {len(projection.pictures):,} cases in the store")


@picture_cli.command("show")
def show_command(
    case_id: Annotated[str, typer.Argument(help="The case id.")],
    role: Annotated[str, typer.Option("--as", help="Your role, e.g. probation, housing.")],
    user: Annotated[str, typer.Option(help="Who you are (recorded in the audit trail).")],
    reason: Annotated[str, typer.Option(help="Why you read this case (audited).")],
    known_at: Annotated[
        datetime | None,
        typer.Option(
            "--as-known-at",
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"],
            help="Show the case as the bus knew it then (RFC 3339 with offset, e.g. "
            "2020-11-05T09:00:00+00:00), and what each agency had shared by then.",
        ),
    ] = None,
    database: Database = None,
) -> None:
    """Print one case as your role may see it, as JSON; the read is audited, as through the API."""
    engine = open_engine(database or command_settings().database_url)
    create_schema(engine)
    gate = Gate(engine)
    subject = f"case:{case_id}" if known_at is None else f"case:{case_id}:as-known-at:{known_at}"
    try:
        caller = gate.admit(Claim(user, role, reason), subject, CASE_VIEWS)
        if known_at is None:
            view = view_of(gate.read_case(caller, reason, case_id, subject), caller.role)
            typer.echo(view.model_dump_json(indent=2))
            return
        past = gate.read_case(caller, reason, case_id, subject, lambda p: known_then(p, known_at))
        typer.echo(as_known_at_view(past, caller.role, known_at).model_dump_json(indent=2))
    except Refusal as refusal:
        console.print(f"[red]{refusal.problem.detail}[/]")
        raise typer.Exit(3 if refusal.status != 404 else 1) from refusal


@picture_cli.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database: Database = None,
) -> None:
    """Serve the case API (OpenAPI at /docs and /openapi.json) over the store."""
    import uvicorn  # only this command needs the server

    settings = command_settings()
    engine = open_engine(database or settings.database_url)
    create_schema(engine)
    tokens = read_tokens(Path(settings.api_tokens_file)) if settings.api_tokens_file else None
    if tokens is None:
        console.print("[yellow]development mode: callers name themselves in headers[/]")
    uvicorn.run(create_app(engine, tokens=tokens), host=host, port=port, log_config=None)


def read_tokens(path: Path) -> dict[str, Caller]:
    """The API's bearer tokens from a JSON file `{token: {"user": ..., "role": ...}}`."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        return {
            token: Caller(str(entry["user"]), ViewerRole(entry["role"]))
            for token, entry in entries.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise typer.BadParameter(f"{path}: not a tokens file ({error!r})") from error


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
    """Erase the details of every case whose retention has passed since its management ended;
    each erasure is kept, and audited, and a rebuild does not bring the details back."""
    settings = command_settings()
    # Erasing reads the store alone, no record: no keys to check them with.
    projection = open_projection(database or settings.database_url, namespace, keyring=Keyring({}))
    years = retention_years if retention_years is not None else settings.retention_years
    erased = erase_expired(projection, (today or datetime.now()).date(), years)
    console.print(f"{len(erased):,} cases erased (retention {years} years after management ended)")
