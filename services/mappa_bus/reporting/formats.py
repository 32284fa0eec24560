"""Every format `mappa report` offers: pure functions from one area-year's statistics to text.

Every renderer takes `caveats`, the sentences `coverage.caveats` gives for a year the store does
not hold in full, and shows them first: under the title, or as the CSV's first data row (table
`caveat`, the sentence in `note`), or as the JSON's `caveats` list (empty when there are none).

- `table`: the seed's tables in plain text (`render.render_text`).
- `markdown`: the same tables as GitHub Markdown, then the counting rules as notes.
- `csv`: one tidy row per cell, totals included (columns in `CSV_COLUMNS`). A cell that cannot
  occur (printed `-`) keeps its row with an empty value and the note `cannot occur`, so the
  layout is the same every year and a spreadsheet's SUM skips it; table 8 without a population
  is an empty value noted `not known`. Tables are numbered as in docs/statistics.md; table 7's
  rows name their block ("Breach of licence: Level 2"); the data-quality count is table
  `data quality`.
- `json`: canonical JSON of the statistics (sorted keys), byte-identical for equal statistics.
- `html`: a self-contained page (`html_page.render_html`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from mappa_bus.reporting.html_page import render_html
from mappa_bus.reporting.layout import Block, Cell, Missing, Table, tables, title, year_label
from mappa_bus.reporting.notes import notes
from mappa_bus.reporting.render import render_text
from mappa_bus.reporting.tables import MappaStatistics

CSV_COLUMNS = ("area", "year", "table", "row", "column", "value", "note")
NATIONAL_SLUG = "england-and-wales"
_CSV_NOTES = {Missing.CANNOT_OCCUR: "cannot occur", Missing.NOT_KNOWN: "not known"}


def render_markdown(statistics: MappaStatistics, *, caveats: Sequence[str] = ()) -> str:
    """The tables as GitHub Markdown: caveats quoted under the title, a heading per table, `-`
    cells kept, notes at the end."""
    lines = [f"# {title(statistics)}", ""]
    for caveat in caveats:
        lines += [f"> **{caveat}**", ""]
    for table in tables(statistics):
        lines += [f"## {table.number}. {table.title}", ""]
        for block in table.blocks:
            lines += [f"**{block.heading}**", ""] if block.heading else []
            lines += [*_markdown_block(block), ""]
    lines += ["## Notes", "", *(f"- {note}" for note in notes(statistics))]
    return "\n".join(lines) + "\n"


def _markdown_block(block: Block) -> list[str]:
    header = [block.row_heading, *(column.title for column in block.columns)]
    align = ["---", *("---:" for _ in block.columns)]
    rows = [[label, *map(_shown, cells)] for label, cells in block.rows]
    return [_markdown_row(cells) for cells in (header, align, *rows)]


def _markdown_row(cells: list[str]) -> str:
    # A pipe inside a cell would end it early.
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _shown(cell: Cell) -> str:
    return cell.value if isinstance(cell, Missing) else str(cell)


def render_csv(statistics: MappaStatistics, *, caveats: Sequence[str] = ()) -> str:
    """Every cell of every table, totals included, one tidy CSV row each (see the module doc)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    area = statistics.area.value if statistics.area else NATIONAL_SLUG
    year = year_label(statistics.year_start)
    for caveat in caveats:
        writer.writerow((area, year, "caveat", "", "", "", caveat))
    for table, row, column, cell in _cells(statistics):
        value, note = (str(cell), "") if isinstance(cell, int) else ("", _CSV_NOTES[cell])
        writer.writerow((area, year, table, row, column, value, note))
    return out.getvalue()


def _cells(statistics: MappaStatistics) -> Iterator[tuple[str, str, str, Cell]]:
    for table in tables(statistics):
        yield from _table_cells(table)
    yield (
        "data quality",
        "Category 3 at level 1 on 31 March, left out of table 1",
        "Number",
        statistics.excluded_category_3_at_level_1,
    )


def _table_cells(table: Table) -> Iterator[tuple[str, str, str, Cell]]:
    for block in table.blocks:
        prefix = f"{block.heading}: " if block.heading else ""
        for label, cells in block.rows:
            for column, cell in zip(block.columns, cells, strict=True):
                yield str(table.number), prefix + label, column.key, cell


def render_json(statistics: MappaStatistics, *, caveats: Sequence[str] = ()) -> str:
    """Canonical JSON: sorted keys and fixed spacing, so equal statistics give equal bytes;
    `totals` and `caveats` beside the statistics' own fields."""
    # Through pydantic's own JSON first, so dates and integer keys take their JSON form.
    plain = json.loads(statistics.model_dump_json())
    plain["totals"] = totals(plain)
    plain["caveats"] = list(caveats)
    return json.dumps(plain, sort_keys=True, indent=2, ensure_ascii=True) + "\n"


def totals(plain: dict[str, Any]) -> dict[str, int]:
    """Each table's total, for the figures given by level and category (a table of one
    figure is its own total): what a reader of the JSON would otherwise add up by hand."""
    return {
        name: sum(_leaves(value))
        for name, value in plain.items()
        if isinstance(value, dict) and any(True for _ in _leaves(value))
    }


def _leaves(value: object) -> Iterator[int]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield value


class Renderer(Protocol):
    """One format: the statistics, and the caveats to show first, as text."""

    def __call__(self, statistics: MappaStatistics, /, *, caveats: Sequence[str] = ()) -> str:
        """The statistics in this format."""
        ...


FORMATS: Mapping[str, Renderer] = {
    "table": render_text,
    "markdown": render_markdown,
    "csv": render_csv,
    "json": render_json,
    "html": render_html,
}
