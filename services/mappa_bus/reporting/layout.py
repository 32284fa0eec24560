"""The published tables as rows of cells, ready for any format to print. Pure.

One place decides what each table holds, in which order, and which cells cannot occur, so the
Markdown, CSV and HTML renderings cannot drift apart. Tables are numbered as in
docs/statistics.md; the layout follows the seed report (Kent MAPPA Annual Report 2020-21).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from mappa_bus.catalogue import AREA_NAMES, ReportingYear
from mappa_bus.reporting.render import CATEGORY_NAMES
from mappa_bus.reporting.tables import LevelByCategory, MappaStatistics


class Missing(Enum):
    """Why a cell holds no number."""

    CANNOT_OCCUR = "-"  # the rules rule it out (category 3 at level 1, SOPO breach outside cat 1)
    NOT_KNOWN = "not known"  # table 8 without a population figure


Cell = int | Missing
Row = tuple[str, tuple[Cell, ...]]  # the row's label, then its cells column by column


@dataclass(frozen=True)
class Column:
    """A column: `key` is short (for CSV and filtering), `title` is what a reader sees."""

    key: str
    title: str


@dataclass(frozen=True)
class Block:
    """A block of rows under one heading ("" when the table has only one block)."""

    heading: str
    row_heading: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Table:
    """One published table: its number in docs/statistics.md, its title and its blocks."""

    number: int
    title: str
    blocks: tuple[Block, ...]


# Category 3 is never managed at level 1 (the 31 March snapshot prints `-` there).
_CANNOT_OCCUR_IN_SNAPSHOT = frozenset({(1, 3)})
_NUMBER = (Column("Number", "Number"),)


def place_name(statistics: MappaStatistics) -> str:
    """The area's printed name, or England and Wales for the national figures."""
    return AREA_NAMES[statistics.area] if statistics.area else "England and Wales"


def year_label(year_start: date) -> str:
    """The reporting year as reports print it, e.g. 2020-21."""
    return ReportingYear.holding(year_start).label


def title(statistics: MappaStatistics) -> str:
    """The heading of one area-year's statistics."""
    return f"MAPPA Statistics: {place_name(statistics)} {year_label(statistics.year_start)}"


def tables(statistics: MappaStatistics) -> tuple[Table, ...]:
    """Every table of one area-year, in the order the annual report prints them."""
    year_end = statistics.year_start.year + 1
    categories = statistics.categories
    return (
        Table(
            1,
            f"MAPPA-eligible offenders on 31 March {year_end}",
            (_grid("", statistics.eligible_on_31_march, categories, _CANNOT_OCCUR_IN_SNAPSHOT),),
        ),
        Table(
            2,
            "MAPPA-eligible offenders in Levels 2 and 3 by category (yearly total)",
            (_grid("", statistics.levels_2_and_3_in_year, categories),),
        ),
        _single(
            3,
            "RSOs cautioned or convicted for breach of notification requirements",
            statistics.notification_breaches,
        ),
        _single(
            4,
            "RSOs who have had their life time notification revoked on application",
            statistics.lifetime_notification_revoked,
        ),
        _orders(statistics),
        _single(
            6,
            "Number of people who became subject to notification requirements following a "
            "breach(es) of a Sexual Risk Order (SRO)",
            statistics.sro_breach_notifications,
        ),
        Table(
            7,
            "Level 2 and 3 offenders returned to custody",
            (
                _grid("Breach of licence", statistics.returned_for_breach_of_licence, categories),
                _sopo(statistics.returned_for_breach_of_sopo, categories),
            ),
        ),
        _per_100k(statistics.rsos_per_100k),
    )


def _category_columns(categories: tuple[int, ...]) -> tuple[Column, ...]:
    named = tuple(Column(f"Category {c}", CATEGORY_NAMES[c]) for c in categories)
    return (*named, Column("Total", "Total"))


def _grid(
    heading: str,
    grid: LevelByCategory,
    categories: tuple[int, ...],
    cannot_occur: frozenset[tuple[int, int]] = frozenset(),
) -> Block:
    levels = sorted(grid)
    rows = [
        (f"Level {level}", _cells(level, grid[level], categories, cannot_occur)) for level in levels
    ]
    totals = [sum(grid[level].get(c, 0) for level in levels) for c in categories]
    rows.append(("Total", (*totals, sum(totals))))
    return Block(heading, "Level", _category_columns(categories), tuple(rows))


def _cells(
    level: int,
    row: dict[int, int],
    categories: tuple[int, ...],
    cannot_occur: frozenset[tuple[int, int]],
) -> tuple[Cell, ...]:
    cells: list[Cell] = [
        Missing.CANNOT_OCCUR if (level, c) in cannot_occur else row.get(c, 0) for c in categories
    ]
    return (*cells, sum(row.get(c, 0) for c in categories))


def _sopo(by_level: dict[int, int], categories: tuple[int, ...]) -> Block:
    """Breach of SOPO/SHPO: such orders are made for category 1 only, so the rest print `-`."""
    others = (Missing.CANNOT_OCCUR,) * (len(categories) - 1)
    rows: list[Row] = [
        (f"Level {level}", (number, *others, number)) for level, number in sorted(by_level.items())
    ]
    total = sum(by_level.values())
    rows.append(("Total", (total, *others, total)))
    return Block("Breach of SOPO", "Level", _category_columns(categories), tuple(rows))


def _single(number: int, table_title: str, figure: int) -> Table:
    return Table(number, table_title, (Block("", "", _NUMBER, (("Total", (figure,)),)),))


def _orders(statistics: MappaStatistics) -> Table:
    rows: tuple[Row, ...] = (
        ("SHPO", (statistics.shpos,)),
        (
            "SHPO with foreign travel restriction",
            (statistics.shpos_with_foreign_travel_restriction,),
        ),
        ("NOs", (statistics.notification_orders,)),
    )
    return Table(
        5,
        "Restrictive orders for Category 1 offenders: SHPOs, SHPOs with foreign travel "
        "restriction & NOs imposed by the courts",
        (Block("", "Order", _NUMBER, rows),),
    )


def _per_100k(rate: int | None) -> Table:
    cell: Cell = Missing.NOT_KNOWN if rate is None else rate
    column = (Column("Per 100,000", "Per 100,000 population"),)
    return Table(
        8,
        "Total number of Registered Sexual Offenders per 100,000 population",
        (Block("", "", column, (("RSOs", (cell,)),)),),
    )
