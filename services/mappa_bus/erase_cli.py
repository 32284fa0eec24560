"""`mappa erase` and `mappa erase-expired`: their options. Every `mappa` process makes them;
what the commands do (`mappa_bus.erase`: the stores, the case keys, Kafka) is imported only
when one runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from mappa_bus.cli_common import Database, Namespace
from mappa_bus.topics import NAMESPACE


def erase_command(
    case_id: Annotated[str, typer.Argument(help="The case id to erase everywhere.")],
    decision: Annotated[
        str,
        typer.Option(
            help="The recorded decision's reference (letters, digits, . _ / : -; at most 64): "
            "on the log for ever, so a reference, never a name."
        ),
    ],
    reason: Annotated[str, typer.Option(help="Why the case is erased (audit trail only).")],
    by: Annotated[str, typer.Option(help="Who decided (audit trail only).")],
    whole_group: Annotated[
        bool | None,
        typer.Option(
            "--whole-group/--this-id-only",
            help="For a case merged with others (one person under several ids): erase every "
            "id of the person, or this id alone. Required for a merged case.",
        ),
    ] = None,
    namespace: Namespace = NAMESPACE,
    database: Database = None,
) -> None:
    """Erase a case on a recorded decision: every store cuts its details, now and in every
    rebuild from the log; the audit trail keeps who decided, when and why, and every read of
    the case before. Refused, with nothing published, for a case the picture store does not
    hold or has erased already, and for a merged case unless told which ids."""
    from mappa_bus.erase import erase

    erase(
        case_id=case_id,
        decision=decision,
        reason=reason,
        by=by,
        whole_group=whole_group,
        namespace=namespace,
        database=database,
    )


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
    """Erase, in every store, every case whose retention has passed since its MAPPA management
    ended (by the picture store's record of the end): one erasure on the log per case, each
    audited; the picture, reporting and alerts services cut them as they fold them."""
    from mappa_bus.erase import erase_expired

    erase_expired(
        retention_years=retention_years, today=today, namespace=namespace, database=database
    )
