"""The statistics as the store has them now: one area, every area, or England and Wales."""

from __future__ import annotations

from collections.abc import Mapping

from mappa_bus.catalogue import AREA_NAMES, Area, ReportingYear
from mappa_bus.reporting.count import Figures, count_year
from mappa_bus.reporting.coverage import first_full_year
from mappa_bus.reporting.facts import CaseFacts
from mappa_bus.reporting.national import national
from mappa_bus.reporting.tables import MappaStatistics

# How many earlier years the HTML page compares with, where the store has them.
EARLIER_YEARS = 3


def parse_area(text: str) -> Area | None:
    """An area by slug or name (`kent`, `Kent`, `Devon and Cornwall`); None for England and
    Wales (`national`, `england-and-wales`)."""
    wanted = text.strip().lower().replace(" ", "-")
    if wanted in ("national", "england-and-wales", "england-&-wales"):
        return None
    for area in Area:
        if wanted in (area.value, AREA_NAMES[area].lower().replace(" ", "-")):
            return area
    raise ValueError(f"unknown MAPPA area {text!r}; give a slug such as 'kent' or a name")


def statistics_for(
    cases: Mapping[str, CaseFacts],
    area: Area | None,
    year: int,
    populations: Mapping[Area, int],
    *,
    once_per_level: bool = False,
    kept: Mapping[int, Figures] | None = None,
) -> MappaStatistics | None:
    """One area's (or the nation's) statistics of the year opening 1 April `year`; None when
    the store has no figure for it. `once_per_level`: table 2's other reading. `kept`: what
    erased cases contributed to closed years, by year (added back)."""
    counted = count_year(
        cases,
        ReportingYear(year).start,
        populations,
        once_per_level=once_per_level,
        kept=(kept or {}).get(year),
    )
    if area is None:
        return national(counted.values(), populations) if counted else None
    return counted.get(area)


def earlier_years(
    cases: Mapping[str, CaseFacts],
    area: Area | None,
    year: int,
    populations: Mapping[Area, int],
    kept: Mapping[int, Figures] | None = None,
) -> list[MappaStatistics]:
    """The same area's statistics for up to `EARLIER_YEARS` years before, oldest first: only
    years the store holds in full, since a year held in part would show a fall that never
    happened."""
    first = first_full_year(cases, area)
    if first is None:
        return []
    found = [
        statistics_for(cases, area, earlier, populations, kept=kept)
        for earlier in range(max(first, year - EARLIER_YEARS), year)
    ]
    return [statistics for statistics in found if statistics is not None]
