"""`mappa alerts run` and `mappa alerts catch-up`: the alerts service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from mappa_bus.alerts.service import alerts_app, catch_up, open_projection
from mappa_bus.cli_common import command_settings
from mappa_bus.operations.http import ALERTS_PORT, PORT_OPTION
from mappa_bus.topics import NAMESPACE

console = Console(stderr=True)

Namespace = Annotated[str, typer.Option(help="Topic namespace to read (demo: `demo`).")]
Database = Annotated[
    str | None, typer.Option("--database", help="SQLAlchemy URL of the store (MAPPA_DATABASE_URL).")
]
Today = Annotated[
    datetime | None,
    typer.Option(
        formats=["%Y-%m-%d"],
        help="The date the review clock takes for today (replaying a past year); "
        "default: the real date.",
    ),
]


def _clock(today: datetime | None) -> Callable[[], date]:
    return date.today if today is None else today.date


def run_command(
    namespace: Namespace = NAMESPACE,
    database: Database = None,
    today: Today = None,
    metrics_port: Annotated[int, PORT_OPTION] = ALERTS_PORT,
) -> None:
    """Run the alerts service as one member of its consumer group until stopped (Ctrl-C,
    SIGTERM: the batch in hand is committed first)."""
    settings = command_settings()
    projection = open_projection(database or settings.database_url, namespace)
    app = alerts_app(
        settings.connection_for_role("alerts"),
        projection,
        today=_clock(today),
        metrics_port=metrics_port,
    )
    asyncio.run(app.run())


def catch_up_command(
    namespace: Namespace = NAMESPACE, database: Database = None, today: Today = None
) -> None:
    """Raise and publish the alerts for every record now on the agency topics, then stop."""
    settings = command_settings()
    projection = open_projection(database or settings.database_url, namespace)
    progress = Progress(
        TextColumn("folding"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
    )
    with progress:
        task = progress.add_task("records", total=None)
        try:
            applied = asyncio.run(
                catch_up(
                    settings.connection_for_role("alerts"),
                    projection,
                    today=_clock(today),
                    on_progress=lambda done, total: progress.update(
                        task, completed=done, total=total
                    ),
                )
            )
        except KafkaError as error:
            console.print(f"[red]Kafka refused or failed: {error!r}[/]")
            raise typer.Exit(2) from error
    console.print(f"{applied:,} records folded; {len(projection.raised):,} alerts raised in all")
