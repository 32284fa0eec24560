"""Population aged 10 and over per MAPPA area: the denominator of table 8 (RSOs per 100,000).

Table 8 divides table 1's category 1 total by the area's population aged 10 and over (the ONS
mid-year estimate for the police area) and multiplies by 100,000. MAPPA Bus ships no ONS data:
the only figure here is Kent's, and it is *implied by the seed report*, not taken from the ONS.
Every other area's population is unknown (so its table 8 is null) unless the user supplies a CSV
with the header `area,population_aged_10_plus` (see `read_population_csv`).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

from mappa_bus.catalogue.areas import Area

# Implied, not an ONS figure: the Kent MAPPA Annual Report 2020-21 prints 1,888 RSOs and 115 per
# 100,000, so the population aged 10+ it used lies between 1,634,633 and 1,648,908; 1,641,700
# (1,888 / 115 x 100,000, rounded to the hundred) reproduces the published 115.
KENT_2020_IMPLIED_POPULATION_AGED_10_PLUS = 1_641_700

SHIPPED_POPULATIONS: Mapping[Area, int] = {Area.KENT: KENT_2020_IMPLIED_POPULATION_AGED_10_PLUS}

CSV_HEADER = ("area", "population_aged_10_plus")


def per_100k(registered_sex_offenders: int, population: int | None) -> int | None:
    """Table 8: RSOs per 100,000 population aged 10+, rounded half up to a whole number; None
    when the population is unknown."""
    if not population:
        return None
    # Whole-number arithmetic rounds half up exactly (float `round` rounds half to even).
    return (2 * registered_sex_offenders * 100_000 + population) // (2 * population)


def parse_population_csv(text: str) -> dict[Area, int]:
    """Area -> population aged 10+ from CSV text with the header `area,population_aged_10_plus`.

    The area is the slug `mappa_bus` uses (e.g. `kent`, `avon-and-somerset`); a bad row raises
    `ValueError` naming its line, so a typo never silently drops an area's table 8.
    """
    rows = list(csv.reader(text.splitlines()))
    if not rows or tuple(cell.strip() for cell in rows[0]) != CSV_HEADER:
        raise ValueError(f"line 1: the header must be {','.join(CSV_HEADER)}")
    populations: dict[Area, int] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        populations.update([_population_row(number, row)])
    return populations


def read_population_csv(path: Path) -> dict[Area, int]:
    """`parse_population_csv` of the file at `path`."""
    return parse_population_csv(path.read_text(encoding="utf-8"))


def _population_row(number: int, row: list[str]) -> tuple[Area, int]:
    if len(row) != len(CSV_HEADER):
        raise ValueError(f"line {number}: expected 2 columns, got {len(row)}")
    slug, count = (cell.strip() for cell in row)
    try:
        area = Area(slug)
    except ValueError:
        raise ValueError(f"line {number}: unknown area {slug!r}") from None
    if not count.isdigit() or int(count) == 0:
        raise ValueError(f"line {number}: population must be a positive whole number")
    return area, int(count)
