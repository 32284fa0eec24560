"""`evaluate_from`, which asks the rules again from a late event on, against the plainest
statement of what it must give: every event of the case applied in turn, from the first, and the
rules asked of each from the late one on."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from mappa_bus.alerts.consumer import envelope_of, evaluate_from
from mappa_bus.alerts.rules import Firing, evaluate
from mappa_bus.case.fold import apply, apply_all
from mappa_bus.case.model import CasePicture
from mappa_bus.catalogue import Envelope, EventData
from tests.area_year import small_area_year


def _each_in_turn(picture: CasePicture, event_id: str) -> list[Firing]:
    firings: list[Firing] = []
    before: CasePicture | None = None
    reached = False
    for entry in picture.timeline:
        event = envelope_of(entry, picture.case_id)
        after = apply(before, event, entry.recorded_at)
        reached = reached or entry.event_id == event_id
        if reached:
            firings.extend(evaluate(before, after, event, entry.recorded_at))
        before = after
    return firings


def _pictures(count: int) -> list[CasePicture]:
    """The pictures of the `count` cases of Cumbria's year with the longest histories."""
    by_case: dict[str, list[Envelope[EventData]]] = defaultdict(list)
    for event in small_area_year():
        by_case[event.case_id].append(event)
    longest = sorted(by_case.values(), key=len, reverse=True)[:count]
    return [
        apply_all(None, [(event, event.time + timedelta(minutes=1)) for event in events])
        for events in longest
    ]


def test_the_rules_from_any_event_on_are_those_of_every_event_applied_in_turn() -> None:
    asked = 0
    for picture in _pictures(6):
        assert len(picture.timeline) > 20  # long enough that the prefix folded in one run matters
        for entry in picture.timeline:
            firings = evaluate_from(picture, entry.event_id)
            assert firings == _each_in_turn(picture, entry.event_id)
            asked += len(firings)
    assert asked > 0  # the cases raise alerts: the comparison is not of empty lists


def test_an_event_the_case_does_not_hold_asks_nothing() -> None:
    picture = _pictures(1)[0]
    assert evaluate_from(picture, "no-such-event") == []
