"""The plan figures the simulator intended, computed from its model of each person's actions.

Not from the events: `reporting.plan_actions` folds the events into each action's facts, this
reads them from the people (`Person.actions`, what the simulator meant to happen by the end of
the year), and both hand them to `reporting.plan_figures.figures_from_actions`, so the figures
agree only when the events say what was meant.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from mappa_bus.catalogue.areas import Area
from mappa_bus.reporting.plan_figures import ActionFacts, PlanFigures, figures_from_actions
from mappa_bus.simulator.person import Person, Step, area_at


def action_facts(person: Person) -> list[ActionFacts]:
    """The facts of each action agreed at `person`'s meetings, in the area that agreed it."""
    return [
        ActionFacts(
            case_id=person.case_id,
            action_id=action.action_id,
            area=area_at(person, (action.agreed_on, Step.ACTION_AGREED)),
            owner=action.owner,
            agreed_on=action.agreed_on,
            due_on=action.due_in_force,
            completed_on=action.completed_on,
            closure_reason=action.closure_reason,
            redated=bool(action.redatings),
        )
        for action in person.actions
    ]


def people_facts(people: Iterable[Person]) -> list[ActionFacts]:
    """The facts of every action of `people`."""
    return [facts for person in people for facts in action_facts(person)]


def plan_figures(facts: Iterable[ActionFacts]) -> list[PlanFigures]:
    """The figures of every area-year an action was agreed in, by area then year."""
    grouped: dict[tuple[Area, date], list[ActionFacts]] = defaultdict(list)
    for action in facts:
        grouped[(action.area, action.year_start)].append(action)
    order = {area: index for index, area in enumerate(Area)}
    return [
        figures_from_actions(grouped[key], *key)
        for key in sorted(grouped, key=lambda key: (order[key[0]], key[1]))
    ]
