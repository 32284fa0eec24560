"""Events of one Kent case on a timeline, for tests that fold a handful of them by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from mappa_bus.catalogue import Area, Envelope, EventData, make_event
from mappa_bus.catalogue.withdrawal import EventWithdrawn, WithdrawalReason

EventMaker = Callable[[EventData, int, str], Envelope[EventData]]


def kent_case(case_id: str, start: datetime, system: str = "test") -> EventMaker:
    """A maker of `case_id`'s events in Kent: `(data, day, event_id)` gives the event with that
    id, happening `day` days after `start`."""

    def event(data: EventData, day: int, event_id: str) -> Envelope[EventData]:
        return make_event(
            data,
            case_id=case_id,
            area=Area.KENT,
            time=start + timedelta(days=day),
            system=system,
            event_id=event_id,
        )

    return event


def withdrawal(
    maker: EventMaker,
    model: type[EventWithdrawn],
    target: str,
    event_id: str,
    *,
    day: int,
    on: date,
) -> Envelope[EventData]:
    """`maker`'s case's withdrawal `event_id` (of `model`, its agency's) of the event `target`,
    entered in error, withdrawn on `on` and happening `day` days after the case's start."""
    data = model(
        withdrawn_event_id=target, reason=WithdrawalReason.ENTERED_IN_ERROR, withdrawn_on=on
    )
    return maker(data, day, event_id)
