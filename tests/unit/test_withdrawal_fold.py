"""Withdrawal in the case fold: a withdrawn event leaves the picture as if it had never been
sent, while the picture as known before the withdrawal still holds it, marked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from mappa_bus.case.fold import apply, apply_all, as_known_at
from mappa_bus.case.model import CasePicture, Withdrawal
from mappa_bus.case.withdrawal import refusal
from mappa_bus.catalogue import Envelope, EventData, Rejection
from mappa_bus.catalogue.housing import HousingNeedRaised
from mappa_bus.catalogue.probation import (
    LevelReason,
    MappaEligibilityIdentified,
    MappaLevelSet,
)
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.catalogue.withdrawal import (
    WITHDRAWALS,
    EventWithdrawn,
    HousingEventWithdrawn,
    PoliceEventWithdrawn,
    ProbationEventWithdrawn,
    WithdrawalReason,
)
from tests.case_events import kent_case

CASE = "KEN-2024-000007"
START = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)


_event = kent_case(CASE, START)


def _at(day: int) -> datetime:
    """When the event of `day` reached the bus: an hour after it happened."""
    return START + timedelta(days=day, hours=1)


ELIGIBLE = _event(
    MappaEligibilityIdentified(
        identified_on=date(2024, 4, 1), category=Category.VIOLENT_OFFENDER, lead_agency="probation"
    ),
    0,
    "eligible",
)
LEVEL_2 = _event(
    MappaLevelSet(set_on=date(2024, 4, 3), level=Level.TWO, reason=LevelReason.INITIAL_SCREENING),
    2,
    "level-2",
)
LEVEL_3 = _event(
    MappaLevelSet(set_on=date(2024, 4, 3), level=Level.THREE, reason=LevelReason.INITIAL_SCREENING),
    2,
    "level-3",
)
HOUSING = _event(HousingNeedRaised(raised_on=date(2024, 4, 4), need="homeless"), 3, "housing")


def _withdrawal(
    target: str,
    day: int,
    *,
    model: type[EventWithdrawn] = ProbationEventWithdrawn,
    corrected_by: str | None = None,
) -> Envelope[EventData]:
    data = model(
        withdrawn_event_id=target,
        reason=WithdrawalReason.SUPERSEDED if corrected_by else WithdrawalReason.ENTERED_IN_ERROR,
        withdrawn_on=(START + timedelta(days=day)).date(),
        corrected_by=corrected_by,
    )
    return _event(data, day, f"withdraws-{target}")


def _fold(*events: tuple[Envelope[EventData], int]) -> CasePicture:
    picture = CasePicture(case_id=CASE)
    for event, day in events:
        picture = apply(picture, event, _at(day))
    return picture


# What a withdrawal keeps apart, and when the picture last changed, differ by design.
_APART = {"withdrawn", "withdrawals", "last_recorded_at"}


def test_a_withdrawn_event_leaves_the_picture_as_if_it_had_never_been_sent() -> None:
    """Sections, timeline and agencies are those of the case folded without the event."""
    withdrawn = _fold((ELIGIBLE, 0), (LEVEL_2, 2), (HOUSING, 3), (_withdrawal("level-2", 9), 9))
    never_sent = _fold((ELIGIBLE, 0), (HOUSING, 3))

    assert never_sent.model_dump(exclude=_APART) == withdrawn.model_dump(exclude=_APART)
    assert [entry.event_id for entry in withdrawn.withdrawn] == ["level-2"]
    assert [entry.event_id for entry in withdrawn.withdrawals] == ["withdraws-level-2"]


def test_the_withdrawn_entry_is_marked_with_its_withdrawal() -> None:
    """The entry kept aside says by which event, why, and when the withdrawal arrived."""
    picture = _fold((ELIGIBLE, 0), (LEVEL_2, 2), (_withdrawal("level-2", 9), 9))

    expected = Withdrawal(
        event_id="withdraws-level-2",
        reason=WithdrawalReason.ENTERED_IN_ERROR,
        withdrawn_on=date(2024, 4, 10),
        recorded_at=_at(9),
    )
    assert expected == picture.withdrawn[0].withdrawn


def test_as_known_before_the_withdrawal_the_event_is_there_marked_as_later_withdrawn() -> None:
    """What was believed then, with the entry flagged; after the withdrawal, it is gone."""
    picture = _fold((ELIGIBLE, 0), (LEVEL_2, 2), (_withdrawal("level-2", 9), 9))

    before = as_known_at(picture, _at(5))
    after = as_known_at(picture, _at(9))

    assert (before.level, after.level) == (Level.TWO, None)
    assert [("eligible", None), ("level-2", picture.withdrawn[0].withdrawn)] == [
        (entry.event_id, entry.withdrawn) for entry in before.timeline
    ]
    assert [entry.event_id for entry in after.timeline] == ["eligible"]


def test_a_correction_leaves_only_the_corrected_event() -> None:
    """Level 2 withdrawn as superseded by level 3: the picture holds level 3 alone."""
    picture = _fold(
        (ELIGIBLE, 0),
        (LEVEL_2, 2),
        (LEVEL_3, 8),
        (_withdrawal("level-2", 8, corrected_by="level-3"), 8),
    )

    assert picture.management is not None
    assert [change.level for change in picture.management.level_history] == [Level.THREE]
    assert picture.level == Level.THREE


def test_a_withdrawal_in_the_same_batch_as_its_event_folds_as_one_after_the_other() -> None:
    """A batch holding both gives the picture that folding them one by one gives."""
    withdrawal = _withdrawal("level-2", 9)
    one_by_one = _fold((ELIGIBLE, 0), (LEVEL_2, 2), (withdrawal, 9))

    batched = apply_all(None, [(ELIGIBLE, _at(0)), (LEVEL_2, _at(2)), (withdrawal, _at(9))])

    assert one_by_one == batched


def test_a_withdrawal_delivered_again_changes_nothing() -> None:
    """The same withdrawal id twice is one withdrawal."""
    withdrawal = _withdrawal("level-2", 9)
    once = _fold((ELIGIBLE, 0), (LEVEL_2, 2), (withdrawal, 9))

    assert once == apply(once, withdrawal, _at(20))


def test_folding_everything_again_gives_the_same_picture() -> None:
    """A rebuild from the whole log (as known at any later moment) is the stored picture."""
    picture = _fold((ELIGIBLE, 0), (LEVEL_2, 2), (HOUSING, 3), (_withdrawal("level-2", 9), 9))

    assert picture == as_known_at(picture, _at(100))


def test_a_late_event_after_a_withdrawal_keeps_the_event_withdrawn() -> None:
    """An event that arrives late re-folds the case, still without what was withdrawn."""
    picture = _fold((LEVEL_2, 2), (HOUSING, 3), (_withdrawal("level-2", 9), 9), (ELIGIBLE, 10))

    assert None is picture.level
    assert [entry.event_id for entry in picture.withdrawn] == ["level-2"]


def test_another_agencys_event_is_not_withdrawn_by_the_fold() -> None:
    """Police cannot take probation's event out, even if a refusal was missed."""
    picture = _fold(
        (ELIGIBLE, 0), (LEVEL_2, 2), (_withdrawal("level-2", 9, model=PoliceEventWithdrawn), 9)
    )

    assert (picture.level, picture.withdrawn) == (Level.TWO, ())


def test_a_withdrawal_is_refused_unless_it_names_its_own_agencys_event_of_the_case() -> None:
    """Unknown ids, other agencies' events and withdrawals themselves are each refused."""
    picture = _fold((ELIGIBLE, 0), (HOUSING, 3), (_withdrawal("eligible", 4), 4))
    cases = {
        "mine": _withdrawal("housing", 5, model=HousingEventWithdrawn),
        "unknown": _withdrawal("no-such-event", 5),
        "another's": _withdrawal("housing", 5),
        "a withdrawal": _withdrawal("withdraws-eligible", 5),
        "no withdrawal": HOUSING,
    }

    actual = {
        name: None if (error := refusal(picture, event)) is None else error.kind
        for name, event in cases.items()
    }

    expected = {
        "mine": None,
        "unknown": Rejection.UNKNOWN_EVENT,
        "another's": Rejection.NOT_OWN_EVENT,
        "a withdrawal": Rejection.UNKNOWN_EVENT,
        "no withdrawal": None,
    }
    assert expected == actual


def test_a_withdrawal_of_a_case_with_no_picture_names_an_unknown_event() -> None:
    """Nothing is known of the case: whatever it names is unknown."""
    error = refusal(None, _withdrawal("level-2", 9))

    assert error is not None
    assert error.kind == Rejection.UNKNOWN_EVENT


# ---- properties ---------------------------------------------------------------------------

_REPORTED = (ELIGIBLE, LEVEL_2, LEVEL_3, HOUSING)


@st.composite
def _arrivals(draw: st.DrawFn) -> list[tuple[Envelope[EventData], datetime]]:
    """The case's events and withdrawals of some of them by their own agency, each reaching
    the bus an hour after it happened, in any order of arrival."""
    withdrawn = draw(st.lists(st.sampled_from(_REPORTED), unique=True, max_size=3))
    withdrawals = [
        _withdrawal(event.id, 10 + index, model=WITHDRAWALS[event.publisher])
        for index, event in enumerate(withdrawn)
    ]
    events = [*_REPORTED, *withdrawals]
    arrivals = [(event, event.time + timedelta(hours=1)) for event in events]
    return draw(st.permutations(arrivals))


@settings(max_examples=40, deadline=None)
@given(_arrivals())
def test_withdrawals_give_the_picture_of_the_rest_whatever_order_they_arrive_in(
    arrivals: list[tuple[Envelope[EventData], datetime]],
) -> None:
    """One by one in any order, or at once, the picture is the fold of what was not withdrawn."""
    withdrawn = {
        event.data.withdrawn_event_id
        for event, _ in arrivals
        if isinstance(event.data, EventWithdrawn)
    }
    kept = sorted(
        (arrival for arrival in arrivals if not isinstance(arrival[0].data, EventWithdrawn)),
        key=lambda arrival: arrival[1],
    )
    never_sent = apply_all(None, [a for a in kept if a[0].id not in withdrawn])
    one_by_one = CasePicture(case_id=CASE)
    for event, recorded_at in arrivals:
        one_by_one = apply(one_by_one, event, recorded_at)

    assert one_by_one == apply_all(None, arrivals)
    assert never_sent.model_dump(exclude=_APART) == one_by_one.model_dump(exclude=_APART)
    assert withdrawn == {entry.event_id for entry in one_by_one.withdrawn}
