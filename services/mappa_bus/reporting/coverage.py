"""Which reporting years the store holds in full, and the caveat a report of an earlier year
carries (docs/statistics.md, "Years held in full"). Pure.

A store can hold a year only in part: a feed's run-up, or a backfill, brings the histories of
the people managed when it was taken, back to their convictions decades before, but nothing of
the people whose management had ended by then. Such a year still has figures, all of them too
low. What gives it away is that it holds no end of management: every area ends MAPPA management
for many people every year, while everyone in a run-up is, by construction, still managed when
it ends. So a year is held in full from the first reporting year in which the store holds a
`mappa-management-ended` event (in the area reported on; in any area, for England and Wales).
"""

from __future__ import annotations

from collections.abc import Mapping

from mappa_bus.catalogue import AREA_NAMES, Area, ReportingYear
from mappa_bus.reporting.facts import CaseFacts, Kind


def first_full_year(cases: Mapping[str, CaseFacts], area: Area | None) -> int | None:
    """The first reporting year (by its 1 April's calendar year) held in full for `area` (None:
    England and Wales): the year of the earliest management ending the store holds there;
    None when it holds none."""
    years = [
        ReportingYear.holding(fact.time).opens
        for facts in cases.values()
        for fact in facts
        if fact.kind is Kind.ENDED and (area is None or fact.area is area)
    ]
    return min(years, default=None)


def held_in_full(cases: Mapping[str, CaseFacts], area: Area | None, year: int) -> bool:
    """Whether the store holds `area`'s reporting year opening in `year` in full."""
    first = first_full_year(cases, area)
    return first is not None and year >= first


def caveats(cases: Mapping[str, CaseFacts], area: Area | None, year: int) -> tuple[str, ...]:
    """The caveat a report of `area`'s year must carry when the store does not hold it in full
    (naming the first year it does, and why); none when it does."""
    first = first_full_year(cases, area)
    place = AREA_NAMES[area] if area is not None else "England and Wales"
    label = ReportingYear(year).label
    if first is None:
        return (
            f"Not held in full: the store holds no end of MAPPA management for {place} in any "
            f"year, so its {label} figures count only the cases whose histories it holds (such "
            "as the run-up of a feed), not everyone managed then. An area ends management for "
            "many people every year; a year is held in full from the first in which the store "
            "holds such an ending.",
        )
    if year >= first:
        return ()
    return (
        f"Not held in full: {label} predates the first year the store holds in full for "
        f"{place}, {ReportingYear(first).label}, the first in which it holds an end of MAPPA "
        "management. An area ends management for many people every year; before that year the "
        "store holds only the histories of people still managed later (such as the run-up of a "
        "feed), so these figures leave out everyone whose management had ended by then.",
    )
