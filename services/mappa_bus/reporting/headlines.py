"""The headline figures of an area-year, and how each moved from one year to the next. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mappa_bus.reporting.tables import MappaStatistics


@dataclass(frozen=True)
class Headline:
    """One headline figure across years, oldest first; None where it is not known."""

    label: str
    values: tuple[int | None, ...]

    def change(self) -> int | None:
        """The latest value less the one before; None when either is not known."""
        if len(self.values) < 2:
            return None
        before, latest = self.values[-2:]
        return None if before is None or latest is None else latest - before


def _figures(statistics: MappaStatistics) -> tuple[tuple[str, int | None], ...]:
    snapshot = statistics.eligible_on_31_march
    returned = sum(sum(row.values()) for row in statistics.returned_for_breach_of_licence.values())
    return (
        ("MAPPA-eligible offenders on 31 March", sum(sum(r.values()) for r in snapshot.values())),
        ("Registered sexual offenders on 31 March", sum(r.get(1, 0) for r in snapshot.values())),
        (
            "Managed at level 2 or 3 during the year",
            sum(sum(row.values()) for row in statistics.levels_2_and_3_in_year.values()),
        ),
        ("RSOs per 100,000 population", statistics.rsos_per_100k),
        (
            "RSOs cautioned or convicted for breach of notification",
            statistics.notification_breaches,
        ),
        ("Lifetime notification revoked on application", statistics.lifetime_notification_revoked),
        (
            "SHPOs imposed (with or without foreign travel restriction)",
            statistics.shpos + statistics.shpos_with_foreign_travel_restriction,
        ),
        ("Notification orders imposed", statistics.notification_orders),
        ("Notification following a breach of an SRO", statistics.sro_breach_notifications),
        (
            "Level 2 and 3 returned to custody (licence and SOPO breaches)",
            returned + sum(statistics.returned_for_breach_of_sopo.values()),
        ),
    )


def headlines(years: Sequence[MappaStatistics]) -> tuple[Headline, ...]:
    """Each headline figure across `years` (one area's, oldest first)."""
    by_year = [_figures(statistics) for statistics in years]
    labels = [label for label, _ in by_year[0]] if by_year else []
    return tuple(
        Headline(label, tuple(figures[index][1] for figures in by_year))
        for index, label in enumerate(labels)
    )


def in_order(
    statistics: MappaStatistics, previous: Sequence[MappaStatistics]
) -> tuple[MappaStatistics, ...]:
    """The earlier years, oldest first, then `statistics`.

    Raises ValueError for a year of another area, or one not before `statistics`, because a
    comparison across areas or out of order would mislabel every change.
    """
    for earlier in previous:
        if earlier.area != statistics.area or earlier.year_start >= statistics.year_start:
            raise ValueError(
                f"previous years must be earlier years of the same area; got {earlier.area} "
                f"{earlier.year_start}"
            )
    return (*sorted(previous, key=lambda earlier: earlier.year_start), statistics)
