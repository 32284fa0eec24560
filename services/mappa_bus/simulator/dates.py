"""Dates for the simulator: the reporting year, random days, and UK clock time."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone

from mappa_bus.catalogue import ReportingYear

GMT = UTC
BST = timezone(timedelta(hours=1))


def first_change(year: ReportingYear) -> date:
    """The first day the simulator changes a level, an area or management on in `year`.

    Nothing of that kind happens on 1 April itself: whether a change on the year's first day
    still lets the old state count "at any time in the year" is a reading the statistics rules
    leave open, and the simulator's truth should not depend on it.
    """
    return year.start + timedelta(days=1)


def days(n: int) -> timedelta:
    """`n` days."""
    return timedelta(days=n)


def day_between(rng: random.Random, first: date, last: date) -> date:
    """A uniformly random day from `first` to `last` inclusive (`first` when they cross)."""
    span = (last - first).days
    return first + timedelta(days=rng.randint(0, span)) if span > 0 else first


def days_between(rng: random.Random, first: date, last: date, count: int) -> list[date]:
    """`count` distinct days from `first` to `last`, in order; fewer if the span is shorter."""
    span = max((last - first).days + 1, 1)
    offsets = sorted(rng.sample(range(span), min(count, span)))
    return [first + timedelta(days=offset) for offset in offsets]


def years_before(day: date, years: float) -> date:
    """About `years` years before `day` (whole days; leap years are not worth the care)."""
    return day - timedelta(days=round(years * 365.25))


def months_after(day: date, months: int) -> date:
    """The same day of the month `months` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for candidate in range(day.day, 27, -1):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    return date(year, month, min(day.day, 28))


def uk_offset(day: date) -> timezone:
    """The UK clock's offset during the working day of `day`: BST from the last Sunday of March
    to the last Sunday of October (the change happens at night, before any simulated event).

    Today's rule, applied to every year: before 1996 the UK ended summer time earlier in some
    years, which matters to no simulated statistic (every event keeps its own offset and date).
    """
    return BST if _last_sunday(day.year, 3) <= day < _last_sunday(day.year, 10) else GMT


def at_time(day: date, minutes_after_midnight: int) -> datetime:
    """`day` at the given UK clock time, with the offset the clock shows that day."""
    hours, minutes = divmod(minutes_after_midnight, 60)
    return datetime(day.year, day.month, day.day, hours, minutes, tzinfo=uk_offset(day))


def _last_sunday(year: int, month: int) -> date:
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - 6) % 7)
