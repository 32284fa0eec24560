"""Table 1 (levels by category on 31 March) as an inline SVG bar chart. Pure.

Horizontal bars, one per level inside each category, each labelled with its level and number:
the text carries every figure, so the chart needs neither colour nor a legend to be read, and
level 1's thousands do not hide the single figures of levels 2 and 3.
"""

from __future__ import annotations

from html import escape

from mappa_bus.reporting.layout import Block, Missing

_WIDTH = 640
_LABEL_X = 8
_BAR_X = 96
_BAR_SPAN = 440
_BAR_HEIGHT = 16
_ROW = 24
_GROUP_GAP = 30
# High-contrast fills (at least 3:1 against white), one per level.
_FILLS = {"Level 1": "#1d70b8", "Level 2": "#00703c", "Level 3": "#912b88"}


def bar_chart_svg(block: Block, chart_title: str) -> str:
    """The SVG of a level-by-category block (table 1), one group of bars per category."""
    categories = block.columns[:-1]  # the last column is the total
    levels = [row for row in block.rows if row[0] != "Total"]
    largest = max((c for _, cells in levels for c in cells[:-1] if isinstance(c, int)), default=0)
    parts: list[str] = []
    y = 0
    for index, column in enumerate(categories):
        y += _GROUP_GAP
        parts.append(_text(_LABEL_X, y - 8, column.title, "group"))
        parts.append(_axis(y, len(levels)))
        for label, cells in levels:
            parts.append(_bar(y, label, cells[index], largest))
            y += _ROW
    return _svg(y + 8, chart_title, "".join(parts))


def _bar(y: int, label: str, cell: int | Missing, largest: int) -> str:
    middle = y + _BAR_HEIGHT // 2 + 5
    parts = [_text(_LABEL_X + 8, middle, label, "level")]
    if isinstance(cell, Missing):
        return "".join([*parts, _text(_BAR_X, middle, "- (cannot occur)", "none")])
    # A non-zero figure keeps a sliver of bar, however small beside the largest.
    width = max(cell * _BAR_SPAN // largest, 2) if cell else 0
    fill = _FILLS.get(label, "#505a5f")
    parts.append(
        f'<rect x="{_BAR_X}" y="{y}" width="{width}" height="{_BAR_HEIGHT}" fill="{fill}"/>'
    )
    parts.append(_text(_BAR_X + width + 6, middle, str(cell), "value"))
    return "".join(parts)


def _axis(top: int, bars: int) -> str:
    """The zero line of one category's bars, so a zero reads as a bar of no length."""
    bottom = top + (bars - 1) * _ROW + _BAR_HEIGHT
    return f'<line x1="{_BAR_X}" y1="{top}" x2="{_BAR_X}" y2="{bottom}" stroke="#505a5f"/>'


def _text(x: int, y: int, text: str, kind: str) -> str:
    return f'<text x="{x}" y="{y}" class="{kind}">{escape(text)}</text>'


def _svg(height: int, chart_title: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" '
        f'width="{_WIDTH}" height="{height}" role="img" '
        'aria-labelledby="chart-title chart-desc">'
        f'<title id="chart-title">{escape(chart_title)}</title>'
        '<desc id="chart-desc">One bar per level within each category; each bar is labelled '
        "with its number, as in table 1.</desc>"
        f"{body}</svg>"
    )
