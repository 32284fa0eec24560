"""Every `mappa report` format prints the seed's figures in their places; national() sums areas."""

import csv
import io
from datetime import date
from html.parser import HTMLParser

import pytest

from mappa_bus.catalogue import Area
from mappa_bus.reporting.formats import (
    CSV_COLUMNS,
    FORMATS,
    render_csv,
    render_json,
    render_markdown,
)
from mappa_bus.reporting.html_page import render_html, table_html
from mappa_bus.reporting.layout import Block, Column
from mappa_bus.reporting.national import national
from mappa_bus.reporting.notes import TABLE_2, notes
from mappa_bus.reporting.population import SHIPPED_POPULATIONS
from mappa_bus.reporting.tables import LevelByCategory, MappaStatistics, kent_2020_21

KENT = kent_2020_21()
KENT_POPULATION = SHIPPED_POPULATIONS[Area.KENT]
# Elements that never close, so the well-formedness check does not wait for their end tag.
VOID = {"meta", "br", "img", "input", "link", "hr", "rect", "line"}


def _with_category_4(statistics: MappaStatistics) -> MappaStatistics:
    """Kent's figures with a category 4 column (2 at level 1, 1 at level 2 on 31 March)."""
    snapshot = {
        level: {**row, 4: {1: 2, 2: 1}.get(level, 0)}
        for level, row in statistics.eligible_on_31_march.items()
    }

    def widen(grid: LevelByCategory) -> LevelByCategory:
        return {level: {**row, 4: 0} for level, row in grid.items()}

    return statistics.model_copy(
        update={
            "categories": (1, 2, 3, 4),
            "eligible_on_31_march": snapshot,
            "levels_2_and_3_in_year": widen(statistics.levels_2_and_3_in_year),
            "returned_for_breach_of_licence": widen(statistics.returned_for_breach_of_licence),
        }
    )


def _markdown_table(markdown: str, heading: str) -> list[str]:
    """The table lines that follow `heading` in a Markdown document."""
    lines = markdown.splitlines()
    start = lines.index(heading) + 2
    end = lines.index("", start)
    return lines[start:end]


def _csv_cells(text: str) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(table, row, column) -> (value, note) from the CSV rendering."""
    return {
        (row["table"], row["row"], row["column"]): (row["value"], row["note"])
        for row in csv.DictReader(io.StringIO(text))
    }


class _Page(HTMLParser):
    """Reads an HTML page: tags must nest and close; tables are kept as caption -> rows."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.caption = ""
        self.cell: list[str] | None = None
        self.hidden = 0
        self.feed(page)
        self.close()
        self.problems += [f"unclosed <{tag}>" for tag in self.open]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        self.open.append(tag)
        self.hidden += self.hidden > 0 or ("class", "hidden") in attrs
        if tag == "caption":
            self.caption = ""
            self.cell = []
        elif tag == "tr":
            self.tables.setdefault(self.caption, []).append([])
        elif tag in ("th", "td"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"</{tag}> closes nothing open")
        self.hidden = max(self.hidden - 1, 0)
        if tag == "caption" and self.cell is not None:
            self.caption, self.cell = "".join(self.cell), None
        elif tag in ("th", "td") and self.cell is not None:
            self.tables[self.caption][-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None and not self.hidden:
            self.cell.append(data)


def test_markdown_prints_table_1_row_for_row_with_its_dash() -> None:
    """The Markdown snapshot table has the seed's rows, `-` where category 3 meets level 1."""
    table = _markdown_table(
        render_markdown(KENT), "## 1. MAPPA-eligible offenders on 31 March 2021"
    )

    assert table[2:] == [
        "| Level 1 | 1882 | 632 | - | 2514 |",
        "| Level 2 | 6 | 10 | 11 | 27 |",
        "| Level 3 | 0 | 0 | 1 | 1 |",
        "| Total | 1888 | 642 | 12 | 2542 |",
    ]


def test_markdown_prints_the_sopo_breaches_with_dashes_outside_category_1() -> None:
    """The Markdown breach-of-SOPO block shows `-` for categories 2 and 3, as the seed does."""
    markdown = render_markdown(KENT)
    block = markdown.split("**Breach of SOPO**\n\n")[1].split("\n\n")[0].splitlines()

    assert block[2:] == [
        "| Level 2 | 0 | - | - | 0 |",
        "| Level 3 | 0 | - | - | 0 |",
        "| Total | 0 | - | - | 0 |",
    ]


def test_markdown_ends_with_the_counting_rules_as_notes() -> None:
    """The Markdown's last section states each counting rule that involved a choice."""
    markdown = render_markdown(KENT)

    expected = notes(kent_2020_21())
    assert markdown.split("## Notes\n\n")[1].splitlines() == [f"- {rule}" for rule in expected]
    assert expected[1] == TABLE_2["highest-level"]


def test_markdown_notes_a_data_quality_exclusion() -> None:
    """A category 3 case found at level 1 is reported as a note, not hidden."""
    flawed = KENT.model_copy(update={"excluded_category_3_at_level_1": 2})

    assert render_markdown(flawed).splitlines()[-1] == (
        "- Data quality: 2 category 3 case(s) recorded at level 1 on 31 March 2021 are left "
        "out of table 1 (2020-21)."
    )


def test_csv_holds_every_figure_of_table_1_at_its_level_and_category() -> None:
    """The CSV has 1882 at table 1 / Level 1 / Category 1 and the totals beside it."""
    cells = _csv_cells(render_csv(KENT))

    assert [cells["1", "Level 1", "Category 1"], cells["1", "Total", "Total"]] == [
        ("1882", ""),
        ("2542", ""),
    ]


def test_csv_keeps_a_cell_that_cannot_occur_as_an_empty_noted_value() -> None:
    """A `-` cell stays in the CSV with no value and the note `cannot occur`."""
    cells = _csv_cells(render_csv(KENT))

    assert [
        cells["1", "Level 1", "Category 3"],
        cells["7", "Breach of SOPO: Total", "Category 2"],
    ] == [
        ("", "cannot occur"),
        ("", "cannot occur"),
    ]


def test_csv_rows_are_tidy_and_name_their_area_and_year() -> None:
    """Every CSV row has the same columns, Kent's slug and the reporting year."""
    rows = list(csv.DictReader(io.StringIO(render_csv(KENT))))

    assert {(tuple(row), row["area"], row["year"]) for row in rows} == {
        (CSV_COLUMNS, "kent", "2020-21")
    }


def test_csv_notes_table_8_as_not_known_without_a_population() -> None:
    """Without a population, table 8 is an empty value noted `not known`, not a zero."""
    cells = _csv_cells(render_csv(KENT.model_copy(update={"rsos_per_100k": None})))

    assert cells["8", "RSOs", "Per 100,000"] == ("", "not known")


def test_json_round_trips_to_equal_statistics() -> None:
    """The JSON reads back, through the model, as statistics equal to those rendered."""
    assert MappaStatistics.model_validate_json(render_json(KENT)) == KENT


def test_json_is_byte_identical_for_equal_statistics_built_in_another_order() -> None:
    """Equal statistics whose dictionaries were filled in another order give the same bytes."""
    reordered = KENT.model_copy(
        update={
            "eligible_on_31_march": {
                level: dict(reversed(row.items()))
                for level, row in reversed(KENT.eligible_on_31_march.items())
            },
            "returned_for_breach_of_sopo": {3: 0, 2: 0},
        }
    )

    assert render_json(reordered).encode() == render_json(KENT).encode()


def test_html_is_well_formed() -> None:
    """Every tag of the HTML page closes in order (checked with the standard html.parser)."""
    assert _Page(render_html(KENT)).problems == []


def test_html_tables_hold_the_seeds_figures() -> None:
    """The HTML snapshot table has the seed's rows, with a `-` shown where none can occur."""
    tables = _Page(render_html(KENT)).tables

    assert tables["1. MAPPA-eligible offenders on 31 March 2021"][1:] == [
        ["Level 1", "1882", "632", "-", "2514"],
        ["Level 2", "6", "10", "11", "27"],
        ["Level 3", "0", "0", "1", "1"],
        ["Total", "1888", "642", "12", "2542"],
    ]


def test_html_draws_table_1_as_one_inline_svg_chart() -> None:
    """The page carries its chart inline: one SVG, no script, nothing fetched from elsewhere."""
    page = render_html(KENT)

    assert (page.count("<svg"), "<script" in page, "src=" in page, "href=" in page) == (
        1,
        False,
        False,
        False,
    )


def test_html_is_marked_official_at_top_and_bottom() -> None:
    """The page's title, first and last lines of the body say OFFICIAL."""
    page = render_html(KENT)

    assert page.count('class="marking">OFFICIAL<') == 2


def test_html_escapes_the_text_it_prints() -> None:
    """A caption, heading or label holding markup is printed as text, never as markup."""
    hostile = "<script>alert('x')</script>"
    block = Block(hostile, hostile, (Column(hostile, hostile),), ((hostile, (1,)),))

    rendered = table_html(hostile, block)

    assert (rendered.count("<script>"), rendered.count("&lt;script&gt;")) == (0, 4)


def test_html_without_previous_years_has_no_year_on_year_section() -> None:
    """Given no earlier year, the page shows no comparison."""
    captions = _Page(render_html(KENT)).tables

    assert [caption for caption in captions if caption.startswith("Headline")] == []


def test_html_shows_each_headline_change_on_the_year_before() -> None:
    """Given an earlier year, each headline figure shows both values and the change."""
    earlier = KENT.model_copy(
        update={
            "year_start": date(2019, 4, 1),
            "notification_breaches": 25,
            "shpos": 150,
            "rsos_per_100k": None,
        }
    )

    rows = _Page(render_html(KENT, [earlier])).tables["Headline figures, 2019-20 to 2020-21"]

    assert [row for row in rows if row[-1] != "no change"] == [
        ["Figure", "2019-20", "2020-21", "Change on 2019-20"],
        ["RSOs per 100,000 population", "not known", "115", "not known"],
        ["RSOs cautioned or convicted for breach of notification", "25", "30", "+5"],
        ["SHPOs imposed (with or without foreign travel restriction)", "150", "139", "\u221211"],
    ]


def test_html_refuses_a_previous_year_of_another_area() -> None:
    """Comparing with another area's year would mislabel every change, so it is refused."""
    surrey = KENT.model_copy(update={"area": Area.SURREY, "year_start": date(2019, 4, 1)})

    with pytest.raises(ValueError, match="same area"):
        render_html(KENT, [surrey])


def test_every_format_shows_a_category_4_column_when_the_year_has_one() -> None:
    """Markdown, CSV and HTML add a category 4 column; the plain text too."""
    four = _with_category_4(KENT)
    table_1 = _markdown_table(
        render_markdown(four), "## 1. MAPPA-eligible offenders on 31 March 2021"
    )
    html_rows = _Page(render_html(four)).tables["1. MAPPA-eligible offenders on 31 March 2021"]

    assert (
        table_1[2],
        _csv_cells(render_csv(four))["1", "Level 1", "Category 4"],
        html_rows[0][4],
        "Category 4" in FORMATS["table"](four),
    ) == (
        "| Level 1 | 1882 | 632 | - | 2 | 2516 |",
        ("2", ""),
        "Category 4: Terrorist and terrorist-risk offenders",
        True,
    )


def test_formats_offers_every_format_each_printing_the_seeds_figures() -> None:
    """Each format the CLI offers renders Kent with its level 1 category 1 figure, 1882."""
    assert {name: "1882" in render(KENT) for name, render in FORMATS.items()} == {
        "table": True,
        "markdown": True,
        "csv": True,
        "json": True,
        "html": True,
    }


def _scaled(statistics: MappaStatistics, times: int) -> MappaStatistics:
    """Every figure multiplied by `times` (what summing that many copies must give)."""

    def grid(cells: LevelByCategory) -> LevelByCategory:
        return {level: {c: n * times for c, n in row.items()} for level, row in cells.items()}

    return statistics.model_copy(
        update={
            "eligible_on_31_march": grid(statistics.eligible_on_31_march),
            "levels_2_and_3_in_year": grid(statistics.levels_2_and_3_in_year),
            "returned_for_breach_of_licence": grid(statistics.returned_for_breach_of_licence),
            "returned_for_breach_of_sopo": {
                level: n * times for level, n in statistics.returned_for_breach_of_sopo.items()
            },
            "notification_breaches": statistics.notification_breaches * times,
            "lifetime_notification_revoked": statistics.lifetime_notification_revoked * times,
            "shpos": statistics.shpos * times,
            "shpos_with_foreign_travel_restriction": (
                statistics.shpos_with_foreign_travel_restriction * times
            ),
            "notification_orders": statistics.notification_orders * times,
            "sro_breach_notifications": statistics.sro_breach_notifications * times,
            "excluded_category_3_at_level_1": statistics.excluded_category_3_at_level_1 * times,
        }
    )


def test_national_of_one_area_is_that_area_with_no_area() -> None:
    """Summing Kent alone gives Kent's figures, its rate included, for England and Wales."""
    assert national([KENT], SHIPPED_POPULATIONS) == KENT.model_copy(update={"area": None})


def test_national_sums_every_table_cell_by_cell() -> None:
    """Three areas with Kent's figures sum to three times each figure, at the same rate."""
    flawed = KENT.model_copy(update={"excluded_category_3_at_level_1": 1})
    areas = [
        flawed.model_copy(update={"area": area}) for area in (Area.KENT, Area.SURREY, Area.SUSSEX)
    ]
    populations = dict.fromkeys((Area.KENT, Area.SURREY, Area.SUSSEX), KENT_POPULATION)

    assert national(areas, populations) == _scaled(flawed, 3).model_copy(update={"area": None})


def test_national_takes_the_union_of_categories_and_sums_distinct_figures() -> None:
    """An area without category 4 adds nothing to that column; the other cells add up."""
    surrey = _with_category_4(KENT).model_copy(update={"area": Area.SURREY})

    total = national([KENT, surrey])

    assert (total.categories, total.eligible_on_31_march, total.rsos_per_100k) == (
        (1, 2, 3, 4),
        {
            1: {1: 3764, 2: 1264, 3: 0, 4: 2},
            2: {1: 12, 2: 20, 3: 22, 4: 1},
            3: {1: 0, 2: 0, 3: 2, 4: 0},
        },
        None,
    )


def test_national_rate_is_computed_from_summed_rsos_and_population() -> None:
    """Table 8 nationally is all RSOs over all population, rounded half up, not a mean of rates."""
    small = KENT.model_copy(
        update={
            "area": Area.SURREY,
            "eligible_on_31_march": {1: {1: 1, 2: 0, 3: 0}, 2: {1: 0, 2: 0, 3: 0}, 3: {}},
        }
    )
    # (1888 + 1) RSOs over 1,641,700 + 1,000,000 people: 71.507 per 100,000, so 72.
    populations = {Area.KENT: KENT_POPULATION, Area.SURREY: 1_000_000}

    assert national([KENT, small], populations).rsos_per_100k == 72


def test_national_refuses_an_area_twice_or_mixed_years() -> None:
    """Counting an area twice, or adding two years, would publish a wrong national figure."""
    later = KENT.model_copy(update={"area": Area.SURREY, "year_start": date(2021, 4, 1)})

    with pytest.raises(ValueError, match="each once"):
        national([KENT, KENT])
    with pytest.raises(ValueError, match="one reporting year"):
        national([KENT, later])
