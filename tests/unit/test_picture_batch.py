"""Folding a batch at once (what the picture consumer does) makes what folding its events one at
a time makes, whatever their order, duplicates and interleaving of cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappa_bus.case.fold import apply, apply_after, apply_all, current_of
from mappa_bus.case.model import CasePicture, TimelineEntry
from mappa_bus.catalogue import CASE_EVENTS, CATALOGUE, Envelope, EventData
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.withdrawal import ProbationEventWithdrawn
from mappa_bus.kafka_codec import appended_at
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.picture.store import current_pictures, load_pictures
from mappa_bus.projection.database import open_engine
from mappa_bus.topics import agency_topic
from tests.keys import KEYRING
from tests.records import Record, record_of
from tests.strategies import envelopes

START = datetime(2021, 1, 1, 9, 0, tzinfo=UTC)
CASES = ("KEN-2021-000001", "KEN-2021-000002")
NAMESPACE = "test"

Arrival = tuple[Envelope[EventData], datetime]


@st.composite
def _arrivals(draw: st.DrawFn) -> list[Arrival]:
    """Events of every type over two cases, some redelivered, in any order of arrival."""
    # Withdrawals the projection would refuse are left out: test_withdrawal_projections.py.
    events = draw(st.lists(st.sampled_from(CASE_EVENTS).flatmap(envelopes), max_size=10))
    arrivals: list[Arrival] = []
    for index, event in enumerate(events):
        time = START + timedelta(hours=draw(st.integers(0, 48)))
        update = {"subject": draw(st.sampled_from(CASES)), "id": f"event-{index}", "time": time}
        arrivals.append((event.model_copy(update=update), time + timedelta(minutes=index)))
    redelivered = draw(st.lists(st.sampled_from(arrivals), max_size=3)) if arrivals else []
    return draw(st.permutations([*arrivals, *redelivered]))


def _one_at_a_time(arrivals: list[Arrival]) -> dict[str, CasePicture]:
    pictures: dict[str, CasePicture] = {}
    for event, recorded_at in arrivals:
        pictures[event.case_id] = apply(pictures.get(event.case_id), event, recorded_at)
    return pictures


_PROPERTY = settings(max_examples=60, deadline=None)


@_PROPERTY
@given(_arrivals(), st.integers(1, 10))
def test_a_case_folded_in_batches_is_the_case_folded_event_by_event(
    arrivals: list[Arrival], size: int
) -> None:
    pictures: dict[str, CasePicture] = {}
    for start in range(0, len(arrivals), size):
        for case_id in CASES:
            of_case = [a for a in arrivals[start : start + size] if a[0].case_id == case_id]
            if of_case:
                pictures[case_id] = apply_all(pictures.get(case_id), of_case)

    assert pictures == _one_at_a_time(arrivals)


def test_a_batch_with_nothing_new_leaves_the_picture_as_it_was() -> None:
    event = example_event(CATALOGUE[0])
    picture = apply(None, event, START)

    assert apply_all(picture, [(event, START), (event, START)]) is picture


@settings(max_examples=20, deadline=None)
@given(
    _arrivals(),
    st.integers(1, 10),
    st.sampled_from((1, 2_000)),
    st.sampled_from((1, 1_000, 2**20)),
)
def test_the_store_holds_what_the_fold_makes_however_the_records_are_batched(
    tmp_path_factory: pytest.TempPathFactory,
    arrivals: list[Arrival],
    size: int,
    cached: int,
    cache_bytes: int,
) -> None:
    """Also with room for one picture only, by number or by the bytes of their rows: a case out
    of the cache is read back from the store, late events re-folded into it, and memory never
    holds more than `cached` pictures, nor more than `cache_bytes` of rows but for the newest."""
    records = _records(arrivals)
    database = tmp_path_factory.mktemp("pictures") / "pictures.db"
    projection = PictureProjection(
        open_engine(f"sqlite:///{database}"),
        NAMESPACE,
        keyring=KEYRING,
        cache_size=cached,
        cache_bytes=cache_bytes,
    )
    projection.load()

    for start in range(0, len(records), size):
        projection.commit(projection.fold(records[start : start + size]))
        assert len(projection.cache) <= cached
        assert len(projection.cache) <= 1 or projection.cache.weight <= cache_bytes
        with projection.engine.connect() as connection:
            rows = current_pictures(connection, CASES)
        held, _ = projection.cache.found(CASES)
        # What the cache weighs its pictures by is their rows' length in the store.
        assert {c: case.stored_size for c, case in held.items()} == {
            c: rows[c].stored_size for c in held
        }
        kept, _ = projection.cache.found(CASES)
        assert all(not case.picture.timeline for case in kept.values())

    with projection.engine.connect() as connection:
        stored = load_pictures(connection)
    recorded = [
        (event, appended_at(record.timestamp))
        for (event, _), record in zip(arrivals, records, strict=True)
    ]
    assert stored == projection.stored_pictures() == _one_at_a_time(recorded)
    with projection.engine.connect() as connection:
        current = current_pictures(connection, [*CASES, "KEN-2021-000003"])
    assert current == {case_id: current_of(picture) for case_id, picture in stored.items()}


def _records(arrivals: list[Arrival]) -> list[Record]:
    """The arrivals as one partition of each agency's topic would deliver them."""
    offsets: dict[str, int] = {}
    records = []
    for event, recorded_at in arrivals:
        topic = agency_topic(event.publisher, NAMESPACE)
        offsets[topic] = offsets.get(topic, -1) + 1
        millis = int(recorded_at.timestamp() * 1000)
        records.append(record_of(event, offsets[topic], millis, NAMESPACE))
    return records


@_PROPERTY
@given(_arrivals(), st.integers(1, 10))
def test_a_case_folded_without_its_timeline_is_the_case_folded_whole(
    arrivals: list[Arrival], size: int
) -> None:
    """Batches folded into what a consumer keeps of a case (`Current`: no timeline), or into the
    whole picture when `apply_after` says it needs it, make the pictures folded whole: the
    timeline of one folded without it holds the batch's entries, the rest of it is the same."""
    whole: dict[str, CasePicture] = {}
    kept: dict[str, tuple[TimelineEntry, ...]] = {case_id: () for case_id in CASES}
    for start in range(0, len(arrivals), size):
        for case_id in CASES:
            of_case = [a for a in arrivals[start : start + size] if a[0].case_id == case_id]
            if not of_case:
                continue
            before = whole.get(case_id)
            current = None if before is None else current_of(before)
            last = None if current is None else current.last
            after = apply_after(None if current is None else current.picture, last, of_case)
            whole[case_id] = apply_all(before, of_case)
            if after is not None:
                assert whole[case_id].timeline == (*kept[case_id], *after.timeline)
                assert current_of(after, last) == current_of(whole[case_id])
            kept[case_id] = whole[case_id].timeline

    assert whole == _one_at_a_time(arrivals)


def test_only_events_after_the_latest_entry_are_folded_without_the_timeline() -> None:
    """A later event is folded into the picture without its timeline; a late one, a
    redelivery of the latest and a withdrawal need the timeline (None)."""
    first = example_event(CATALOGUE[0])
    picture = apply(None, first, START)
    current = current_of(picture)
    later = first.model_copy(update={"id": "later", "time": first.time + timedelta(days=1)})
    earlier = first.model_copy(update={"id": "earlier", "time": first.time - timedelta(days=1)})
    withdrawal = example_event(ProbationEventWithdrawn).model_copy(
        update={"subject": first.subject}
    )

    folded = apply_after(current.picture, current.last, [(later, START)])

    assert folded is not None
    assert [entry.event_id for entry in folded.timeline] == ["later"]
    assert [
        apply_after(current.picture, current.last, [(event, START)])
        for event in (earlier, first, withdrawal)
    ] == [None, None, None]
