"""The risk and plan sections of the case picture, folded from the plan events. Pure: no I/O.

An agreement adds an action (a second agreement of the same id changes nothing). Only the
action's owner may complete, close or re-date it, and only while it is open. The agency topics
are not ordered with one another, so an outcome may be folded before its agreement: it is kept
(`Plan.pending`) and applied, owner-checked, when the agreement is folded. An outcome of a known
action from another agency is refused before it reaches the fold (`refusal`): the shells
dead-letter it as `not-owner`; the fold ignores it too, so a picture never depends on whether a
shell asked.
"""

from __future__ import annotations

from mappa_bus.agencies import Agency
from mappa_bus.case.copies import replaced
from mappa_bus.case.model import (
    ActionStatus,
    CasePicture,
    OutcomeKind,
    PendingOutcome,
    Plan,
    PlanAction,
    Redate,
    Risk,
    RiskAssessmentRecord,
)
from mappa_bus.catalogue import Envelope, EventData
from mappa_bus.catalogue.plans import (
    ActionAgreed,
    ActionClosed,
    ActionCompleted,
    ActionRedated,
    RiskAssessment,
)

Outcome = ActionCompleted | ActionClosed | ActionRedated
"""What an action's owner may say of it."""

# Copies made by `replaced`, not `model_copy`: risk assessments are among the commonest events.

# The agencies in their order, listed once: iterating the enum makes a generator over its names
# each time, which the fold of every assessment paid (4% of the alerts' catch-up).
_AGENCIES = tuple(Agency)


def assessed(picture: CasePicture, data: RiskAssessment, agency: Agency) -> CasePicture:
    """`picture` with `agency`'s assessment in the risk section, when it is its latest (the
    later-folded of two made on one day)."""
    risk = picture.risk or Risk()
    record = RiskAssessmentRecord(
        agency=agency,
        tool=data.tool,
        overall=data.overall,
        assessed_on=data.assessed_on,
        next_review_due=data.next_review_due,
    )
    kept = {r.agency: r for r in risk.assessments}
    earlier = kept.get(agency)
    if earlier is not None and earlier.assessed_on > record.assessed_on:
        # An older assessment shared late: the agency's view of the risk is still the newer one.
        return picture
    kept[agency] = record
    ordered = tuple(kept[a] for a in _AGENCIES if a in kept)
    return replaced(picture, {"risk": Risk(assessments=ordered)})


def agreed(picture: CasePicture, data: ActionAgreed, agency: Agency) -> CasePicture:
    """`picture` with the action `agency` published the agreement of, and the outcomes of it
    kept until now applied in their order; a second agreement of one id changes nothing."""
    plan = picture.plan or Plan()
    if plan.action(data.action_id) is not None:
        return picture
    action = PlanAction(
        action_id=data.action_id,
        owner=data.owner,
        kind=data.kind,
        agreed_by=agency,
        meeting_reference=data.meeting_reference,
        agreed_on=data.agreed_on,
        due_on=data.due_on,
        original_due_on=data.due_on,
    )
    waiting = [p for p in plan.pending if p.action_id == data.action_id]
    for pending in waiting:
        # Owner-checked now: another agency's, not refused on arrival, is simply not applied.
        if pending.agency is action.owner:
            action = _settled(action, pending)
    rest = tuple(p for p in plan.pending if p.action_id != data.action_id)
    plan = Plan(actions=(*plan.actions, action), pending=rest)
    return replaced(picture, {"plan": plan})


def outcome(picture: CasePicture, data: Outcome, agency: Agency) -> CasePicture:
    """`picture` with what `agency` said of an action: applied when it owns the open action,
    kept when the action is not agreed yet, else ignored."""
    plan = picture.plan or Plan()
    said = _pending(data, agency)
    action = plan.action(data.action_id)
    if action is None:
        plan = Plan(actions=plan.actions, pending=(*plan.pending, said))
        return replaced(picture, {"plan": plan})
    if action.owner is not agency:
        return picture
    settled = _settled(action, said)
    if settled is action:
        return picture
    actions = tuple(settled if a is action else a for a in plan.actions)
    return replaced(picture, {"plan": Plan(actions=actions, pending=plan.pending)})


def refusal(picture: CasePicture | None, event: Envelope[EventData]) -> str | None:
    """Why `event` must be refused (dead-lettered as `not-owner`) before it reaches `picture`,
    or None: an outcome of a known action published by an agency that does not own it. The
    reason names the action and its owner, nothing of the person."""
    data = event.data
    if not isinstance(data, ActionCompleted | ActionClosed | ActionRedated):
        return None
    plan = None if picture is None else picture.plan
    action = None if plan is None else plan.action(data.action_id)
    if action is None or action.owner is event.publisher:
        return None
    return (
        f"plan action {data.action_id} is owned by {action.owner.value}, "
        f"not {event.publisher.value}"
    )


def _pending(data: Outcome, agency: Agency) -> PendingOutcome:
    if isinstance(data, ActionCompleted):
        return PendingOutcome(
            action_id=data.action_id,
            agency=agency,
            kind=OutcomeKind.COMPLETED,
            on=data.completed_on,
        )
    if isinstance(data, ActionClosed):
        return PendingOutcome(
            action_id=data.action_id,
            agency=agency,
            kind=OutcomeKind.CLOSED,
            on=data.closed_on,
            closure_reason=data.reason,
        )
    return PendingOutcome(
        action_id=data.action_id,
        agency=agency,
        kind=OutcomeKind.REDATED,
        on=data.redated_on,
        due_on=data.due_on,
        redate_reason=data.reason,
    )


def _settled(action: PlanAction, said: PendingOutcome) -> PlanAction:
    """`action` with its owner's `said` applied; unchanged once it is no longer open (a done
    action is neither re-dated nor done again)."""
    if action.status is not ActionStatus.OPEN:
        return action
    match said.kind:
        case OutcomeKind.COMPLETED:
            update: dict[str, object] = {"status": ActionStatus.COMPLETED, "completed_on": said.on}
        case OutcomeKind.CLOSED:
            update = {
                "status": ActionStatus.CLOSED,
                "closed_on": said.on,
                "closure_reason": said.closure_reason,
            }
        case OutcomeKind.REDATED:
            if said.due_on is None or said.redate_reason is None:
                return action  # not made by `_pending`: a re-dating always has both
            redate = Redate(redated_on=said.on, due_on=said.due_on, reason=said.redate_reason)
            update = {"due_on": said.due_on, "redates": (*action.redates, redate)}
    return replaced(action, update)
