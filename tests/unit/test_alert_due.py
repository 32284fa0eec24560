"""`first_due`: the day the clock must next read a case, kept beside its picture so that the
clock reads only the cases due (issue 17). Checked against the calendar it stands for: before
that day the calendar finds nothing new of the case, on that day it does."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mappa_bus.alerts.model import alert_id
from mappa_bus.alerts.rules import LEVEL_THREE_INTERVAL, calendar, first_due
from mappa_bus.case.model import ActionStatus, CasePicture
from mappa_bus.catalogue import Level
from tests.unit.test_alert_rules import _case, _on
from tests.unit.test_plan_alert_rules import _action, _planned

SHORT = timedelta(weeks=4)


def _found(picture: CasePicture, day: date, interval: timedelta) -> set[str]:
    return {alert_id(f.data.rule, f.trigger) for f in calendar(picture, day, interval)}


def _level(level: Level | None) -> CasePicture:
    picture = _case(level)
    assert picture is not None
    return picture


CASES = {
    "level 1, nothing planned": _level(Level.ONE),
    "level 2, a review": _level(Level.TWO),
    "level 3, a review and the interval": _level(Level.THREE),
    "level 1, two open actions": _planned(
        Level.ONE, _action(due_on=_on(40)), _action(action_id="ACT-002", due_on=_on(70))
    ),
    "level 3, an action and a closed one": _planned(
        Level.THREE,
        _action(due_on=_on(20)),
        _action(action_id="ACT-002", due_on=_on(5), status=ActionStatus.CLOSED),
    ),
    "management ended": _planned(Level.THREE, _action(due_on=_on(40)), ended=True),
    "no level": _level(None),
}


@pytest.mark.parametrize("interval", [LEVEL_THREE_INTERVAL, SHORT], ids=["12 weeks", "4 weeks"])
@pytest.mark.parametrize("name", list(CASES))
def test_the_calendar_finds_something_new_first_on_the_due_day(
    name: str, interval: timedelta
) -> None:
    """From any day on, the calendar finds nothing it did not find that day until the due day
    after it, and something new on it; None: nothing new on any day of the next two years."""
    picture = CASES[name]
    days = [_on(0) + timedelta(days=n) for n in range(0, 730)]
    for after in [None, *days[::37]]:
        due = first_due(picture, interval, after=after)
        start = days[0] if after is None else after
        seen = set() if after is None else _found(picture, after, interval)
        later = [day for day in days if day > start or after is None]
        news = [day for day in later if _found(picture, day, interval) - seen]
        assert (news[0] if news else None) == due, (name, after)


def test_each_rule_counts_towards_the_due_day() -> None:
    """The review date, the level 3 interval and an action's due date each give a day, the
    earliest first; a case with none is never due."""
    level_two, level_three = CASES["level 2, a review"], CASES["level 3, a review and the interval"]
    planned = CASES["level 1, two open actions"]

    assert first_due(level_two) == _on(91 + 1)  # reviewed 90 days after the day-1 level set
    assert first_due(level_three, SHORT) == _on(1) + SHORT + timedelta(days=1)
    assert first_due(planned) == _on(41)
    assert first_due(planned, after=_on(41)) == _on(71)
    assert first_due(planned, after=_on(71)) is None
    assert first_due(CASES["management ended"]) is None
    assert first_due(CASES["no level"]) is None
