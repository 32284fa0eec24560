"""What the plan figures need of each plan event, and the fold of a plan action's events into
its facts (`plan_figures.ActionFacts`). Pure: no I/O.

Each plan event becomes a small `PlanStep`, kept with the others of its action (keyed by case id
and action id) in the order the case picture folds a case's events: by `time`, the event id
breaking ties. The facts are folded from an action's steps whenever asked, so they are the same
whatever order the steps reached the bus in (the agreement and the outcomes sit on different
agency topics, which Kafka does not order with each other):

- the agreement makes the action (a second agreement of the same action id changes nothing);
- until it is known, the outcomes are kept and count nowhere; once it is known, they apply in
  order, so an outcome that arrived first is applied when the agreement arrives;
- an outcome counts only from the action's owner (the publisher of its event) and only while
  the action is open: the first completion or closure ends it, and a re-dating of an ended
  action changes nothing. An outcome from another agency is refused, as if never sent;
- the due date in force is the agreed one, or the last re-dating's applied before the end;
- a step its agency withdrew (`withdrawn_step`) is taken out, as if never sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, Envelope, EventData, Rejection, WireError
from mappa_bus.catalogue.plans import (
    ActionAgreed,
    ActionClosed,
    ActionCompleted,
    ActionRedated,
    ClosureReason,
)
from mappa_bus.catalogue.withdrawal import EventWithdrawn
from mappa_bus.reporting.plan_figures import ActionFacts, Figure


class StepKind(StrEnum):
    """What a plan event says of its action."""

    AGREED = "agreed"
    COMPLETED = "completed"
    CLOSED = "closed"
    REDATED = "redated"


@dataclass(frozen=True)
class PlanStep:
    """One plan event as the figures see it.

    `on` is the event's own date (agreed, completed, closed or re-dated on); `owner` is set on
    an agreement; `due_on` on an agreement (the agreed due date) and a re-dating (the new one);
    `reason` on a closure (the `ClosureReason`) and a re-dating (the `RedateReason`)."""

    time: datetime
    event_id: str
    kind: StepKind
    publisher: Agency
    area: Area
    on: date
    owner: Agency | None = None
    due_on: date | None = None
    reason: str | None = None

    @property
    def order(self) -> tuple[datetime, str]:
        """Where the step sits among its action's (as the case picture orders events)."""
        return self.time, self.event_id


ActionKey = tuple[str, str]  # (case id, action id)
ActionSteps = tuple[PlanStep, ...]  # in `PlanStep.order`, each event id once
CasePlans = dict[str, ActionSteps]  # one case's actions' steps, by action id


# The plan events: each is a step of its action.
STEP_EVENTS = (ActionAgreed, ActionCompleted, ActionClosed, ActionRedated)


def step_of(event: Envelope[EventData]) -> tuple[ActionKey, PlanStep] | None:
    """The action an event is about and its step; None when it is no plan event."""
    data = event.data
    owner: Agency | None = None
    due_on: date | None = None
    reason: str | None = None
    match data:
        case ActionAgreed():
            kind, on, owner, due_on = StepKind.AGREED, data.agreed_on, data.owner, data.due_on
        case ActionCompleted():
            kind, on = StepKind.COMPLETED, data.completed_on
        case ActionClosed():
            kind, on, reason = StepKind.CLOSED, data.closed_on, data.reason.value
        case ActionRedated():
            kind, on, due_on = StepKind.REDATED, data.redated_on, data.due_on
            reason = data.reason.value
        case _:
            return None
    step = PlanStep(
        event.time, event.id, kind, event.publisher, event.mappaarea, on, owner, due_on, reason
    )
    return (event.case_id, data.action_id), step


def insert_step(steps: ActionSteps, step: PlanStep) -> ActionSteps:
    """The action's steps with `step` in its place; the same tuple if its event id is known."""
    if any(known.event_id == step.event_id for known in steps):
        return steps
    return tuple(sorted((*steps, step), key=lambda known: known.order))


def facts_of(key: ActionKey, steps: ActionSteps) -> ActionFacts | None:
    """The action's facts from its steps (see the module's rules); None until it is agreed."""
    agreements = [step for step in steps if step.kind is StepKind.AGREED]
    if not agreements:
        return None
    agreed = agreements[0]
    # An agreement always has both (`step_of`).
    assert agreed.owner is not None
    assert agreed.due_on is not None
    facts = ActionFacts(
        case_id=key[0],
        action_id=key[1],
        area=agreed.area,
        owner=agreed.owner,
        agreed_on=agreed.on,
        due_on=agreed.due_on,
    )
    for step in steps:
        if step.publisher is not facts.owner or not facts.counts_in(Figure.OPEN):
            continue  # another agency's outcome (refused), or the action has ended
        facts = _outcome(facts, step)
    return facts


def _outcome(facts: ActionFacts, step: PlanStep) -> ActionFacts:
    match step.kind:
        case StepKind.COMPLETED:
            return replace(facts, completed_on=step.on)
        case StepKind.CLOSED:
            assert step.reason is not None  # a closure has its reason
            return replace(facts, closure_reason=ClosureReason(step.reason))
        case StepKind.REDATED:
            assert step.due_on is not None  # a re-dating has its new due date
            return replace(facts, due_on=step.due_on, redated=True)
        case StepKind.AGREED:
            return facts  # a second agreement of the same action changes nothing


def action_facts(actions: Mapping[ActionKey, ActionSteps]) -> list[ActionFacts]:
    """The facts of every agreed action (those not yet agreed are left out)."""
    folded = (facts_of(key, steps) for key, steps in actions.items())
    return [facts for facts in folded if facts is not None]


def fold_steps(
    actions: Mapping[ActionKey, ActionSteps], events: Iterable[Envelope[EventData]]
) -> dict[ActionKey, ActionSteps]:
    """`actions` with every plan event of `events` in its action's steps (a new mapping)."""
    result = dict(actions)
    for event in events:
        planned = step_of(event)
        if planned is not None:
            key, step = planned
            result[key] = insert_step(result.get(key, ()), step)
    return result


def withdrawn_step(
    case_id: str, actions: Mapping[str, ActionSteps], withdrawal: EventWithdrawn
) -> tuple[ActionKey, ActionSteps] | WireError | None:
    """What `withdrawal` (of case `case_id`) does to the plan steps, given the case's actions
    by action id: the action it names a step of, with that step taken out; the refusal of a
    withdrawal of another agency's step; or None when it names no plan step. Only the case's
    own actions are looked through (a handful): the store reads them by case, which is the
    index; one by event id would grow with the history."""
    target = withdrawal.withdrawn_event_id
    for action_id, steps in actions.items():
        step = next((known for known in steps if known.event_id == target), None)
        if step is None:
            continue
        if step.publisher is not withdrawal.PUBLISHER:
            return WireError(
                Rejection.NOT_OWN_EVENT,
                "data.withdrawn_event_id",
                f"an event of {step.publisher.value}: only its publisher may withdraw it",
            )
        return (case_id, action_id), tuple(known for known in steps if known.event_id != target)
    return None
