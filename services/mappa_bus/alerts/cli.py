"""`mappa alerts`: coordinators receive alerts (tail); the page (`web`, in `alerts_page_cli`,
which joins it with the case API) and the service's own commands (`run`, `catch-up`) are
registered on the same `alerts_cli` by `mappa_bus.cli`."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.text import Text

from mappa_bus.access.policy import ViewerRole
from mappa_bus.alerts.model import AlertRaised, AlertWithdrawn, Severity
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.areas import AREA_NAMES
from mappa_bus.cli_common import (
    EXIT_CONFIG,
    Namespace,
    command_group,
    command_settings,
)
from mappa_bus.topics import NAMESPACE, alerts_topic

if TYPE_CHECKING:
    from mappa_bus.alerts.subscription import AlertFilter
    from mappa_bus.connection import KafkaConnection
    from mappa_bus.projection.sealed import ErasedEvent, SealedBusEvents
    from mappa_bus.settings import Settings

# Every `mappa` process makes these commands: what only a running one needs (the alerts, their
# rules, Kafka) is imported inside it.

alerts_cli = command_group("Coordinator alerts: follow them (tail, web); the alerts service.")
# The alerts themselves go to stdout (they are the output); progress and problems to stderr.
out = Console(highlight=False)
console = Console(stderr=True)

# How long `tail` waits in silence before saying again what it waits for.
QUIET_SECONDS = 60.0
STYLES = {Severity.URGENT: "bold red", Severity.HIGH: "yellow", Severity.ROUTINE: "cyan"}

Areas = Annotated[
    list[str] | None,
    typer.Option("--area", help="A MAPPA area, by name or slug (e.g. Kent); repeat for more."),
]
MinLevel = Annotated[
    int | None, typer.Option("--min-level", min=1, max=3, help="Only cases at this level or up.")
]
Categories = Annotated[
    list[int] | None,
    typer.Option("--category", min=1, max=4, help="Only cases of this category; repeatable."),
]
Rules = Annotated[
    list[str] | None,
    typer.Option("--rule", help="Only this rule, e.g. released-from-custody; repeatable."),
]
Roles = Annotated[
    list[ViewerRole] | None,
    typer.Option(
        "--role",
        help="Only the alerts this role receives (its agency's own, e.g. housing); repeatable.",
    ),
]
OverdueActions = Annotated[
    bool,
    typer.Option("--overdue-actions", help="Only overdue plan actions (the action-overdue rule)."),
]


def parse_area(text: str) -> Area:
    """The area `text` names, by slug or by name, in any case (`Kent`, `avon and somerset`)."""
    wanted = text.strip().casefold().replace(" ", "-")
    for area in Area:
        if wanted in (area.value, AREA_NAMES[area].casefold().replace(" ", "-")):
            return area
    raise typer.BadParameter(f"no MAPPA area {text!r} (e.g. kent, greater-manchester)")


def alert_filter(
    areas: list[str] | None,
    min_level: int | None,
    categories: list[int] | None,
    rules: list[str] | None,
    roles: list[ViewerRole] | None = None,
    *,
    overdue_actions: bool = False,
) -> AlertFilter:
    """The filter the command-line options describe (an option not given: any);
    `overdue_actions` adds the action-overdue rule to the rules wanted."""
    from mappa_bus.alerts.rules import ACTION_OVERDUE
    from mappa_bus.alerts.subscription import AlertFilter
    from mappa_bus.catalogue.vocabulary import Category, Level

    wanted = {*(rules or ()), *((ACTION_OVERDUE.name,) if overdue_actions else ())}
    return AlertFilter(
        areas=frozenset(parse_area(area) for area in areas) if areas else None,
        min_level=None if min_level is None else Level(min_level),
        categories=frozenset(Category(c) for c in categories) if categories else None,
        rules=frozenset(wanted) if wanted else None,
        roles=frozenset(roles) if roles else None,
    )


def withdrawal_line(withdrawal: AlertWithdrawn) -> Text:
    """One alert's withdrawal as one line: time, WITHDRAWN, area, rule, case id, and why."""
    data = withdrawal.data
    return Text.assemble(
        (withdrawal.time.astimezone().strftime("%Y-%m-%d %H:%M:%S"), "dim"),
        "  ",
        ("WITHDRAWN", "strike"),
        "  ",
        AREA_NAMES[data.area],
        "  ",
        (data.rule, "bold"),
        "  ",
        data.case_id,
        "  ",
        f"alert {data.alert_id} withdrawn: its event was withdrawn ({data.reason.value})",
    )


def erased_line(erased: ErasedEvent) -> Text:
    """An alert (or withdrawal) of an erased case, as one line: ERASED, area, case id, alert
    id; nothing else of it is left to show (decision 0002: its key is destroyed)."""
    return Text.assemble(
        ("ERASED", "strike"),
        "  ",
        AREA_NAMES[erased.mappaarea],
        "  ",
        erased.case_id,
        "  ",
        f"alert {erased.id}: its case was erased",
    )


def alert_line(alert: AlertRaised) -> Text:
    """One alert as one line: time, severity, area, rule, case id, summary."""
    data = alert.data
    return Text.assemble(
        (alert.time.astimezone().strftime("%Y-%m-%d %H:%M:%S"), "dim"),
        "  ",
        (f"{data.severity.value.upper():<7}", STYLES[data.severity]),
        "  ",
        AREA_NAMES[data.area],
        "  ",
        (data.rule, "bold"),
        "  ",
        data.case_id,
        "  ",
        data.summary,
    )


@alerts_cli.command("tail")
def tail_command(
    area: Areas = None,
    min_level: MinLevel = None,
    category: Categories = None,
    rule: Rules = None,
    role: Roles = None,
    overdue_actions: OverdueActions = False,
    from_beginning: Annotated[
        bool, typer.Option("--from-beginning", help="Every alert still kept, then new ones.")
    ] = False,
    namespace: Namespace = NAMESPACE,
) -> None:
    """Print alerts as they are raised (as the coordinator principal) until Ctrl-C."""
    import asyncio

    from aiokafka.errors import KafkaError

    from mappa_bus.principals import Role

    where = alert_filter(area, min_level, category, rule, role, overdue_actions=overdue_actions)
    settings = command_settings()
    connection = settings.connection_for_role(Role.COORDINATOR.value)
    keys = case_keys(settings)
    try:
        asyncio.run(_tail(connection, namespace, where, from_beginning=from_beginning, keys=keys))
    except KeyboardInterrupt:
        console.print("stopped")
    except KafkaError as error:
        console.print(f"[red]Kafka refused or failed: {error!r}[/]")
        raise typer.Exit(2) from error


def case_keys(settings: Settings) -> SealedBusEvents | None:
    """The case keys alerts are opened with (the key store of the settings), in sealed mode and
    wherever a key-encryption key exists, whatever mode this shell reads in: a coordinator's
    shell beside `mappa up`'s sealed services need not name the mode, and keys open nothing
    that is in the clear. Else None. Exits with a configuration error naming what is wrong when
    sealed mode's keys cannot be had."""
    from mappa_bus.keystore import KeyStoreError, open_key_store
    from mappa_bus.projection.sealed import SealedBusEvents

    if not settings.sealed() and not settings.key_encryption_key_path().exists():
        return None
    try:
        return SealedBusEvents(
            open_key_store(settings.key_store_url, settings.key_encryption_key_path())
        )
    except KeyStoreError as error:
        console.print(f"[red]sealed mode needs the case keys: {error}[/]")
        raise typer.Exit(EXIT_CONFIG) from None


async def _tail(
    connection: KafkaConnection,
    namespace: str,
    where: AlertFilter,
    *,
    from_beginning: bool,
    keys: SealedBusEvents | None = None,
) -> None:
    import asyncio

    from mappa_bus.alerts.subscription import subscribe

    # Alerts come only while the alerts service runs: say so when nothing comes, rather than
    # leave a coordinator in front of an empty terminal wondering.
    waiting = f"waiting for alerts from {alerts_topic(namespace)}; is `mappa alerts run` running?"
    console.print(waiting, markup=False, soft_wrap=True)
    alerts = subscribe(connection, namespace, where, from_beginning=from_beginning, keys=keys)
    async with contextlib.aclosing(alerts):
        following: asyncio.Future[AlertRaised | AlertWithdrawn | ErasedEvent] | None = None
        try:
            while True:
                following = asyncio.ensure_future(anext(alerts))
                while not (await asyncio.wait({following}, timeout=QUIET_SECONDS))[0]:
                    console.print(
                        f"nothing for {QUIET_SECONDS:.0f} s: {waiting}",
                        markup=False,
                        soft_wrap=True,
                    )
                try:
                    alert = following.result()
                except StopAsyncIteration:
                    return
                if isinstance(alert, AlertRaised):
                    line = alert_line(alert)
                elif isinstance(alert, AlertWithdrawn):
                    line = withdrawal_line(alert)
                else:
                    line = erased_line(alert)
                out.print(line, soft_wrap=True)
        finally:
            # The generator cannot be closed while a step of it is still running.
            if following is not None and not following.done():
                following.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await following
