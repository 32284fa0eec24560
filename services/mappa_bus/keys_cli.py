"""`mappa keys`: make the signing keyrings a deployment hands out (mappa_bus.signing).

`generate` writes every agency's key for every area (the consumers' keyring); `select` cuts a
publisher's keyring from it: one agency's newest key for each of the areas it serves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, WireError
from mappa_bus.cli_common import command_group
from mappa_bus.keyring import KeyringError, read_keyring, write_keyring
from mappa_bus.signing import Keyring, generate_keyring

keys_cli = command_group("Signing keyrings: every key for the consumers, some for a publisher.")
console = Console(stderr=True)


@keys_cli.command("generate")
def generate_command(
    output: Annotated[Path, typer.Option(help="Where to write the keyring (mode 0600).")],
) -> None:
    """Write a fresh random key for every agency in every area. An existing keyring is kept as
    it is: the records signed with it must verify at every replay."""
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
