"""The MAPPA reporting year: 1 April to 31 March, named by the calendar year of its 1 April
(`2020` is 1 April 2020 to 31 March 2021, written `2020-21`).

The one statement of that rule for every service that counts or publishes by year (reporting,
its statistics events, the simulator, the demo). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

_APRIL = 4


@dataclass(frozen=True, order=True, slots=True)
class ReportingYear:
    """A reporting year, by the calendar year of the 1 April that opens it."""

    opens: int

    @classmethod
    def holding(cls, day: date) -> ReportingYear:
        """The reporting year `day` falls in."""
        return cls(day.year if day.month >= _APRIL else day.year - 1)

    @classmethod
    def last_closed(cls, today: date) -> ReportingYear:
        """The last reporting year whose 31 March is before `today`."""
        return cls(cls.holding(today).opens - 1)

    @classmethod
    def parse(cls, text: str) -> ReportingYear:
        """The reporting year written `2020` or `2020-21`; ValueError saying how to write one."""
        first, _, second = text.partition("-")
        if not first.isdigit() or len(first) != 4:
            raise ValueError(f"a reporting year is written 2020 or 2020-21, not {text!r}")
        year = cls(int(first))
        if second and f"{year.opens}-{second}" != year.label:
            raise ValueError(f"{text!r} is not a reporting year: {year.label} is")
        return year

    @property
    def start(self) -> date:
        """The 1 April that opens the year."""
        return date(self.opens, _APRIL, 1)

    @property
    def end(self) -> date:
        """The 31 March that closes the year (its last day, inclusive)."""
        return date(self.opens + 1, _APRIL - 1, 31)

    @property
    def label(self) -> str:
        """The year as reports write it, e.g. `2020-21`."""
        return f"{self.opens}-{(self.opens + 1) % 100:02d}"

    def contains(self, day: date) -> bool:
        """Whether `day` falls in the year."""
        return self.start <= day <= self.end
