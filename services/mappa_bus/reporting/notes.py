"""What a reader needs to know to read the tables: the counting rules that involved a choice.

One sentence each, in substance as docs/statistics.md states them, so the Markdown and HTML
reports say the same thing. Pure.
"""

from __future__ import annotations

from mappa_bus.reporting.layout import year_label
from mappa_bus.reporting.tables import MappaStatistics

RULES = (
    "Table 1 is a snapshot at the end of 31 March, of people living in the community only: "
    "those in custody or detained in hospital that day are not counted; every other table "
    "covers the whole reporting year (1 April to 31 March).",
    "Table 7 counts a person returned to custody only if they were at level 2 or 3 at that "
    "moment, and once per reason: at the level and category of their first such return in "
    "the year.",
    "A cell shown as - cannot occur: category 3 is never managed at level 1, and a breach of a "
    "SOPO or SHPO concerns category 1 only.",
    "Table 8 divides table 1's category 1 total by the population aged 10 and over (ONS "
    "mid-year estimate) and rounds to a whole number, a half rounding up.",
)


TABLE_2 = {
    "highest-level": "Table 2 counts each person once, in the row of the highest level at which "
    "the area managed them during the year and with the category they had then, so its total "
    "is a count of people.",
    "each-level": "Table 2 counts each person at every level the area managed them at during "
    "the year (the other reading of the definition, asked for), so a person at level 2 and "
    "then 3 is in both rows and its total counts placements, not people.",
}


def notes(statistics: MappaStatistics) -> tuple[str, ...]:
    """The rules, then any data-quality note about this area-year's figures."""
    rules = (RULES[0], TABLE_2[statistics.table_2_reading], *RULES[1:])
    excluded = statistics.excluded_category_3_at_level_1
    if not excluded:
        return rules
    return (
        *rules,
        f"Data quality: {excluded} category 3 case(s) recorded at level 1 on 31 March "
        f"{statistics.year_start.year + 1} are left out of table 1 "
        f"({year_label(statistics.year_start)}).",
    )
