"""`mappa up`'s options: the whole bus on this machine, as a user means it, until Ctrl-C.

Every `mappa` process makes them; what the command does (`mappa_bus.up`: brokers, Keycloak,
child processes, HTTP) is imported only when it runs.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from mappa_bus.topics import NAMESPACE


class Record(StrEnum):
    """Where the services read the record (`MAPPA_RECORD`, docs/decisions/0002)."""

    SEALED = "sealed"
    INGRESS = "ingress"


def up_command(
    namespace: Annotated[str, typer.Option(help="Topic namespace (`mappa`: the real one).")] = (
        NAMESPACE
    ),
    api_port: Annotated[
        int, typer.Option(envvar="MAPPA_API_PORT", help="The case API's port (if free).")
    ] = 8000,
    web_port: Annotated[
        int, typer.Option(envvar="MAPPA_WEB_PORT", help="The alerts page's port (if free).")
    ] = 8001,
    keycloak_port: Annotated[
        int, typer.Option(envvar="KEYCLOAK_PORT", help="The local Keycloak's port.")
    ] = 8180,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for every service to be ready.")
    ] = 300.0,
    record: Annotated[
        Record,
        typer.Option(
            envvar="MAPPA_RECORD",
            help="`sealed`: the intake seals every agency record under its case's key, so that "
            "`mappa erase` reaches the log; `ingress`: the services read the agency topics, "
            "which keep every record in clear (docs/decisions/0002).",
        ),
    ] = Record.SEALED,
) -> None:
    """Run the whole bus on this machine until Ctrl-C: broker, Keycloak, topics and ACLs, the
    picture, reporting and alerts services, the case API and the alerts page."""
    from mappa_bus.up import up

    up(
        namespace=namespace,
        api_port=api_port,
        web_port=web_port,
        keycloak_port=keycloak_port,
        timeout=timeout,
        record=record,
    )
