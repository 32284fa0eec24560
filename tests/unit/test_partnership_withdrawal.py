"""Withdrawn events leave the partnership indicators: each shared event's contribution is kept,
taken out again when its agency withdraws it, as if it had never been sent (docs/partnership.md,
"Withdrawn events")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, Envelope, EventData, Rejection, parse_event
from mappa_bus.catalogue.erasure import ErasureData, ErasureGround, case_erased
from mappa_bus.catalogue.housing import HousingNeedRaised
from mappa_bus.catalogue.police import NotificationBreachDisposed
from mappa_bus.catalogue.probation import MappaMeetingHeld
from mappa_bus.catalogue.withdrawal import (
    EventWithdrawn,
    HousingEventWithdrawn,
    PoliceEventWithdrawn,
    ProbationEventWithdrawn,
)
from mappa_bus.reporting import service as reporting
from mappa_bus.reporting.consumer import ReportingProjection
from mappa_bus.reporting.partnership import (
    Contribution,
    Counted,
    PartnershipCounts,
    PartnershipKey,
    add_all,
    add_contributions,
    combine,
    contribution_of,
    subtract,
    subtract_all,
    withdrawal_refusal,
)
from mappa_bus.reporting.partnership_store import load_partnership
from mappa_bus.reporting.schema import partnership_contributions_table
from tests.case_events import EventMaker, kent_case, withdrawal
from tests.records import Record, erasure_record, record_of

NAMESPACE = "unit"
CASE, OTHER = "KEN-2020-000101", "KEN-2020-000202"
START = datetime(2020, 7, 1, 9, tzinfo=UTC)
YEAR = date(2020, 4, 1)

_event = kent_case(CASE, START)
_other = kent_case(OTHER, START)


def _breach(day: int, event_id: str) -> Envelope[EventData]:
    data = NotificationBreachDisposed(disposed_on=date(2020, 7, 1 + day), outcome="caution")
    return _event(data, day, event_id)


def _need(day: int, event_id: str, maker: Any = _event) -> Envelope[EventData]:
    data = HousingNeedRaised(raised_on=date(2020, 7, 1 + day), need="homeless")
    result: Envelope[EventData] = maker(data, day, event_id)
    return result


def _meeting(day: int, event_id: str, present: list[Agency]) -> Envelope[EventData]:
    data = MappaMeetingHeld(
        held_on=date(2020, 7, 1 + day),
        level=2,
        agencies_present=present,
        next_review_on=date(2020, 8, 1),
    )
    return _event(data, day, event_id)


BREACH = _breach(0, "breach")
NEED = _need(1, "need")
MEETING = _meeting(2, "meeting", [Agency.POLICE, Agency.HOUSING, Agency.HOUSING])


def _withdrawal(
    model: type[EventWithdrawn], target: str, event_id: str, maker: EventMaker = _event
) -> Envelope[EventData]:
    return withdrawal(maker, model, target, event_id, day=31, on=date(2020, 8, 1))


def _withdraw(projection: ReportingProjection, *withdrawals: Envelope[EventData]) -> Any:
    """Fold and commit `withdrawals` after the three records of the first batch; the batch."""
    batch = projection.fold(_records(*withdrawals, first=3))
    projection.commit(batch)
    return batch


def _records(*events: Envelope[EventData], first: int = 0) -> list[Record]:
    """The events as their topics deliver them, each reaching the bus 30 hours after START
    plus an hour per place in the list (so every delay is its own), offsets from `first`."""
    offsets: dict[Agency, int] = {}
    records = []
    for index, event in enumerate(events):
        offset = offsets[event.publisher] = offsets.get(event.publisher, first - 1) + 1
        at = START + timedelta(hours=30 + first + index)
        records.append(record_of(event, offset, int(at.timestamp() * 1000), NAMESPACE))
    return records


def _reporting(path: Path) -> ReportingProjection:
    path.mkdir(exist_ok=True)
    return reporting.open_projection(f"sqlite:///{path / 'reporting.db'}", NAMESPACE)


def _stored(projection: ReportingProjection) -> PartnershipCounts:
    with projection.engine.connect() as connection:
        return load_partnership(connection)


def _contributions(projection: ReportingProjection) -> list[str]:
    table = partnership_contributions_table
    with projection.engine.connect() as connection:
        return sorted(connection.scalars(select(table.c.event_id)))


def _refused(batch: Any) -> list[tuple[str, Rejection]]:
    return [(parse_event(item.record.value).id, item.error.kind) for item in batch.rejected]


def _key(agency: Agency) -> PartnershipKey:
    return PartnershipKey(Area.KENT, YEAR, agency)


# The pure core.

_delays = st.lists(
    st.tuples(st.sampled_from(["breach", "need", "meeting"]), st.integers(-90, 10**9)),
    min_size=1,
    max_size=25,
)


@given(_delays, st.data())
def test_subtracting_contributions_leaves_the_counts_of_the_rest_alone(
    shared: list[tuple[str, int]], data: st.DataObject
) -> None:
    """Any events added, any of them taken out again: the counts equal those of the others
    alone, bucket for bucket (no empty bucket or tally left behind)."""
    makers = {
        "breach": lambda n: _breach(0, f"e{n}"),
        "need": lambda n: _need(0, f"e{n}"),
        "meeting": lambda n: _meeting(0, f"e{n}", [Agency.POLICE, Agency.DWP]),
    }
    events = [(makers[kind](n), START + timedelta(seconds=s)) for n, (kind, s) in enumerate(shared)]
    withdrawn = data.draw(st.sets(st.integers(0, len(events) - 1)))
    kept = [pair for n, pair in enumerate(events) if n not in withdrawn]

    counts = add_all({}, events)
    for n in sorted(withdrawn):
        counts = subtract(counts, contribution_of(*events[n]))

    assert counts == add_all({}, kept)


def test_a_meeting_withdrawn_takes_out_the_meeting_held_and_each_attendance() -> None:
    """Probation's meeting with police and housing present (housing named twice): taken out,
    no key is left, though only probation published it."""
    contribution = contribution_of(MEETING, START + timedelta(days=3))
    counts, touched = add_contributions({}, [contribution])

    assert contribution.present == {Agency.POLICE, Agency.HOUSING}
    assert touched == {_key(Agency.PROBATION), _key(Agency.POLICE), _key(Agency.HOUSING)}
    assert (
        counts[_key(Agency.HOUSING)].meetings_attended,
        counts[_key(Agency.HOUSING)].delays,
    ) == (
        1,
        {},
    )
    assert subtract_all(counts, [contribution]) == ({}, touched)


def test_taking_out_what_was_never_added_is_an_error_naming_the_key() -> None:
    """A contribution subtracted twice would make counts negative: refused loudly."""
    contribution = contribution_of(BREACH, START + timedelta(hours=1))

    with pytest.raises(ValueError, match="police"):
        subtract({}, contribution)


def test_only_the_publisher_withdraws_a_counted_event_and_only_from_its_own_case() -> None:
    """Another agency's withdrawal is not-own-event; one on another case, unknown-event."""
    counted = Counted(CASE, 0, Contribution(_key(Agency.HOUSING), 5))

    own = withdrawal_refusal(counted, CASE, Agency.HOUSING)
    other_agency = withdrawal_refusal(counted, CASE, Agency.POLICE)
    other_case = withdrawal_refusal(counted, OTHER, Agency.HOUSING)

    assert own is None
    assert (other_agency and other_agency.kind, other_case and other_case.kind) == (
        Rejection.NOT_OWN_EVENT,
        Rejection.UNKNOWN_EVENT,
    )


# The reporting consumer.


def test_a_withdrawn_event_leaves_the_counts_as_if_never_sent(tmp_path: Path) -> None:
    """Housing's need and probation's meeting counted, then withdrawn in a later batch: the
    counts in memory, in the store and after a restart equal those of a consumer that never
    had them (the records reach the bus at the same times), and their contributions are gone."""
    never = _reporting(tmp_path / "never")
    never.commit(never.fold(_records(BREACH)))
    projection = _reporting(tmp_path / "withdrawn")
    projection.commit(projection.fold(_records(BREACH, NEED, MEETING)))
    counted = combine(projection.partnership.values())

    batch = _withdraw(
        projection,
        _withdrawal(HousingEventWithdrawn, "need", "w-need"),
        _withdrawal(ProbationEventWithdrawn, "meeting", "w-meeting"),
    )

    expected = combine(never.partnership.values())
    assert counted[_key(Agency.HOUSING)].meetings_attended == 1
    assert _refused(batch) == []
    assert combine(projection.partnership.values()) == expected
    assert (_stored(projection), _stored(_reporting(tmp_path / "withdrawn"))) == (
        expected,
        expected,
    )
    assert _contributions(projection) == ["breach"]


def test_an_event_withdrawn_in_its_own_batch_is_never_counted(tmp_path: Path) -> None:
    """The event and its withdrawal in one batch: nothing of it is counted or kept."""
    never = _reporting(tmp_path / "never")
    never.commit(never.fold(_records(BREACH)))
    projection = _reporting(tmp_path / "withdrawn")

    projection.commit(
        projection.fold(
            _records(BREACH, NEED, _withdrawal(HousingEventWithdrawn, "need", "w-need"))
        )
    )

    assert _stored(projection) == _stored(never)
    assert _contributions(projection) == ["breach"]


def test_a_withdrawal_delivered_again_takes_nothing_out_twice(tmp_path: Path) -> None:
    """The same withdrawal sent again at a new offset, and a second withdrawal of the same
    event: the counts stay those without the event, once."""
    projection = _reporting(tmp_path)
    projection.commit(projection.fold(_records(BREACH, NEED, _need(2, "need-2"))))
    withdrawn = _withdrawal(HousingEventWithdrawn, "need", "w-need")
    _withdraw(projection, withdrawn)
    once = _stored(projection)

    again = projection.fold(
        _records(withdrawn, _withdrawal(HousingEventWithdrawn, "need", "w-again"), first=4)
    )
    projection.commit(again)

    assert once[_key(Agency.HOUSING)].events_shared == 1
    assert (_refused(again), _stored(projection)) == ([], once)


def test_a_withdrawal_of_another_agencys_or_another_cases_event_is_refused(
    tmp_path: Path,
) -> None:
    """Police withdrawing housing's need (counted nowhere but here) is not-own-event; housing
    withdrawing, under this case, the need it shared of another case is unknown-event. Both
    are refused, and the counts stay."""
    projection = _reporting(tmp_path)
    projection.commit(projection.fold(_records(BREACH, NEED, _need(1, "other-need", _other))))
    before = _stored(projection)

    batch = _withdraw(
        projection,
        _withdrawal(PoliceEventWithdrawn, "need", "police-w"),
        _withdrawal(HousingEventWithdrawn, "other-need", "housing-w"),
    )

    assert sorted(_refused(batch)) == [
        ("housing-w", Rejection.UNKNOWN_EVENT),
        ("police-w", Rejection.NOT_OWN_EVENT),
    ]
    assert _stored(projection) == before
    assert _contributions(projection) == ["breach", "need", "other-need"]


def test_an_erasure_deletes_the_cases_contributions_and_keeps_the_counts(tmp_path: Path) -> None:
    """Erased, the case's contributions (event and case ids) leave the store; the counts, which
    name no one, stay (docs/retention.md). A rebuild then counts without the erased case's
    events, and a withdrawal of the kept case's event still takes it out."""
    projection = _reporting(tmp_path)
    projection.commit(projection.fold(_records(BREACH, _need(1, "other-need", _other))))
    before = _stored(projection)
    erasure = ErasureData(
        case_id=CASE,
        area=Area.KENT,
        ground=ErasureGround.DECISION,
        decision="D-1",
        erased_on=date(2026, 1, 5),
    )
    erased = erasure_record(case_erased(erasure, datetime.now(UTC)), 0, 0, NAMESPACE)

    projection.commit(projection.fold([erased]))
    with projection.engine.connect() as connection:
        table = partnership_contributions_table
        named = connection.scalar(
            select(func.count()).select_from(table).where(table.c.case_id == CASE)
        )
    kept = _stored(projection)
    reporting.rebuild(projection)
    withdrawn = _withdrawal(HousingEventWithdrawn, "other-need", "w", _other)
    projection.commit(projection.fold([*_records(BREACH, _need(1, "other-need", _other)), erased]))
    projection.commit(projection.fold(_records(withdrawn, first=2)))

    assert (named, kept) == (0, before)
    assert _stored(projection) == {}
    assert _contributions(projection) == []
