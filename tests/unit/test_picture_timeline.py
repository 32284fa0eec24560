"""The picture store keeps each case's timeline as rows written once per event beside a small
current-picture row, and reads back the picture the fold made (the upgrade of a store made
before: tests/integration/test_databases.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, select

from mappa_bus.case.erasure import erased_picture
from mappa_bus.case.fold import apply
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.erasure import ErasureData, ErasureGround
from mappa_bus.catalogue.housing import AccommodationSecured
from mappa_bus.picture.schema import create_schema, timeline_table
from mappa_bus.picture.store import load_picture, load_pictures, save_pictures
from mappa_bus.projection.database import open_engine
from tests.case_events import kent_case, withdrawn_and_late

CASE = "KEN-2024-000001"
OTHER = "KEN-2024-000002"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{tmp_path / 'pictures.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


def _timeline_rows(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(select(timeline_table.c.case_id, timeline_table.c.event_id))
        return sorted((case_id, event_id) for case_id, event_id in rows)


def _inserted_rows(engine: Engine) -> list[Any]:
    """The timeline rows every INSERT from here on sends the database (a list it fills)."""
    sent: list[Any] = []

    def count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("INSERT INTO picture_timeline"):
            sent.extend(parameters if isinstance(parameters, list) else [parameters])

    event.listen(engine, "before_cursor_execute", count)
    return sent


def test_a_picture_with_a_withdrawal_and_a_late_event_reads_back_as_folded(
    engine: Engine,
) -> None:
    """The timeline, the withdrawn entry with its mark and the withdrawal come back as folded,
    each event one row."""
    picture = withdrawn_and_late(CASE)
    # The case this test is about: one event withdrawn, and one arriving after a later one.
    assert picture.withdrawn
    assert picture.withdrawals
    with engine.begin() as connection:
        save_pictures(connection, [picture])

    with engine.connect() as connection:
        assert load_picture(connection, CASE) == picture
    events = ["eligible", "housing", "level-2", "withdraws"]
    assert _timeline_rows(engine) == [(CASE, event_id) for event_id in events]


def test_a_batch_writes_only_the_rows_of_the_events_it_adds(engine: Engine) -> None:
    """Given what the store held, a save sends only the new event's row, and the picture read
    back is the one folded."""
    before = withdrawn_and_late(CASE)
    with engine.begin() as connection:
        save_pictures(connection, [before])
    secured = AccommodationSecured(secured_on=date(2024, 4, 20), accommodation="family")
    housed = kent_case(CASE, datetime(2024, 4, 1, 9, tzinfo=UTC))(secured, 19, "housed")
    after = apply(before, housed, housed.time + timedelta(hours=1))
    sent = _inserted_rows(engine)

    with engine.begin() as connection:
        save_pictures(connection, [after], before={CASE: before})

    assert [row[1] for row in sent] == ["housed"]  # (case_id, event_id, time, entry)
    with engine.connect() as connection:
        assert load_picture(connection, CASE) == after


def test_an_erasure_deletes_the_cases_timeline_rows(engine: Engine) -> None:
    """The stub is all that is left of the case: none of its entries stay in the store, and
    the other case's stay."""
    picture, other = withdrawn_and_late(CASE), withdrawn_and_late(OTHER)
    with engine.begin() as connection:
        save_pictures(connection, [picture, other])
    erasure = ErasureData(
        case_id=CASE,
        area=Area.KENT,
        ground=ErasureGround.DECISION,
        decision="D-1",
        erased_on=date(2024, 6, 1),
    )
    stub = erased_picture(picture, erasure)

    with engine.begin() as connection:
        save_pictures(connection, [stub], before={CASE: picture})

    with engine.connect() as connection:
        assert load_pictures(connection) == {CASE: stub, OTHER: other}
    assert {case_id for case_id, _ in _timeline_rows(engine)} == {OTHER}
