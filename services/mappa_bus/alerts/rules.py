"""The coordinator alert rules: one table (`RULES`), each rule a pure function of a case's
picture before and after an event, and of the event itself; and the rules driven by the
calendar rather than by an event (`CALENDAR_RULES`), which `calendar` asks of a picture and a day.

Every rule names the picture sections its summary draws on (`draws_on`) and reads nothing else
but the core (level, status, area, review date); a test holds every role of its audience
against the need-to-know table, so a summary says nothing a reader of it may not see. Summaries
carry no names (the bus has none) and no text from events: only levels, dates, areas and the
catalogue's own words.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from mappa_bus.access.policy import CASE_VIEWS, OWN_ACTIONS_ONLY, FieldGroup, ViewerRole
from mappa_bus.agencies import Agency
from mappa_bus.alerts.model import AlertData, Severity
from mappa_bus.case.model import CasePicture, PlanAction
from mappa_bus.catalogue import (
    AREA_NAMES,
    Area,
    Envelope,
    EventData,
    Level,
    health,
    housing,
    plans,
    police,
    prisons,
    probation,
    victim_contact,
)
from mappa_bus.catalogue.vocabulary import Category

Check = Callable[[CasePicture | None, CasePicture, Envelope[EventData]], str | None]
"""A rule's test: the alert's summary when it fires on (before, after, event), else None."""
AreaOf = Callable[[CasePicture, Envelope[EventData]], Area | None]
"""Whose coordinator an alert goes to, from the picture after the event and the event."""

RELEASE_NOTICE = timedelta(days=28)
"""How far ahead a confirmed release date is news a coordinator must act on."""
LEVEL_THREE_INTERVAL = timedelta(weeks=8)
"""The longest a level 3 case may go without a MAPPA meeting, unless the settings say otherwise
(`MAPPA_LEVEL_THREE_REVIEW_WEEKS`)."""

_D = TypeVar("_D", bound=EventData)
_R = ViewerRole
_G = FieldGroup

# The Responsible Authority agencies run every MAPPA case with the coordinator.
_RESPONSIBLE = frozenset({_R.COORDINATOR, _R.POLICE, _R.PROBATION, _R.PRISONS})
# The coordinator and those Responsible Authority agencies that manage people in the community.
_COMMUNITY = frozenset({_R.COORDINATOR, _R.POLICE, _R.PROBATION})


@dataclass(frozen=True)
class RuleInfo:
    """What every rule declares: its name, how urgent, for whom, and what its summary reads."""

    name: str
    severity: Severity
    audience: frozenset[ViewerRole]
    draws_on: frozenset[FieldGroup]
    """The picture sections the summary is built from, besides the core every role sees."""
    description: str
    to_owner: bool = field(default=False, kw_only=True)
    """Whether each alert also goes to the role of the agency owning the plan action it is
    about (its summary then tells of that agency's own action only)."""


def _area_after(after: CasePicture, event: Envelope[EventData]) -> Area | None:
    return after.area


@dataclass(frozen=True)
class Rule(RuleInfo):
    """A rule an event can fire."""

    on: tuple[type[EventData], ...]
    """The event types it looks at; it stays silent for any other."""
    check: Check
    area: AreaOf = _area_after


@dataclass(frozen=True)
class Firing:
    """An alert a rule raised, and what triggered it (which, with the rule, makes its id)."""

    data: AlertData
    trigger: str
    """The event id, or for a time-driven rule f"{case_id}:{date}" (for an overdue plan action
    f"{case_id}:{action_id}:{due_on}")."""


# ---- what summaries say -------------------------------------------------------------------


def _payload(event: Envelope[EventData], kind: type[_D]) -> _D | None:
    data = event.data
    return data if isinstance(data, kind) else None


def _case(picture: CasePicture) -> str:
    return "Case with no level set" if picture.level is None else f"Level {picture.level:d} case"


def _level_2_or_3(picture: CasePicture) -> bool:
    return picture.level in (Level.TWO, Level.THREE)


def _release(release: str) -> str:
    return "on licence" if release == "on-licence" else "at the end of sentence"


def _notice(days: int) -> str:
    # Said from the confirmation's own date, never from "now": an alert's text is kept and read
    # long after it was raised (a replayed year, a page opened days later), so "in 14 days"
    # would be wrong on every day but the one it was written.
    return {0: "the same day", 1: "1 day ahead"}.get(days, f"{days} days ahead")


_ORDER_NAMES = {"shpo": "a SHPO", "sopo": "a SOPO", "sro": "an SRO"}
_OUTCOMES = {"caution": "cautioned", "conviction": "convicted"}


# ---- release, leave and discharge ---------------------------------------------------------


def _released(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    data = _payload(event, prisons.ReleasedFromCustody)
    if data is None or not _level_2_or_3(after):
        return None
    return f"{_case(after)} released from custody {_release(data.release)} on {data.released_on}"


def _release_soon(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    data = _payload(event, prisons.ReleaseDateConfirmed)
    if data is None or not _level_2_or_3(after):
        return None
    days = (data.release_on - event.time.date()).days
    if not 0 <= days <= RELEASE_NOTICE.days:
        return None
    return (
        f"{_case(after)}: release {_release(data.release)} confirmed on {event.time.date()} "
        f"for {data.release_on}, {_notice(days)}"
    )


def _discharged(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    data = _payload(event, health.HospitalDischarged)
    if data is None or not _level_2_or_3(after):
        return None
    return f"{_case(after)} discharged from hospital ({data.discharge}) on {data.discharged_on}"


def _unescorted_leave(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    data = _payload(event, health.UnescortedLeaveApproved)
    if data is None or not _level_2_or_3(after):
        return None
    return (
        f"{_case(after)} granted unescorted leave from hospital from {data.leave_starts_on} "
        f"(approved {data.approved_on})"
    )


# ---- licence, notification and orders -----------------------------------------------------


def _licence_breached(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    data = _payload(event, probation.LicenceBreached)
    if data is None:
        return None
    return f"{_case(after)} breached licence on {data.breached_on} ({data.breach})"


def _recalled(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    data = _payload(event, probation.RecallIssued)
    if data is None:
        return None
    return f"{_case(after)} recalled to custody on {data.issued_on} ({data.recall_type} recall)"


def _notification_breached(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    data = _payload(event, police.NotificationBreachDisposed)
    if data is None:
        return None
    return (
        f"{_case(after)} {_OUTCOMES[data.outcome]} on {data.disposed_on} "
        "for breaching the notification requirements"
    )


def _order_breached(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    match event.data:
        case police.RestrictiveOrderBreached() as data:
            charged = "charged" if data.charged else "not charged"
            order = _ORDER_NAMES[data.order]
            return f"{_case(after)} breached {order} on {data.breached_on} ({charged})"
        case police.SroBreachedNotificationImposed() as data:
            return (
                f"{_case(after)} breached an SRO on {data.breached_on}; "
                f"notification requirements from {data.notification_start}"
            )
    return None


def _order_made(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    match event.data:
        case police.ShpoMade() | police.SroMade() as data:
            return f"{_case(after)}: {_order_terms(data)}"
        case police.NotificationOrderMade() as data:
            months = data.notification_period_months
            period = "indefinitely" if months is None else f"for {months} months"
            return f"{_case(after)}: notification order made on {data.made_on}, {period}"
    return None


def _order_terms(data: police.ShpoMade | police.SroMade) -> str:
    kind = "SHPO" if isinstance(data, police.ShpoMade) else "SRO"
    terms = [f"{'interim ' if data.interim else ''}{kind} made on {data.made_on}"]
    if data.foreign_travel_restriction:
        terms.append("with a foreign travel restriction")
    if data.expires_on is not None:
        terms.append(f"until {data.expires_on}")
    return ", ".join(terms)


# ---- level and transfers ------------------------------------------------------------------


def _level_raised(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    data = _payload(event, probation.MappaLevelSet)
    was = None if before is None else before.level
    if data is None or was is None or after.level is None or after.level <= was:
        return None
    return (
        f"Case raised from level {was:d} to level {after.level:d} on {data.set_on} ({data.reason})"
    )


def _transfer(event: Envelope[EventData]) -> probation.CaseTransferAccepted | None:
    """The accepted transfer `event` is, unless it is none or moves the case nowhere."""
    data = _payload(event, probation.CaseTransferAccepted)
    if data is None or data.from_area is event.mappaarea:
        return None
    return data


def _transferred_in(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    data = _transfer(event)
    if data is None:
        return None
    return (
        f"{_case(after)} transferred in from {AREA_NAMES[data.from_area]}, "
        f"accepted on {data.accepted_on}"
    )


def _transferred_out(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    data = _transfer(event)
    if data is None:
        return None
    return (
        f"{_case(after)} transferred out to {AREA_NAMES[event.mappaarea]}, "
        f"accepted on {data.accepted_on}"
    )


def _receiving_area(after: CasePicture, event: Envelope[EventData]) -> Area | None:
    # The acceptance is published by the receiving area: the event's own area, whatever a
    # later event (folded before this one arrived) left in the picture.
    return event.mappaarea


def _sending_area(after: CasePicture, event: Envelope[EventData]) -> Area | None:
    data = _payload(event, probation.CaseTransferAccepted)
    return None if data is None else data.from_area


# ---- housing and victims ------------------------------------------------------------------


def _housing(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    if not _level_2_or_3(after):
        return None
    match event.data:
        case housing.HousingNeedRaised() as data:
            return f"{_case(after)}: housing need raised on {data.raised_on} ({data.need})"
        case housing.AccommodationLost() as data:
            return f"{_case(after)} lost accommodation on {data.lost_on} ({data.reason})"
    return None


def _victim_request(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    data = _payload(event, victim_contact.LicenceConditionRequested)
    if data is None or _granted(after, data):
        return None
    return (
        f"{_case(after)}: a victim asked on {data.requested_on} for a {data.condition} "
        "licence condition, not yet in force"
    )


def _granted(after: CasePicture, data: victim_contact.LicenceConditionRequested) -> bool:
    """Whether the picture shows `data`'s request already met by a condition in force."""
    requests = () if after.victims is None else after.victims.requests
    return any(
        request.granted
        for request in requests
        if (request.victim, request.condition, request.requested_on)
        == (data.victim, data.condition, data.requested_on)
    )


# ---- risk and plans -----------------------------------------------------------------------

_HIGH_RISK = frozenset({plans.RiskLevel.HIGH, plans.RiskLevel.VERY_HIGH})

OWNER_ROLES: Mapping[Agency, ViewerRole] = {
    **{Agency(role.value): role for role in (_R.POLICE, _R.PROBATION, _R.PRISONS)},
    **{agency: role for role, agency in OWN_ACTIONS_ONLY.items()},
}
"""The role that reads for each agency owning a plan action: the Responsible Authority's its
own, a Duty to Co-operate agency's the role that sees that agency's own actions (victim
contact's, the victim liaison officers')."""


def _high_risk_at_level_one(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    data = _payload(event, plans.RiskAssessment)
    if data is None or data.overall not in _HIGH_RISK:
        return None
    if after.level is not Level.ONE or _management_over(after):
        return None
    return (
        f"{_case(after)}: {event.publisher} assessed the risk of serious harm as "
        f"{data.overall} on {data.assessed_on} ({data.tool}); review the level"
    )


def _plan_open_at_end(
    before: CasePicture | None, after: CasePicture, event: Envelope[EventData]
) -> str | None:
    data = _payload(event, probation.MappaManagementEnded)
    if data is None or after.plan is None or not (still_open := after.plan.open_actions()):
        return None
    owners = [action.owner for action in still_open]
    by_owner = ", ".join(
        f"{agency} {owners.count(agency)}" for agency in Agency if agency in owners
    )
    actions = "1 plan action" if len(still_open) == 1 else f"{len(still_open)} plan actions"
    return (
        f"{_case(after)}: MAPPA management ended on {data.ended_on} ({data.reason}) with "
        f"{actions} still open ({by_owner})"
    )


# ---- the table ----------------------------------------------------------------------------

RULES: tuple[Rule, ...] = (
    Rule(
        name="released-from-custody",
        severity=Severity.URGENT,
        audience=_RESPONSIBLE,
        draws_on=frozenset({_G.CUSTODY}),
        description="A level 2 or 3 person was released from prison.",
        on=(prisons.ReleasedFromCustody,),
        check=_released,
    ),
    Rule(
        name="released-from-hospital",
        severity=Severity.URGENT,
        audience=_COMMUNITY | {_R.HEALTH},
        draws_on=frozenset({_G.HOSPITAL}),
        description="A level 2 or 3 person was discharged from hospital.",
        on=(health.HospitalDischarged,),
        check=_discharged,
    ),
    Rule(
        name="unescorted-leave-granted",
        severity=Severity.URGENT,
        audience=_COMMUNITY | {_R.HEALTH},
        draws_on=frozenset({_G.HOSPITAL}),
        description="A level 2 or 3 person detained in hospital was granted unescorted leave.",
        on=(health.UnescortedLeaveApproved,),
        check=_unescorted_leave,
    ),
    Rule(
        name="release-date-confirmed",
        severity=Severity.HIGH,
        audience=_RESPONSIBLE,
        draws_on=frozenset({_G.CUSTODY}),
        description=(
            f"A level 2 or 3 person's release was confirmed for within {RELEASE_NOTICE.days} "
            "days of the confirmation."
        ),
        on=(prisons.ReleaseDateConfirmed,),
        check=_release_soon,
    ),
    Rule(
        name="licence-breached",
        severity=Severity.URGENT,
        audience=_RESPONSIBLE,
        draws_on=frozenset({_G.CUSTODY}),
        description="The person breached their licence and breach action was taken.",
        on=(probation.LicenceBreached,),
        check=_licence_breached,
    ),
    Rule(
        name="recalled",
        severity=Severity.URGENT,
        audience=_RESPONSIBLE,
        draws_on=frozenset({_G.CUSTODY}),
        description="Probation recalled the person to custody.",
        on=(probation.RecallIssued,),
        check=_recalled,
    ),
    Rule(
        name="notification-breached",
        severity=Severity.URGENT,
        audience=_RESPONSIBLE,
        draws_on=frozenset({_G.REGISTRATION}),
        description="The person was cautioned or convicted for breaching notification.",
        on=(police.NotificationBreachDisposed,),
        check=_notification_breached,
    ),
    Rule(
        name="order-breached",
        severity=Severity.URGENT,
        audience=_RESPONSIBLE,
        draws_on=frozenset({_G.REGISTRATION}),
        description="The person breached a SHPO (or the SOPO it replaced) or an SRO.",
        on=(police.RestrictiveOrderBreached, police.SroBreachedNotificationImposed),
        check=_order_breached,
    ),
    Rule(
        name="order-made",
        severity=Severity.HIGH,
        audience=_RESPONSIBLE,
        draws_on=frozenset({_G.REGISTRATION}),
        description="A court made a SHPO, an SRO or a notification order.",
        on=(police.ShpoMade, police.SroMade, police.NotificationOrderMade),
        check=_order_made,
    ),
    Rule(
        name="level-raised",
        severity=Severity.HIGH,
        audience=_RESPONSIBLE,
        draws_on=frozenset({_G.MANAGEMENT}),
        description="The MAPPA level went up from the level the case had.",
        on=(probation.MappaLevelSet,),
        check=_level_raised,
    ),
    Rule(
        name="transferred-in",
        severity=Severity.HIGH,
        audience=_RESPONSIBLE,
        draws_on=frozenset({_G.MANAGEMENT}),
        description="The case moved into this area (the alert goes to the receiving area).",
        on=(probation.CaseTransferAccepted,),
        check=_transferred_in,
        area=_receiving_area,
    ),
    Rule(
        name="transferred-out",
        severity=Severity.HIGH,
        audience=_RESPONSIBLE,
        draws_on=frozenset({_G.MANAGEMENT}),
        description="The case moved out of this area (the alert goes to the sending area).",
        on=(probation.CaseTransferAccepted,),
        check=_transferred_out,
        area=_sending_area,
    ),
    Rule(
        name="housing-at-risk",
        severity=Severity.ROUTINE,
        audience=frozenset({_R.COORDINATOR, _R.PROBATION, _R.HOUSING}),
        draws_on=frozenset({_G.HOUSING}),
        description="A level 2 or 3 person has a housing need or lost their accommodation.",
        on=(housing.HousingNeedRaised, housing.AccommodationLost),
        check=_housing,
    ),
    Rule(
        name="victim-condition-requested",
        severity=Severity.ROUTINE,
        audience=frozenset({_R.COORDINATOR, _R.PROBATION, _R.VICTIM_LIAISON}),
        draws_on=frozenset({_G.VICTIMS}),
        description="A victim asked for a licence condition that is not yet in force.",
        on=(victim_contact.LicenceConditionRequested,),
        check=_victim_request,
    ),
    Rule(
        name="high-risk-at-level-one",
        severity=Severity.HIGH,
        audience=_RESPONSIBLE,
        draws_on=frozenset({_G.RISK}),
        description=(
            "An agency assessed the risk of serious harm as high or very high for a case "
            "managed at level 1: review the level."
        ),
        on=plans.RISK_ASSESSMENTS,
        check=_high_risk_at_level_one,
    ),
    Rule(
        name="plan-open-at-end",
        severity=Severity.ROUTINE,
        audience=_RESPONSIBLE,
        draws_on=frozenset({_G.MANAGEMENT, _G.PLAN}),
        description="MAPPA management ended while risk management plan actions were still open.",
        on=(probation.MappaManagementEnded,),
        check=_plan_open_at_end,
    ),
)

REVIEW_OVERDUE = RuleInfo(
    name="review-overdue",
    severity=Severity.ROUTINE,
    audience=_COMMUNITY,
    draws_on=frozenset(),
    description="A level 2 or 3 case still managed under MAPPA is past its review date.",
)
"""A time-driven rule: `overdue_review` applies it."""

LEVEL_THREE_UNMET = RuleInfo(
    name="level-three-unmet",
    severity=Severity.HIGH,
    audience=_RESPONSIBLE,
    draws_on=frozenset({_G.MANAGEMENT}),
    description=(
        "A level 3 case still managed under MAPPA has had no MAPPA meeting for longer than the "
        "level 3 review interval, counted from its last meeting or from when it reached level "
        "3, whichever is later."
    ),
)
"""A time-driven rule: `level_three_unmet` applies it."""

ACTION_OVERDUE = RuleInfo(
    name="action-overdue",
    severity=Severity.ROUTINE,
    audience=frozenset({_R.COORDINATOR}),
    draws_on=frozenset({_G.PLAN}),
    description=(
        "A risk management plan action is still open past its due date (to the coordinator and "
        "to the agency that owns it)."
    ),
    to_owner=True,
)
"""A time-driven rule: `overdue_actions` applies it."""

CALENDAR_RULES: tuple[RuleInfo, ...] = (REVIEW_OVERDUE, LEVEL_THREE_UNMET, ACTION_OVERDUE)
ALL_RULES: tuple[RuleInfo, ...] = (*RULES, *CALENDAR_RULES)


# ---- raising alerts -----------------------------------------------------------------------


def evaluate(
    before: CasePicture | None,
    after: CasePicture,
    event: Envelope[EventData],
    recorded_at: datetime,
) -> tuple[Firing, ...]:
    """The alerts `event` (recorded on the bus at `recorded_at`) raises, in table order, given
    the case's picture `before` it and `after` it was folded in.

    A redelivered event raises the same alerts again, with the same ids (its trigger is its
    id): readers drop them as duplicates. Skipping it here instead would lose the alerts of an
    event whose picture was stored but whose alerts were never sent.
    """
    firings = (_fire(rule, before, after, event, recorded_at) for rule in RULES)
    return tuple(firing for firing in firings if firing is not None)


def _fire(
    rule: Rule,
    before: CasePicture | None,
    after: CasePicture,
    event: Envelope[EventData],
    recorded_at: datetime,
) -> Firing | None:
    if not isinstance(event.data, rule.on):
        return None
    summary = rule.check(before, after, event)
    area = rule.area(after, event)
    if summary is None or area is None:
        return None
    data = _alert(rule, after, area, summary).model_copy(
        update={
            "trigger_event_id": event.id,
            "trigger_type": event.type,
            "trigger_agency": event.publisher,
            "happened_at": event.time,
            "recorded_at": recorded_at,
        }
    )
    return Firing(data=data, trigger=event.id)


def calendar(
    picture: CasePicture, today: date, level_three_interval: timedelta = LEVEL_THREE_INTERVAL
) -> tuple[Firing, ...]:
    """The alerts of every time-driven rule for `picture` as of `today`, in table order.

    Each trigger is the case and the date that passed (with the action, for an action), so
    asking again on any later day, or after a restart, raises nothing new.
    """
    review = overdue_review(picture, today)
    unmet = level_three_unmet(picture, today, level_three_interval)
    return (
        *(() if review is None else (review,)),
        *(() if unmet is None else (unmet,)),
        *overdue_actions(picture, today),
    )


def first_due(
    picture: CasePicture,
    level_three_interval: timedelta = LEVEL_THREE_INTERVAL,
    after: date | None = None,
) -> date | None:
    """The first day (after `after`, when given) on which `calendar` finds a time-driven alert
    of `picture` it found on no day before; None: none, until the picture changes.

    The store keeps it beside the picture, so that the clock reads only the cases due rather
    than every case (issue 17). It mirrors the rules below: each alert is found from the day
    after a date passes (the review date, the end of the level 3 interval, an action's due
    date in force) for as long as the picture stays as it is, so the clock, once it has asked,
    moves the day on past `today`.
    """
    if picture.area is None or _management_over(picture):
        return None
    days: list[date] = []
    if picture.next_review_on is not None and _level_2_or_3(picture):
        days.append(picture.next_review_on + _DAY)
    if picture.level is Level.THREE:
        since, _ = _unmet_since(picture)
        if since is not None:
            # `today - since > interval` first holds on this day (whole days, as dates count).
            days.append(since + level_three_interval + _DAY)
    if picture.plan is not None:
        days.extend(action.due_on + _DAY for action in picture.plan.open_actions())
    return min((day for day in days if after is None or day > after), default=None)


_DAY = timedelta(days=1)


def overdue_review(picture: CasePicture, today: date) -> Firing | None:
    """The review-overdue alert for `picture` as of `today`, if its review date has passed.

    Its trigger is the case and the missed date, so asking again every day raises it once; a
    new review date (a meeting held, a level set) makes a new one when that passes too.
    """
    due = picture.next_review_on
    if due is None or due >= today or picture.area is None:
        return None
    if not _level_2_or_3(picture) or _management_over(picture):
        return None
    summary = f"{_case(picture)}: MAPPA review was due on {due} and none is recorded since"
    # It became overdue as the due day ended; UTC, as every time on the bus.
    overdue_from = datetime.combine(due + timedelta(days=1), time(), tzinfo=UTC)
    data = _alert(REVIEW_OVERDUE, picture, picture.area, summary).model_copy(
        update={"happened_at": overdue_from}
    )
    return Firing(data=data, trigger=f"{picture.case_id}:{due.isoformat()}")


def level_three_unmet(
    picture: CasePicture, today: date, interval: timedelta = LEVEL_THREE_INTERVAL
) -> Firing | None:
    """The level-three-unmet alert for `picture` as of `today`: a level 3 case with no meeting
    for longer than `interval` since the later of its last meeting and its reaching level 3.

    Unlike `overdue_review`, it does not read the review date a meeting or a level set gave
    (which may be months away, or pushed on by a level set with no meeting held): it counts
    from the meetings themselves. Its trigger is the case and the date counted from, so it is
    raised once per gap; a meeting held starts a new count.
    """
    if picture.level is not Level.THREE or picture.area is None or _management_over(picture):
        return None
    since, last_met = _unmet_since(picture)
    if since is None or today - since <= interval:
        return None
    what = (
        f"since the meeting of {since}"
        if since == last_met
        else f"since it reached level 3 on {since}"
    )
    summary = (
        f"{_case(picture)}: no MAPPA meeting {what}, longer than the level 3 review interval "
        f"of {_weeks(interval)}"
    )
    # It became unmet as the interval's last day ended.
    unmet_from = datetime.combine(since + interval + timedelta(days=1), time(), tzinfo=UTC)
    data = _alert(LEVEL_THREE_UNMET, picture, picture.area, summary).model_copy(
        update={"happened_at": unmet_from}
    )
    return Firing(data=data, trigger=f"{picture.case_id}:{since.isoformat()}")


def _unmet_since(picture: CasePicture) -> tuple[date | None, date | None]:
    """The day a level 3 case's count without a meeting runs from (the later of its last
    meeting and its reaching level 3), and its last meeting."""
    meetings = () if picture.management is None else picture.management.meetings
    last_met = max((meeting.held_on for meeting in meetings), default=None)
    since = max(
        (d for d in (_reached_level_three(picture), last_met) if d is not None), default=None
    )
    return since, last_met


def _reached_level_three(picture: CasePicture) -> date | None:
    """When the case's current run at level 3 began: the first of the level sets at 3 since
    it was last at another level (a review confirming level 3 is not reaching it)."""
    history = () if picture.management is None else picture.management.level_history
    reached = None
    for change in history:
        reached = (reached or change.on) if change.level is Level.THREE else None
    return reached


def _weeks(interval: timedelta) -> str:
    weeks, days = divmod(interval.days, 7)
    if days:
        return f"{interval.days} days"
    return "1 week" if weeks == 1 else f"{weeks} weeks"


def overdue_actions(picture: CasePicture, today: date) -> tuple[Firing, ...]:
    """The action-overdue alerts for `picture` as of `today`: one per open plan action whose
    due date in force has passed, while the case is managed under MAPPA (once management
    ends, `plan-open-at-end` has told which were open).

    Its trigger is the case, the action and its due date in force: asked again, or after a
    restart, it is the same alert; an action re-dated and missed again is a new one.
    """
    if picture.plan is None or picture.area is None or _management_over(picture):
        return ()
    return tuple(
        _overdue_action(picture, picture.area, action) for action in picture.plan.overdue(today)
    )


def _overdue_action(picture: CasePicture, area: Area, action: PlanAction) -> Firing:
    first_due = (
        "" if action.due_on == action.original_due_on else f" (first due {action.original_due_on})"
    )
    summary = (
        f"{_case(picture)}: {action.owner}'s {action.kind} action agreed on {action.agreed_on} "
        f"was due on {action.due_on}{first_due} and is still open"
    )
    overdue_from = datetime.combine(action.due_on + timedelta(days=1), time(), tzinfo=UTC)
    audience = ACTION_OVERDUE.audience | _owner(ACTION_OVERDUE, action.owner)
    data = _alert(ACTION_OVERDUE, picture, area, summary, audience).model_copy(
        update={"happened_at": overdue_from}
    )
    trigger = f"{picture.case_id}:{action.action_id}:{action.due_on.isoformat()}"
    return Firing(data=data, trigger=trigger)


def _owner(rule: RuleInfo, agency: Agency) -> frozenset[ViewerRole]:
    """The owning agency's role, as an audience of `rule`'s alert, unless the need-to-know
    table keeps from it what the summary draws on (then the coordinator alone hears of it)."""
    role = OWNER_ROLES[agency]
    return frozenset({role}) if rule.draws_on <= CASE_VIEWS.get(role, frozenset()) else frozenset()


def _management_over(picture: CasePicture) -> bool:
    """Whether MAPPA management ended and no level was set since (the fold never clears an end,
    so a case managed again is known by a later level)."""
    ended = picture.management_ended
    if ended is None:
        return False
    history = () if picture.management is None else picture.management.level_history
    return not any(change.on > ended.on for change in history)


def _alert(
    rule: RuleInfo,
    picture: CasePicture,
    area: Area,
    summary: str,
    audience: frozenset[ViewerRole] | None = None,
) -> AlertData:
    """The alert `rule` raises for `picture`, to `audience` (by default the rule's)."""
    roles = rule.audience if audience is None else audience
    return AlertData(
        rule=rule.name,
        severity=rule.severity,
        audience=tuple(sorted(roles)),
        case_id=picture.case_id,
        area=area,
        level=picture.level,
        category=_category(roles, picture),
        summary=summary,
    )


def _category(audience: frozenset[ViewerRole], picture: CasePicture) -> Category | None:
    # A category says much of a person (1: a registered sex offender) and lives in the
    # management section: an alert carries it only when its whole audience may see that.
    if any(_G.MANAGEMENT not in CASE_VIEWS.get(role, frozenset()) for role in audience):
        return None
    return None if picture.management is None else picture.management.category
