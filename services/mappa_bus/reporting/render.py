"""The statistics as the annual report prints them: the seed's tables, in plain text."""

from __future__ import annotations

from collections.abc import Sequence

from mappa_bus.catalogue import AREA_NAMES, ReportingYear
from mappa_bus.reporting.tables import LevelByCategory, MappaStatistics

CATEGORY_NAMES = {
    1: "Category 1: Registered sex offenders",
    2: "Category 2: Violent offenders",
    3: "Category 3: Other dangerous offenders",
    4: "Category 4: Terrorist and terrorist-risk offenders",
}
# Cells that cannot occur print as `-`: category 3 is never managed at level 1.
_IMPOSSIBLE_SNAPSHOT = {(1, 3)}


def _row(label: str, cells: list[str], width: int = 14) -> str:
    return f"{label:<22}" + "".join(f"{cell:>{width}}" for cell in cells)


def _grid(
    title: str,
    grid: LevelByCategory,
    categories: tuple[int, ...],
    impossible: set[tuple[int, int]] | None = None,
) -> list[str]:
    impossible = impossible or set()
    lines = [title, _row("", [f"Category {c}" for c in categories] + ["Total"])]
    for level, row in grid.items():
        cells = ["-" if (level, c) in impossible else str(row[c]) for c in categories]
        lines.append(_row(f"Level {level}", [*cells, str(sum(row.values()))]))
    totals = [sum(grid[level][c] for level in grid) for c in categories]
    lines.append(_row("Total", [*map(str, totals), str(sum(totals))]))
    return lines


def _sopo(statistics: MappaStatistics) -> list[str]:
    others = ["-"] * (len(statistics.categories) - 1)
    rows = statistics.returned_for_breach_of_sopo
    lines = ["Breach of SOPO"]
    for level, number in rows.items():
        lines.append(_row(f"Level {level}", [str(number), *others, str(number)]))
    lines.append(_row("Total", [str(sum(rows.values())), *others, str(sum(rows.values()))]))
    return lines


NO_POPULATION = (
    "- (no population known for this area: pass --population FILE, a CSV of "
    "area,population_aged_10_plus)"
)


def render_text(statistics: MappaStatistics, *, caveats: Sequence[str] = ()) -> str:
    """The tables of one area-year, row for row as the published annual report has them;
    `caveats` (coverage.caveats) under the title, where no reader can miss them."""
    place = AREA_NAMES[statistics.area] if statistics.area else "England and Wales"
    year = statistics.year_start.year
    categories = statistics.categories
    legend = [f"  {CATEGORY_NAMES[c]}" for c in categories]
    per_100k = NO_POPULATION if statistics.rsos_per_100k is None else str(statistics.rsos_per_100k)
    lines = [
        f"MAPPA Statistics: {place} {ReportingYear(year).label}",
        *caveats,
        *legend,
        "",
        *_grid(
            f"MAPPA-eligible offenders on 31 March {year + 1}",
            statistics.eligible_on_31_march,
            categories,
            _IMPOSSIBLE_SNAPSHOT,
        ),
        "",
        *_grid(
            "MAPPA-eligible offenders in Levels 2 and 3 by category (yearly total)",
            statistics.levels_2_and_3_in_year,
            categories,
        ),
        "",
        "RSOs cautioned or convicted for breach of notification requirements"
        f"  {statistics.notification_breaches}",
        "RSOs who have had their life time notification revoked on application"
        f"  {statistics.lifetime_notification_revoked}",
        "",
        "Restrictive orders for Category 1 offenders",
        f"  SHPO  {statistics.shpos}",
        "  SHPO with foreign travel restriction"
        f"  {statistics.shpos_with_foreign_travel_restriction}",
        f"  NOs  {statistics.notification_orders}",
        "",
        "Number of people who became subject to notification requirements following a breach(es)"
        f" of a Sexual Risk Order (SRO)  {statistics.sro_breach_notifications}",
        "",
        "Level 2 and 3 offenders returned to custody",
        *_grid("Breach of licence", statistics.returned_for_breach_of_licence, categories),
        *_sopo(statistics),
        "",
        f"Total number of Registered Sexual Offenders per 100,000 population  {per_100k}",
    ]
    if statistics.excluded_category_3_at_level_1:
        lines.append(
            f"Note: {statistics.excluded_category_3_at_level_1} category 3 case(s) recorded at "
            "level 1 on 31 March are left out of the first table."
        )
    return "\n".join(lines) + "\n"
