"""The partnership indicators as text: a terminal table, GitHub Markdown, tidy CSV and
canonical JSON (the HTML page is `partnership_page.py`). Pure.

Three tables: each agency's sharing and meeting attendance; each owning agency's plan action
record beside its attendance; and the actions it closed without completing, by reason. One
function decides the cells of each table's rows, so the formats cannot drift apart. The plan
tables are left out when no action was agreed in the area-year.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import AREA_NAMES
from mappa_bus.catalogue.plans import ClosureReason
from mappa_bus.reporting.layout import year_label
from mappa_bus.reporting.partnership import (
    LONGEST_SECONDS,
    PRECISION,
    AgencyIndicators,
    PartnershipIndicators,
)
from mappa_bus.reporting.plan_figures import AgencyPlanFigures, Figure, PlanFigures

AGENCY_NAMES: Mapping[Agency, str] = {
    Agency.POLICE: "Police",
    Agency.PROBATION: "Probation",
    Agency.PRISONS: "Prisons",
    Agency.HEALTH: "Health",
    Agency.HOUSING: "Housing",
    Agency.CHILDRENS_SERVICES: "Children's services",
    Agency.VICTIM_CONTACT: "Victim contact",
    Agency.YOUTH_OFFENDING: "Youth offending",
    Agency.DWP: "DWP",
    Agency.IMMIGRATION_ENFORCEMENT: "Immigration Enforcement",
}

HEADINGS = (
    "Agency",
    "Events shared",
    "Median delay",
    "90th percentile delay",
    "Stamped in future",
    "Meetings attended / held",
)

# Each unit's length in seconds, largest first: a delay is shown in the largest that fits.
_UNITS = ((365.25 * 86400, "y"), (86400, "d"), (3600, "h"), (60, "min"), (1, "s"))


def duration(seconds: float | None) -> str:
    """A delay as a reader wants it: `3 h`, `2.5 d`, `under 1 s`; `-` when there is none."""
    if seconds is None:
        return "-"
    if seconds >= LONGEST_SECONDS:
        return f"{_amount(LONGEST_SECONDS / _UNITS[0][0])} y or more"
    for length, unit in _UNITS:
        if seconds >= length:
            return f"{_amount(seconds / length)} {unit}"
    return "under 1 s"


def _amount(value: float) -> str:
    # Two significant figures at most: the delays are read back within 6%, no finer.
    if value >= 10:
        return str(round(value))
    return f"{value:.1f}".removesuffix(".0")


def _attendance(agency: AgencyIndicators) -> str:
    if agency.attendance is None:
        return "-"
    return f"{agency.meetings_attended} / {agency.meetings_held} ({agency.attendance:.0%})"


def rows(partnership: PartnershipIndicators) -> list[tuple[str, ...]]:
    """Each agency's cells, in the order of `HEADINGS`."""
    return [
        (
            AGENCY_NAMES[agency.agency],
            f"{agency.events_shared:,}",
            duration(agency.median_delay_seconds),
            duration(agency.p90_delay_seconds),
            f"{agency.stamped_in_future:,}",
            _attendance(agency),
        )
        for agency in partnership.agencies
    ]


CLOSURE_NAMES: Mapping[ClosureReason, str] = {
    ClosureReason.NO_LONGER_NEEDED: "No longer needed",
    ClosureReason.PERSON_IN_CUSTODY: "Person in custody",
    ClosureReason.CASE_TRANSFERRED: "Case transferred",
    ClosureReason.NOT_POSSIBLE: "Not possible",
    ClosureReason.SUPERSEDED_BY_NEW_ACTION: "Superseded by a new action",
}

PLAN_HEADINGS = (
    "Agency",
    "Actions owned",
    "Completed on time",
    "Completed late",
    "Median days late",
    "Closed not completed",
    "Open",
    "Re-dated",
    "Meetings attended / held",
)
CLOSURE_HEADINGS = ("Agency", *(CLOSURE_NAMES[reason] for reason in ClosureReason))


@dataclass(frozen=True)
class PartnershipReport:
    """What `mappa report-partnership` prints for one area-year: the sharing and attendance
    indicators, and the plan action figures of the same area and year."""

    partnership: PartnershipIndicators
    plans: PlanFigures

    @property
    def is_empty(self) -> bool:
        """True when nothing was shared or held, and no action agreed, in the area-year."""
        return self.partnership.is_empty and not self.plans.agencies


@dataclass(frozen=True)
class TextTable:
    """One table of the report as the text formats show it."""

    title: str
    headings: tuple[str, ...]
    rows: list[tuple[str, ...]]


def _days(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if value == int(value) else str(value)


def plan_rows(report: PartnershipReport) -> list[tuple[str, ...]]:
    """Each owning agency's plan action cells, in the order of `PLAN_HEADINGS`."""
    attendance = {agency.agency: agency for agency in report.partnership.agencies}
    return [
        (
            AGENCY_NAMES[figures.agency],
            f"{figures.owned:,}",
            f"{figures.completed_on_time:,}",
            f"{figures.completed_late:,}",
            _days(figures.median_days_late),
            f"{sum(figures.closed_not_completed.values()):,}",
            f"{figures.open:,}",
            f"{figures.redated:,}",
            _attendance(attendance[figures.agency]),
        )
        for figures in report.plans.agencies
    ]


def closure_rows(report: PartnershipReport) -> list[tuple[str, ...]]:
    """Each owning agency's closures by reason, in the order of `CLOSURE_HEADINGS`."""
    return [
        (
            AGENCY_NAMES[figures.agency],
            *(f"{figures.closed_not_completed[reason]:,}" for reason in ClosureReason),
        )
        for figures in report.plans.agencies
    ]


def text_tables(report: PartnershipReport) -> list[TextTable]:
    """The report's tables in print order (no plan tables when no action was agreed)."""
    tables = [TextTable("Sharing and attendance", HEADINGS, rows(report.partnership))]
    if report.plans.agencies:
        tables.append(TextTable("Plan actions", PLAN_HEADINGS, plan_rows(report)))
        closed = "Plan actions closed not completed, by reason"
        tables.append(TextTable(closed, CLOSURE_HEADINGS, closure_rows(report)))
    return tables


def title(partnership: PartnershipIndicators) -> str:
    """The heading of one area-year's indicators."""
    place = AREA_NAMES[partnership.area] if partnership.area else "England and Wales"
    return f"Partnership indicators: {place} {year_label(partnership.year_start)}"


def notes(partnership: PartnershipIndicators) -> list[str]:
    """What a reader needs to read the sharing table right."""
    return [
        "Delay: from when a thing happened (the event's time) to when it reached the bus.",
        f"Delays are read back within {PRECISION:.0%}; events stamped in the future are "
        "counted but left out of the delays.",
        f"Level 2 and 3 meetings held in the year: {partnership.meetings_held:,}.",
    ]


def plan_notes(report: PartnershipReport) -> list[str]:
    """What a reader needs to read the plan tables right (docs/partnership.md)."""
    if not report.plans.agencies:
        return ["No risk management plan action was agreed in the year."]
    return [
        "Plan actions are counted in the year and area of the meeting that agreed them, under "
        "the agency that owns them; only the owning agency's outcomes count.",
        "On time: completed on or before the due date in force (the last re-dating's, or the "
        "agreed one). Median days late: over the actions completed late.",
        "Open: neither completed nor closed in the events the bus holds.",
    ]


def render_partnership_text(report: PartnershipReport) -> str:
    """The report as plain-text tables for a terminal."""
    lines = [title(report.partnership)]
    for table in text_tables(report):
        lines += ["", table.title, ""]
        grid = [table.headings, *table.rows]
        widths = [max(len(row[column]) for row in grid) for column in range(len(table.headings))]
        for row in grid:
            cells = [row[0].ljust(widths[0])]
            cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
            lines.append("  ".join(cells))
    lines += ["", *notes(report.partnership), *plan_notes(report)]
    return "\n".join(lines) + "\n"


def render_partnership_markdown(report: PartnershipReport) -> str:
    """The report as GitHub Markdown: a heading, a section per table, then the notes."""
    lines = [f"# {title(report.partnership)}"]
    for table in text_tables(report):
        lines += ["", f"## {table.title}", ""]
        lines.append(_markdown_row(table.headings))
        lines.append(_markdown_row(("---", *("---:" for _ in table.headings[1:]))))
        lines += [_markdown_row(row) for row in table.rows]
    lines += ["", "## Notes", ""]
    lines += [f"- {note}" for note in (*notes(report.partnership), *plan_notes(report))]
    return "\n".join(lines) + "\n"


def _markdown_row(cells: tuple[str, ...]) -> str:
    # A pipe inside a cell would end it early.
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


CSV_COLUMNS = ("area", "year", "table", "agency", "figure", "reason", "value")
NATIONAL_SLUG = "england-and-wales"


def render_partnership_csv(report: PartnershipReport) -> str:
    """Every figure one tidy row (columns `CSV_COLUMNS`): table `sharing` (every agency) and
    table `plan-actions` (every owning agency; its figure names are those
    `mappa report-partnership-open --figure` takes, the closures one row per reason). Numbers
    unformatted; an empty value is a figure that does not exist (no delay, none late)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    partnership = report.partnership
    area = partnership.area.value if partnership.area else NATIONAL_SLUG
    year = year_label(partnership.year_start)
    for table, agency, figure, reason, value in _csv_cells(report):
        shown = "" if value is None else str(value)
        writer.writerow((area, year, table, agency.value, figure, reason, shown))
    return out.getvalue()


_CsvCell = tuple[str, Agency, str, str, int | float | None]


def _csv_cells(report: PartnershipReport) -> Iterator[_CsvCell]:
    for agency in report.partnership.agencies:
        for figure, value in (
            ("events-shared", agency.events_shared),
            ("median-delay-seconds", agency.median_delay_seconds),
            ("p90-delay-seconds", agency.p90_delay_seconds),
            ("stamped-in-future", agency.stamped_in_future),
            ("meetings-attended", agency.meetings_attended),
            ("meetings-held", agency.meetings_held),
        ):
            yield "sharing", agency.agency, figure, "", value
    for figures in report.plans.agencies:
        yield from _plan_cells(figures)


def _plan_cells(figures: AgencyPlanFigures) -> Iterator[_CsvCell]:
    table, agency = "plan-actions", figures.agency
    yield table, agency, Figure.OWNED.value, "", figures.owned
    yield table, agency, Figure.COMPLETED_ON_TIME.value, "", figures.completed_on_time
    yield table, agency, Figure.COMPLETED_LATE.value, "", figures.completed_late
    yield table, agency, "median-days-late", "", figures.median_days_late
    for reason in ClosureReason:
        count = figures.closed_not_completed[reason]
        yield table, agency, Figure.CLOSED_NOT_COMPLETED.value, reason.value, count
    yield table, agency, Figure.OPEN.value, "", figures.open
    yield table, agency, Figure.REDATED.value, "", figures.redated


def render_partnership_json(report: PartnershipReport) -> str:
    """Canonical JSON: sorted keys and fixed spacing, so equal reports give equal bytes; the
    indicators' own fields, and the plan figures under `plan_figures`."""
    plain = json.loads(report.partnership.model_dump_json())
    plain["plan_figures"] = json.loads(report.plans.model_dump_json())
    return json.dumps(plain, sort_keys=True, indent=2, ensure_ascii=True) + "\n"


class PartnershipRenderer(Protocol):
    """One format of the report."""

    def __call__(self, report: PartnershipReport, /) -> str:
        """The report in this format."""
        ...
