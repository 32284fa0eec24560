"""Every case's facts, folded in memory from a stream of events, for tests that count tables
without a consumer (the reporting consumer folds the same way, a batch at a time)."""

from __future__ import annotations

from collections.abc import Iterable

from mappa_bus.catalogue import Envelope, EventData
from mappa_bus.reporting.facts import CaseFacts, tally


def case_facts(events: Iterable[Envelope[EventData]]) -> dict[str, CaseFacts]:
    """Each case's facts after `events`, by case id."""
    folded: dict[str, CaseFacts] = {}
    for event in events:
        folded[event.case_id] = tally(folded.get(event.case_id, ()), event)
    return folded
