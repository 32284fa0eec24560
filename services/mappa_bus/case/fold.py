"""The picture of one case, folded from its events. Pure: no I/O.

`apply` adds one event, `apply_all` several (a consumer's batch of one case, sorted together).
`apply_after` folds events that follow all of a case's own into its picture without its
timeline (`Current`, what a consumer keeps of a case: issue 17), and says when it needs the
timeline after all.
A withdrawal (`case.withdrawal`) re-folds the case without the event it withdraws, which the
picture keeps aside, marked, for `as_known_at`.
The picture is the same whatever order a case's events reach the bus in: an event that sorts
before one already applied re-folds the case from its timeline (`replay`), through the same
`_step` that applies an in-order event on its own; a batch re-folds at most once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from mappa_bus.agencies import Agency
from mappa_bus.case import plans as plan_fold
from mappa_bus.case.copies import replaced
from mappa_bus.case.model import (
    CasePicture,
    ChildContactRisk,
    Custody,
    Deportation,
    DetailsNotified,
    Hospital,
    Housing,
    InformationShared,
    LevelChange,
    Licence,
    LicenceBreach,
    Management,
    ManagementEnded,
    Meeting,
    Notification,
    NotificationBreach,
    Order,
    OrderBreach,
    OrderKind,
    Partners,
    PlannedRelease,
    Recall,
    Registration,
    ReturnToCustody,
    Safeguarding,
    SafeguardingConcern,
    Status,
    StatusPeriod,
    TemporaryRelease,
    TimelineEntry,
    Transfer,
    VictimRequest,
    Victims,
)
from mappa_bus.case.withdrawal import is_withdrawal_type, withdrawn_by
from mappa_bus.catalogue import (
    BY_TYPE,
    Area,
    Envelope,
    EventData,
    childrens_services,
    duty_to_cooperate,
    health,
    housing,
    plans,
    police,
    prisons,
    probation,
    victim_contact,
)
from mappa_bus.catalogue.police import NotificationEndReason, RegistrationTrigger
from mappa_bus.catalogue.probation import LicenceCondition

_VICTIM_CONDITIONS = (LicenceCondition.EXCLUSION_ZONE, LicenceCondition.NO_CONTACT)

# A SOPO is the order a SHPO replaced: its breaches belong to the case's SHPO.
_BREACHED_ORDER = {"shpo": OrderKind.SHPO, "sopo": OrderKind.SHPO, "sro": OrderKind.SRO}


# ---- the public fold ----------------------------------------------------------------------


def entry_of(event: Envelope[EventData], recorded_at: datetime) -> TimelineEntry:
    """The timeline entry of `event`, which reached the bus at `recorded_at`."""
    return TimelineEntry(
        event_id=event.id,
        time=event.time,
        recorded_at=recorded_at,
        agency=event.publisher,
        type=event.type,
        area=event.mappaarea,
        data=event.data.model_dump(mode="json"),
    )


def apply(
    picture: CasePicture | None, event: Envelope[EventData], recorded_at: datetime
) -> CasePicture:
    """`picture` with `event` (recorded on the bus at `recorded_at`) in it; a duplicate id (a
    redelivery) leaves it as it is."""
    return apply_all(picture, [(event, recorded_at)])


def apply_all(
    picture: CasePicture | None, arrivals: Sequence[tuple[Envelope[EventData], datetime]]
) -> CasePicture:
    """`picture` with every event of `arrivals` (each with when it reached the bus) in it: what
    `apply` one at a time in that order makes, folding at most once however late they came."""
    if picture is None:
        if not arrivals:
            raise ValueError("no picture and no event to start one")
        picture = CasePicture(case_id=arrivals[0][0].case_id)
    fresh = _fresh(picture, arrivals)
    if not fresh:
        return picture
    fresh.sort(key=lambda step: _order(step[0]))
    late = bool(picture.timeline) and _order(fresh[0][0]) < _order(picture.timeline[-1])
    withdrawing = bool(picture.withdrawals) or any(is_withdrawal_type(e.type) for e, _ in fresh)
    if late or withdrawing:
        # Some arrived late: the events after them may mean something else with them in place.
        # Or a withdrawal is among them or before them: the case is folded again without the
        # events withdrawn, as if they had never been sent.
        known: list[_Step] = [(entry, None) for entry in _everything(picture)]
        return _refold(picture.case_id, sorted([*known, *fresh], key=lambda s: _order(s[0])))
    return _steps(picture, fresh)


Place = tuple[datetime, str]
"""Where an entry sits on its case's timeline: the event's own time, ties broken by its id."""


@dataclass(frozen=True)
class Current:
    """What the fold needs of a case for events that follow all its entries: its picture without
    the timeline and withdrawals (the marked withdrawn entries kept), and the order of the latest
    entry it was folded from (None: none). Its size does not grow with the case's history."""

    picture: CasePicture
    last: Place | None
    stored_size: int = field(default=0, compare=False)
    """The length of the store's row of it (the picture's JSON), for a cache that bounds what
    it holds by how large it is: a picture grows with its case's history (0: not known)."""


def current_of(picture: CasePicture, last: Place | None = None, stored_size: int = 0) -> Current:
    """`picture` as `Current`: its entries dropped, the latest of them (or `last`, the latest
    before them, if `picture` holds only those folded since) kept; `stored_size` its row's
    length."""
    return Current(
        replaced(picture, {"timeline": (), "withdrawals": ()}),
        latest_place(picture, last),
        stored_size,
    )


def latest_place(picture: CasePicture, last: Place | None = None) -> Place | None:
    """The order of the latest entry `picture` was folded from, or `last` (the latest before
    them, if `picture` holds only those folded since) when it is later; None: neither has one."""
    # The timeline is in order: its last entry, the withdrawn ones and the withdrawals suffice.
    entries = (*picture.timeline[-1:], *picture.withdrawn, *picture.withdrawals)
    latest = max((_order(entry) for entry in entries), default=None)
    if latest is None or (last is not None and last > latest):
        return last
    return latest


def apply_after(
    picture: CasePicture | None,
    last: Place | None,
    arrivals: Sequence[tuple[Envelope[EventData], datetime]],
) -> CasePicture | None:
    """What `apply_all` makes of a case's whole picture with `arrivals` in it, from `picture`,
    whose timeline holds only the entries folded since the latest before them (at `last`; None:
    there were none): the same picture, its timeline those entries and the new ones. None when
    that needs the whole timeline: an arrival ordered at or before the latest entry (late, or
    perhaps one the case holds), a withdrawal, or a case with withdrawals (the re-folds)."""
    if picture is not None:
        if picture.withdrawn or picture.withdrawals:
            return None
        if picture.timeline:
            last = _order(picture.timeline[-1])
    for event, _ in arrivals:
        if is_withdrawal_type(event.type) or (last is not None and (event.time, event.id) <= last):
            return None
    return apply_all(picture, arrivals)


def replay(case_id: str, entries: Iterable[TimelineEntry]) -> CasePicture:
    """The picture of `case_id` folded from nothing over `entries`, in timeline order."""
    seen: set[str] = set()
    steps: list[_Step] = []
    for entry in sorted(entries, key=_order):
        if entry.event_id not in seen:
            seen.add(entry.event_id)
            steps.append((_unmarked(entry), None))
    return _refold(case_id, steps)


# A timeline entry and its typed payload, when the caller has it at hand (None: from `data`).
_Step = tuple[TimelineEntry, EventData | None]


def _fresh(
    picture: CasePicture, arrivals: Sequence[tuple[Envelope[EventData], datetime]]
) -> list[tuple[TimelineEntry, EventData]]:
    """The steps of `arrivals` not yet in `picture`: the first delivery of each id counts."""
    seen = {entry.event_id for entry in _everything(picture)}
    fresh: list[tuple[TimelineEntry, EventData]] = []
    for event, recorded_at in arrivals:
        if event.case_id != picture.case_id:
            raise ValueError(f"event {event.id} is of case {event.case_id}, not {picture.case_id}")
        if event.id not in seen:
            seen.add(event.id)
            fresh.append((entry_of(event, recorded_at), event.data))
    return fresh


def _refold(case_id: str, steps: Iterable[_Step]) -> CasePicture:
    """The picture of `case_id` folded from nothing over `steps`, already in timeline order,
    leaving out the events the case's withdrawals withdraw."""
    steps = list(steps)
    withdrawals = tuple(entry for entry, _ in steps if is_withdrawal_type(entry.type))
    reported = [(entry, data) for entry, data in steps if not is_withdrawal_type(entry.type)]
    marks = withdrawn_by((entry for entry, _ in reported), withdrawals)
    typed = [
        (entry, BY_TYPE[entry.type].model_validate(entry.data) if data is None else data)
        for entry, data in reported
        if entry.event_id not in marks
    ]
    picture = _steps(CasePicture(case_id=case_id), typed)
    if not withdrawals:
        return picture
    withdrawn = tuple(
        replaced(entry, {"withdrawn": marks[entry.event_id]})
        for entry, _ in reported
        if entry.event_id in marks
    )
    # A withdrawal changes the picture when it arrives: "changed since" compares this.
    latest = max(entry.recorded_at for entry in (*withdrawals, *withdrawn, *picture.timeline))
    return replaced(
        picture, {"withdrawn": withdrawn, "withdrawals": withdrawals, "last_recorded_at": latest}
    )


def _steps(picture: CasePicture, steps: Sequence[tuple[TimelineEntry, EventData]]) -> CasePicture:
    """`picture` with `steps`, in timeline order and all after its own entries, applied."""
    for entry, data in steps:
        picture = _step(picture, entry, data)
    return _core(picture, [entry for entry, _ in steps])


def as_known_at(picture: CasePicture, at: datetime) -> CasePicture:
    """The picture as the bus knew it at `at`: only events recorded by then, even when an event
    recorded later happened earlier. An event its agency withdrew after `at` is in it, as it was
    believed then, its entry marked with the withdrawal to come."""
    known = replay(picture.case_id, (e for e in _everything(picture) if e.recorded_at <= at))
    later = {
        entry.event_id: entry.withdrawn
        for entry in picture.withdrawn
        if entry.withdrawn is not None and entry.withdrawn.recorded_at > at
    }
    if not later:
        return known
    timeline = tuple(
        replaced(entry, {"withdrawn": later[entry.event_id]}) if entry.event_id in later else entry
        for entry in known.timeline
    )
    return replaced(known, {"timeline": timeline})


def joined(group: Sequence[str], pictures: Iterable[CasePicture]) -> CasePicture:
    """The one picture of a merged `group` of case ids (its kept id first) from the stored
    `pictures` of its ids: every event of each folded from nothing in event order, as one case
    (the same whichever id was read), naming the merged ids."""
    kept, *merged = group
    picture = replay(kept, (entry for each in pictures for entry in _everything(each)))
    return replaced(picture, {"merged_case_ids": tuple(merged)})


def _everything(picture: CasePicture) -> tuple[TimelineEntry, ...]:
    """Every entry `picture` was folded from: its timeline, what was withdrawn (unmarked: the
    mark is the fold's, made again) and the withdrawals."""
    withdrawn = tuple(_unmarked(entry) for entry in picture.withdrawn)
    return (*picture.timeline, *withdrawn, *picture.withdrawals)


def _unmarked(entry: TimelineEntry) -> TimelineEntry:
    return entry if entry.withdrawn is None else replaced(entry, {"withdrawn": None})


def shared_by(picture: CasePicture) -> dict[Agency, tuple[TimelineEntry, ...]]:
    """What each agency has shared about the case, in timeline order."""
    return {
        agency: tuple(entry for entry in picture.timeline if entry.agency is agency)
        for agency in picture.agencies_involved
    }


def _order(entry: TimelineEntry) -> Place:
    # The id breaks ties between events of the same moment, so every replica agrees on one order.
    return entry.time, entry.event_id


# ---- one step -----------------------------------------------------------------------------


def _step(picture: CasePicture, entry: TimelineEntry, data: EventData) -> CasePicture:
    """`picture`'s sections with `entry`, whose typed payload is `data`, applied after all its
    entries (the core that follows the timeline is `_core`'s, once for a run of steps)."""
    match data:
        case police.SexOffenderRegistered():
            return _registered(picture, data)
        case police.NotificationDetailsChanged():
            return _details_changed(picture, data)
        case police.NotificationBreachDisposed():
            return _notification_breach(picture, data)
        case police.ShpoMade() | police.SroMade():
            return _order_made(picture, data)
        case police.NotificationOrderMade():
            return _notification_order(picture, data)
        case police.SroBreachedNotificationImposed():
            return _sro_breach_notification(picture, data)
        case police.RestrictiveOrderBreached():
            return _order_breached(picture, data)
        case police.IndefiniteNotificationReviewed():
            return _indefinite_reviewed(picture, data)
        case police.NotificationRequirementsEnded():
            return _notification_ended(picture, data)
        case police.PotentiallyDangerousPersonRecorded():
            return _potentially_dangerous(picture, data)
        case probation.MappaEligibilityIdentified():
            return _eligible(picture, data)
        case probation.MappaLevelSet():
            return _level_set(picture, data)
        case probation.MappaMeetingHeld():
            return _meeting(picture, data)
        case probation.LicenceConditionsSet():
            return _conditions_set(picture, data)
        case probation.LicenceBreached():
            return _licence_breached(picture, data)
        case probation.RecallIssued():
            return _recalled(picture, data)
        case probation.CaseTransferRequested():
            return _transfer_requested(picture, data, entry.area)
        case probation.CaseTransferAccepted():
            return _transfer_accepted(picture, data, entry.area)
        case probation.MappaManagementEnded():
            ended = ManagementEnded(on=data.ended_on, reason=data.reason)
            return replaced(picture, {"management_ended": ended})
        case prisons.ReceivedIntoCustody():
            return _moved(picture, Status.CUSTODY, data.received_on, data.custody)
        case prisons.ReleaseDateConfirmed():
            return _release_confirmed(picture, data)
        case prisons.ReleasedFromCustody():
            return _released(picture, data)
        case prisons.TemporaryReleaseGranted():
            return _temporary_release(picture, data)
        case prisons.ReturnedToCustody():
            return _returned(picture, data)
        case health.HospitalDetentionStarted():
            hospital = Hospital(detained_on=data.detained_on, basis=data.basis)
            detained = replaced(picture, {"hospital": hospital})
            return _moved(detained, Status.HOSPITAL, data.detained_on, data.basis)
        case health.UnescortedLeaveApproved():
            return _hospital(picture, unescorted_leave_from=data.leave_starts_on)
        case health.HospitalDischargePlanned():
            return _hospital(
                picture, discharge_planned_for=data.planned_for, discharge=data.discharge
            )
        case health.HospitalDischarged():
            discharged = _hospital(
                picture, discharged_on=data.discharged_on, discharge=data.discharge
            )
            return _moved(discharged, Status.COMMUNITY, data.discharged_on, data.discharge)
        case housing.HousingNeedRaised():
            return _housing(picture, need=data.need, need_raised_on=data.raised_on)
        case housing.AccommodationSecured():
            # Secured accommodation is the current one: a loss recorded before no longer applies.
            return _housing(
                picture,
                accommodation=data.accommodation,
                accommodation_since=data.secured_on,
                lost_on=None,
                lost_reason=None,
            )
        case housing.AccommodationLost():
            return _housing(picture, lost_on=data.lost_on, lost_reason=data.reason)
        case housing.HousingPanelReferral():
            return _housing(picture, panel_referred_on=data.referred_on, panel_on=data.panel_on)
        case childrens_services.SafeguardingConcernLinked():
            return _concern_linked(picture, data)
        case childrens_services.ChildContactRiskRecorded():
            return _child_contact_risk(picture, data)
        case victim_contact.VictimOptedIn():
            return _victim_opted_in(picture, data)
        case victim_contact.LicenceConditionRequested():
            return _condition_requested(picture, data)
        case (
            duty_to_cooperate.YouthOffendingInformationShared()
            | duty_to_cooperate.DwpInformationShared()
            | duty_to_cooperate.ImmigrationInformationShared()
        ):
            return _information_shared(picture, data, entry.agency)
        case duty_to_cooperate.DeportationDecisionMade():
            return _deportation(picture, data)
        case plans.RiskAssessment():
            return plan_fold.assessed(picture, data, entry.agency)
        case plans.ActionAgreed():
            return plan_fold.agreed(picture, data, entry.agency)
        case plans.ActionCompleted() | plans.ActionClosed() | plans.ActionRedated():
            return plan_fold.outcome(picture, data, entry.agency)
    # Every catalogue type has a case above (a test checks): nothing else reaches the fold.
    return picture


def _core(picture: CasePicture, entries: Sequence[TimelineEntry]) -> CasePicture:
    """`picture` with `entries` (in timeline order, after its own) on its timeline, and the core
    fields that follow it. No step reads them, so a run of steps sets them once at its end."""
    if not entries:
        return picture
    # The latest to arrive, not the latest to happen: "changed since" compares this.
    latest = max(entry.recorded_at for entry in entries)
    if picture.last_recorded_at is not None:
        latest = max(picture.last_recorded_at, latest)
    agencies = picture.agencies_involved
    for entry in entries:
        agencies = _involving(agencies, entry.agency)
    return replaced(
        picture,
        {
            "timeline": (*picture.timeline, *entries),
            "area": entries[-1].area,
            "agencies_involved": agencies,
            "last_recorded_at": latest,
        },
    )


def _involving(agencies: tuple[Agency, ...], agency: Agency) -> tuple[Agency, ...]:
    # Most events come from an agency already involved: no new tuple to sort.
    return agencies if agency in agencies else tuple(sorted((*agencies, agency)))


def _moved(picture: CasePicture, status: Status, since: date, basis: str) -> CasePicture:
    """`picture` with the person now in `status` (custody, hospital or community)."""
    custody = picture.custody or Custody()
    period = StatusPeriod(status=status, since=since, basis=basis)
    custody = replaced(custody, {"status_history": (*custody.status_history, period)})
    return replaced(picture, {"status": status, "status_since": since, "custody": custody})


# ---- police -------------------------------------------------------------------------------


def _registration(picture: CasePicture, registration: Registration) -> CasePicture:
    return replaced(picture, {"registration": registration})


def _registered(picture: CasePicture, data: police.SexOffenderRegistered) -> CasePicture:
    notification = Notification(
        start=data.notification_start,
        period_months=data.notification_period_months,
        trigger=data.trigger,
    )
    registration = picture.registration or Registration()
    return _registration(picture, replaced(registration, {"notification": notification}))


def _details_changed(picture: CasePicture, data: police.NotificationDetailsChanged) -> CasePicture:
    registration = picture.registration or Registration()
    notified = DetailsNotified(notified_on=data.notified_on, changed=tuple(data.changed))
    details = (*registration.details_notified, notified)
    return _registration(picture, replaced(registration, {"details_notified": details}))


def _notification_breach(
    picture: CasePicture, data: police.NotificationBreachDisposed
) -> CasePicture:
    registration = picture.registration or Registration()
    breach = NotificationBreach(disposed_on=data.disposed_on, outcome=data.outcome)
    breaches = (*registration.breaches, breach)
    return _registration(picture, replaced(registration, {"breaches": breaches}))


def _order_made(picture: CasePicture, data: police.ShpoMade | police.SroMade) -> CasePicture:
    order = Order(
        kind=OrderKind.SHPO if isinstance(data, police.ShpoMade) else OrderKind.SRO,
        made_on=data.made_on,
        interim=data.interim,
        foreign_travel_restriction=data.foreign_travel_restriction,
        expires_on=data.expires_on,
    )
    registration = picture.registration or Registration()
    orders = (*registration.orders, order)
    return _registration(picture, replaced(registration, {"orders": orders}))


def _notification_order(picture: CasePicture, data: police.NotificationOrderMade) -> CasePicture:
    registration = picture.registration or Registration()
    order = Order(kind=OrderKind.NOTIFICATION_ORDER, made_on=data.made_on)
    registration = replaced(registration, {"orders": (*registration.orders, order)})
    if not _notification_in_force(registration):
        # The order is what makes the person notify: it starts requirements they were not under.
        notification = Notification(
            start=data.made_on,
            period_months=data.notification_period_months,
            trigger=RegistrationTrigger.NOTIFICATION_ORDER,
        )
        registration = replaced(registration, {"notification": notification})
    return _registration(picture, registration)


def _notification_in_force(registration: Registration) -> bool:
    notification = registration.notification
    return notification is not None and notification.ended_on is None


def _sro_breach_notification(
    picture: CasePicture, data: police.SroBreachedNotificationImposed
) -> CasePicture:
    registration = picture.registration or Registration()
    # The event gives no period: the requirements last as long as the SRO, which the picture
    # can only show as "no fixed period in months".
    notification = Notification(
        start=data.notification_start, period_months=None, trigger=RegistrationTrigger.SRO_BREACH
    )
    orders = _breach_latest(registration.orders, OrderKind.SRO, data.breached_on)
    update = {"notification": notification, "orders": orders}
    return _registration(picture, replaced(registration, update))


def _order_breached(picture: CasePicture, data: police.RestrictiveOrderBreached) -> CasePicture:
    registration = picture.registration or Registration()
    breach = OrderBreach(order=data.order, breached_on=data.breached_on, charged=data.charged)
    update = {
        "order_breaches": (*registration.order_breaches, breach),
        "orders": _breach_latest(
            registration.orders, _BREACHED_ORDER[data.order], data.breached_on
        ),
    }
    return _registration(picture, replaced(registration, update))


def _breach_latest(orders: tuple[Order, ...], kind: OrderKind, on: date) -> tuple[Order, ...]:
    """`orders` with a breach on `on` added to the latest order of `kind`, if there is one."""
    for index in reversed(range(len(orders))):
        order = orders[index]
        if order.kind is kind:
            breached = replaced(order, {"breaches": (*order.breaches, on)})
            return (*orders[:index], breached, *orders[index + 1 :])
    return orders


def _indefinite_reviewed(
    picture: CasePicture, data: police.IndefiniteNotificationReviewed
) -> CasePicture:
    if data.decision == "retained":
        return _notification(picture, next_review_on=data.next_review_on)
    return _notification(
        picture, ended_on=data.decided_on, end_reason=NotificationEndReason.REVOKED_ON_REVIEW
    )


def _notification_ended(
    picture: CasePicture, data: police.NotificationRequirementsEnded
) -> CasePicture:
    return _notification(picture, ended_on=data.ended_on, end_reason=data.reason)


def _notification(picture: CasePicture, **changes: object) -> CasePicture:
    """`picture` with `changes` made to the notification requirements, when it knows of them."""
    registration = picture.registration or Registration()
    if registration.notification is not None:
        notification = replaced(registration.notification, changes)
        registration = replaced(registration, {"notification": notification})
    return _registration(picture, registration)


def _potentially_dangerous(
    picture: CasePicture, data: police.PotentiallyDangerousPersonRecorded
) -> CasePicture:
    registration = picture.registration or Registration()
    # "Since" is the first record; a later one (e.g. on a new SRO) does not move it.
    since = registration.potentially_dangerous_person_since or data.recorded_on
    update = {"potentially_dangerous_person_since": since}
    return _registration(picture, replaced(registration, update))


# ---- probation ----------------------------------------------------------------------------


def _management(picture: CasePicture, **changes: object) -> CasePicture:
    management = replaced(picture.management or Management(), changes)
    return replaced(picture, {"management": management})


def _eligible(picture: CasePicture, data: probation.MappaEligibilityIdentified) -> CasePicture:
    lead = {"lead_agency": data.lead_agency, "lead_reference": data.agency_reference}
    identified = _management(picture, category=data.category, eligible_since=data.identified_on)
    return replaced(identified, lead)


def _level_set(picture: CasePicture, data: probation.MappaLevelSet) -> CasePicture:
    change = LevelChange(
        on=data.set_on, level=data.level, reason=data.reason, review_due_on=data.review_due_on
    )
    history = (*(picture.management or Management()).level_history, change)
    review = data.review_due_on or picture.next_review_on
    return replaced(
        _management(picture, level_history=history), {"level": data.level, "next_review_on": review}
    )


def _meeting(picture: CasePicture, data: probation.MappaMeetingHeld) -> CasePicture:
    meeting = Meeting(
        held_on=data.held_on,
        level=data.level,
        agencies_present=tuple(data.agencies_present),
        next_review_on=data.next_review_on,
    )
    meetings = (*(picture.management or Management()).meetings, meeting)
    return replaced(
        _management(picture, meetings=meetings), {"next_review_on": data.next_review_on}
    )


def _transfer_requested(
    picture: CasePicture, data: probation.CaseTransferRequested, area: Area
) -> CasePicture:
    # `area` is the event's own: the area managing the case when the request was made.
    transfer = Transfer(from_area=area, to_area=data.to_area, requested_on=data.requested_on)
    transfers = (*(picture.management or Management()).transfers, transfer)
    return _management(picture, transfers=transfers)


def _transfer_accepted(
    picture: CasePicture, data: probation.CaseTransferAccepted, area: Area
) -> CasePicture:
    # `area` is the event's own: the receiving area, which manages the case from now.
    transfers = (picture.management or Management()).transfers
    accepted = {"accepted_on": data.accepted_on, "from_area": data.from_area}
    for index in reversed(range(len(transfers))):
        transfer = transfers[index]
        if transfer.to_area is area and transfer.accepted_on is None:
            done = replaced(transfer, accepted)
            return _management(
                picture, transfers=(*transfers[:index], done, *transfers[index + 1 :])
            )
    # No request reached the bus (or it came from a system that does not publish them).
    transfer = Transfer(to_area=area, from_area=data.from_area, accepted_on=data.accepted_on)
    return _management(picture, transfers=(*transfers, transfer))


def _custody(picture: CasePicture, **changes: object) -> CasePicture:
    custody = replaced(picture.custody or Custody(), changes)
    return replaced(picture, {"custody": custody})


def _conditions_set(picture: CasePicture, data: probation.LicenceConditionsSet) -> CasePicture:
    licence = replaced(
        (picture.custody or Custody()).licence or Licence(),
        {
            "conditions": tuple(data.conditions),
            "conditions_from": data.effective_from,
            "victim_requested": tuple(data.victim_requested),
        },
    )
    return _victim_conditions(_custody(picture, licence=licence), licence)


def _victim_conditions(picture: CasePicture, licence: Licence) -> CasePicture:
    """`picture`'s victims section as `licence`'s conditions leave it."""
    in_force = tuple(c for c in _VICTIM_CONDITIONS if c in licence.conditions)
    if picture.victims is None and not in_force:
        return picture
    victims = picture.victims or Victims()
    granted = _at_victims_request(licence)
    requests = tuple(
        replaced(request, {"granted": True}) if request.condition in granted else request
        for request in victims.requests
    )
    update = {"requests": requests, "conditions_in_force": in_force}
    return replaced(picture, {"victims": replaced(victims, update)})


def _at_victims_request(licence: Licence | None) -> frozenset[LicenceCondition]:
    """The conditions in force on `licence` because a victim asked for them."""
    if licence is None:
        return frozenset()
    return frozenset(licence.victim_requested) & frozenset(licence.conditions)


def _licence_breached(picture: CasePicture, data: probation.LicenceBreached) -> CasePicture:
    breach = LicenceBreach(breached_on=data.breached_on, breach=data.breach)
    return _custody(picture, breaches=(*(picture.custody or Custody()).breaches, breach))


def _recalled(picture: CasePicture, data: probation.RecallIssued) -> CasePicture:
    recall = Recall(issued_on=data.issued_on, recall_type=data.recall_type)
    return _custody(picture, recalls=(*(picture.custody or Custody()).recalls, recall))


# ---- prisons ------------------------------------------------------------------------------


def _release_confirmed(picture: CasePicture, data: prisons.ReleaseDateConfirmed) -> CasePicture:
    return _custody(
        picture, planned_release=PlannedRelease(release_on=data.release_on, release=data.release)
    )


def _released(picture: CasePicture, data: prisons.ReleasedFromCustody) -> CasePicture:
    licence = (picture.custody or Custody()).licence
    if data.release == "on-licence":
        # Conditions are usually set before the release they apply from: keep them.
        licence = replaced(
            licence or Licence(), {"starts_on": data.released_on, "ends_on": data.licence_ends_on}
        )
    released = _custody(picture, planned_release=None, licence=licence)
    return _moved(released, Status.COMMUNITY, data.released_on, data.release)


def _temporary_release(picture: CasePicture, data: prisons.TemporaryReleaseGranted) -> CasePicture:
    release = TemporaryRelease(starts_on=data.starts_on, ends_on=data.ends_on)
    releases = (*(picture.custody or Custody()).temporary_releases, release)
    return _custody(picture, temporary_releases=releases)


def _returned(picture: CasePicture, data: prisons.ReturnedToCustody) -> CasePicture:
    back = ReturnToCustody(returned_on=data.returned_on, reason=data.reason)
    returned = _custody(picture, returns=(*(picture.custody or Custody()).returns, back))
    return _moved(returned, Status.CUSTODY, data.returned_on, data.reason)


# ---- health, housing, children's services -------------------------------------------------


def _hospital(picture: CasePicture, **changes: object) -> CasePicture:
    hospital = replaced(picture.hospital or Hospital(), changes)
    return replaced(picture, {"hospital": hospital})


def _housing(picture: CasePicture, **changes: object) -> CasePicture:
    housing = replaced(picture.housing or Housing(), changes)
    return replaced(picture, {"housing": housing})


def _safeguarding(picture: CasePicture, **changes: object) -> CasePicture:
    safeguarding = replaced(picture.safeguarding or Safeguarding(), changes)
    return replaced(picture, {"safeguarding": safeguarding})


def _concern_linked(
    picture: CasePicture, data: childrens_services.SafeguardingConcernLinked
) -> CasePicture:
    concern = SafeguardingConcern(linked_on=data.linked_on, concern=data.concern)
    return _safeguarding(
        picture, concerns=(*(picture.safeguarding or Safeguarding()).concerns, concern)
    )


def _child_contact_risk(
    picture: CasePicture, data: childrens_services.ChildContactRiskRecorded
) -> CasePicture:
    risk = ChildContactRisk(
        recorded_on=data.recorded_on, risk=data.risk, contact_permitted=data.contact_permitted
    )
    return _safeguarding(picture, child_contact_risk=risk)


# ---- victim contact and the other duty-to-co-operate agencies -----------------------------


def _victims(picture: CasePicture, **changes: object) -> CasePicture:
    victims = replaced(picture.victims or Victims(), changes)
    return replaced(picture, {"victims": victims})


def _victim_opted_in(picture: CasePicture, data: victim_contact.VictimOptedIn) -> CasePicture:
    opted_in = (picture.victims or Victims()).opted_in
    if data.victim in opted_in:
        return picture
    return _victims(picture, opted_in=(*opted_in, data.victim))


def _condition_requested(
    picture: CasePicture, data: victim_contact.LicenceConditionRequested
) -> CasePicture:
    licence = (picture.custody or Custody()).licence
    request = VictimRequest(
        victim=data.victim,
        condition=data.condition,
        requested_on=data.requested_on,
        # Asked for what a victim's earlier request already put on the licence: granted.
        granted=data.condition in _at_victims_request(licence),
    )
    return _victims(picture, requests=(*(picture.victims or Victims()).requests, request))


def _information_shared(
    picture: CasePicture,
    data: duty_to_cooperate.YouthOffendingInformationShared
    | duty_to_cooperate.DwpInformationShared
    | duty_to_cooperate.ImmigrationInformationShared,
    agency: Agency,
) -> CasePicture:
    shared = InformationShared(
        agency=agency,
        shared_on=data.shared_on,
        subject_matter=data.subject_matter,
        shared_with=tuple(data.shared_with),
    )
    partners = picture.partners or Partners()
    partners = replaced(partners, {"information_shared": (*partners.information_shared, shared)})
    return replaced(picture, {"partners": partners})


def _deportation(
    picture: CasePicture, data: duty_to_cooperate.DeportationDecisionMade
) -> CasePicture:
    deportation = Deportation(
        decided_on=data.decided_on,
        decision=data.decision,
        removal_planned_on=data.removal_planned_on,
    )
    partners = replaced(picture.partners or Partners(), {"deportation": deportation})
    return replaced(picture, {"partners": partners})
