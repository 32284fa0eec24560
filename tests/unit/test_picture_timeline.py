"""The picture store keeps each case's timeline as rows written once per event beside a small
current-picture row, reads back the picture the fold made, and upgrades a store made before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from mappa_bus.case.erasure import erased_picture
from mappa_bus.case.fold import apply
from mappa_bus.case.model import CasePicture
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.erasure import ErasureData, ErasureGround
from mappa_bus.catalogue.housing import HousingNeedRaised
from mappa_bus.catalogue.probation import (
    LevelReason,
    MappaEligibilityIdentified,
    MappaLevelSet,
)
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.catalogue.withdrawal import ProbationEventWithdrawn
from mappa_bus.picture.schema import create_schema, pictures_table, timeline_table
from mappa_bus.picture.store import load_picture, load_pictures, save_pictures
from mappa_bus.projection.database import open_engine
from tests.case_events import kent_case, withdrawal

START = datetime(2024, 4, 1, 9, 0, tzinfo=UTC)
CASE = "KEN-2024-000001"
_event = kent_case(CASE, START)

ELIGIBLE = _event(
    MappaEligibilityIdentified(
        identified_on=date(2024, 4, 1), category=Category.VIOLENT_OFFENDER, lead_agency="probation"
    ),
    0,
    "eligible",
)
LEVEL = _event(
    MappaLevelSet(set_on=date(2024, 4, 3), level=Level.TWO, reason=LevelReason.INITIAL_SCREENING),
    2,
    "level-2",
)
HOUSING = _event(HousingNeedRaised(raised_on=date(2024, 4, 4), need="homeless"), 3, "housing")
WITHDRAWS_LEVEL = withdrawal(
    _event, ProbationEventWithdrawn, "level-2", "withdraws-level-2", day=4, on=date(2024, 4, 5)
)


def _folded(*events: Any) -> CasePicture:
    """The case with `events` folded in the order given, each recorded an hour after it."""
    picture: CasePicture | None = None
    for each in events:
        picture = apply(picture, each, each.time + timedelta(hours=1))
    assert picture is not None
    return picture


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{tmp_path / 'pictures.db'}")
    yield engine
    engine.dispose()


def _timeline_rows(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return sorted(connection.execute(select(timeline_table.c.event_id)).scalars())


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
    """The timeline, the withdrawn entry with its mark and the withdrawal come back as folded."""
    create_schema(engine)
    picture = _folded(ELIGIBLE, HOUSING, WITHDRAWS_LEVEL, LEVEL)
    # The case this test is about: one event withdrawn, and one arriving after a later one.
    assert picture.withdrawn
    assert picture.withdrawals
    with engine.begin() as connection:
        save_pictures(connection, [picture])

    with engine.connect() as connection:
        assert load_picture(connection, CASE) == picture
    assert _timeline_rows(engine) == sorted(["eligible", "housing", "level-2", "withdraws-level-2"])


def test_a_batch_writes_only_the_rows_of_the_events_it_adds(engine: Engine) -> None:
    """Given what the store held, a save sends only the new event's row, and the picture read
    back is the one folded."""
    create_schema(engine)
    before = _folded(ELIGIBLE, LEVEL)
    with engine.begin() as connection:
        save_pictures(connection, [before])
    after = apply(before, HOUSING, HOUSING.time)
    sent = _inserted_rows(engine)

    with engine.begin() as connection:
        save_pictures(connection, [after], before={CASE: before})

    assert [row[1] for row in sent] == ["housing"]  # (case_id, event_id, time, entry)
    with engine.connect() as connection:
        assert load_picture(connection, CASE) == after


def test_an_erasure_deletes_the_cases_timeline_rows(engine: Engine) -> None:
    """The stub is all that is left of the case: none of its entries stay in the store."""
    create_schema(engine)
    picture = _folded(ELIGIBLE, LEVEL, HOUSING)
    other = _folded(ELIGIBLE.model_copy(update={"subject": "KEN-2024-000002"}))
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
        assert load_pictures(connection) == {CASE: stub, other.case_id: other}
        owners = connection.execute(select(timeline_table.c.case_id).distinct()).scalars()
        assert list(owners) == [other.case_id]


def test_a_store_made_before_the_timeline_rows_is_upgraded_once(engine: Engine) -> None:
    """A store whose pictures carry their timelines gets them as rows on the next start, and
    reads back the same pictures; starting again changes nothing."""
    pictures = [
        _folded(ELIGIBLE, HOUSING, WITHDRAWS_LEVEL, LEVEL),
        _folded(ELIGIBLE.model_copy(update={"subject": "KEN-2024-000002"})),
    ]
    pictures_table.create(engine)  # as the version before made it
    with engine.begin() as connection:
        for picture in pictures:
            connection.execute(
                pictures_table.insert().values(
                    case_id=picture.case_id, status="unknown", picture=picture.model_dump_json()
                )
            )

    create_schema(engine)
    create_schema(engine)

    with engine.connect() as connection:
        assert load_pictures(connection) == {p.case_id: p for p in pictures}
        rows = connection.execute(select(func.count()).select_from(timeline_table)).scalar_one()
        assert rows == 5
        kept = connection.execute(text("SELECT picture FROM picture_cases")).scalars()
        assert all('"timeline"' not in row for row in kept)
