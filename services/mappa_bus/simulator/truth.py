"""The statistics the simulator intended, computed from its model of each person.

Not from the events: the reporting consumer folds the events, this reads the people's facts
(`simulator.person`) by the rules of docs/statistics.md, and the two must agree. Each person
contributes counts to the areas they touched; contributions add up, so a national run can be
tallied one area's people at a time.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from enum import StrEnum

from mappa_bus.catalogue import ReportingYear
from mappa_bus.catalogue.areas import Area
from mappa_bus.reporting.population import per_100k
from mappa_bus.reporting.tables import LevelByCategory, MappaStatistics, empty_grid
from mappa_bus.simulator.person import (
    Management,
    Moment,
    Person,
    Place,
    Step,
    area_at,
    end_of,
    level_at,
    managed_at,
    place_at_end_of,
)

LEVELS = (1, 2, 3)
CATEGORIES = (1, 2, 3)


class Cell(StrEnum):
    """Which table a count belongs to."""

    SEEN = "seen"
    """The area appears on the person's events (so it has statistics, if only zeros)."""
    ELIGIBLE = "t1"
    HIGH_LEVEL = "t2"
    NOTIFICATION_BREACH = "t3"
    REVOKED = "t4"
    SHPO = "t5-shpo"
    SHPO_FOREIGN_TRAVEL = "t5-shpo-ftr"
    NOTIFICATION_ORDER = "t5-no"
    SRO_BREACH = "t6"
    RETURNED_LICENCE = "t7-licence"
    RETURNED_SOPO = "t7-sopo"
    CATEGORY_3_AT_LEVEL_1 = "quality"
    """Table 1's data-quality note: a category 3 case at level 1 (never in the table)."""


Key = tuple[Area, Cell, int, int]
"""(area, table, level, category); level and category are 0 where a table has neither."""


def contributions(person: Person, year: ReportingYear) -> Counter[Key]:
    """What `person` adds to each area's statistics for `year`."""
    counts: Counter[Key] = Counter()
    for stay in person.areas:
        counts[(stay.area, Cell.SEEN, 0, 0)] = 1
    counts.update(_police_counts(person, year))
    management = person.management
    if management is not None:
        category = int(management.category)
        counts.update(_snapshot(person, category, year))
        counts.update(_highest_levels(person, management, year))
        counts.update(_returns(person, category, year))
    return counts


def tally(people: Iterable[Person], year: ReportingYear) -> Counter[Key]:
    """The contributions of all of `people`."""
    counts: Counter[Key] = Counter()
    for person in people:
        counts.update(contributions(person, year))
    return counts


def statistics(
    counts: Counter[Key], year: ReportingYear, populations: Mapping[Area, int]
) -> dict[Area, MappaStatistics]:
    """Per area seen in `counts`, its statistics (table 8 only where a population is known)."""
    seen = {key[0] for key in counts}
    return {
        area: _area_statistics(counts, area, year, populations.get(area))
        for area in Area
        if area in seen
    }


def data_quality(counts: Counter[Key]) -> dict[Area, int]:
    """Per area, category 3 cases at level 1 on 31 March (left out of table 1)."""
    return {
        area: n for (area, cell, _, _), n in counts.items() if cell is Cell.CATEGORY_3_AT_LEVEL_1
    }


def _snapshot(person: Person, category: int, year: ReportingYear) -> Counter[Key]:
    """Table 1: managed at the end of 31 March and living in the community."""
    moment = end_of(year.end)
    if not managed_at(person, moment) or place_at_end_of(person, year.end) is not Place.COMMUNITY:
        return Counter()
    level = level_at(person, moment)
    cell = Cell.CATEGORY_3_AT_LEVEL_1 if (category, level) == (3, 1) else Cell.ELIGIBLE
    return Counter({(area_at(person, moment), cell, level, category): 1})


def _highest_levels(person: Person, management: Management, year: ReportingYear) -> Counter[Key]:
    """Table 2: per area, the highest level 2 or 3 it managed the person at during the year.

    The state holds from one change to the next, so looking at the year's first moment and at
    every change within the year sees every state the year held.
    """
    highest: dict[Area, int] = {}
    for moment in [(year.start, int(Step.START_OF_DAY)), *_changes_in(person, management, year)]:
        level = level_at(person, moment)
        if managed_at(person, moment) and level >= 2:
            area = area_at(person, moment)
            highest[area] = max(highest.get(area, 0), level)
    category = int(management.category)
    return Counter({(area, Cell.HIGH_LEVEL, level, category): 1 for area, level in highest.items()})


def _changes_in(person: Person, management: Management, year: ReportingYear) -> list[Moment]:
    changes = [(management.identified_on, int(Step.IDENTIFIED))]
    changes += [(stay.set_on, int(Step.LEVEL)) for stay in person.levels]
    changes += [
        (stay.accepted_on, int(Step.TRANSFER_ACCEPTED))
        for stay in person.areas
        if stay.accepted_on is not None
    ]
    return [moment for moment in changes if year.contains(moment[0])]


def _returns(person: Person, category: int, year: ReportingYear) -> Counter[Key]:
    """Table 7: returns to custody at level 2 or 3, once per reason and area, at the level of
    the first such return in the year (the simulator never returns anyone twice for one reason
    in a year, so the reading of a first return at level 1 never matters here)."""
    counted: dict[tuple[str, Area], int] = {}
    for spell in sorted(person.custody, key=lambda spell: spell.start):
        reason = spell.returned_for
        if reason not in ("licence-recall", "sopo-shpo-breach") or not year.contains(spell.start):
            continue
        moment = (spell.start, int(Step.RETURNED))
        level = level_at(person, moment)
        if level >= 2:
            counted.setdefault((reason, area_at(person, moment)), level)
    counts: Counter[Key] = Counter()
    for (why, area), level in counted.items():
        if why == "licence-recall":
            counts[(area, Cell.RETURNED_LICENCE, level, category)] += 1
        elif category == 1:
            counts[(area, Cell.RETURNED_SOPO, level, category)] += 1
    return counts


def _police_counts(person: Person, year: ReportingYear) -> Counter[Key]:
    """Tables 3 to 6, each counted in the area that had the case when it happened."""
    counts: Counter[Key] = Counter()
    breaches = {
        area_at(person, (breach.disposed_on, Step.BREACH))
        for breach in person.breach_disposals
        if year.contains(breach.disposed_on)
    }
    revoked = {
        area_at(person, (review.decided_on, Step.REVIEW))
        for review in person.reviews
        if review.decision == "revoked" and year.contains(review.decided_on)
    }
    counts.update((area, Cell.NOTIFICATION_BREACH, 0, 0) for area in breaches)
    counts.update((area, Cell.REVOKED, 0, 0) for area in revoked)
    for order in person.orders:
        # SROs are in no table; interim SHPOs are not counted (the full order that follows is).
        if order.kind == "sro" or order.interim or not year.contains(order.made_on):
            continue
        area = area_at(person, (order.made_on, Step.ORDER))
        counts[(area, _order_cell(order.kind, order.foreign_travel_restriction), 0, 0)] += 1
    sro = person.sro_breach
    if sro is not None and year.contains(sro.notification_start):
        area = area_at(person, (sro.notification_start, Step.NOTIFICATION_IMPOSED))
        counts[(area, Cell.SRO_BREACH, 0, 0)] += 1
    return counts


def _order_cell(kind: str, foreign_travel: bool) -> Cell:
    if kind == "notification-order":
        return Cell.NOTIFICATION_ORDER
    return Cell.SHPO_FOREIGN_TRAVEL if foreign_travel else Cell.SHPO


def _area_statistics(
    counts: Counter[Key], area: Area, year: ReportingYear, population: int | None
) -> MappaStatistics:
    def grid(cell: Cell, levels: tuple[int, ...]) -> LevelByCategory:
        table = empty_grid(levels, CATEGORIES)
        for level in levels:
            for category in CATEGORIES:
                table[level][category] = counts[(area, cell, level, category)]
        return table

    def total(cell: Cell) -> int:
        return counts[(area, cell, 0, 0)]

    eligible = grid(Cell.ELIGIBLE, LEVELS)
    return MappaStatistics(
        area=area,
        year_start=year.start,
        eligible_on_31_march=eligible,
        levels_2_and_3_in_year=grid(Cell.HIGH_LEVEL, (2, 3)),
        notification_breaches=total(Cell.NOTIFICATION_BREACH),
        lifetime_notification_revoked=total(Cell.REVOKED),
        shpos=total(Cell.SHPO),
        shpos_with_foreign_travel_restriction=total(Cell.SHPO_FOREIGN_TRAVEL),
        notification_orders=total(Cell.NOTIFICATION_ORDER),
        sro_breach_notifications=total(Cell.SRO_BREACH),
        returned_for_breach_of_licence=grid(Cell.RETURNED_LICENCE, (2, 3)),
        returned_for_breach_of_sopo={
            level: counts[(area, Cell.RETURNED_SOPO, level, 1)] for level in (2, 3)
        },
        rsos_per_100k=per_100k(sum(row[1] for row in eligible.values()), population),
    )
