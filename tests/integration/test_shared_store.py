"""Members of a consumer group sharing one store: each moves only the offsets of the partitions
it folded, and only from where it read them, so a member folding a partition the group has
handed to another (a batch in hand during a rebalance) stores nothing, and a member never puts
another's partition back. On SQLite and PostgreSQL, for every projection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.alerts.store import raised_ids
from mappa_bus.kafka_codec import partition_of
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.picture.schema import create_schema as create_picture_schema
from mappa_bus.picture.store import load_pictures
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.offsets import (
    OffsetsMovedOn,
    Position,
    advance_offsets,
    load_offsets,
)
from mappa_bus.reporting.consumer import ReportingProjection
from mappa_bus.reporting.partnership_store import load_partnership
from mappa_bus.reporting.publication import load_unpublished
from mappa_bus.reporting.store import load_cases
from mappa_bus.simulator.options import SimulationOptions
from mappa_bus.simulator.run import events, simulate
from mappa_bus.topics import agency_topic
from tests.keys import KEYRING
from tests.records import Record, record_of

NAMESPACE = "test"
SMALL = SimulationOptions(scale=0.02)
P0: Position = ("t", 0)
P1: Position = ("t", 1)
Q0: Position = ("u", 0)  # another topic, the same partition number as P0


def _records() -> list[Record]:
    """A small area-year on the partitions of each agency topic, by case, as the producer
    partitions them (the same case on the same partition number everywhere)."""
    offsets: dict[Position, int] = {}
    records = []
    for item in simulate(SMALL):
        for event in events(item, SMALL.seed):
            topic = agency_topic(event.publisher, NAMESPACE)
            partition = partition_of(event.case_id.encode())
            offset = offsets.get((topic, partition), 0)
            offsets[(topic, partition)] = offset + 1
            stamp = int(event.time.timestamp() * 1000) + 60_000
            records.append(record_of(event, offset, stamp, NAMESPACE))
    return records


RECORDS = _records()


def _on(partition: int, records: list[Record] = RECORDS) -> list[Record]:
    return [record for record in records if record.partition == partition]


def _picture_state(connection: Any) -> object:
    return load_pictures(connection), load_offsets(connection, "picture")


def _reporting_state(connection: Any) -> object:
    # The partnership counts added up: members keep their partitions' apart.
    partnership = load_partnership(connection)
    unpublished = load_unpublished(connection)
    return load_cases(connection), load_offsets(connection, "reporting"), partnership, unpublished


def _alerts_state(connection: Any) -> object:
    return raised_ids(connection), load_offsets(connection, "alerts")


Kind = tuple[Callable[[Engine], Any], Callable[[Any], object]]
KINDS: dict[str, Kind] = {
    "picture": (
        lambda engine: PictureProjection(engine, NAMESPACE, keyring=KEYRING),
        _picture_state,
    ),
    "reporting": (
        lambda engine: ReportingProjection(engine, NAMESPACE, keyring=KEYRING),
        _reporting_state,
    ),
    "alerts": (lambda engine: AlertProjection(engine, NAMESPACE, keyring=KEYRING), _alerts_state),
}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> Kind:
    return KINDS[request.param]


def _member(kind: Kind, engine: Engine) -> Any:
    member = kind[0](engine)
    member.load()
    return member


def _state(kind: Kind, engine: Engine) -> object:
    with engine.connect() as connection:
        return kind[1](connection)


def _fold_all(member: Any, records: list[Record]) -> None:
    for start in range(0, len(records), 500):
        member.commit(member.fold(records[start : start + 500]))


def test_members_of_different_partitions_leave_each_others_offsets_alone(
    kind: Kind, engine: Engine, tmp_path: Path
) -> None:
    """The scale-out stall: a member that had read partition 0's offset before the group gave
    it to another wrote it back with every later batch, so the other's progress on it was
    undone, and what followed was never read again."""
    first, second = _member(kind, engine), _member(kind, engine)
    whole = _on(0)
    head = whole[: len(whole) // 2]
    _fold_all(first, head)  # partition 0 is the first member's, then moves to the second
    second.load()
    # The second member reads the partition from its start, as a member given a partition does:
    # the picture and reporting members skip what the store holds, the alerts member folds its
    # pictures again from the log (raising nothing twice) before it raises on the rest.
    _fold_all(second, whole)
    _fold_all(first, _on(1))  # the first member goes on with partition 1

    # The same records folded by one member alone (in a SQLite file: the state read back is
    # the same on either engine).
    alone_engine = open_engine(f"sqlite:///{tmp_path / 'alone.db'}")
    try:
        _fold_all(_member(kind, alone_engine), _on(0) + _on(1))
        assert _state(kind, engine) == _state(kind, alone_engine)
    finally:
        alone_engine.dispose()


def test_a_batch_folded_from_where_another_member_has_moved_on_is_not_stored(
    kind: Kind, engine: Engine
) -> None:
    """Both members read the store; the first stores a batch of partition 0; the second, still
    holding the same records from before a rebalance, is refused, and the store is the first
    member's. Read again, the second member applies only what is new."""
    first, second = _member(kind, engine), _member(kind, engine)
    whole = _on(0)
    head = whole[: len(whole) // 2]
    first.commit(first.fold(head))
    stored = _state(kind, engine)

    stale = second.fold(head)
    with pytest.raises(OffsetsMovedOn) as refused:
        second.commit(stale)

    assert {topic for topic, _ in refused.value.positions} <= {r.topic for r in head}
    assert _state(kind, engine) == stored
    second.load()
    second.commit(second.fold(whole))
    first.load()
    first.commit(first.fold(whole))  # all applied already: nothing to do
    assert _state(kind, engine) != stored
    assert second.offsets == first.offsets


def test_offsets_move_only_from_where_they_were_read(engine: Engine) -> None:
    """Where the store stands for a partition number, every topic's, must be where the member
    read it; else nothing of the transaction stays."""
    create_picture_schema(engine)
    with engine.begin() as connection:
        advance_offsets(connection, "p", {}, {P0: 10, P1: 5})
    with engine.begin() as connection:
        advance_offsets(connection, "p", {P0: 10, P1: 5}, {P0: 20, P1: 5})
    with engine.connect() as connection:
        assert load_offsets(connection, "p") == {P0: 20, P1: 5}

    # From a stale reading of P0 (10, not 20), or none: refused, the move of P1 included.
    for before in ({P0: 10, P1: 5}, {P1: 5}):
        with pytest.raises(OffsetsMovedOn) as refused, engine.begin() as connection:
            advance_offsets(connection, "p", before, {P0: 30, P1: 7})
        assert refused.value.positions == [P0]
        assert "t/0" in str(refused.value)
        with engine.connect() as connection:
            assert load_offsets(connection, "p") == {P0: 20, P1: 5}

    # Another topic's partition of the same number moved on (another member folded the same
    # cases from it): this member's move of P0 is refused though P0 itself is where it was.
    with engine.begin() as connection:
        advance_offsets(connection, "p", {P0: 20, P1: 5}, {P0: 20, P1: 5, Q0: 3})
    with pytest.raises(OffsetsMovedOn) as refused, engine.begin() as connection:
        advance_offsets(connection, "p", {P0: 20, P1: 5}, {P0: 25, P1: 5})
    assert refused.value.positions == [Q0]

    # Another projection's offsets are its own.
    with engine.begin() as connection:
        advance_offsets(connection, "q", {}, {P0: 1})
    with engine.connect() as connection:
        assert load_offsets(connection, "p") == {P0: 20, P1: 5, Q0: 3}
        assert load_offsets(connection, "q") == {P0: 1}


def test_members_of_the_same_partition_number_wait_for_each_other(database_url: str) -> None:
    """Two transactions moving partitions of one number at the same time, from the same
    reading: one commits, the other is refused (it waited, then saw the first's move)."""
    engines = [open_engine(database_url) for _ in range(2)]
    create_picture_schema(engines[0])
    together = threading.Barrier(2)
    outcomes: list[str] = []

    def move(engine: Engine, position: Position) -> None:
        together.wait()
        try:
            with engine.begin() as connection:
                advance_offsets(connection, "p", {}, {position: 7})
                time.sleep(0.2)  # both are inside their transactions at once
            outcomes.append("committed")
        except OffsetsMovedOn:
            outcomes.append("refused")

    threads = [
        threading.Thread(target=move, args=(engine, position))
        for engine, position in zip(engines, (P0, Q0), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert sorted(outcomes) == ["committed", "refused"]
        with engines[0].connect() as connection:
            assert len(load_offsets(connection, "p")) == 1
    finally:
        for engine in engines:
            engine.dispose()
