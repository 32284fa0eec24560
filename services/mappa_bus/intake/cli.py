"""`mappa intake`: the intake's run and catch-up (sealed mode only)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from mappa_bus.cli_common import EXIT_CONFIG, command_group
from mappa_bus.operations.ports import INTAKE_PORT
from mappa_bus.projection.commands import (
    ServiceCommands,
    ServiceOptions,
    add_service_commands,
    console,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from mappa_bus.intake.consumer import IntakeProjection
    from mappa_bus.projection.sealed import RecordKeys

# Every `mappa` process makes these commands: the intake itself is imported only when one runs.

intake_cli = command_group(
    "The intake (MAPPA_RECORD=sealed): agency records checked, sealed under their case's key "
    "onto the sealed record, and deleted from the agency topics."
)


def intake_projection(engine: Engine, namespace: str, *, keyring: RecordKeys) -> IntakeProjection:
    """The intake's projection, with the key store of the settings; the command ends, saying
    why, outside sealed mode (its deletions would take the record from the projections reading
    the agency topics) or without a key store."""
    from mappa_bus.intake.consumer import IntakeProjection
    from mappa_bus.keystore import KeyStoreError, open_key_store
    from mappa_bus.settings import load_settings
    from mappa_bus.signing import Keyring

    # The command has configured logging already: the settings are only read here.
    settings = load_settings()
    if not settings.sealed():
        console.print(
            "[red]the intake runs only in sealed mode (MAPPA_RECORD=sealed): it deletes what it "
            "copies from the agency topics[/]"
        )
        raise typer.Exit(EXIT_CONFIG)
    if not isinstance(keyring, Keyring):
        raise TypeError("the intake checks agency records with the agencies' keys")
    try:
        keys = open_key_store(settings.key_store_url, settings.key_encryption_key_path())
    except KeyStoreError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(EXIT_CONFIG) from None
    return IntakeProjection(engine, namespace, keyring=keyring, keys=keys)


def intake_service() -> ServiceCommands[IntakeProjection]:
    """The intake, for its `run` and `catch-up`."""
    from mappa_bus.intake.service import catch_up, intake_app
    from mappa_bus.principals import Role

    return ServiceCommands(
        role=Role.INTAKE,
        kind=intake_projection,
        summary=lambda projection, applied: f"{applied:,} records sealed or refused",
        verb="sealing",
        ingress=True,
        app=lambda connection, projection, port, _clock: intake_app(connection, projection, port),
        catch_up=lambda connection, projection, progress, _clock: catch_up(
            connection, projection, progress
        ),
    )


add_service_commands(
    intake_cli,
    ServiceOptions(
        port=INTAKE_PORT,
        run_help="Run the intake as one member of its consumer group until stopped (Ctrl-C, "
        "SIGTERM: the batch in hand is sealed and committed first).",
        catch_up_help="Seal every record now on the agency topics that the intake has not, "
        "delete what it copied from them, then stop.",
    ),
    intake_service,
)
