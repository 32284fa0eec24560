"""`mappa alerts run` and `mappa alerts catch-up`: the alerts service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated

import typer
from rich.console import Console

from mappa_bus.alerts.service import alerts_app, catch_up, open_projection
from mappa_bus.cli_common import (
    Database,
    Namespace,
    command_settings,
    keyring_or_exit,
    run_with_progress,
)
from mappa_bus.operations.http import ALERTS_PORT, PORT_OPTION
from mappa_bus.topics import NAMESPACE

console = Console(stderr=True)

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
    settings = command_settings(service=True)
    projection = open_projection(
        database or settings.database_url,
        namespace,
        keyring=keyring_or_exit(settings.verification_keyring),
    )
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
    projection = open_projection(
        database or settings.database_url,
        namespace,
        keyring=keyring_or_exit(settings.verification_keyring),
    )
    connection = settings.connection_for_role("alerts")
    applied = run_with_progress(
        "folding",
        lambda progress: catch_up(
            connection, projection, today=_clock(today), on_progress=progress
        ),
    )
    console.print(f"{applied:,} records folded; {len(projection.raised):,} alerts raised in all")
