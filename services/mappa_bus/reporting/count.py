"""The tables, counted from every case's facts by the rules of docs/statistics.md. Pure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from mappa_bus.case.merges import Merges
from mappa_bus.catalogue import Area, ReportingYear
from mappa_bus.reporting.facts import CaseFacts, Fact, Kind
from mappa_bus.reporting.population import per_100k
from mappa_bus.reporting.tables import LevelByCategory, MappaStatistics, empty_grid

_CUSTODY_IN = (Kind.INTO_CUSTODY, Kind.RETURNED_LICENCE, Kind.RETURNED_SOPO)


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


def merged_cases(cases: Mapping[str, CaseFacts], merges: Merges) -> dict[str, CaseFacts]:
    """`cases` with each merged group as one person: the facts of every id of the group, in the
    order the rules apply them, under the kept id (each event once); the merged ids gone. The
    tables then count the person once, from the state all their facts leave."""
    return dict(merged_people(cases.items(), merges))


def merged_people(
    cases: Iterable[tuple[str, CaseFacts]], merges: Merges
) -> Iterator[tuple[str, CaseFacts]]:
    """`merged_cases` of a stream of cases (each case once, as the store reads them): the cases
    of no group as they come, then each group under its kept id. Only the groups' facts are
    held, a few people's, however many cases the stream has."""
    groups = merges.groups()
    kept_of = {case_id: kept for kept, group in groups.items() for case_id in group}
    held: dict[str, set[Fact]] = {}
    for case_id, facts in cases:
        kept = kept_of.get(case_id)
        if kept is None:
            yield case_id, facts
        else:
            held.setdefault(kept, set()).update(facts)
    for kept in groups:
        if held.get(kept):
            yield kept, tuple(sorted(held[kept]))


Placement = tuple[Area, int, int]  # area, level, category


# A cell of the published tables: (table, row, column), named as the CSV format names them,
# e.g. ("1", "Level 2", "Category 3"), ("5", "SHPO", ""), ("7", "Breach of SOPO: Level 2",
# "Category 1"); single figures have an empty row and column.
Cell = tuple[str, str, str]
EXCLUDED: Cell = ("data quality", "category 3 at level 1", "")


@dataclass
class _Counts:
    """Who makes up each cell of every area, kept only while a year is counted: case ids (or,
    for table 5, which counts orders, event ids). A figure is how many there are."""

    cells: dict[Area, dict[Cell, list[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )

    def add(self, area: Area, cell: Cell, contributor: str) -> None:
        self.cells[area][cell].append(contributor)

    def figure(self, area: Area, cell: Cell) -> int:
        return len(self.cells.get(area, {}).get(cell, ()))


def _level_cell(table: str, level: int, category: int, block: str = "") -> Cell:
    return (table, f"{block}Level {level}", f"Category {category}")


Figures = Mapping[Area, Mapping[Cell, int]]
"""How many make up each cell, by area: what erased cases contributed to a closed year."""


def count_year(
    cases: Mapping[str, CaseFacts],
    year_start: date,
    populations: Mapping[Area, int] | None = None,
    *,
    once_per_level: bool = False,
    kept: Figures | None = None,
) -> dict[Area, MappaStatistics]:
    """The statistics of every area with any figure in the year that opens on `year_start`.

    `once_per_level` chooses the other reading of table 2: each level counts everyone managed at
    it (a person at level 2 and then 3 is in both rows), instead of each person once, at the
    highest level. `kept`: what cases erased since the year closed contributed to its cells
    (docs/retention.md), added back so that published figures stay as they were.
    """
    counts = _count(cases, year_start, once_per_level)
    categories = _categories(cases.values())
    return _tables(counts, year_start, categories, populations, once_per_level, kept)


def count_years(
    cases: Iterable[tuple[str, CaseFacts]],
    years: Sequence[int],
    populations: Mapping[Area, int] | None = None,
    *,
    kept: Mapping[int, Figures] | None = None,
) -> dict[int, dict[Area, MappaStatistics]]:
    """`count_year` of each of `years` (by their 1 April), in one pass over `cases`, which may
    be a stream from the store: only the counts are held, not every case's facts (a national
    store's are hundreds of MiB). Each case is counted in the years it can add to
    (`may_count_in`), which gives the tables counting every case would."""
    counts = {year: _Counts() for year in years}
    starts = {year: ReportingYear(year).start for year in years}
    ends = {year: ReportingYear(year).end for year in years}
    four = False
    for case_id, facts in cases:
        span = span_of(facts)
        if span is None:
            continue
        four = four or span[3]
        for year in years:
            if may_count_in(span, year):
                _count_case(counts[year], case_id, facts, starts[year], ends[year], False)
    categories = _columns(four)
    erased = kept or {}
    return {
        year: _tables(counts[year], starts[year], categories, populations, False, erased.get(year))
        for year in years
    }


# What decides whether a case can count in a year at all: its first and last fact's years,
# whether it is still under MAPPA after its last fact, and whether it was ever category 4.
Span = tuple[int, int, bool, bool]


def span_of(facts: CaseFacts) -> Span | None:
    """The `Span` of a case's facts; None for a case with none (it counts nowhere)."""
    if not facts:
        return None
    years = [ReportingYear.holding(fact.time).opens for fact in facts]
    # docs/statistics.md: managed from eligibility until management ended.
    managing = [f.kind for f in facts if f.kind in (Kind.ELIGIBLE, Kind.ENDED)]
    managed = bool(managing) and managing[-1] is Kind.ELIGIBLE
    return min(years), max(years), managed, _ever_four(facts)


def may_count_in(span: Span, year: int) -> bool:
    """Whether a case of `span` can add to `year`'s figures: counting only those gives the same
    tables as counting every case, in a fraction of the time for the years of long histories.

    A case with no fact until after the year holds no state in it; one whose facts all precede
    the year and that left MAPPA with its last has no year events and no placement in it. A
    category 4 case is kept whatever its years: any one of them gives every year its column.
    """
    first, last, managed, four = span
    return four or (first <= year and (last >= year or managed))


def _tables(
    counts: _Counts,
    year_start: date,
    categories: tuple[int, ...],
    populations: Mapping[Area, int] | None,
    once_per_level: bool,
    kept: Figures | None,
) -> dict[Area, MappaStatistics]:
    """Each area's statistics from the year's `counts`, with what erased cases contributed to
    its cells (`kept`) added back."""
    for area, cells in (kept or {}).items():
        for cell, figure in cells.items():
            # Nameless contributors: the cases are erased, only their number is kept.
            counts.cells[area][cell].extend("" for _ in range(figure))
    if any(cell[2] == "Category 4" for cells in (kept or {}).values() for cell in cells):
        categories = (1, 2, 3, 4)
    return {
        area: _statistics(
            counts, area, year_start, categories, (populations or {}).get(area), once_per_level
        )
        for area in sorted(counts.cells, key=lambda area: area.value)
    }


def cell_figures(cases: Mapping[str, CaseFacts], year_start: date) -> dict[Area, dict[Cell, int]]:
    """How many of `cases` make up each cell of the year opening on `year_start`, by area
    (table 2 by its first reading); cells of none are left out."""
    counts = _count(cases, year_start, once_per_level=False)
    return {
        area: {cell: len(who) for cell, who in cells.items() if who}
        for area, cells in counts.cells.items()
        if any(cells.values())
    }


def contribution(facts: CaseFacts, years: Iterable[int]) -> dict[int, dict[Area, dict[Cell, int]]]:
    """What one case's `facts` make up of each of `years`' cells (by its 1 April's calendar
    year), from the year of its first fact on: what an erased case's closed years keep of it."""
    if not facts:
        return {}
    start = min(ReportingYear.holding(fact.time).opens for fact in facts)
    found = {
        year: cell_figures({"": facts}, ReportingYear(year).start)
        for year in years
        if year >= start
    }
    return {year: figures for year, figures in found.items() if figures}


def contributors(
    cases: Mapping[str, CaseFacts],
    year_start: date,
    area: Area,
    cell: Cell,
    *,
    once_per_level: bool = False,
) -> list[str]:
    """Who makes up one figure: the case ids (event ids for table 5's orders) behind `cell`
    of `area`'s year, sorted. Its length is the figure."""
    counts = _count(cases, year_start, once_per_level)
    return sorted(counts.cells.get(area, {}).get(cell, ()))


def _count(cases: Mapping[str, CaseFacts], year_start: date, once_per_level: bool) -> _Counts:
    year_end = ReportingYear.holding(year_start).end
    counts = _Counts()
    for case_id, facts in cases.items():
        _count_case(counts, case_id, facts, year_start, year_end, once_per_level)
    return counts


def _categories(cases: Iterable[CaseFacts]) -> tuple[int, ...]:
    return _columns(any(_ever_four(facts) for facts in cases))


def _columns(four: bool) -> tuple[int, ...]:
    """The category columns of a year's tables: category 4 only when a case was ever in it."""
    return (1, 2, 3, 4) if four else (1, 2, 3)


def _ever_four(facts: CaseFacts) -> bool:
    return any(f.kind is Kind.ELIGIBLE and f.value == 4 for f in facts)


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
    _count_snapshot(counts, case_id, state)
    held = [placement for placement in placements if placement is not None]
    for area, level, category in _each_level(held) if once_per_level else _highest(held):
        counts.add(area, _level_cell("2", level, category), case_id)


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


def _count_snapshot(counts: _Counts, case_id: str, state: CaseState) -> None:
    if not state.managed or state.in_custody or state.in_hospital or state.area is None:
        return
    if state.category == 3 and state.level == 1:
        counts.add(state.area, EXCLUDED, case_id)
        return
    counts.add(state.area, _level_cell("1", state.level, state.category), case_id)


_SINGLE_FIGURES = {
    Kind.NOTIFICATION_BREACH: "3",
    Kind.LIFETIME_REVOKED: "4",
    Kind.SRO_BREACH_NOTIFICATION: "6",
}
_ORDER_ROWS = {
    (Kind.SHPO, 0): "SHPO",
    (Kind.SHPO, 1): "SHPO with foreign travel restriction",
    (Kind.NOTIFICATION_ORDER, 0): "NOs",
}


def _count_year_event(
    counts: _Counts, case_id: str, fact: Fact, before: CaseState, returned: set[tuple[Kind, Area]]
) -> None:
    if fact.kind in _SINGLE_FIGURES:
        cell = (_SINGLE_FIGURES[fact.kind], "", "")
        if case_id not in counts.cells.get(fact.area, {}).get(cell, ()):
            counts.add(fact.area, cell, case_id)  # people, not events
    elif (fact.kind, fact.value) in _ORDER_ROWS:
        counts.add(fact.area, ("5", _ORDER_ROWS[fact.kind, fact.value], ""), fact.event_id)
    elif fact.kind in (Kind.RETURNED_LICENCE, Kind.RETURNED_SOPO):
        _count_return(counts, case_id, fact, before, returned)


def _count_return(
    counts: _Counts, case_id: str, fact: Fact, before: CaseState, returned: set[tuple[Kind, Area]]
) -> None:
    if not before.managed or before.level < 2 or (fact.kind, fact.area) in returned:
        return
    returned.add((fact.kind, fact.area))
    if fact.kind is Kind.RETURNED_LICENCE:
        cell = _level_cell("7", before.level, before.category, "Breach of licence: ")
        counts.add(fact.area, cell, case_id)
    elif before.category == 1:
        counts.add(fact.area, _level_cell("7", before.level, 1, "Breach of SOPO: "), case_id)


def _grid(
    counts: _Counts,
    area: Area,
    table: str,
    levels: tuple[int, ...],
    categories: tuple[int, ...],
    block: str = "",
) -> LevelByCategory:
    grid = empty_grid(levels, categories)
    for level in levels:
        for category in categories:
            grid[level][category] = counts.figure(area, _level_cell(table, level, category, block))
    return grid


def _statistics(
    counts: _Counts,
    area: Area,
    year_start: date,
    categories: tuple[int, ...],
    population: int | None,
    once_per_level: bool,
) -> MappaStatistics:
    snapshot = _grid(counts, area, "1", (1, 2, 3), categories)
    rsos = sum(snapshot[level][1] for level in (1, 2, 3))
    sopo = _grid(counts, area, "7", (2, 3), (1,), "Breach of SOPO: ")
    return MappaStatistics(
        area=area,
        year_start=year_start,
        categories=categories,
        eligible_on_31_march=snapshot,
        levels_2_and_3_in_year=_grid(counts, area, "2", (2, 3), categories),
        notification_breaches=counts.figure(area, ("3", "", "")),
        lifetime_notification_revoked=counts.figure(area, ("4", "", "")),
        shpos=counts.figure(area, ("5", "SHPO", "")),
        shpos_with_foreign_travel_restriction=counts.figure(
            area, ("5", "SHPO with foreign travel restriction", "")
        ),
        notification_orders=counts.figure(area, ("5", "NOs", "")),
        sro_breach_notifications=counts.figure(area, ("6", "", "")),
        returned_for_breach_of_licence=_grid(
            counts, area, "7", (2, 3), categories, "Breach of licence: "
        ),
        returned_for_breach_of_sopo={level: sopo[level][1] for level in (2, 3)},
        rsos_per_100k=per_100k(rsos, population),
        excluded_category_3_at_level_1=counts.figure(area, EXCLUDED),
        table_2_reading="each-level" if once_per_level else "highest-level",
    )
