"""The tables, counted from every case's facts by the rules of docs/statistics.md. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from mappa_bus.catalogue import Area
from mappa_bus.reporting.facts import CaseFacts, Fact, Kind
from mappa_bus.reporting.population import per_100k
from mappa_bus.reporting.tables import LevelByCategory, MappaStatistics, empty_grid

_CUSTODY_IN = (Kind.INTO_CUSTODY, Kind.RETURNED_LICENCE, Kind.RETURNED_SOPO)
_PEOPLE_KINDS = (Kind.NOTIFICATION_BREACH, Kind.LIFETIME_REVOKED, Kind.SRO_BREACH_NOTIFICATION)
_ORDER_KINDS = (Kind.SHPO, Kind.NOTIFICATION_ORDER)


@dataclass(frozen=True)
class CaseState:
    """Where a case stands after some of its facts."""

    managed: bool = False
    category: int = 0
    level: int = 1
    area: Area | None = None
    in_custody: bool = False
    in_hospital: bool = False


def advance(state: CaseState, fact: Fact) -> CaseState:
    """The state after `fact`: the case-state rules of docs/statistics.md."""
    kind = fact.kind
    if kind is Kind.ELIGIBLE:
        return replace(state, managed=True, category=fact.value, area=fact.area)
    if kind is Kind.LEVEL:
        return replace(state, level=fact.value)
    if kind is Kind.TRANSFERRED_IN:
        return replace(state, area=fact.area)
    if kind is Kind.ENDED:
        return replace(state, managed=False)
    if kind in _CUSTODY_IN or kind is Kind.OUT_OF_CUSTODY:
        return replace(state, in_custody=kind is not Kind.OUT_OF_CUSTODY)
    if kind in (Kind.INTO_HOSPITAL, Kind.OUT_OF_HOSPITAL):
        return replace(state, in_hospital=kind is Kind.INTO_HOSPITAL)
    return state


Placement = tuple[Area, int, int]  # area, level, category


@dataclass
class _Counts:
    """Running counts of every area, kept only while `count_year` runs."""

    snapshot: dict[Area, dict[tuple[int, int], int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    in_year: dict[Area, dict[tuple[int, int], int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    returned_licence: dict[Area, dict[tuple[int, int], int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    returned_sopo: dict[Area, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    people: dict[tuple[Area, Kind], set[str]] = field(default_factory=lambda: defaultdict(set))
    orders: dict[tuple[Area, Kind, int], int] = field(default_factory=lambda: defaultdict(int))
    excluded: dict[Area, int] = field(default_factory=lambda: defaultdict(int))

    def areas(self) -> set[Area]:
        found = set(self.snapshot) | set(self.in_year) | set(self.returned_licence)
        found |= set(self.returned_sopo) | set(self.excluded)
        return found | {key[0] for key in self.people} | {key[0] for key in self.orders}


def count_year(
    cases: Mapping[str, CaseFacts],
    year_start: date,
    populations: Mapping[Area, int] | None = None,
    *,
    once_per_level: bool = False,
) -> dict[Area, MappaStatistics]:
    """The statistics of every area with any figure in the year that opens on `year_start`.

    `once_per_level` chooses the other reading of table 2: each level counts everyone managed at
    it (a person at level 2 and then 3 is in both rows), instead of each person once, at the
    highest level.
    """
    year_end = date(year_start.year + 1, 3, 31)
    counts = _Counts()
    for case_id, facts in cases.items():
        _count_case(counts, case_id, facts, year_start, year_end, once_per_level)
    categories = _categories(cases.values())
    return {
        area: _statistics(counts, area, year_start, categories, (populations or {}).get(area))
        for area in sorted(counts.areas(), key=lambda area: area.value)
    }


def _categories(cases: Iterable[CaseFacts]) -> tuple[int, ...]:
    four = any(f.kind is Kind.ELIGIBLE and f.value == 4 for facts in cases for f in facts)
    return (1, 2, 3, 4) if four else (1, 2, 3)


def _placement(state: CaseState) -> Placement | None:
    if not state.managed or state.level < 2 or state.area is None:
        return None
    return state.area, state.level, state.category


def _count_case(
    counts: _Counts,
    case_id: str,
    facts: CaseFacts,
    year_start: date,
    year_end: date,
    once_per_level: bool,
) -> None:
    state = CaseState()
    for fact in (fact for fact in facts if fact.day < year_start):
        state = advance(state, fact)
    placements = [_placement(state)]
    returned: set[tuple[Kind, Area]] = set()
    for fact in (fact for fact in facts if year_start <= fact.day <= year_end):
        _count_year_event(counts, case_id, fact, state, returned)
        state = advance(state, fact)
        placements.append(_placement(state))
    _count_snapshot(counts, state)
    held = [placement for placement in placements if placement is not None]
    for area, level, category in _each_level(held) if once_per_level else _highest(held):
        counts.in_year[area][level, category] += 1


def _each_level(held: list[Placement]) -> list[Placement]:
    """Per area and level, the last placement at that level (the other reading of table 2)."""
    last = {(area, level): (area, level, category) for area, level, category in held}
    return list(last.values())


def _highest(held: list[Placement]) -> list[Placement]:
    """Per area, the last placement at the highest level held there."""
    best: dict[Area, Placement] = {}
    for placement in held:
        area, level, _ = placement
        if area not in best or level >= best[area][1]:
            best[area] = placement
    return list(best.values())


def _count_snapshot(counts: _Counts, state: CaseState) -> None:
    if not state.managed or state.in_custody or state.in_hospital or state.area is None:
        return
    if state.category == 3 and state.level == 1:
        counts.excluded[state.area] += 1
        return
    counts.snapshot[state.area][state.level, state.category] += 1


def _count_year_event(
    counts: _Counts, case_id: str, fact: Fact, before: CaseState, returned: set[tuple[Kind, Area]]
) -> None:
    if fact.kind in _PEOPLE_KINDS:
        counts.people[fact.area, fact.kind].add(case_id)
    elif fact.kind in _ORDER_KINDS:
        counts.orders[fact.area, fact.kind, fact.value] += 1
    elif fact.kind in (Kind.RETURNED_LICENCE, Kind.RETURNED_SOPO):
        _count_return(counts, fact, before, returned)


def _count_return(
    counts: _Counts, fact: Fact, before: CaseState, returned: set[tuple[Kind, Area]]
) -> None:
    if not before.managed or before.level < 2 or (fact.kind, fact.area) in returned:
        return
    returned.add((fact.kind, fact.area))
    if fact.kind is Kind.RETURNED_LICENCE:
        counts.returned_licence[fact.area][before.level, before.category] += 1
    elif before.category == 1:
        counts.returned_sopo[fact.area][before.level] += 1


def _grid(
    cells: Mapping[tuple[int, int], int], levels: tuple[int, ...], categories: tuple[int, ...]
) -> LevelByCategory:
    grid = empty_grid(levels, categories)
    for (level, category), number in cells.items():
        grid[level][category] = number
    return grid


def _statistics(
    counts: _Counts,
    area: Area,
    year_start: date,
    categories: tuple[int, ...],
    population: int | None,
) -> MappaStatistics:
    snapshot = _grid(counts.snapshot.get(area, {}), (1, 2, 3), categories)
    rsos = sum(snapshot[level][1] for level in (1, 2, 3))
    sopo = counts.returned_sopo.get(area, {})
    return MappaStatistics(
        area=area,
        year_start=year_start,
        categories=categories,
        eligible_on_31_march=snapshot,
        levels_2_and_3_in_year=_grid(counts.in_year.get(area, {}), (2, 3), categories),
        notification_breaches=len(counts.people.get((area, Kind.NOTIFICATION_BREACH), ())),
        lifetime_notification_revoked=len(counts.people.get((area, Kind.LIFETIME_REVOKED), ())),
        shpos=counts.orders.get((area, Kind.SHPO, 0), 0),
        shpos_with_foreign_travel_restriction=counts.orders.get((area, Kind.SHPO, 1), 0),
        notification_orders=counts.orders.get((area, Kind.NOTIFICATION_ORDER, 0), 0),
        sro_breach_notifications=len(counts.people.get((area, Kind.SRO_BREACH_NOTIFICATION), ())),
        returned_for_breach_of_licence=_grid(
            counts.returned_licence.get(area, {}), (2, 3), categories
        ),
        returned_for_breach_of_sopo={level: sopo.get(level, 0) for level in (2, 3)},
        rsos_per_100k=per_100k(rsos, population),
        excluded_category_3_at_level_1=counts.excluded.get(area, 0),
    )
