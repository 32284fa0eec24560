"""One area-year's statistics as a single self-contained HTML page. Pure.

No external assets and no script: the style is inline, the chart is inline SVG, so the page can
be mailed or archived as one file. Every piece of text goes through `html.escape`. The page is
marked OFFICIAL: the figures are aggregate counts, publishable, and name nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from mappa_bus.reporting.bar_chart import bar_chart_svg
from mappa_bus.reporting.headlines import Headline, headlines, in_order
from mappa_bus.reporting.layout import Block, Cell, Missing, tables, title, year_label
from mappa_bus.reporting.notes import notes
from mappa_bus.reporting.tables import MappaStatistics

MARKING = "OFFICIAL"

_STYLE = """
body { margin: 0; font-family: system-ui, "Segoe UI", Arial, sans-serif; color: #0b0c0c;
  background: #fff; line-height: 1.4; }
.marking { margin: 0; padding: .3rem; background: #0b0c0c; color: #fff; text-align: center;
  font-weight: 700; letter-spacing: .1em; }
main { max-width: 62rem; margin: 0 auto; padding: 1rem 1.5rem 2rem; }
h1 { font-size: 1.8rem; }
h2 { font-size: 1.35rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: 0 0 1.5rem; width: 100%; }
caption { text-align: left; font-weight: 700; padding: .4rem 0; }
th, td { padding: .35rem .7rem; border-bottom: 1px solid #b1b4b6; text-align: right;
  vertical-align: bottom; }
thead th, thead td { border-bottom: 2px solid #0b0c0c; }
th[scope="row"], thead th:first-child { text-align: left; white-space: nowrap; }
td, table.years thead th { white-space: nowrap; }
table.years th[scope="row"] { white-space: normal; }
tr.total th, tr.total td { font-weight: 700; }
.hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
svg { max-width: 100%; height: auto; }
svg text { font: 14px system-ui, "Segoe UI", Arial, sans-serif; fill: #0b0c0c; }
svg .group { font-weight: 700; }
svg .none { fill: #505a5f; }
footer { color: #505a5f; }
.caveat { border-left: 5px solid #d4351c; padding: .5rem 1rem; background: #f3f2f1; }
"""


def render_html(
    statistics: MappaStatistics,
    previous: Sequence[MappaStatistics] = (),
    *,
    caveats: Sequence[str] = (),
) -> str:
    """The page: caveats first, tables, a chart of table 1, year on year when `previous` years
    are given."""
    years = in_order(statistics, previous)
    body = [
        f"<h1>{escape(title(statistics))}</h1>",
        *(f'<p class="caveat"><strong>{escape(caveat)}</strong></p>' for caveat in caveats),
        _introduction(statistics),
        _chart(statistics),
        *_table_section(statistics),
        _year_on_year(years) if previous else "",
        _notes(statistics),
    ]
    return page(title(statistics), "\n".join(part for part in body if part))


def page(page_title: str, body: str) -> str:
    """A whole page around `body` (already HTML): marked, styled inline, nothing external."""
    return (
        '<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(MARKING)}: {escape(page_title)}</title>\n<style>{_STYLE}</style>\n"
        f'</head>\n<body>\n<p class="marking">{escape(MARKING)}</p>\n<main>\n{body}\n</main>\n'
        f'<footer class="marking">{escape(MARKING)}</footer>\n</body>\n</html>\n'
    )


def _introduction(statistics: MappaStatistics) -> str:
    start = statistics.year_start
    text = (
        f"Aggregate statistics for the reporting year 1 April {start.year} to 31 March "
        f"{start.year + 1}; table 1 is a snapshot on 31 March {start.year + 1}. The figures "
        "are counts of people or of orders and identify no one."
    )
    return f"<p>{escape(text)}</p>"


def _chart(statistics: MappaStatistics) -> str:
    first = tables(statistics)[0]
    heading = f"Chart: {first.title}, by category and level"
    return (
        '<section aria-labelledby="chart-heading">'
        f'<h2 id="chart-heading">{escape(heading)}</h2>'
        f"{bar_chart_svg(first.blocks[0], heading)}</section>"
    )


def _table_section(statistics: MappaStatistics) -> list[str]:
    parts = ['<section aria-labelledby="tables-heading">', '<h2 id="tables-heading">Tables</h2>']
    for table in tables(statistics):
        for block in table.blocks:
            caption = f"{table.number}. {table.title}"
            parts.append(
                table_html(f"{caption}: {block.heading}" if block.heading else caption, block)
            )
    return [*parts, "</section>"]


def table_html(caption: str, block: Block) -> str:
    """One block as an accessible table: a caption, and scoped headers for rows and columns."""
    # An empty corner is a plain cell: a header with no text would announce nothing.
    corner = (
        f'<th scope="col">{escape(block.row_heading)}</th>' if block.row_heading else "<td></td>"
    )
    columns = "".join(f'<th scope="col">{escape(column.title)}</th>' for column in block.columns)
    header = corner + columns
    rows = "".join(_row_html(label, cells) for label, cells in block.rows)
    return (
        f"<table><caption>{escape(caption)}</caption>"
        f"<thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _row_html(label: str, cells: tuple[Cell, ...]) -> str:
    kind = ' class="total"' if label == "Total" else ""
    tds = "".join(f"<td>{_cell_html(cell)}</td>" for cell in cells)
    return f'<tr{kind}><th scope="row">{escape(label)}</th>{tds}</tr>'


def _cell_html(cell: Cell) -> str:
    if cell is Missing.CANNOT_OCCUR:
        # Sighted readers see the report's dash; a screen reader says what it means.
        return '<span aria-hidden="true">-</span><span class="hidden">cannot occur</span>'
    return escape(cell.value if isinstance(cell, Missing) else str(cell))


def _year_on_year(years: Sequence[MappaStatistics]) -> str:
    labels = [year_label(statistics.year_start) for statistics in years]
    header = "".join(
        f'<th scope="col">{escape(text)}</th>'
        for text in ("Figure", *labels, f"Change on {labels[-2]}")
    )
    rows = "".join(_headline_html(headline) for headline in headlines(years))
    caption = f"Headline figures, {labels[0]} to {labels[-1]}"
    return (
        '<section aria-labelledby="year-heading"><h2 id="year-heading">Year on year</h2>'
        f'<table class="years"><caption>{escape(caption)}</caption>'
        f"<thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _headline_html(headline: Headline) -> str:
    values = "".join(
        f"<td>{escape('not known' if value is None else str(value))}</td>"
        for value in headline.values
    )
    change = f"<td>{escape(_change(headline.change()))}</td>"
    return f'<tr><th scope="row">{escape(headline.label)}</th>{values}{change}</tr>'


def _change(change: int | None) -> str:
    if change is None:
        return "not known"
    if change == 0:
        return "no change"
    # A true minus sign: a hyphen beside these tables would read as "cannot occur".
    return f"+{change}" if change > 0 else f"\u2212{-change}"


def _notes(statistics: MappaStatistics) -> str:
    items = "".join(f"<li>{escape(note)}</li>" for note in notes(statistics))
    return (
        '<section aria-labelledby="notes-heading"><h2 id="notes-heading">Notes</h2>'
        f"<ul>{items}</ul></section>"
    )
