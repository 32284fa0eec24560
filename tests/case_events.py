"""Events of one Kent case on a timeline, for tests that fold a handful of them by hand."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from mappa_bus.case.fold import apply
from mappa_bus.case.model import CasePicture
from mappa_bus.catalogue import Area, Envelope, EventData, make_event
from mappa_bus.catalogue.housing import HousingNeedRaised
from mappa_bus.catalogue.probation import LevelReason, MappaEligibilityIdentified, MappaLevelSet
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.catalogue.withdrawal import (
    EventWithdrawn,
    ProbationEventWithdrawn,
    WithdrawalReason,
)

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


def withdrawn_and_late(
    case_id: str, start: datetime = datetime(2024, 4, 1, 9, tzinfo=UTC)
) -> CasePicture:
    """`case_id`'s picture folded from four events, each recorded an hour after it happened:
    eligibility, a housing need, the withdrawal of a level, and the level itself arriving last
    (late: after the later withdrawal)."""
    event = kent_case(case_id, start)
    eligible = MappaEligibilityIdentified(
        identified_on=date(2024, 4, 1), category=Category.VIOLENT_OFFENDER, lead_agency="probation"
    )
    level = MappaLevelSet(
        set_on=date(2024, 4, 3), level=Level.TWO, reason=LevelReason.INITIAL_SCREENING
    )
    arrivals = [
        event(eligible, 0, "eligible"),
        event(HousingNeedRaised(raised_on=date(2024, 4, 4), need="homeless"), 3, "housing"),
        withdrawal(event, ProbationEventWithdrawn, "level-2", "withdraws", day=4, on=start.date()),
        event(level, 2, "level-2"),
    ]
    picture: CasePicture | None = None
    for each in arrivals:
        picture = apply(picture, each, each.time + timedelta(hours=1))
    assert picture is not None
    return picture
