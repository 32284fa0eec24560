"""Each role's view of a case picture, as the need-to-know table (`mappa_bus.access.policy`)
decides it.

Pure functions of a picture and a role. Every field of a view obeys the table: a section the
role may not see is None and named in `withheld`; so are the core fields the `status` and
`agencies` groups guard; the timeline holds only entries of visible sections, and
`last_recorded_at` is the latest of those, so the time of a hidden event never shows. A role
that sees only its own agency's plan actions (`OWN_ACTIONS_ONLY`) sees those actions, and of the
plan's timeline entries only those about them (or that its agency published).
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from mappa_bus.access.areas import areas_reading
from mappa_bus.access.policy import (
    OWN_ACTIONS_ONLY,
    SECTIONS,
    STATUS_FIELDS,
    FieldGroup,
    ViewerRole,
    case_groups,
    event_group,
    visible_agencies,
)
from mappa_bus.agencies import Agency
from mappa_bus.case.fold import as_known_at, shared_by
from mappa_bus.case.model import (
    CasePicture,
    Custody,
    Hospital,
    Housing,
    Management,
    ManagementEnded,
    Partners,
    Plan,
    PlanAction,
    Registration,
    Risk,
    Safeguarding,
    Status,
    TimelineEntry,
    Victims,
)
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.probation import LeadAgency
from mappa_bus.catalogue.vocabulary import Level


class _View(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseSummary(_View):
    """The core of a case as one role may see it: what any case reader needs to know whom to
    call, and the status and agencies where the role may see them (else None and empty)."""

    case_id: str
    merged_case_ids: tuple[str, ...] = ()
    """Other ids of the same person, merged into this one by the MAPPA unit: their events are
    in this view too."""
    area: Area | None = None
    level: Level | None = None
    status: Status | None = None
    status_since: date | None = None
    lead_agency: LeadAgency | None = None
    lead_reference: str | None = None
    next_review_on: date | None = None
    management_ended: ManagementEnded | None = None
    agencies_involved: tuple[Agency, ...] = ()
    last_recorded_at: datetime | None = None
    erased_on: date | None = None


class CaseView(CaseSummary):
    """A case as one role may see it. A section is None either because no event filled it or
    because it is withheld; `withheld` says which, so absence is never ambiguous."""

    role: ViewerRole
    withheld: tuple[FieldGroup, ...]
    """The groups (sections, their timeline entries, and guarded core fields) this role may
    not see, in table order."""
    management: Management | None = None
    custody: Custody | None = None
    registration: Registration | None = None
    hospital: Hospital | None = None
    housing: Housing | None = None
    safeguarding: Safeguarding | None = None
    victims: Victims | None = None
    partners: Partners | None = None
    risk: Risk | None = None
    plan: Plan | None = None
    own_actions_only: bool = False
    """True when `plan` holds only the role's own agency's actions."""
    timeline: tuple[TimelineEntry, ...] = ()


class CasePlan(_View):
    """A case's risk management plan as one role may see it: the risk assessments and the
    actions (for a Duty to Co-operate agency, its own actions only)."""

    case_id: str
    area: Area | None = None
    level: Level | None = None
    role: ViewerRole
    withheld: tuple[FieldGroup, ...]
    """Of `risk` and `plan`, the groups this role may not see."""
    own_actions_only: bool
    risk: Risk | None = None
    plan: Plan | None = None


class OverdueAction(_View):
    """An open plan action past its due date in force."""

    case_id: str
    area: Area | None
    action: PlanAction
    days_overdue: int
    """Whole days since the due date in force (1 the day after it)."""


class CaseAsKnownAt(_View):
    """A case as the bus knew it at `at`, and what each agency had shared of it by then."""

    at: datetime
    view: CaseView
    shared_by: dict[Agency, tuple[TimelineEntry, ...]]
    """Per agency, its entries recorded by `at` of the sections this role may see (an agency
    with none of those is left out)."""


def entry_group(entry: TimelineEntry) -> FieldGroup | None:
    """The section an entry belongs to; None for a type the catalogue does not know."""
    return event_group(entry.type)


def visible_entries(
    entries: tuple[TimelineEntry, ...], groups: frozenset[FieldGroup]
) -> tuple[TimelineEntry, ...]:
    """The entries of `groups`. An entry of an unknown type is withheld: fail closed."""
    return tuple(entry for entry in entries if entry_group(entry) in groups)


def role_entries(
    picture: CasePicture, entries: tuple[TimelineEntry, ...], role: ViewerRole
) -> tuple[TimelineEntry, ...]:
    """The entries of `entries` (of `picture`) that `role` may see: those of its sections, and
    of the plan only those about its own agency's actions where the plan is its own only."""
    visible = visible_entries(entries, case_groups(role))
    agency = OWN_ACTIONS_ONLY.get(role)
    if agency is None:
        return visible
    own = _own_action_ids(picture.plan, agency)
    return tuple(
        entry
        for entry in visible
        if entry_group(entry) is not FieldGroup.PLAN
        or entry.agency is agency
        or entry.data.get("action_id") in own
    )


def plan_for(plan: Plan | None, role: ViewerRole) -> Plan | None:
    """`plan` as `role` may see it (assuming it sees the plan group): whole, or its agency's
    own actions and its own outcomes waiting for their agreement."""
    agency = OWN_ACTIONS_ONLY.get(role)
    if plan is None or agency is None:
        return plan
    return Plan(
        actions=tuple(action for action in plan.actions if action.owner is agency),
        pending=tuple(outcome for outcome in plan.pending if outcome.agency is agency),
    )


def _own_action_ids(plan: Plan | None, agency: Agency) -> frozenset[str]:
    if plan is None:
        return frozenset()
    return frozenset(action.action_id for action in plan.actions if action.owner is agency)


def case_areas(picture: CasePicture) -> frozenset[Area]:
    """The areas whose readers may read `picture` (`access.areas`' rule)."""
    transfers = () if picture.management is None else picture.management.transfers
    return areas_reading(
        picture.area,
        ((t.from_area, t.to_area, t.accepted_on is not None) for t in transfers),
    )


def _core(
    picture: CasePicture, groups: frozenset[FieldGroup], visible: tuple[TimelineEntry, ...]
) -> dict[str, object]:
    core: dict[str, object] = {name: getattr(picture, name) for name in CaseSummary.model_fields}
    if FieldGroup.STATUS not in groups:
        core.update(dict.fromkeys(STATUS_FIELDS))
    core["agencies_involved"] = visible_agencies(picture.agencies_involved, groups)
    core["last_recorded_at"] = max((entry.recorded_at for entry in visible), default=None)
    return core


def summary_of(picture: CasePicture, role: ViewerRole) -> CaseSummary:
    """The core of `picture` as `role` may see it."""
    groups = case_groups(role)
    visible = role_entries(picture, picture.timeline, role)
    return CaseSummary.model_validate(_core(picture, groups, visible))


def view_of(picture: CasePicture, role: ViewerRole) -> CaseView:
    """`picture` as `role` may see it; `NotEntitledError` for a role that may not read cases."""
    groups = case_groups(role)
    visible = role_entries(picture, picture.timeline, role)
    sections = {group.value: getattr(picture, group.value) for group in SECTIONS if group in groups}
    if FieldGroup.PLAN in groups:
        sections["plan"] = plan_for(picture.plan, role)
    return CaseView.model_validate(
        {
            **_core(picture, groups, visible),
            **sections,
            "own_actions_only": role in OWN_ACTIONS_ONLY and FieldGroup.PLAN in groups,
            "role": role,
            "withheld": tuple(group for group in FieldGroup if group not in groups),
            "timeline": visible,
        }
    )


def known_then(picture: CasePicture, at: datetime, role: ViewerRole) -> CasePicture | None:
    """The picture as `role` may learn the bus knew it at `at`; None when no event `role` may
    see had reached the bus by then, exactly as for a case with no event at all. An event its
    agency withdrew after `at` is in it, its entry marked (`TimelineEntry.withdrawn`).

    The answer is the picture as known when the latest event visible to `role` was recorded, not
    at `at` itself: between two visible events every `at` gives the same answer, so asking at
    successive moments reveals nothing of when a hidden event arrived."""
    # Events withdrawn since count too: as known then, they were there (marked withdrawn).
    entries = (*picture.timeline, *picture.withdrawn)
    seen = [
        entry.recorded_at
        for entry in role_entries(picture, entries, role)
        if entry.recorded_at <= at
    ]
    return as_known_at(picture, max(seen)) if seen else None


def as_known_at_view(past: CasePicture, role: ViewerRole, at: datetime) -> CaseAsKnownAt:
    """`past` (from `known_then`) as `role` may see it, with what each agency had shared."""
    shared = {
        agency: visible
        for agency, entries in shared_by(past).items()
        if (visible := role_entries(past, entries, role))
    }
    return CaseAsKnownAt(at=at, view=view_of(past, role), shared_by=shared)


def plan_of(picture: CasePicture, role: ViewerRole) -> CasePlan:
    """The risk and plan of `picture` as `role` may see them."""
    view = view_of(picture, role)
    return CasePlan(
        case_id=view.case_id,
        area=view.area,
        level=view.level,
        role=role,
        withheld=tuple(g for g in view.withheld if g in (FieldGroup.RISK, FieldGroup.PLAN)),
        own_actions_only=view.own_actions_only,
        risk=view.risk,
        plan=view.plan,
    )


def overdue_of(
    picture: CasePicture, role: ViewerRole, today: date, owner: Agency | None = None
) -> tuple[OverdueAction, ...]:
    """The open actions of `picture` past due on `today` that `role` may see (of `owner`'s
    only, when given), in due-date order."""
    if FieldGroup.PLAN not in case_groups(role):
        return ()
    plan = plan_for(picture.plan, role)
    if plan is None:
        return ()
    actions = sorted(plan.overdue(today), key=lambda action: (action.due_on, action.action_id))
    return tuple(
        OverdueAction(
            case_id=picture.case_id,
            area=picture.area,
            action=action,
            days_overdue=(today - action.due_on).days,
        )
        for action in actions
        if owner is None or action.owner is owner
    )
