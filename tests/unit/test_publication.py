"""Which statistics the reporting consumer publishes, and when."""

from datetime import UTC, date, datetime

from mappa_bus.catalogue import Area
from mappa_bus.reporting.facts import Fact, Kind
from mappa_bus.reporting.publication import NATIONAL, closed_years, due, statistics_event
from mappa_bus.reporting.tables import kent_2020_21


def _case(day: date) -> tuple[Fact, ...]:
    time = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    return (Fact(time, f"e-{day}", Kind.ELIGIBLE, Area.KENT, 2),)


def test_a_year_closes_when_its_31_march_has_passed() -> None:
    """On 31 March 2021 the 2020-21 year is still open; on 1 April it is closed."""
    cases = {"K-1": _case(date(2019, 6, 1)), "K-2": _case(date(2020, 6, 1))}

    assert (closed_years(cases, date(2021, 3, 31)), closed_years(cases, date(2021, 4, 1))) == (
        [2019],
        [2019, 2020],
    )


def test_each_area_and_the_nation_are_due_until_published_as_they_stand() -> None:
    """Kent and England and Wales are due; once their digests are recorded, nothing is."""
    cases = {"K-1": _case(date(2020, 6, 1))}

    first = due(cases.items(), [2020], {}, date(2021, 4, 1), {})
    recorded = {(subject, s.year_start): digest for subject, s, digest in first}
    again = due(cases.items(), [2020], {}, date(2021, 4, 1), recorded)

    assert ([subject for subject, _, _ in first], again) == (["kent", NATIONAL], [])


def test_a_revision_has_an_id_of_its_own_and_a_resend_the_same_one() -> None:
    """The event id follows subject, year and revision, not the moment of sending."""
    one = statistics_event("kent", kent_2020_21(), 1)
    resent = statistics_event("kent", kent_2020_21(), 1)
    corrected = statistics_event("kent", kent_2020_21(), 2)

    assert (one.id == resent.id, one.id == corrected.id) == (True, False)


def test_no_year_is_published_before_mappa_began_or_after_the_last_event() -> None:
    """History reaching back to 1995 and a clock in 2026 give the years from the first event
    since 2001 to the last event, and none after."""
    cases = {"K-1": _case(date(1995, 6, 1)) + _case(date(2017, 6, 1)) + _case(date(2019, 6, 1))}

    assert closed_years(cases, date(2026, 11, 25)) == [2017, 2018, 2019]
