"""The partnership indicators as text: a terminal table, GitHub Markdown and canonical JSON. Pure.

One function decides the cells of each row, so the formats cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import AREA_NAMES
from mappa_bus.reporting.layout import year_label
from mappa_bus.reporting.partnership import (
    LONGEST_SECONDS,
    PRECISION,
    AgencyIndicators,
    PartnershipIndicators,
)

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


def title(partnership: PartnershipIndicators) -> str:
    """The heading of one area-year's indicators."""
    place = AREA_NAMES[partnership.area] if partnership.area else "England and Wales"
    return f"Partnership indicators: {place} {year_label(partnership.year_start)}"


def notes(partnership: PartnershipIndicators) -> list[str]:
    """What a reader needs to read the table right."""
    return [
        "Delay: from when a thing happened (the event's time) to when it reached the bus.",
        f"Delays are read back within {PRECISION:.0%}; events stamped in the future are "
        "counted but left out of the delays.",
        f"Level 2 and 3 meetings held in the year: {partnership.meetings_held:,}.",
    ]


def render_partnership_text(partnership: PartnershipIndicators) -> str:
    """The indicators as a plain-text table for a terminal."""
    table = [HEADINGS, *rows(partnership)]
    widths = [max(len(row[column]) for row in table) for column in range(len(HEADINGS))]
    lines = [title(partnership), ""]
    for row in table:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(cells))
    lines += ["", *notes(partnership)]
    return "\n".join(lines) + "\n"


def render_partnership_markdown(partnership: PartnershipIndicators) -> str:
    """The indicators as GitHub Markdown: a heading, the table, then the notes."""
    lines = [f"# {title(partnership)}", ""]
    lines.append(_markdown_row(HEADINGS))
    lines.append(_markdown_row(("---", *("---:" for _ in HEADINGS[1:]))))
    lines += [_markdown_row(row) for row in rows(partnership)]
    lines += ["", *(f"- {note}" for note in notes(partnership))]
    return "\n".join(lines) + "\n"


def _markdown_row(cells: tuple[str, ...]) -> str:
    # A pipe inside a cell would end it early.
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def render_partnership_json(partnership: PartnershipIndicators) -> str:
    """Canonical JSON: sorted keys and fixed spacing, so equal indicators give equal bytes."""
    plain = json.loads(partnership.model_dump_json())
    return json.dumps(plain, sort_keys=True, indent=2, ensure_ascii=True) + "\n"


PARTNERSHIP_FORMATS: Mapping[str, Callable[[PartnershipIndicators], str]] = {
    "table": render_partnership_text,
    "markdown": render_partnership_markdown,
    "json": render_partnership_json,
}
