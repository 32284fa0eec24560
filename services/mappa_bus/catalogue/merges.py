"""Merging and unmerging cases: how the MAPPA unit says that two case ids are one person (the
agencies keyed the person differently), or that a merge was a mistake.

Only the MAPPA unit publishes these, on its own topic, keyed by the case id kept (the event's
`subject`). A merge joins `merged_case_id` to the kept case; an unmerge names the same two ids
and splits them again. What every consumer refuses, and why chains are refused, is in
schemas/README.md ("Merging cases") and `case/merges.py`.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field

from mappa_bus.agencies import Agency
from mappa_bus.catalogue.base import EventData
from mappa_bus.catalogue.vocabulary import CaseId

DecisionReference = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9/._-]{0,63}$",
        description="The MAPPA unit's reference of the recorded decision (an opaque id, not "
        "free text), so the unit's staff can find who decided it and on what evidence.",
    ),
]


class UnmergeReason(StrEnum):
    """Why the MAPPA unit undoes a merge."""

    DIFFERENT_PEOPLE = "different-people"
    """The two ids were found to be two people after all."""
    WRONG_CASE = "wrong-case"
    """The wrong id was merged (the person's other id is another)."""


class CasesMerged(EventData):
    """The MAPPA unit found two case ids to be one person: from now on the bus treats the case
    merged (`merged_case_id`) and the one kept (the event's `subject`) as one case."""

    PUBLISHER: ClassVar[Agency] = Agency.MAPPA_UNIT
    NAME: ClassVar[str] = "cases-merged"

    merged_case_id: CaseId
    """The case id merged into the one kept: another id than the subject, merged nowhere yet."""
    merged_on: date
    """Date the MAPPA unit decided the merge."""
    decision: DecisionReference
    """The unit's reference of its recorded decision."""


class CasesUnmerged(EventData):
    """The MAPPA unit undoes a mistaken merge: the two ids are two cases again, as if the merge
    had never been made."""

    PUBLISHER: ClassVar[Agency] = Agency.MAPPA_UNIT
    NAME: ClassVar[str] = "cases-unmerged"

    merged_case_id: CaseId
    """The case id that was merged into the subject, and is now split from it."""
    unmerged_on: date
    """Date the MAPPA unit decided to undo the merge."""
    reason: UnmergeReason
    """Why the merge is undone."""
    decision: DecisionReference | None = None
    """The unit's reference of its recorded decision to undo it."""
