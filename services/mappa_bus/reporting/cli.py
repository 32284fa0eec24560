"""`mappa report` (the statistics, from the store) and `mappa reporting` (the consumer)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, ReportingYear
from mappa_bus.catalogue.plans import ClosureReason
from mappa_bus.cli_common import (
    Database,
    DevUser,
    InsecureIdentity,
    Namespace,
    OnProgress,
    Token,
    command_group,
    command_settings,
    identity_or_exit,
)
from mappa_bus.operations.ports import REPORTING_PORT
from mappa_bus.projection.commands import (
    Clock,
    ServiceCommands,
    ServiceOptions,
    add_service_commands,
)
from mappa_bus.reporting.plan_figures import Figure, figures_from_actions, members
from mappa_bus.topics import NAMESPACE

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from mappa_bus.access.admission import Admitted
    from mappa_bus.access.identity import Reader
    from mappa_bus.connection import KafkaConnection
    from mappa_bus.reporting.consumer import ReportingProjection
    from mappa_bus.settings import Settings
    from mappa_bus.web.identity import Identity

# Every `mappa` process makes these commands: what only a running one needs (the store, the
# counting, the renderers) is imported inside it.

reporting_app_cli = command_group("The reporting consumer: counts the statistics.")
console = Console(stderr=True)


async def _catch_up_and_publish(
    connection: KafkaConnection, projection: ReportingProjection, progress: OnProgress, _: Clock
) -> int:
    from mappa_bus.reporting.service import catch_up

    return await catch_up(connection, projection, on_progress=progress)


def reporting_service() -> ServiceCommands[ReportingProjection]:
    """The reporting slice, for its `run`, `catch-up` and `rebuild`."""
    from mappa_bus.principals import Role
    from mappa_bus.reporting.consumer import ReportingProjection
    from mappa_bus.reporting.service import rebuild

    return ServiceCommands(
        role=Role.REPORTING,
        kind=ReportingProjection,
        summary=lambda projection, applied: (
            f"{applied:,} records applied; {projection.case_count():,} cases in the store"
        ),
        rebuild=rebuild,
        catch_up=_catch_up_and_publish,
    )


add_service_commands(
    reporting_app_cli,
    ServiceOptions(
        port=REPORTING_PORT,
        run_help="Run the reporting consumer as a service until stopped (Ctrl-C, SIGTERM: the "
        "batch in hand is committed first).",
        rebuild=True,
    ),
    reporting_service,
)


def report(
    area: Annotated[str, typer.Option(help="MAPPA area (`kent`, `Kent`) or `national`.")],
    year: Annotated[str, typer.Option(help="Reporting year: 2020-21 (or 2020).")],
    output_format: Annotated[
        str, typer.Option("--format", help="table, markdown, csv, json or html.")
    ] = "table",
    out: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
    population: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="CSV area,population_aged_10_plus."),
    ] = None,
    each_level: Annotated[
        bool,
        typer.Option(
            "--each-level",
            help="Table 2's other reading: count a person at every level held, not once.",
        ),
    ] = False,
    namespace: Namespace = NAMESPACE,
    database: Database = None,
) -> None:
    """Print one area-year's MAPPA statistics as the annual report publishes them."""
    from mappa_bus.reporting.coverage import caveats
    from mappa_bus.reporting.formats import FORMATS
    from mappa_bus.reporting.html_page import render_html
    from mappa_bus.reporting.population import SHIPPED_POPULATIONS, read_population_csv
    from mappa_bus.reporting.queries import earlier_years, parse_area, statistics_for
    from mappa_bus.reporting.service import open_projection

    if output_format not in FORMATS:
        raise typer.BadParameter(f"choose one of {', '.join(FORMATS)}", param_hint="--format")
    try:
        where, first_year = parse_area(area), ReportingYear.parse(year).opens
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    settings = command_settings()
    projection = open_projection(database or settings.database_url, namespace, for_consuming=False)
    populations = {**SHIPPED_POPULATIONS, **(read_population_csv(population) if population else {})}
    # Each merged group of case ids as one person (case/merges.py).
    people = projection.counted
    statistics = statistics_for(
        people, where, first_year, populations, once_per_level=each_level, kept=projection.kept
    )
    if statistics is None:
        console.print(f"[red]the store has no figures for {area} {year}[/]")
        if database is None and namespace == NAMESPACE:
            _point_at_the_demo(settings, where, first_year, populations, area, year)
        raise typer.Exit(1)
    shown = caveats(people, where, first_year)
    if output_format == "html":
        earlier = earlier_years(people, where, first_year, populations, projection.kept)
        text = render_html(statistics, earlier, caveats=shown)
    else:
        text = FORMATS[output_format](statistics, caveats=shown)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"written to {out}")


def report_partnership(
    area: Annotated[str, typer.Option(help="MAPPA area (`kent`, `Kent`) or `national`.")],
    year: Annotated[str, typer.Option(help="Reporting year: 2020-21 (or 2020).")],
    output_format: Annotated[
        str, typer.Option("--format", help="table, markdown, csv, json or html.")
    ] = "table",
    out: Annotated[Path | None, typer.Option(help="Write here instead of standard output.")] = None,
    namespace: Namespace = NAMESPACE,
    database: Database = None,
) -> None:
    """Print one area-year's partnership indicators: how quickly and how much each agency
    shares, which agencies attend level 2 and 3 meetings, and how each keeps the risk
    management plan actions it owns (docs/partnership.md)."""
    from mappa_bus.projection.database import open_engine, snapshot
    from mappa_bus.reporting.partnership import indicators
    from mappa_bus.reporting.partnership_page import PARTNERSHIP_FORMATS
    from mappa_bus.reporting.partnership_render import PartnershipReport
    from mappa_bus.reporting.partnership_store import load_partnership
    from mappa_bus.reporting.plan_actions import action_facts
    from mappa_bus.reporting.plan_store import load_plan_steps
    from mappa_bus.reporting.queries import parse_area
    from mappa_bus.reporting.schema import create_schema

    if output_format not in PARTNERSHIP_FORMATS:
        choices = ", ".join(PARTNERSHIP_FORMATS)
        raise typer.BadParameter(f"choose one of {choices}", param_hint="--format")
    try:
        where, first_year = parse_area(area), ReportingYear.parse(year).opens
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    # The store's URL, not the namespace, chooses whose figures these are; `--namespace` is
    # accepted so the command reads like `mappa report`.
    del namespace
    engine = open_engine(database or command_settings().database_url)
    create_schema(engine)
    with snapshot(engine) as connection:
        counts = load_partnership(connection)
        actions = action_facts(load_plan_steps(connection))
    year_start = ReportingYear(first_year).start
    report = PartnershipReport(
        indicators(counts, where, year_start), figures_from_actions(actions, where, year_start)
    )
    if report.is_empty:
        console.print(f"[red]the store has no partnership figures for {area} {year}[/]")
        raise typer.Exit(1)
    text = PARTNERSHIP_FORMATS[output_format](report)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"written to {out}")


def _point_at_the_demo(
    settings: Settings,
    where: Area | None,
    first_year: int,
    populations: dict[Area, int],
    area: str,
    year: str,
) -> None:
    """When the default store has no figures but the demo's has, say so and how to print them
    (`mappa demo` keeps its sample year apart, in a store and namespace of its own)."""
    from mappa_bus.reporting.queries import statistics_for
    from mappa_bus.reporting.service import open_projection

    demo_store = settings.demo_database_url
    if demo_store.startswith("sqlite:///") and not Path(demo_store[10:]).is_file():
        return
    demo = open_projection(demo_store, "demo", for_consuming=False)  # `mappa demo`'s
    if statistics_for(demo.cases, where, first_year, populations) is None:
        return
    console.print(
        "the demo's store has them: mappa report --namespace demo --database "
        f"{demo_store} --area {area} --year {year}",
        markup=False,
        soft_wrap=True,
    )


def report_open(
    area: Annotated[str, typer.Option(help="MAPPA area (`kent`, `Kent`).")],
    year: Annotated[str, typer.Option(help="Reporting year: 2020-21 (or 2020).")],
    table: Annotated[str, typer.Option(help="Table number, 1 to 7 (as in the csv format).")],
    reason: Annotated[str, typer.Option(help="Why you open this figure (audited).")],
    token: Token = None,
    role: Annotated[
        str | None, typer.Option("--as", help="The role you read in (if you hold several).")
    ] = None,
    row: Annotated[
        str, typer.Option(help="Row, e.g. 'Level 2' (empty for one-figure tables).")
    ] = "",
    column: Annotated[str, typer.Option(help="Column, e.g. 'Category 3'.")] = "",
    insecure: InsecureIdentity = False,
    user: DevUser = None,
    dev_area: Annotated[
        str | None,
        typer.Option("--dev-area", help="With --insecure-dev-identity: your areas, or national."),
    ] = None,
    namespace: Namespace = NAMESPACE,
    database: Database = None,
) -> None:
    """List the cases (or, for orders, the events) that make up one figure of an area you work
    in; audited. Who you are comes from your access token (MAPPA_ACCESS_TOKEN)."""
    from mappa_bus.reporting.count import contributors
    from mappa_bus.reporting.service import open_projection
    from mappa_bus.web.modes import command_identity

    where, first_year = _one_area_year(area, year)
    settings = command_settings()
    identity = identity_or_exit(
        lambda: command_identity(
            settings, token=token, insecure=insecure, user=user, roles=role, areas=dev_area
        )
    )
    projection = open_projection(database or settings.database_url, namespace, for_consuming=False)
    subject = f"figure {where.value} {first_year} table {table} [{row}] [{column}]"
    admitted = _admit_to_figure(projection.engine, identity, role, reason, where, subject)
    ids = contributors(
        projection.counted, ReportingYear(first_year).start, where, (table, row, column)
    )
    _record_figure(
        projection.engine, admitted.reader, admitted.role, subject, admitted.reason, "read", ids
    )
    typer.echo(f"{subject}: {len(ids)}")
    for contributor in ids:
        typer.echo(contributor)


def report_partnership_open(
    area: Annotated[str, typer.Option(help="MAPPA area (`kent`, `Kent`).")],
    year: Annotated[str, typer.Option(help="Reporting year: 2020-21 (or 2020).")],
    agency: Annotated[Agency, typer.Option(help="The owning agency, e.g. housing.")],
    figure: Annotated[
        Figure, typer.Option(help="The figure, as the csv format names it: e.g. completed-late.")
    ],
    reason: Annotated[str, typer.Option(help="Why you open this figure (audited).")],
    closure_reason: Annotated[
        ClosureReason | None,
        typer.Option(help="With closed-not-completed: only the actions closed for this reason."),
    ] = None,
    token: Token = None,
    role: Annotated[
        str | None, typer.Option("--as", help="The role you read in (if you hold several).")
    ] = None,
    insecure: InsecureIdentity = False,
    user: DevUser = None,
    dev_area: Annotated[
        str | None,
        typer.Option("--dev-area", help="With --insecure-dev-identity: your areas, or national."),
    ] = None,
    database: Database = None,
) -> None:
    """List the plan actions (case id, action id) that make up one agency's figure of the
    partnership report, in an area you work in; audited like `report-open`. Who you are
    comes from your access token (MAPPA_ACCESS_TOKEN)."""
    from mappa_bus.projection.database import open_engine
    from mappa_bus.reporting.plan_actions import action_facts
    from mappa_bus.reporting.plan_store import load_plan_steps
    from mappa_bus.reporting.schema import create_schema
    from mappa_bus.web.modes import command_identity

    where, first_year = _one_area_year(area, year)
    if closure_reason is not None and figure is not Figure.CLOSED_NOT_COMPLETED:
        raise typer.BadParameter(
            "only closed-not-completed has closure reasons", param_hint="--closure-reason"
        )
    settings = command_settings()
    identity = identity_or_exit(
        lambda: command_identity(
            settings, token=token, insecure=insecure, user=user, roles=role, areas=dev_area
        )
    )
    engine = open_engine(database or settings.database_url)
    create_schema(engine)
    narrowed = f" {closure_reason.value}" if closure_reason else ""
    subject = f"plan figure {where.value} {first_year} {agency.value} {figure.value}{narrowed}"
    admitted = _admit_to_figure(engine, identity, role, reason, where, subject)
    with engine.connect() as connection:
        actions = action_facts(load_plan_steps(connection))
    year_start = ReportingYear(first_year).start
    behind = members(actions, where, year_start, agency, figure, closure_reason)
    cases = sorted({action.case_id for action in behind})
    _record_figure(engine, admitted.reader, admitted.role, subject, admitted.reason, "read", cases)
    typer.echo(f"{subject}: {len(behind)}")
    for action in behind:
        typer.echo(f"{action.case_id} {action.action_id}")


def _one_area_year(area: str, year: str) -> tuple[Area, int]:
    """The one area and the reporting year's first calendar year of a figure to open, or a
    usage error naming the option."""
    from mappa_bus.reporting.queries import parse_area

    try:
        where, first_year = parse_area(area), ReportingYear.parse(year).opens
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error
    if where is None:
        raise typer.BadParameter("open a figure of one area", param_hint="--area")
    return where, first_year


def _admit_to_figure(
    engine: Engine, identity: Identity, role: str | None, reason: str, where: Area, subject: str
) -> Admitted:
    """The reader admitted to open a figure of `where`; a refusal is audited, then ends the
    command with exit status 3."""
    from mappa_bus.access.admission import NotAdmittedError, admit
    from mappa_bus.access.policy import FIGURE_READERS
    from mappa_bus.access.reasons import for_trail

    reader = identity.reader
    try:
        admitted = admit(reader, identity.problem, role, reason, FIGURE_READERS)
        if not admitted.reader.may_read_any_of([where]):
            raise NotAdmittedError(403, f"you do not work in {where.value}'s area")
    except NotAdmittedError as error:
        _record_figure(engine, reader, role, subject, for_trail(reason), "refused", [])
        console.print(f"[red]{error.detail}[/]")
        raise typer.Exit(3) from error
    return admitted


def _record_figure(
    engine: Engine,
    reader: Reader | None,
    role: str | None,
    subject: str,
    reason: str,
    outcome: str,
    cases: Sequence[str],
) -> None:
    from mappa_bus.audit import record_read

    with engine.begin() as connection:
        record_read(
            connection,
            user=reader.user if reader else "(unidentified)",
            role=role or "",
            subject=subject,
            reason=reason,
            outcome=outcome,
            cases=cases,
        )
