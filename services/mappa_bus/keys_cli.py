"""`mappa keys`: make the signing keyrings a deployment hands out (mappa_bus.signing), and the
key-encryption key of the sealed record's case keys (mappa_bus.keystore).

`generate` writes every agency's key for every area (the intake's keyring); `select` cuts a
publisher's keyring from it: one agency's newest key for each of the areas it serves;
`encryption-key` writes the key that wraps every case key in the key store; `destroy-erased`
destroys again the keys a key store restored from a backup brings back.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, WireError
from mappa_bus.cli_common import EXIT_CONFIG, Database, command_group, command_settings

# Every `mappa` process makes these commands: what only a running one needs (the keys, the
# stores) is imported inside it.

keys_cli = command_group(
    "Signing keyrings (every key for the intake, some for a publisher) and the key-encryption "
    "key of the case keys."
)
console = Console(stderr=True)
# `mappa keys encryption-key` found a key where it was to write one and was not told what to do.
EXIT_EXISTS = 1


class Existing(StrEnum):
    """What `encryption-key` does with a key already at its output."""

    REFUSE = "refuse"
    KEEP = "keep"
    REPLACE = "replace"


@keys_cli.command("generate")
def generate_command(
    output: Annotated[Path, typer.Option(help="Where to write the keyring (mode 0600).")],
) -> None:
    """Write a fresh random key for every agency in every area. An existing keyring is kept as
    it is: the records signed with it must verify at every replay."""
    from mappa_bus.keyring import write_keyring
    from mappa_bus.signing import generate_keyring

    if output.exists():
        console.print(f"{output} exists; kept (rotate keys by adding a generation, runbook)")
        return
    write_keyring(output, generate_keyring())
    console.print(f"wrote {len(Agency) * len(Area)} keys to {output}")


@keys_cli.command("select")
def select_command(
    source: Annotated[Path, typer.Argument(help="The consumers' keyring (every key).")],
    output: Annotated[Path, typer.Argument(help="Where to write the publisher's keyring.")],
    agency: Annotated[Agency, typer.Option(help="The publisher's agency.")],
    areas: Annotated[
        list[Area] | None,
        typer.Option("--area", help="An area it serves (repeat; default every area)."),
    ] = None,
) -> None:
    """Write `agency`'s newest key for each of `areas` from SOURCE: all a publisher holds."""
    from mappa_bus.keyring import KeyringError, read_keyring, write_keyring
    from mappa_bus.signing import Keyring

    try:
        every = read_keyring(source)
    except KeyringError as error:
        raise typer.BadParameter(str(error), param_hint="SOURCE") from None
    try:
        newest = [every.current(agency, area) for area in areas or list(Area)]
    except WireError as error:
        raise typer.BadParameter(f"{source}: {error.reason}", param_hint="--area") from None
    write_keyring(output, Keyring({key_id: every.keys[key_id] for key_id in newest}))
    console.print(f"wrote {len(newest)} keys of {agency.value} to {output}")


@keys_cli.command("encryption-key")
def encryption_key_command(
    output: Annotated[Path, typer.Option(help="Where to write the key (mode 0600).")],
    existing: Annotated[
        Existing,
        typer.Option(
            help="A key already there: `refuse` (exit 1), `keep` it (exit 0: a set-up job run "
            "at every start), or `replace` it, which leaves every case key it wrapped "
            "unreadable: only for a key store that holds none."
        ),
    ] = Existing.REFUSE,
) -> None:
    """Write a fresh key-encryption key (64 hex digits, readable by its owner alone) for
    MAPPA_KEY_ENCRYPTION_KEY. Back it up apart from the key store: losing it loses every case
    on the sealed record (docs/retention.md)."""
    from mappa_bus.keystore import write_key_encryption_key

    there = output.exists()
    if there and existing is Existing.KEEP:
        console.print(f"{output} exists; kept")
        return
    if there and existing is Existing.REFUSE:
        console.print(
            f"[red]{output} exists: not replaced (every case key it wrapped would be lost; "
            "--existing keep keeps it, --existing replace replaces it)[/]"
        )
        raise typer.Exit(EXIT_EXISTS)
    try:
        write_key_encryption_key(output, replace=there)
    except FileExistsError:
        # Written by another process between the look and the write: theirs stands.
        if existing is Existing.KEEP:
            console.print(f"{output} exists; kept")
            return
        console.print(f"[red]{output} exists: not replaced[/]")
        raise typer.Exit(EXIT_EXISTS) from None
    console.print(f"{'replaced' if there else 'wrote'} the key-encryption key in {output}")


@keys_cli.command("destroy-erased")
def destroy_erased_command(
    by: Annotated[str, typer.Option(help="Who runs it (kept with each key destroyed).")],
    database: Database = None,
) -> None:
    """Destroy the key of every case the picture store records as erased that the key store
    still holds. Run it after restoring the key store from a backup taken before an erasure:
    the backup holds the erased case's key, which would open its records on the log again, and
    `mappa erase` refuses a case already erased. Each key is destroyed on its erasure's own
    decision; keys destroyed already are left as they are."""
    from mappa_bus.access.reasons import escaped
    from mappa_bus.keystore import KeyStoreError, open_key_store
    from mappa_bus.picture.schema import create_schema
    from mappa_bus.picture.store import PROJECTION
    from mappa_bus.projection.database import open_engine
    from mappa_bus.projection.erasures import load_erasures

    who = escaped(by.strip())
    if not who:
        console.print("[red]--by: say who runs it (the key store keeps it)[/]")
        raise typer.Exit(2)
    settings = command_settings()
    engine = open_engine(database or settings.database_url)
    create_schema(engine)
    with engine.connect() as connection:
        erased = load_erasures(connection, PROJECTION)
    try:
        keys = open_key_store(settings.key_store_url, settings.key_encryption_key_path())
    except KeyStoreError as error:
        console.print(f"[red]{error}: nothing destroyed[/]")
        raise typer.Exit(EXIT_CONFIG) from None
    destroyed = [
        case_id
        for case_id, erasure in sorted(erased.items())
        if keys.destroy_key(case_id, erasure.decision, who)
    ]
    console.print(
        f"{len(destroyed):,} of the {len(erased):,} erased cases still had a key: destroyed"
    )
