"""The reporting year: 1 April to 31 March, named by the year of its 1 April."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappa_bus.catalogue import ReportingYear


def test_a_year_runs_from_1_april_to_31_march() -> None:
    """2020 is 1 April 2020 to 31 March 2021, written 2020-21."""
    year = ReportingYear(2020)

    assert (year.start, year.end, year.label) == (date(2020, 4, 1), date(2021, 3, 31), "2020-21")


@pytest.mark.parametrize(
    ("day", "opens"),
    [(date(2021, 3, 31), 2020), (date(2021, 4, 1), 2021), (date(2020, 12, 31), 2020)],
)
def test_the_year_holding_a_day_turns_over_on_1_april(day: date, opens: int) -> None:
    """31 March is the old year's last day, 1 April the new one's first."""
    assert ReportingYear.holding(day) == ReportingYear(opens)


@given(st.dates(min_value=date(1901, 1, 1), max_value=date(2999, 12, 31)))
def test_every_day_is_in_exactly_the_year_holding_it(day: date) -> None:
    """The year holding a day contains it; the years either side do not."""
    year = ReportingYear.holding(day)

    assert year.contains(day)
    assert not ReportingYear(year.opens - 1).contains(day)
    assert not ReportingYear(year.opens + 1).contains(day)


@pytest.mark.parametrize(("today", "opens"), [(date(2021, 3, 31), 2019), (date(2021, 4, 1), 2020)])
def test_the_last_closed_year_is_the_last_whose_31_march_has_passed(
    today: date, opens: int
) -> None:
    """On 31 March a year is not closed yet; on 1 April it is."""
    closed = ReportingYear.last_closed(today)

    assert closed == ReportingYear(opens)
    assert closed.end < today <= closed.end + timedelta(days=366)


@pytest.mark.parametrize(("text", "opens"), [("2020", 2020), ("2020-21", 2020), ("1999-00", 1999)])
def test_years_read_as_reports_write_them(text: str, opens: int) -> None:
    """A reporting year is its first year, or the report's `2020-21` form."""
    assert ReportingYear.parse(text) == ReportingYear(opens)


@pytest.mark.parametrize("text", ["2020-22", "20-21", "last year"])
def test_a_malformed_year_is_refused(text: str) -> None:
    """A year that is not a reporting year is an error naming it."""
    with pytest.raises(ValueError, match="reporting year"):
        ReportingYear.parse(text)
