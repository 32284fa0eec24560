"""The retention rule every store follows (Data Protection Act 2018 s.39: personal data kept no
longer than the purpose needs): a case's details are kept for so many years after its MAPPA
management ended, then erased. One statement of it, for `mappa erase-expired` (which erases
through the log, so every store) and `mappa picture erase-expired` alike. Pure.

The period is the Responsible Authority's retention schedule's to set (`MAPPA_RETENTION_YEARS`,
in settings.py); its default is a placeholder, not advice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from mappa_bus.case.model import CasePicture


def retention_ends(ended_on: date, years: int) -> date:
    """The first day after the retention period that starts when management ends."""
    try:
        return ended_on.replace(year=ended_on.year + years)
    except ValueError:  # 29 February, and the year it falls in is not a leap year
        return ended_on.replace(year=ended_on.year + years, day=28)


def due(pictures: Iterable[CasePicture], today: date, years: int) -> list[CasePicture]:
    """The pictures whose retention has passed by `today` and that still hold details."""
    return [
        picture
        for picture in pictures
        if picture.erased_on is None
        and picture.management_ended is not None
        and retention_ends(picture.management_ended.on, years) <= today
    ]


def retention_decision(years: int) -> str:
    """The decision an erasure after retention names: the schedule's period."""
    return f"retention:{years}y"
