"""The `mappa` command line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mappa_bus.adapters.cli import UsageExit, publish
from mappa_bus.alerts.cli import alert_line, alerts_cli
from mappa_bus.alerts.service_cli import ALERTS_OPTIONS, alerts_service
from mappa_bus.alerts_page_cli import web_command as alerts_web
from mappa_bus.cli_common import EXIT_CONFIG, command_group
from mappa_bus.erase_cli import erase_command, erase_expired_command
from mappa_bus.intake.cli import intake_cli
from mappa_bus.keys_cli import keys_cli
from mappa_bus.picture.cli import picture_cli
from mappa_bus.principals import acl_bindings
from mappa_bus.projection.commands import add_service_commands
from mappa_bus.reporting.cli import (
    report,
    report_open,
    report_partnership,
    report_partnership_open,
    reporting_app_cli,
)
from mappa_bus.simulator.cli import simulate_command
from mappa_bus.topics import ALL_TOPICS, bus_topic_specs
from mappa_bus.up_cli import up_command

if TYPE_CHECKING:
    from mappa_bus.demo import DemoResult
    from mappa_bus.demo_alerts import LiveAlert
    from mappa_bus.settings import Settings

# Every `mappa` process (each service, each command) imports this module and makes every
# command's options, so the modules it imports make only those; what a command runs is imported
# inside it (tests/unit/test_cli_imports.py keeps it so).

app = command_group("MAPPA Bus: multi-agency public protection events over Kafka.")
topics_app = command_group("The bus's Kafka topics and ACLs.")
app.add_typer(topics_app, name="topics")
app.command("up")(up_command)
app.command("publish", cls=UsageExit)(publish)
app.command("simulate")(simulate_command)
app.command("report")(report)
app.command("report-open")(report_open)
app.command("report-partnership")(report_partnership)
app.command("report-partnership-open")(report_partnership_open)
app.add_typer(reporting_app_cli, name="reporting")
app.add_typer(picture_cli, name="picture")
app.add_typer(intake_cli, name="intake")
alerts_cli.command("web")(alerts_web)
add_service_commands(alerts_cli, ALERTS_OPTIONS, alerts_service)
app.add_typer(alerts_cli, name="alerts")
app.add_typer(keys_cli, name="keys")
app.command("erase")(erase_command)
app.command("erase-expired")(erase_expired_command)
schemas_app = command_group("The published event contract in schemas/.")
app.add_typer(schemas_app, name="schemas")
console = Console()


def _settings() -> Settings:
    from mappa_bus.logs import configure_logging
    from mappa_bus.settings import load_settings

    settings = load_settings()
    configure_logging(settings.log_format, settings.log_level, for_people=True)
    return settings


@app.command()
def demo() -> None:
    """Publish the sample area-year (Kent 2020-21), read it back, and print its statistics."""
    import asyncio

    from aiokafka.errors import KafkaError

    from mappa_bus.demo import run_demo, run_live
    from mappa_bus.keyring import KeyringError

    settings = _settings()
    console.print(f"Kafka at [bold]{settings.kafka_bootstrap_servers}[/]")
    try:
        result = asyncio.run(run_demo(settings))
    except (OSError, KafkaError) as error:
        console.print(
            f"[red]cannot use Kafka at {settings.kafka_bootstrap_servers}: {error!r}[/]\n"
            "Start the local broker with: deploy/kafka/kafka-local start"
        )
        raise typer.Exit(1) from error
    except KeyringError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(EXIT_CONFIG) from None
    _print_demo(result)
    console.print(
        "\nA case happening now: a level 3 person released on licence, then a breach and a "
        "recall. Alerts, as the coordinator's subscription receives them:"
    )
    live = asyncio.run(run_live(settings, result, _print_live_alert))
    if not live:
        console.print("[red]no alert arrived for the live case[/]")
    if result.counted != result.intended or result.rejected or not live:
        raise typer.Exit(1)


def _print_live_alert(live: LiveAlert) -> None:
    line = alert_line(live.alert)
    line.append(f"  ({live.latency_ms:.0f} ms after its event reached the bus)", style="dim")
    console.print(line, soft_wrap=True)


def _print_demo(result: DemoResult) -> None:
    from mappa_bus.reporting.render import render_text
    from mappa_bus.reporting.tables import kent_2020_21

    published = Table(title="Published, each agency as its own principal")
    published.add_column("agency")
    published.add_column("events", justify="right")
    for agency, count in sorted(result.published.by_agency.items()):
        published.add_row(agency.value, f"{count:,}")
    console.print(published)
    if not result.acls_enforced:
        console.print("[yellow]this broker enforces no ACLs (KAFKA_SECURITY=plaintext)[/]")
    console.print(
        f"the reporting consumer applied {result.records_read:,} new records as 'reporting' "
        f"into {result.database}; {sum(result.rejected.values())} dead-lettered in all"
    )
    if result.counted is None:
        console.print("[red]nothing counted for the area[/]")
        return
    console.print(render_text(result.counted), markup=False, highlight=False)
    same = result.counted == result.intended
    verdict = "[green]equal[/]" if same else "[red]NOT equal[/]"
    console.print(f"Counted from the bus vs the simulator's intended statistics: {verdict}")
    if result.counted == kent_2020_21():
        console.print(
            "[green]and equal to the Kent MAPPA Annual Report 2020-21, table for table[/]"
        )
    _print_year_alerts(result)
    console.print(f"{result.seconds:.1f} s. Other formats of the same figures:")
    console.print(
        f"  mappa report --namespace demo --database {result.database} --area kent "
        "--year 2020-21 --format html --out kent-2020-21.html",
        markup=False,
        highlight=False,
    )


def _print_year_alerts(result: DemoResult) -> None:
    alerts = Table(title="Alerts raised for coordinators (the year's events)")
    alerts.add_column("rule")
    alerts.add_column("alerts", justify="right")
    for rule, count in sorted(result.alerts_by_rule.items()):
        alerts.add_row(rule, f"{count:,}")
    console.print(alerts)


@topics_app.command("create")
def topics_create() -> None:
    """Create the bus's missing topics and grant the principals' ACLs (as admin)."""
    import asyncio

    from mappa_bus.kafka_admin import AuthorizerDisabledError, ensure_acls, ensure_topics

    settings = _settings()
    connection = settings.connection()
    # In sealed mode (MAPPA_RECORD=sealed) the agency topics are made as the 7-day ingress;
    # an existing topic's retention is left as it is (changing it is a deliberate operation).
    specs = bus_topic_specs(sealed=settings.sealed())
    created = asyncio.run(ensure_topics(connection, specs))
    for name in created:
        console.print(f"created {name}")
    console.print(f"{len(created)} created, {len(specs) - len(created)} already there")
    try:
        granted = asyncio.run(ensure_acls(connection, acl_bindings()))
    except AuthorizerDisabledError:
        console.print(
            "[yellow]this broker enforces no ACLs (it runs without an authorizer): "
            "every client may read and write everything[/]"
        )
        return
    console.print(f"{granted} ACLs in force for the bus's principals")


@topics_app.command("list")
def topics_list() -> None:
    """Show the topics the bus uses, whether each exists on the broker, and why each is so."""
    import asyncio

    from aiokafka.errors import KafkaError

    from mappa_bus.credentials import CredentialsError
    from mappa_bus.topic_state import topic_partitions

    settings = _settings()
    try:
        existing: dict[str, int] | None = asyncio.run(
            topic_partitions(settings.connection(), [spec.name for spec in ALL_TOPICS])
        )
    except (OSError, KafkaError, CredentialsError) as error:
        console.print(f"[yellow]cannot ask the broker which topics exist: {escape(str(error))}[/]")
        existing = None
    table = Table(title=f"MAPPA Bus topics (broker {settings.kafka_bootstrap_servers})")
    table.add_column("topic", no_wrap=True)
    table.add_column("partitions", justify="right")
    table.add_column("on the broker", no_wrap=True)
    table.add_column("purpose")
    for spec in ALL_TOPICS:
        table.add_row(spec.name, str(spec.partitions), _state(spec.name, existing), spec.purpose)
    console.print(table)
    if existing is not None and len(existing) < len(ALL_TOPICS):
        console.print("Missing topics: run `mappa topics create` (as admin).", markup=False)


def _state(name: str, existing: dict[str, int] | None) -> str:
    if existing is None:
        return "?"
    if name not in existing:
        return "[red]missing[/]"
    return f"exists, {existing[name]} partitions"


SchemasDir = Annotated[
    Path,
    typer.Option(
        "--dir",
        exists=True,
        file_okay=False,
        help="The contract folder (the repository's schemas/).",
    ),
]


@schemas_app.command("generate")
def schemas_generate(
    directory: SchemasDir = Path("schemas"),
    allow_breaking: Annotated[
        bool,
        typer.Option(
            "--allow-breaking",
            help="Write even over a breaking change (only for a version never published).",
        ),
    ] = False,
) -> None:
    """Regenerate the JSON Schemas, the AsyncAPI document and the catalogue page."""
    from mappa_bus.contract.artefacts import compare, generated_files, write

    files = generated_files()
    comparison = compare(directory, files)
    if comparison.breaking and not allow_breaking:
        _print_breaking(comparison.breaking)
        _say(
            "[red]Nothing written.[/] A published event version may only gain optional fields. "
            "Add a new class for the next version instead (same NAME, VERSION = 2: a new "
            "`.v2` type) and keep the old one, or pass --allow-breaking if this version was "
            "never published."
        )
        raise typer.Exit(1)
    write(directory, files, comparison)
    for verb, paths in (
        ("created", comparison.created),
        ("updated", comparison.changed),
        ("removed", comparison.removed),
    ):
        for path in paths:
            _say(f"{verb} {escape(str(directory / path))}")
    _say(f"{len(comparison.stale)} changed, {len(comparison.unchanged)} up to date")


@schemas_app.command("check")
def schemas_check(directory: SchemasDir = Path("schemas")) -> None:
    """Fail if any generated file is stale or any schema breaks a published version."""
    from mappa_bus.contract.artefacts import compare, generated_files, history_breaks

    files = generated_files()
    comparison = compare(directory, files)
    breaking = {**comparison.breaking}
    for path, messages in history_breaks(directory, files).items():
        breaking.setdefault(path, []).extend(messages)
    for path in comparison.stale:
        _say(f"stale: {escape(str(directory / path))}")
    _print_breaking(breaking)
    if comparison.stale or breaking:
        _say("[red]The contract is out of date:[/] run `mappa schemas generate`.")
        raise typer.Exit(1)
    _say(f"{len(files)} files up to date, no breaking change")


def _say(text: str) -> None:
    # Paths and messages are long; wrapping them would break them mid-word.
    console.print(text, soft_wrap=True)


def _print_breaking(breaking: dict[str, list[str]]) -> None:
    for path, messages in sorted(breaking.items()):
        _say(f"[red]breaking:[/] {escape(path)}")
        for message in messages:
            _say(f"  {escape(message)}")
