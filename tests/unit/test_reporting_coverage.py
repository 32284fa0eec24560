"""Which years the store holds in full: from the first year with a management ending."""

from datetime import UTC, datetime

from mappa_bus.catalogue import Area
from mappa_bus.reporting.coverage import caveats, first_full_year, held_in_full
from mappa_bus.reporting.facts import CaseFacts, Fact, Kind


def _fact(day: str, kind: Kind, area: Area = Area.KENT) -> Fact:
    return Fact(datetime.fromisoformat(day).replace(tzinfo=UTC), f"{day}-{kind}", kind, area)


CASES: dict[str, CaseFacts] = {
    "run-up": (_fact("2003-05-01", Kind.ELIGIBLE), _fact("2004-02-01", Kind.LEVEL)),
    "ended-in-kent": (_fact("2018-06-01", Kind.ELIGIBLE), _fact("2020-04-02", Kind.ENDED)),
    "ended-in-essex": (
        _fact("2017-01-01", Kind.ELIGIBLE, Area.ESSEX),
        _fact("2019-03-31", Kind.ENDED, Area.ESSEX),
    ),
}


def test_the_first_year_held_in_full_is_that_of_the_areas_first_ending() -> None:
    """Kent's first ending is in 2020-21, Essex's in 2018-19 (31 March closes the year)."""
    assert (first_full_year(CASES, Area.KENT), first_full_year(CASES, Area.ESSEX)) == (2020, 2018)


def test_england_and_wales_is_held_in_full_from_the_first_ending_anywhere() -> None:
    """The national figures are held in full from the earliest ending in any area."""
    assert (held_in_full(CASES, None, 2017), held_in_full(CASES, None, 2018)) == (False, True)


def test_an_earlier_year_names_the_first_year_held_in_full() -> None:
    """A year before the first ending carries one caveat naming the first year held in full."""
    [caveat] = caveats(CASES, Area.KENT, 2019)

    assert "2019-20 predates the first year the store holds in full for Kent, 2020-21" in caveat
    assert caveats(CASES, Area.KENT, 2020) == ()


def test_an_area_with_no_ending_has_no_year_held_in_full() -> None:
    """Without any ending in the area, every year's report says the store has none there."""
    [caveat] = caveats(CASES, Area.SURREY, 2020)

    assert "holds no end of MAPPA management for Surrey in any year" in caveat
