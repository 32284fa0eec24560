"""A small hand-made set of plan events in Kent, and the plan figures worked out by hand from
them, for the tests of the reporting consumer's plan figures (with and without a broker).

Kent 2020-21, two cases, six actions agreed in the year (and one the next year):

- 101 / ACT-1, housing's, agreed 1 Jun, due 30 Jun: completed 25 Jun (on time);
- 101 / ACT-2, housing's, due 30 Jun: re-dated to 15 Jul, completed 20 Jul (5 days late);
- 101 / ACT-3, police's, due 1 Jul: completed by housing 10 Jun (refused: not the owner), then
  closed by police 5 Jul, person in custody;
- 102 / ACT-1, housing's, agreed 1 Sep, due 30 Sep: completed 10 Oct (10 days late);
- 102 / ACT-2, housing's, due 31 Oct: nothing since (open);
- 102 / ACT-3, probation's, due 15 Sep: completed 15 Sep (on time), then re-dated (ignored:
  the action had ended);
- 102 / ACT-4, housing's, agreed 2 Apr 2021: counts in 2021-22, not 2020-21.

So housing owns 4: 1 on time, 2 late (5 and 10 days: median 7.5), 1 open, 1 re-dated; police
owns 1, closed in custody; probation owns 1, on time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, Envelope, EventData, make_event
from mappa_bus.catalogue import plans as p
from mappa_bus.catalogue.probation import MappaMeetingHeld
from mappa_bus.reporting.plan_figures import AgencyPlanFigures, PlanFigures

YEAR = date(2020, 4, 1)
FIRST = "KEN-2020-000101"
SECOND = "KEN-2020-000102"


def _at(day: date) -> datetime:
    """Nine in the morning of `day` (no two events of one action share a day)."""
    return datetime.combine(day, time(9), tzinfo=UTC)


def _event(data: EventData, case_id: str, day: date) -> Envelope[EventData]:
    return make_event(data, case_id=case_id, area=Area.KENT, time=_at(day), system="test")


def _agreed(
    chair: type[p.ActionAgreed],
    case_id: str,
    action_id: str,
    owner: Agency,
    agreed_on: date,
    due_on: date,
) -> Envelope[EventData]:
    data = chair(
        action_id=action_id,
        meeting_reference=f"MAPPA-{case_id}-{agreed_on:%m%d}",
        agreed_on=agreed_on,
        owner=owner,
        kind=p.ActionKind.HOME_VISIT,
        due_on=due_on,
    )
    return _event(data, case_id, agreed_on)


def _meeting(case_id: str, held_on: date) -> Envelope[EventData]:
    data = MappaMeetingHeld(
        held_on=held_on,
        level=2,
        agencies_present=[Agency.POLICE, Agency.PROBATION, Agency.HOUSING],
        next_review_on=date(held_on.year + 1, 1, 1),
        meeting_reference=f"MAPPA-{case_id}-{held_on:%m%d}",
    )
    return _event(data, case_id, held_on)


def agreements() -> list[Envelope[EventData]]:
    """The meetings and what they agreed (published by the chairs: probation and police)."""
    june, september = date(2020, 6, 1), date(2020, 9, 1)
    chair, police_chair = p.ProbationPlanActionAgreed, p.PolicePlanActionAgreed
    return [
        _meeting(FIRST, june),
        _agreed(chair, FIRST, "ACT-1", Agency.HOUSING, june, date(2020, 6, 30)),
        _agreed(chair, FIRST, "ACT-2", Agency.HOUSING, june, date(2020, 6, 30)),
        _agreed(chair, FIRST, "ACT-3", Agency.POLICE, june, date(2020, 7, 1)),
        _meeting(SECOND, september),
        _agreed(police_chair, SECOND, "ACT-1", Agency.HOUSING, september, date(2020, 9, 30)),
        _agreed(police_chair, SECOND, "ACT-2", Agency.HOUSING, september, date(2020, 10, 31)),
        _agreed(police_chair, SECOND, "ACT-3", Agency.PROBATION, september, date(2020, 9, 15)),
        _agreed(police_chair, SECOND, "ACT-4", Agency.HOUSING, date(2021, 4, 2), date(2021, 5, 1)),
    ]


def outcomes() -> list[Envelope[EventData]]:
    """What the agencies said of the actions since (housing's completion of police's action
    among them: it is refused)."""
    return [
        _event(
            p.HousingPlanActionCompleted(action_id="ACT-1", completed_on=date(2020, 6, 25)),
            FIRST,
            date(2020, 6, 25),
        ),
        _event(
            p.HousingPlanActionRedated(
                action_id="ACT-2",
                redated_on=date(2020, 6, 20),
                due_on=date(2020, 7, 15),
                reason=p.RedateReason.AWAITING_OTHER_AGENCY,
            ),
            FIRST,
            date(2020, 6, 20),
        ),
        _event(
            p.HousingPlanActionCompleted(action_id="ACT-2", completed_on=date(2020, 7, 20)),
            FIRST,
            date(2020, 7, 20),
        ),
        _event(
            p.HousingPlanActionCompleted(action_id="ACT-3", completed_on=date(2020, 6, 10)),
            FIRST,
            date(2020, 6, 10),
        ),
        _event(
            p.PolicePlanActionClosed(
                action_id="ACT-3",
                closed_on=date(2020, 7, 5),
                reason=p.ClosureReason.PERSON_IN_CUSTODY,
            ),
            FIRST,
            date(2020, 7, 5),
        ),
        _event(
            p.HousingPlanActionCompleted(action_id="ACT-1", completed_on=date(2020, 10, 10)),
            SECOND,
            date(2020, 10, 10),
        ),
        _event(
            p.ProbationPlanActionCompleted(action_id="ACT-3", completed_on=date(2020, 9, 15)),
            SECOND,
            date(2020, 9, 15),
        ),
        _event(
            p.ProbationPlanActionRedated(
                action_id="ACT-3",
                redated_on=date(2020, 9, 20),
                due_on=date(2020, 10, 15),
                reason=p.RedateReason.PLAN_REVIEWED,
            ),
            SECOND,
            date(2020, 9, 20),
        ),
    ]


def expected() -> PlanFigures:
    """Kent 2020-21's plan figures, worked out by hand (see the module's table)."""
    none = dict.fromkeys(p.ClosureReason, 0)
    return PlanFigures(
        area=Area.KENT,
        year_start=YEAR,
        agencies=(
            AgencyPlanFigures(
                agency=Agency.POLICE,
                owned=1,
                completed_on_time=0,
                completed_late=0,
                median_days_late=None,
                closed_not_completed=none | {p.ClosureReason.PERSON_IN_CUSTODY: 1},
                open=0,
                redated=0,
            ),
            AgencyPlanFigures(
                agency=Agency.PROBATION,
                owned=1,
                completed_on_time=1,
                completed_late=0,
                median_days_late=None,
                closed_not_completed=none,
                open=0,
                redated=0,
            ),
            AgencyPlanFigures(
                agency=Agency.HOUSING,
                owned=4,
                completed_on_time=1,
                completed_late=2,
                median_days_late=7.5,
                closed_not_completed=none,
                open=1,
                redated=1,
            ),
        ),
    )
