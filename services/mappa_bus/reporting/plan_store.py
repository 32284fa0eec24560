"""Where the reporting consumer keeps the plan actions' steps, beside its cases and offsets and
in the same transaction: appended, one row a batch holding the steps the batch added, and read
back action by action (each event id once, in order) however the rows fell.

Steps, not figures: an action's facts depend on steps that may still arrive (an outcome before
its agreement, a re-dating before a completion), so the figures are folded from the steps when
read (`plan_actions.facts_of`), and a rebuild, which appends the same steps again from the
record, gives the same figures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area
from mappa_bus.reporting.plan_actions import (
    ActionKey,
    ActionSteps,
    PlanStep,
    StepKind,
    insert_step,
)
from mappa_bus.reporting.schema import plan_steps_table, withdrawn_table


def _row(key: ActionKey, step: PlanStep) -> list[str | None]:
    return [
        key[0],
        key[1],
        step.time.isoformat(),
        step.event_id,
        step.kind.value,
        step.publisher.value,
        step.area.value,
        step.on.isoformat(),
        step.owner.value if step.owner else None,
        step.due_on.isoformat() if step.due_on else None,
        step.reason,
    ]


def _step(row: list[Any]) -> tuple[ActionKey, PlanStep]:
    case_id, action_id, time, event_id, kind, publisher, area, on, owner, due_on, reason = row
    step = PlanStep(
        time=datetime.fromisoformat(time),
        event_id=event_id,
        kind=StepKind(kind),
        publisher=Agency(publisher),
        area=Area(area),
        on=date.fromisoformat(on),
        owner=Agency(owner) if owner else None,
        due_on=date.fromisoformat(due_on) if due_on else None,
        reason=reason,
    )
    return (case_id, action_id), step


def load_plan_steps(connection: Connection) -> dict[ActionKey, ActionSteps]:
    """Every action's steps as stored: in order, each event id once, none its agency withdrew."""
    withdrawn = set(connection.scalars(select(withdrawn_table.c.event_id)))
    actions: dict[ActionKey, ActionSteps] = {}
    query = select(plan_steps_table.c.steps).order_by(plan_steps_table.c.batch)
    for (text,) in connection.execute(query):
        for row in orjson.loads(text):
            key, step = _step(row)
            if step.event_id not in withdrawn:
                actions[key] = insert_step(actions.get(key, ()), step)
    return actions


def withdraw_steps(connection: Connection, withdrawn: Sequence[tuple[str, str, str]]) -> None:
    """Record plan steps withdrawn by their agency, as (case id, event id, reason), inside the
    caller's transaction: left out from now on, and on every load."""
    if withdrawn:
        rows = [
            {"event_id": event_id, "case_id": case_id, "reason": reason}
            for case_id, event_id, reason in withdrawn
        ]
        connection.execute(withdrawn_table.insert(), rows)


def append_plan_steps(connection: Connection, added: Sequence[tuple[ActionKey, PlanStep]]) -> None:
    """Store steps new to their actions (inside the caller's transaction): one row for them."""
    if added:
        text = orjson.dumps([_row(key, step) for key, step in added]).decode()
        connection.execute(plan_steps_table.insert(), {"steps": text})


def clear_plan_steps(connection: Connection) -> None:
    """Forget every step (inside the caller's transaction): the start of a rebuild."""
    connection.execute(delete(plan_steps_table))
