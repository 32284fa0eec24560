"""Folding a stream of events into every case's facts (in memory; the consumer persists them)."""

from __future__ import annotations

from collections.abc import Iterable

from mappa_bus.catalogue import Envelope, EventData
from mappa_bus.reporting.facts import CaseFacts, tally


def fold(
    events: Iterable[Envelope[EventData]], cases: dict[str, CaseFacts] | None = None
) -> dict[str, CaseFacts]:
    """Every case's facts after `events`, added to `cases` (a new mapping; the input is kept)."""
    folded = dict(cases or {})
    for event in events:
        folded[event.case_id] = tally(folded.get(event.case_id, ()), event)
    return folded
