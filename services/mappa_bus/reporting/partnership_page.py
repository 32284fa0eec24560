"""The partnership report as one self-contained HTML page, and every format
`mappa report-partnership` offers. Pure.

The page is built like the statistics' (`html_page.page`: inline style, no script, marked
OFFICIAL: the figures are aggregate counts and name nobody), from the same tables the text
formats print (`partnership_render.text_tables`), each an accessible table with a caption and
scoped headers. Every piece of text goes through `html.escape`.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from mappa_bus.reporting.html_page import page
from mappa_bus.reporting.partnership_render import (
    PartnershipRenderer,
    PartnershipReport,
    TextTable,
    notes,
    plan_notes,
    render_partnership_csv,
    render_partnership_json,
    render_partnership_markdown,
    render_partnership_text,
    text_tables,
    title,
)


def render_partnership_html(report: PartnershipReport) -> str:
    """The page: an introduction, each table, then the notes."""
    heading = title(report.partnership)
    start = report.partnership.year_start
    introduction = (
        f"How each agency shared and attended level 2 and 3 meetings, and kept the risk "
        f"management plan actions it owns, in the reporting year 1 April {start.year} to "
        f"31 March {start.year + 1}. The figures are counts and identify no one."
    )
    items = "".join(
        f"<li>{escape(note)}</li>" for note in (*notes(report.partnership), *plan_notes(report))
    )
    body = [
        f"<h1>{escape(heading)}</h1>",
        f"<p>{escape(introduction)}</p>",
        *(_table_html(table) for table in text_tables(report)),
        '<section aria-labelledby="notes-heading"><h2 id="notes-heading">Notes</h2>'
        f"<ul>{items}</ul></section>",
    ]
    return page(heading, "\n".join(body))


def _table_html(table: TextTable) -> str:
    header = "".join(f'<th scope="col">{escape(heading)}</th>' for heading in table.headings)
    rows = "".join(
        f'<tr><th scope="row">{escape(row[0])}</th>'
        + "".join(f"<td>{escape(cell)}</td>" for cell in row[1:])
        + "</tr>"
        for row in table.rows
    )
    return (
        f"<table><caption>{escape(table.title)}</caption>"
        f"<thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>"
    )


PARTNERSHIP_FORMATS: Mapping[str, PartnershipRenderer] = {
    "table": render_partnership_text,
    "markdown": render_partnership_markdown,
    "csv": render_partnership_csv,
    "json": render_partnership_json,
    "html": render_partnership_html,
}
