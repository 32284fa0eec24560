"""England and Wales: the national statistics as the sum of the areas'. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mappa_bus.catalogue import Area
from mappa_bus.reporting.population import per_100k
from mappa_bus.reporting.tables import LevelByCategory, MappaStatistics


def national(
    areas: Iterable[MappaStatistics], populations: Mapping[Area, int] | None = None
) -> MappaStatistics:
    """England and Wales (area None): every table of `areas` summed cell by cell.

    Table 8 is recomputed from the summed RSOs and the summed population, and is None unless
    `populations` knows every area summed: a rate over part of the country is not a national
    rate. Raises ValueError for no areas, mixed years, or an area given twice.
    """
    found = list(areas)
    _check(found)
    categories = tuple(sorted({c for statistics in found for c in statistics.categories}))
    snapshot = _sum_grids([s.eligible_on_31_march for s in found], categories)
    return MappaStatistics(
        area=None,
        year_start=found[0].year_start,
        categories=categories,
        eligible_on_31_march=snapshot,
        levels_2_and_3_in_year=_sum_grids([s.levels_2_and_3_in_year for s in found], categories),
        returned_for_breach_of_licence=_sum_grids(
            [s.returned_for_breach_of_licence for s in found], categories
        ),
        returned_for_breach_of_sopo=_sum_rows([s.returned_for_breach_of_sopo for s in found]),
        notification_breaches=sum(s.notification_breaches for s in found),
        lifetime_notification_revoked=sum(s.lifetime_notification_revoked for s in found),
        shpos=sum(s.shpos for s in found),
        shpos_with_foreign_travel_restriction=sum(
            s.shpos_with_foreign_travel_restriction for s in found
        ),
        notification_orders=sum(s.notification_orders for s in found),
        sro_breach_notifications=sum(s.sro_breach_notifications for s in found),
        excluded_category_3_at_level_1=sum(s.excluded_category_3_at_level_1 for s in found),
        rsos_per_100k=_rate(snapshot, [s.area for s in found], populations or {}),
        table_2_reading=found[0].table_2_reading,
    )


def _check(found: list[MappaStatistics]) -> None:
    if not found:
        raise ValueError("national() needs at least one area")
    if len({s.year_start for s in found}) > 1:
        raise ValueError("national() sums one reporting year; the areas given span several")
    if len({s.table_2_reading for s in found}) > 1:
        raise ValueError("national() sums areas counted by one reading of table 2, not both")
    named = [s.area for s in found]
    if None in named or len(set(named)) < len(named):
        raise ValueError("national() sums distinct areas, each once")


def _sum_rows(rows: list[dict[int, int]]) -> dict[int, int]:
    keys = sorted({key for row in rows for key in row})
    return {key: sum(row.get(key, 0) for row in rows) for key in keys}


def _sum_grids(grids: list[LevelByCategory], categories: tuple[int, ...]) -> LevelByCategory:
    # An area counted before category 4 existed has no such column: it contributes nothing.
    levels = sorted({level for grid in grids for level in grid})
    return {
        level: {c: sum(grid.get(level, {}).get(c, 0) for grid in grids) for c in categories}
        for level in levels
    }


def _rate(
    snapshot: LevelByCategory, areas: list[Area | None], populations: Mapping[Area, int]
) -> int | None:
    if not all(area in populations for area in areas if area is not None):
        return None
    rsos = sum(row.get(1, 0) for row in snapshot.values())
    return per_100k(rsos, sum(populations[area] for area in areas if area is not None))
