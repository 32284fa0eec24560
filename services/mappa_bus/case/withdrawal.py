"""Withdrawals in a case's picture: which entries a case's withdrawals take out, and whether a
withdrawal names an event it may withdraw. Pure: no I/O.

A withdrawal takes out an entry only when the same agency published both (the rule every
consumer enforces by refusing the rest, `refusal`); the fold applies the same rule again, so a
picture never depends on whether the shell refused first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from mappa_bus.agencies import Agency
from mappa_bus.case.model import CasePicture, TimelineEntry, Withdrawal
from mappa_bus.catalogue import BY_TYPE, Envelope, EventData, Rejection, WireError
from mappa_bus.catalogue.withdrawal import EventWithdrawn


def is_withdrawal_type(event_type: str) -> bool:
    """Whether `event_type` is an agency's withdrawal of one of its events."""
    model = BY_TYPE.get(event_type)
    return model is not None and issubclass(model, EventWithdrawn)


def withdrawal_of(entry: TimelineEntry) -> Withdrawal:
    """The mark a withdrawal `entry` leaves on the entry it withdraws."""
    data = entry.data
    return Withdrawal(
        event_id=entry.event_id,
        reason=data["reason"],
        withdrawn_on=data["withdrawn_on"],
        recorded_at=entry.recorded_at,
        corrected_by=data.get("corrected_by"),
    )


def withdrawn_by(
    entries: Iterable[TimelineEntry], withdrawals: Iterable[TimelineEntry]
) -> dict[str, Withdrawal]:
    """The ids of `entries` that `withdrawals` take out, each with its mark. Of two withdrawals
    of one event, the first recorded counts (ties broken by id), so the mark is the same in
    whatever order they were folded."""
    agency_of = {entry.event_id: entry.agency for entry in entries}
    marks: dict[str, Withdrawal] = {}
    for withdrawal in sorted(withdrawals, key=lambda w: (w.recorded_at, w.event_id)):
        target = withdrawal.data["withdrawn_event_id"]
        if agency_of.get(target) is withdrawal.agency and target not in marks:
            marks[target] = withdrawal_of(withdrawal)
    return marks


def refusal(
    picture: CasePicture | None,
    event: Envelope[EventData],
    earlier: Iterable[Envelope[EventData]] = (),
) -> WireError | None:
    """Why a consumer holding `picture` (the case of `event`) and about to apply `earlier`
    (its batch's events of the case before `event`) must refuse the withdrawal `event`, or None
    when it may apply it (or it is no withdrawal). Only the agency that published an event may
    withdraw it, and only an event of the same case that is itself no withdrawal (a withdrawal
    is not undone: the agency publishes the event again)."""
    data = event.data
    if not isinstance(data, EventWithdrawn):
        return None
    target = data.withdrawn_event_id
    entry = _known(picture).get(target) or _among(earlier, target)
    if entry is None:
        return WireError(
            Rejection.UNKNOWN_EVENT,
            "data.withdrawn_event_id",
            f"no event of case {event.case_id} with this id has been applied",
        )
    if entry[0] is not event.publisher:
        return WireError(
            Rejection.NOT_OWN_EVENT,
            "data.withdrawn_event_id",
            f"an event of {entry[0].value}: only its publisher may withdraw it",
        )
    if is_withdrawal_type(entry[1]):
        return WireError(
            Rejection.UNKNOWN_EVENT,
            "data.withdrawn_event_id",
            "names a withdrawal, which cannot itself be withdrawn",
        )
    return None


# Who published an event, and its type.
_Origin = tuple[Agency, str]


def _known(picture: CasePicture | None) -> Mapping[str, _Origin]:
    if picture is None:
        return {}
    return {
        entry.event_id: (entry.agency, entry.type)
        for entry in (*picture.timeline, *picture.withdrawn, *picture.withdrawals)
    }


def _among(events: Iterable[Envelope[EventData]], event_id: str) -> _Origin | None:
    return next(((e.publisher, e.type) for e in events if e.id == event_id), None)
