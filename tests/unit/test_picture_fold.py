"""The case picture fold: what each event does to the picture, and that the picture depends on
which events the bus holds, not on the order or number of times they arrived."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappa_bus.agencies import Agency
from mappa_bus.case.fold import apply, as_known_at, entry_of, replay, shared_by
from mappa_bus.case.model import (
    CasePicture,
    Hospital,
    Licence,
    Notification,
    OrderKind,
    Status,
    Transfer,
    VictimRequest,
)
from mappa_bus.catalogue import (
    CASE_EVENTS,
    CATALOGUE,
    Area,
    Category,
    Envelope,
    EventData,
    Level,
    health,
    housing,
    make_event,
    police,
    prisons,
    probation,
    victim_contact,
)
from mappa_bus.catalogue.examples import EXAMPLE_CASE, example_event
from mappa_bus.catalogue.probation import LicenceCondition
from tests.strategies import envelopes

CASE = "KEN-2021-000042"
START = datetime(2021, 1, 1, 9, 0, tzinfo=UTC)

Arrival = tuple[Envelope[EventData], datetime]
"""An event and when it reached the bus."""


def _event(
    data: EventData, day: int, *, area: Area = Area.KENT, event_id: str | None = None
) -> Envelope[EventData]:
    """`data` as an event of the test case that happened `day` days after START."""
    return make_event(
        data,
        case_id=CASE,
        area=area,
        time=START + timedelta(days=day),
        system="test",
        event_id=event_id or f"{data.NAME}-{day}",
    )


def _on(day: int) -> date:
    return (START + timedelta(days=day)).date()


def _fold(arrivals: Iterable[Arrival]) -> CasePicture:
    picture = CasePicture(case_id=CASE)
    for event, recorded_at in arrivals:
        picture = apply(picture, event, recorded_at)
    return picture


def _fold_promptly(events: Iterable[Envelope[EventData]]) -> CasePicture:
    """The events folded in the order given, each recorded an hour after it happened."""
    return _fold((event, event.time + timedelta(hours=1)) for event in events)


# ---- custody and licence ------------------------------------------------------------------

RECEIVED = _event(prisons.ReceivedIntoCustody(received_on=_on(0), custody="sentenced"), 0)
RELEASE_CONFIRMED = _event(
    prisons.ReleaseDateConfirmed(release_on=_on(30), release="on-licence"), 10
)
CONDITIONS = _event(
    probation.LicenceConditionsSet(
        effective_from=_on(30),
        conditions=[LicenceCondition.RESIDENCE, LicenceCondition.EXCLUSION_ZONE],
        victim_requested=[LicenceCondition.EXCLUSION_ZONE],
    ),
    20,
)
RELEASED = _event(
    prisons.ReleasedFromCustody(
        released_on=_on(30), release="on-licence", licence_ends_on=_on(400)
    ),
    30,
)
RECALLED = _event(probation.RecallIssued(issued_on=_on(50), recall_type="standard"), 50)
RETURNED = _event(prisons.ReturnedToCustody(returned_on=_on(52), reason="licence-recall"), 52)


def test_a_release_on_licence_then_a_recall_and_return_puts_the_person_back_in_custody() -> None:
    released = _fold_promptly([RECEIVED, RELEASE_CONFIRMED, CONDITIONS, RELEASED])
    returned = _fold_promptly(
        [RECEIVED, RELEASE_CONFIRMED, CONDITIONS, RELEASED, RECALLED, RETURNED]
    )

    assert released.custody is not None
    assert (released.status, released.status_since) == (Status.COMMUNITY, _on(30))
    assert released.custody.planned_release is None
    assert released.custody.licence == Licence(
        starts_on=_on(30),
        ends_on=_on(400),
        conditions=(LicenceCondition.RESIDENCE, LicenceCondition.EXCLUSION_ZONE),
        conditions_from=_on(30),
        victim_requested=(LicenceCondition.EXCLUSION_ZONE,),
    )
    assert returned.custody is not None
    assert (returned.status, returned.status_since) == (Status.CUSTODY, _on(52))
    assert [p.basis for p in returned.custody.status_history] == [
        "sentenced",
        "on-licence",
        "licence-recall",
    ]
    assert [r.recall_type for r in returned.custody.recalls] == ["standard"]
    assert [r.reason for r in returned.custody.returns] == ["licence-recall"]
    assert returned.custody.licence == released.custody.licence


def test_a_release_that_arrives_after_the_later_recall_is_folded_in_its_place() -> None:
    """The prison's release event is delayed; probation's recall, issued later, arrives first."""
    arrivals = [
        (RECEIVED, START),
        (RECALLED, START + timedelta(days=50)),
        (RELEASED, START + timedelta(days=51)),
    ]

    recall_first = _fold(arrivals)

    assert recall_first == _fold(sorted(arrivals, key=lambda arrival: arrival[0].time))
    assert [entry.event_id for entry in recall_first.timeline] == [
        RECEIVED.id,
        RELEASED.id,
        RECALLED.id,
    ]
    # The release happened before the recall, so it is not the latest word on where they are.
    assert recall_first.status is Status.COMMUNITY
    assert recall_first.custody is not None
    assert recall_first.custody.licence is not None
    assert recall_first.custody.licence.ends_on == _on(400)
    assert len(recall_first.custody.recalls) == 1


def test_events_of_the_same_moment_are_ordered_by_id() -> None:
    same_time = START + timedelta(days=5)
    second = _event(housing.HousingNeedRaised(raised_on=_on(5), need="homeless"), 5, event_id="b")
    first = _event(
        housing.HousingNeedRaised(raised_on=_on(5), need="at-risk-of-homelessness"),
        5,
        event_id="a",
    )

    picture = _fold([(second, same_time), (first, same_time)])

    assert [entry.event_id for entry in picture.timeline] == ["a", "b"]
    assert picture.housing is not None
    assert picture.housing.need == "homeless"


# ---- management ---------------------------------------------------------------------------


def test_the_level_history_keeps_every_level_and_the_latest_review_date() -> None:
    picture = _fold_promptly(
        [
            _event(
                probation.MappaEligibilityIdentified(
                    identified_on=_on(0),
                    category=Category.REGISTERED_SEX_OFFENDER,
                    lead_agency=probation.LeadAgency.PROBATION,
                    agency_reference="X123/45",
                ),
                0,
            ),
            _event(
                probation.MappaLevelSet(
                    set_on=_on(1),
                    level=Level.TWO,
                    reason=probation.LevelReason.INITIAL_SCREENING,
                    review_due_on=_on(90),
                ),
                1,
            ),
            _event(
                probation.MappaMeetingHeld(
                    held_on=_on(80),
                    level=2,
                    agencies_present=[Agency.PROBATION, Agency.POLICE],
                    next_review_on=_on(170),
                ),
                80,
            ),
            _event(
                probation.MappaLevelSet(
                    set_on=_on(100),
                    level=Level.THREE,
                    reason=probation.LevelReason.RISK_INCREASED,
                ),
                100,
            ),
        ]
    )

    assert picture.management is not None
    assert picture.level is Level.THREE
    assert [(c.on, c.level) for c in picture.management.level_history] == [
        (_on(1), Level.TWO),
        (_on(100), Level.THREE),
    ]
    # A level set without a review date leaves the meeting's in place.
    assert picture.next_review_on == _on(170)
    assert (picture.lead_agency, picture.lead_reference) == (
        probation.LeadAgency.PROBATION,
        "X123/45",
    )
    assert picture.management.category is Category.REGISTERED_SEX_OFFENDER


def test_a_transfer_is_requested_by_one_area_and_completed_by_the_other() -> None:
    requested = _event(
        probation.CaseTransferRequested(requested_on=_on(10), to_area=Area.SUSSEX), 10
    )
    accepted = _event(
        probation.CaseTransferAccepted(accepted_on=_on(20), from_area=Area.KENT),
        20,
        area=Area.SUSSEX,
    )

    picture = _fold_promptly([requested, accepted])

    assert picture.area is Area.SUSSEX
    assert picture.management is not None
    assert picture.management.transfers == (
        Transfer(
            from_area=Area.KENT, to_area=Area.SUSSEX, requested_on=_on(10), accepted_on=_on(20)
        ),
    )


def test_an_acceptance_without_a_request_is_recorded_as_an_accepted_transfer() -> None:
    accepted = _event(
        probation.CaseTransferAccepted(accepted_on=_on(20), from_area=Area.KENT),
        20,
        area=Area.SURREY,
    )

    picture = _fold_promptly([accepted])

    assert picture.management is not None
    assert picture.management.transfers == (
        Transfer(from_area=Area.KENT, to_area=Area.SURREY, accepted_on=_on(20)),
    )


# ---- victims ------------------------------------------------------------------------------


def _requested(condition: str, day: int) -> Envelope[EventData]:
    return _event(
        victim_contact.LicenceConditionRequested(
            requested_on=_on(day), victim="VCS-1", condition=condition
        ),
        day,
    )


def test_a_victims_request_is_granted_by_the_conditions_set_later() -> None:
    opted_in = _event(victim_contact.VictimOptedIn(opted_in_on=_on(1), victim="VCS-1"), 1)

    before = _fold_promptly(
        [opted_in, _requested("exclusion-zone", 5), _requested("no-contact", 6)]
    )
    after = _fold_promptly(
        [opted_in, _requested("exclusion-zone", 5), _requested("no-contact", 6), CONDITIONS]
    )

    assert before.victims is not None
    assert [r.granted for r in before.victims.requests] == [False, False]
    assert after.victims is not None
    assert after.victims.opted_in == ("VCS-1",)
    assert [(r.condition, r.granted) for r in after.victims.requests] == [
        ("exclusion-zone", True),
        ("no-contact", False),
    ]
    assert after.victims.conditions_in_force == (LicenceCondition.EXCLUSION_ZONE,)


def test_a_request_for_a_condition_already_in_force_at_a_victims_request_is_granted() -> None:
    picture = _fold_promptly([CONDITIONS, _requested("exclusion-zone", 25)])

    assert picture.victims is not None
    assert picture.victims.requests == (
        VictimRequest(
            victim="VCS-1", condition="exclusion-zone", requested_on=_on(25), granted=True
        ),
    )


# ---- notification and orders --------------------------------------------------------------

REGISTERED = _event(
    police.SexOffenderRegistered(
        notification_start=_on(0),
        notification_period_months=None,
        trigger=police.RegistrationTrigger.CONVICTION,
    ),
    0,
)


def test_notification_requirements_end_with_the_reason_given() -> None:
    ended = _event(
        police.NotificationRequirementsEnded(
            ended_on=_on(60), reason=police.NotificationEndReason.CONVICTION_QUASHED
        ),
        60,
    )

    picture = _fold_promptly([REGISTERED, ended])

    assert picture.registration is not None
    assert picture.registration.notification == Notification(
        start=_on(0),
        period_months=None,
        trigger=police.RegistrationTrigger.CONVICTION,
        ended_on=_on(60),
        end_reason=police.NotificationEndReason.CONVICTION_QUASHED,
    )


@pytest.mark.parametrize(
    ("decision", "ended_on", "reason", "next_review_on"),
    [
        ("retained", None, None, _on(3000)),
        ("revoked", _on(40), police.NotificationEndReason.REVOKED_ON_REVIEW, None),
    ],
)
def test_a_review_of_indefinite_notification_keeps_or_ends_it(
    decision: str,
    ended_on: date | None,
    reason: police.NotificationEndReason | None,
    next_review_on: date | None,
) -> None:
    review = police.IndefiniteNotificationReviewed.model_validate(
        {"decided_on": _on(40), "decision": decision, "next_review_on": next_review_on}
    )

    picture = _fold_promptly([REGISTERED, _event(review, 40)])

    assert picture.registration is not None
    notification = picture.registration.notification
    assert notification is not None
    assert (notification.ended_on, notification.end_reason) == (ended_on, reason)
    assert notification.next_review_on == next_review_on


def test_order_breaches_land_on_the_latest_order_of_their_kind() -> None:
    def sro(day: int) -> Envelope[EventData]:
        made = police.SroMade(made_on=_on(day), interim=False, foreign_travel_restriction=False)
        return _event(made, day)

    picture = _fold_promptly(
        [
            sro(1),
            _event(
                police.ShpoMade(made_on=_on(2), interim=True, foreign_travel_restriction=True),
                2,
            ),
            sro(3),
            _event(
                police.RestrictiveOrderBreached(order="sopo", breached_on=_on(4), charged=True),
                4,
            ),
            _event(
                police.SroBreachedNotificationImposed(
                    breached_on=_on(5), notification_start=_on(9)
                ),
                9,
            ),
        ]
    )

    registration = picture.registration
    assert registration is not None
    assert [(o.kind, o.made_on, o.breaches) for o in registration.orders] == [
        (OrderKind.SRO, _on(1), ()),
        (OrderKind.SHPO, _on(2), (_on(4),)),
        (OrderKind.SRO, _on(3), (_on(5),)),
    ]
    assert [(b.order, b.charged) for b in registration.order_breaches] == [("sopo", True)]
    assert registration.notification == Notification(
        start=_on(9), period_months=None, trigger=police.RegistrationTrigger.SRO_BREACH
    )


def test_a_notification_order_starts_notification_only_when_none_is_in_force() -> None:
    order = _event(police.NotificationOrderMade(made_on=_on(10), notification_period_months=84), 10)

    alone = _fold_promptly([order])
    registered = _fold_promptly([REGISTERED, order])

    assert alone.registration is not None
    assert alone.registration.notification == Notification(
        start=_on(10), period_months=84, trigger=police.RegistrationTrigger.NOTIFICATION_ORDER
    )
    assert registered.registration is not None
    assert registered.registration.notification is not None
    assert registered.registration.notification.trigger is police.RegistrationTrigger.CONVICTION
    assert [o.kind for o in registered.registration.orders] == [OrderKind.NOTIFICATION_ORDER]


# ---- hospital -----------------------------------------------------------------------------


def test_a_new_hospital_detention_forgets_the_previous_discharge() -> None:
    def detained(day: int) -> Envelope[EventData]:
        return _event(
            health.HospitalDetentionStarted(detained_on=_on(day), basis="hospital-order"), day
        )

    discharged = _event(
        health.HospitalDischarged(discharged_on=_on(60), discharge="conditional"), 60
    )

    out = _fold_promptly([detained(1), discharged])
    back = _fold_promptly([detained(1), discharged, detained(90)])

    assert (out.status, out.status_since) == (Status.COMMUNITY, _on(60))
    assert out.hospital == Hospital(
        detained_on=_on(1), basis="hospital-order", discharge="conditional", discharged_on=_on(60)
    )
    assert (back.status, back.status_since) == (Status.HOSPITAL, _on(90))
    assert back.hospital == Hospital(detained_on=_on(90), basis="hospital-order")


# ---- core fields, duplicates, what was known when -----------------------------------------


def test_the_core_follows_the_latest_event_and_the_latest_arrival() -> None:
    late_arrival = START + timedelta(days=365)
    picture = _fold(
        [
            (RECEIVED, late_arrival),
            (_event(CONDITIONS.data, 20, area=Area.SURREY), START + timedelta(days=21)),
        ]
    )

    assert picture.area is Area.SURREY
    assert picture.agencies_involved == (Agency.PRISONS, Agency.PROBATION)
    assert picture.last_recorded_at == late_arrival


def test_a_redelivered_event_changes_nothing() -> None:
    picture = _fold_promptly([RECEIVED, RELEASED])
    redelivered = RELEASED.model_copy(update={"data": RECALLED.data, "type": RECALLED.type})

    assert apply(picture, RELEASED, START + timedelta(days=99)) is picture
    assert apply(picture, redelivered, START + timedelta(days=99)) is picture


def test_an_event_of_another_case_is_refused() -> None:
    other = RECEIVED.model_copy(update={"subject": "SUR-2021-000001"})

    with pytest.raises(ValueError, match="SUR-2021-000001"):
        apply(_fold_promptly([RELEASED]), other, START)


def test_the_picture_as_known_ignores_what_reached_the_bus_later_though_it_happened_before() -> (
    None
):
    known_at = START + timedelta(days=40)
    picture = _fold(
        [
            (RECEIVED, START),
            (RECALLED, START + timedelta(days=50)),
            (RELEASED, START + timedelta(days=51)),  # happened on day 30, recorded on day 51
        ]
    )

    then = as_known_at(picture, known_at)

    assert then == _fold([(RECEIVED, START)])
    assert then.status is Status.CUSTODY
    assert as_known_at(picture, START + timedelta(days=60)) == picture


def test_what_each_agency_shared_is_grouped_in_timeline_order() -> None:
    picture = _fold([(RECALLED, START), (RELEASED, START), (CONDITIONS, START), (RECEIVED, START)])

    assert {
        agency: [entry.event_id for entry in entries]
        for agency, entries in shared_by(picture).items()
    } == {
        Agency.PRISONS: [RECEIVED.id, RELEASED.id],
        Agency.PROBATION: [CONDITIONS.id, RECALLED.id],
    }


def test_replay_folds_entries_in_timeline_order_whatever_order_they_are_given_in() -> None:
    events = [RECEIVED, RELEASED, RECALLED, RETURNED]

    replayed = replay(CASE, [entry_of(event, START) for event in reversed(events)])

    assert replayed == _fold((event, START) for event in events)


@pytest.mark.parametrize("model", CASE_EVENTS, ids=lambda model: model.event_type())
def test_every_event_type_changes_the_picture_beyond_its_timeline(
    model: type[EventData],
) -> None:
    """No event type is only logged: each one says something in the picture's sections."""
    # An earlier registration, so the events about notification requirements have some to act on.
    before = apply(None, REGISTERED.model_copy(update={"subject": EXAMPLE_CASE}), START)
    event = example_event(model)

    after = apply(before, event, event.time)

    bookkeeping = {"timeline", "area", "agencies_involved", "last_recorded_at"}
    assert len(after.timeline) == 2
    assert after.model_dump(exclude=bookkeeping) != before.model_dump(exclude=bookkeeping)


# ---- properties ---------------------------------------------------------------------------

_INSTANTS = st.sampled_from(
    [START, START.astimezone(timezone(timedelta(hours=1))), START + timedelta(days=1)]
)


@st.composite
def _case_arrivals(draw: st.DrawFn, max_size: int = 8) -> list[Arrival]:
    """Events of every type, all of one case and with distinct ids, each with its arrival time.
    A few share a moment (in different offsets), so ties in time are exercised too."""
    events = draw(st.lists(st.sampled_from(CATALOGUE).flatmap(envelopes), max_size=max_size))
    arrivals: list[Arrival] = []
    for index, event in enumerate(events):
        time = draw(st.one_of(st.just(event.time), _INSTANTS))
        update = {"subject": CASE, "id": f"event-{index}", "time": time}
        recorded_at = time + timedelta(minutes=draw(st.integers(0, 60 * 24 * 30)))
        arrivals.append((event.model_copy(update=update), recorded_at))
    return arrivals


_PROPERTY = settings(max_examples=40, deadline=None)


@_PROPERTY
@given(st.data())
def test_the_picture_is_the_same_whatever_order_the_events_arrive_in(data: st.DataObject) -> None:
    arrivals = data.draw(_case_arrivals())
    shuffled = data.draw(st.permutations(arrivals))

    assert _fold(shuffled) == _fold(arrivals)


@_PROPERTY
@given(st.data())
def test_an_event_applied_twice_counts_once(data: st.DataObject) -> None:
    arrivals = data.draw(_case_arrivals().filter(bool))
    event, recorded_at = data.draw(st.sampled_from(arrivals))
    redelivered_at = recorded_at + timedelta(days=data.draw(st.integers(0, 400)))

    assert _fold([*arrivals, (event, redelivered_at)]) == _fold(arrivals)


@_PROPERTY
@given(st.data())
def test_the_picture_as_known_at_a_moment_holds_only_what_had_arrived(
    data: st.DataObject,
) -> None:
    arrivals: Sequence[Arrival] = data.draw(_case_arrivals())
    moments = [recorded_at for _, recorded_at in arrivals]
    at = data.draw(st.sampled_from(moments) if moments else st.just(START))

    known = as_known_at(_fold(arrivals), at)

    assert known == _fold(arrival for arrival in arrivals if arrival[1] <= at)


@_PROPERTY
@given(st.sampled_from(CASE_EVENTS).flatmap(envelopes))
def test_a_case_first_event_starts_its_picture(event: Envelope[EventData]) -> None:
    picture = apply(None, event, event.time)

    assert picture == apply(CasePicture(case_id=event.case_id), event, event.time)
    assert picture.timeline == (entry_of(event, event.time),)
    assert picture.agencies_involved == (event.publisher,)
