"""The coordinator alert rules: one table (`RULES`), each rule a pure function of a case's
picture before and after an event, and of the event itself. `overdue_review` is the one rule
driven by the calendar rather than by an event.

Every rule names the picture sections its summary draws on (`draws_on`) and reads nothing else
but the core (level, status, area, review date); a test holds every role of its audience
against the need-to-know table, so a summary says nothing a reader of it may not see. Summaries
carry no names (the bus has none) and no text from events: only levels, dates, areas and the
catalogue's own words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from mappa_bus.access.policy import CASE_VIEWS, FieldGroup, ViewerRole
from mappa_bus.alerts.model import AlertData, Severity
from mappa_bus.case.model import CasePicture
from mappa_bus.catalogue import (
    AREA_NAMES,
    Area,
    Envelope,
    EventData,
    Level,
    health,
    housing,
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
    """The event id, or for a time-driven rule f"{case_id}:{date}"."""


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
)

REVIEW_OVERDUE = RuleInfo(
    name="review-overdue",
    severity=Severity.ROUTINE,
    audience=_COMMUNITY,
    draws_on=frozenset(),
    description="A level 2 or 3 case still managed under MAPPA is past its review date.",
)
"""The time-driven rule: `overdue_review` applies it."""

ALL_RULES: tuple[RuleInfo, ...] = (*RULES, REVIEW_OVERDUE)


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


def _management_over(picture: CasePicture) -> bool:
    """Whether MAPPA management ended and no level was set since (the fold never clears an end,
    so a case managed again is known by a later level)."""
    ended = picture.management_ended
    if ended is None:
        return False
    history = () if picture.management is None else picture.management.level_history
    return not any(change.on > ended.on for change in history)


def _alert(rule: RuleInfo, picture: CasePicture, area: Area, summary: str) -> AlertData:
    return AlertData(
        rule=rule.name,
        severity=rule.severity,
        audience=tuple(sorted(rule.audience)),
        case_id=picture.case_id,
        area=area,
        level=picture.level,
        category=_category(rule, picture),
        summary=summary,
    )


def _category(rule: RuleInfo, picture: CasePicture) -> Category | None:
    # A category says much of a person (1: a registered sex offender) and lives in the
    # management section: an alert carries it only when its whole audience may see that.
    if any(_G.MANAGEMENT not in CASE_VIEWS.get(role, frozenset()) for role in rule.audience):
        return None
    return None if picture.management is None else picture.management.category
