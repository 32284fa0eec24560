"""Where the reporting consumer keeps the plan actions' steps, beside its cases and offsets and
in the same transaction: one row a step, keyed by case, action and event, so that a batch reads
the steps of the cases it touches and nothing else (issue 17: state in the store, not in
memory), and a withdrawal or erasure deletes rows rather than rewriting them.

Steps, not figures: an action's facts depend on steps that may still arrive (an outcome before
its agreement, a re-dating before a completion), so the figures are folded from the steps when
read (`plan_actions.facts_of`), and a rebuild, which writes the same steps again from the
record, gives the same figures."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import and_, delete, or_, select
from sqlalchemy.engine import Connection

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area
from mappa_bus.projection.database import delete_in, insert_missing, insert_rows, rows_among
from mappa_bus.reporting.plan_actions import (
    ActionKey,
    ActionSteps,
    CasePlans,
    PlanStep,
    StepKind,
    insert_step,
)
from mappa_bus.reporting.schema import action_steps_table, plan_steps_table, withdrawn_table


def _step_text(step: PlanStep) -> str:
    return orjson.dumps(
        [
            step.time.isoformat(),
            step.kind.value,
            step.publisher.value,
            step.area.value,
            step.on.isoformat(),
            step.owner.value if step.owner else None,
            step.due_on.isoformat() if step.due_on else None,
            step.reason,
        ]
    ).decode()


def _step(event_id: str, fields: list[Any]) -> PlanStep:
    time, kind, publisher, area, on, owner, due_on, reason = fields
    return PlanStep(
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


def _rows(added: Sequence[tuple[ActionKey, PlanStep]]) -> list[dict[str, str]]:
    return [
        {"case_id": case_id, "action_id": action_id, "event_id": s.event_id, "step": _step_text(s)}
        for (case_id, action_id), s in added
    ]


def plans_of(connection: Connection, case_ids: Collection[str]) -> dict[str, CasePlans]:
    """The actions' steps of each of `case_ids` (empty for a case with none): a batch's cases
    in one query, or one a page when they are many."""
    found: dict[str, CasePlans] = {case_id: {} for case_id in case_ids}
    columns = ("case_id", "action_id", "event_id", "step")
    for case_id, action_id, event_id, text in rows_among(
        connection, action_steps_table, columns, "case_id", found
    ):
        actions = found[case_id]
        step = _step(event_id, orjson.loads(text))
        actions[action_id] = insert_step(actions.get(action_id, ()), step)
    return found


def load_plan_steps(connection: Connection) -> dict[ActionKey, ActionSteps]:
    """Every action's steps as stored: in order, each event id once, none its agency withdrew
    (reports and tests; the consumer reads a batch's cases with `plans_of`)."""
    actions: dict[ActionKey, ActionSteps] = {}
    table = action_steps_table
    query = select(table.c.case_id, table.c.action_id, table.c.event_id, table.c.step)
    for case_id, action_id, event_id, text in connection.execute(query):
        key = (case_id, action_id)
        actions[key] = insert_step(actions.get(key, ()), _step(event_id, orjson.loads(text)))
    return actions


def withdraw_steps(connection: Connection, withdrawn: Sequence[tuple[str, str, str]]) -> None:
    """Take out plan steps withdrawn by their agency, as (case id, event id, reason), and record
    why (inside the caller's transaction)."""
    if withdrawn:
        table = action_steps_table
        named = [and_(table.c.case_id == case, table.c.event_id == e) for case, e, _ in withdrawn]
        connection.execute(delete(table).where(or_(*named)))
        rows = [
            {"event_id": event_id, "case_id": case_id, "reason": reason}
            for case_id, event_id, reason in withdrawn
        ]
        insert_rows(connection, withdrawn_table, rows)


def append_plan_steps(connection: Connection, added: Sequence[tuple[ActionKey, PlanStep]]) -> None:
    """Store steps new to their actions (inside the caller's transaction)."""
    if added:
        insert_rows(connection, action_steps_table, _rows(added))


def delete_case_steps(connection: Connection, case_ids: Collection[str]) -> None:
    """Delete every step of these cases (inside the caller's transaction): an erasure."""
    delete_in(connection, action_steps_table, action_steps_table.c.case_id, case_ids)


def upgrade_plan_steps(connection: Connection) -> None:
    """Move the steps a store written before kept (one row a batch) into one row a step, those
    withdrawn left out, and empty the old table (inside the caller's transaction; nothing to do
    when done). Another member of the group may be doing the same: rows already there stay."""
    query = select(plan_steps_table.c.steps).order_by(plan_steps_table.c.batch)
    texts = connection.scalars(query).all()
    if not texts:
        return
    withdrawn = set(connection.scalars(select(withdrawn_table.c.event_id)))
    for text in texts:
        added = []
        for case_id, action_id, time, event_id, *fields in orjson.loads(text):
            if event_id not in withdrawn:
                added.append(((case_id, action_id), _step(event_id, [time, *fields])))
        insert_missing(connection, action_steps_table, _rows(added))
    connection.execute(delete(plan_steps_table))


def clear_plan_steps(connection: Connection) -> None:
    """Forget every step (inside the caller's transaction): the start of a rebuild."""
    connection.execute(delete(action_steps_table))
    connection.execute(delete(plan_steps_table))
