"""How a stored picture is split in two and put back together (issue 17): a small current-picture
row, the picture without its timeline and withdrawals, and one row per event it was folded from,
written once. The picture and alerts stores both keep their pictures so
(`projection.timelines` holds the rows' side). Pure: the fold (`case.fold`) stays the one
statement of what a picture holds; this only moves its entries in and out of rows, and the
picture read back equals the one written.

The rows hold every entry the picture was folded from, unmarked: its timeline, the events
withdrawn and the withdrawals. The current row keeps the withdrawn entries with their marks (the
fold's, a few a case), so that reading back needs no fold: an entry is on the timeline unless it
is a withdrawal or withdrawn.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from mappa_bus.case.model import CasePicture, TimelineEntry
from mappa_bus.case.withdrawal import is_withdrawal_type

# What the current row leaves to the timeline rows.
_IN_ROWS = {"timeline", "withdrawals"}


def current_row(picture: CasePicture) -> str:
    """The JSON of `picture`'s current row: everything but its timeline and withdrawals."""
    return picture.model_dump_json(exclude=_IN_ROWS)


def entries_of(picture: CasePicture) -> dict[str, TimelineEntry]:
    """Every entry `picture` was folded from, unmarked, by event id."""
    withdrawn = (entry.model_copy(update={"withdrawn": None}) for entry in picture.withdrawn)
    return {e.event_id: e for e in (*picture.timeline, *withdrawn, *picture.withdrawals)}


def assembled(current: str, entries: Iterable[str]) -> CasePicture:
    """The picture whose current row is `current` and whose timeline rows hold `entries`."""
    picture = CasePicture.model_validate_json(current)
    read = sorted((TimelineEntry.model_validate_json(text) for text in entries), key=_order)
    withdrawn = {entry.event_id for entry in picture.withdrawn}
    timeline = tuple(
        entry
        for entry in read
        if not is_withdrawal_type(entry.type) and entry.event_id not in withdrawn
    )
    withdrawals = tuple(entry for entry in read if is_withdrawal_type(entry.type))
    return picture.model_copy(update={"timeline": timeline, "withdrawals": withdrawals})


def _order(entry: TimelineEntry) -> tuple[datetime, str]:
    # The fold's timeline order: the event's own time, ties broken by its id.
    return entry.time, entry.event_id
