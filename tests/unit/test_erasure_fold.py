"""A case's erasure folded by every projection (docs/decisions/0002): the picture keeps its stub,
alerts keep no picture and no alert of it, reporting no fact of it (closed years keep only what
it contributed, without its id); and a rebuild from the log, whose agency topics still hold
the case's events, erases it again."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mappa_bus.alerts import service as alerts
from mappa_bus.alerts.board import AlertBoard
from mappa_bus.alerts.store import all_raised
from mappa_bus.alerts.subscription import Recorded
from mappa_bus.catalogue import Area, Envelope, EventData, make_event
from mappa_bus.catalogue.erasure import ErasureData, ErasureGround, case_erased
from mappa_bus.catalogue.prisons import ReleasedFromCustody
from mappa_bus.catalogue.probation import (
    LeadAgency,
    LevelReason,
    MappaEligibilityIdentified,
    MappaLevelSet,
)
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.intake.consumer import IntakeProjection
from mappa_bus.keystore import open_key_store, write_key_encryption_key
from mappa_bus.picture import service as picture
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.subscriber import Projection, projected_topics
from mappa_bus.reporting import service as reporting
from mappa_bus.reporting.consumer import ReportingProjection
from mappa_bus.reporting.population import SHIPPED_POPULATIONS
from mappa_bus.reporting.queries import statistics_for
from mappa_bus.reporting.schema import case_facts_table
from mappa_bus.reporting.tables import MappaStatistics
from mappa_bus.topics import erasures_topic
from tests.keys import KEYRING
from tests.records import Record, erasure_record, record_of
from tests.stores import stored_picture

NAMESPACE = "unit"
ERASED, KEPT = "KEN-2020-000321", "KEN-2020-000654"
STAMP = int(datetime(2021, 1, 1, tzinfo=UTC).timestamp() * 1000)


def _event(data: EventData, case_id: str, on: date, n: int) -> Envelope[EventData]:
    return make_event(
        data,
        case_id=case_id,
        area=Area.KENT,
        time=datetime(on.year, on.month, on.day, 9, tzinfo=UTC),
        system="test",
        event_id=f"{case_id}-{n}",
    )


def _history(case_id: str) -> list[Envelope[EventData]]:
    """Eligible, set at level 3 and released, in Kent's 2020-21."""
    return [
        _event(
            MappaEligibilityIdentified(
                identified_on=date(2020, 5, 1),
                category=Category.VIOLENT_OFFENDER,
                lead_agency=LeadAgency.PROBATION,
            ),
            case_id,
            date(2020, 5, 1),
            1,
        ),
        _event(
            MappaLevelSet(
                set_on=date(2020, 5, 2), level=Level.THREE, reason=LevelReason.INITIAL_SCREENING
            ),
            case_id,
            date(2020, 5, 2),
            2,
        ),
        _event(
            ReleasedFromCustody(released_on=date(2020, 7, 1), release="sentence-end"),
            case_id,
            date(2020, 7, 1),
            3,
        ),
    ]


def _events() -> list[Record]:
    stream = [*_history(ERASED), *_history(KEPT)]
    return [record_of(event, n, STAMP + n, NAMESPACE) for n, event in enumerate(stream)]


def _erasure(on: date) -> Record:
    data = ErasureData(
        case_id=ERASED, area=Area.KENT, ground=ErasureGround.DECISION, decision="D-1", erased_on=on
    )
    return erasure_record(case_erased(data, datetime.now(UTC)), 0, STAMP + 100, NAMESPACE)


def test_the_picture_keeps_a_stub_and_a_rebuild_erases_it_again(tmp_path: Path) -> None:
    """The erased case's picture is its id, area and erasure day, before and after a rebuild
    that meets its events again; the other case is untouched."""
    projection = picture.open_projection(f"sqlite:///{tmp_path / 'p.db'}", NAMESPACE)
    projection.commit(projection.fold(_events()))
    kept_before = stored_picture(projection, KEPT)

    projection.commit(projection.fold([_erasure(date(2026, 1, 5))]))
    after = stored_picture(projection, ERASED)
    picture.rebuild(projection)
    projection.commit(projection.fold([*_events(), _erasure(date(2026, 1, 5))]))

    stub = stored_picture(projection, ERASED)
    assert (stub.case_id, stub.area, stub.erased_on, stub.timeline) == (
        ERASED,
        Area.KENT,
        date(2026, 1, 5),
        (),
    )
    assert after == stub
    assert stored_picture(projection, KEPT) == kept_before


def test_an_erasure_in_the_same_batch_as_the_events_wins(tmp_path: Path) -> None:
    """Met in one batch with the case's events, whichever first, the erasure leaves the stub."""
    projection = picture.open_projection(f"sqlite:///{tmp_path / 'p.db'}", NAMESPACE)

    projection.commit(projection.fold([_erasure(date(2026, 1, 5)), *_events()]))

    assert stored_picture(projection, ERASED).timeline == ()
    assert stored_picture(projection, KEPT).timeline != ()


def test_alerts_forget_the_case_and_raise_nothing_for_it_again(tmp_path: Path) -> None:
    """The outbox loses every alert of the erased case; a service started again, folding the
    whole log, raises none and holds no picture of it."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    projection = alerts.open_projection(url, NAMESPACE)
    projection.commit(projection.fold(_events()))
    with projection.engine.connect() as connection:
        raised_before = {alert.data.case_id for alert in all_raised(connection)}

    projection.commit(projection.fold([_erasure(date(2026, 1, 5))]))
    again = alerts.open_projection(url, NAMESPACE)
    again.commit(again.fold([*_events(), _erasure(date(2026, 1, 5))]))

    with again.engine.connect() as connection:
        raised_after = {alert.data.case_id for alert in all_raised(connection)}
    assert raised_before == {ERASED, KEPT}
    assert raised_after == {KEPT}
    assert (ERASED in projection.stored_pictures(), ERASED in again.stored_pictures()) == (
        False,
        False,
    )


def _kent_2020(projection: ReportingProjection) -> MappaStatistics | None:
    return statistics_for(
        projection.cases, Area.KENT, 2020, SHIPPED_POPULATIONS, kept=projection.kept
    )


def test_a_closed_year_counts_an_erased_case_as_before_without_its_facts(tmp_path: Path) -> None:
    """Erased after 2020-21 closed, the case leaves no fact in the store, and the year's figures
    stay as they were, also after a rebuild (what it contributed is kept once, not twice)."""
    projection = reporting.open_projection(f"sqlite:///{tmp_path / 'r.db'}", NAMESPACE)
    projection.commit(projection.fold(_events()))
    before = _kent_2020(projection)

    projection.commit(projection.fold([_erasure(date(2026, 1, 5))]))
    erased = _kent_2020(projection)
    reporting.rebuild(projection)
    projection.commit(projection.fold([*_events(), _erasure(date(2026, 1, 5))]))

    with projection.engine.connect() as connection:
        stored = set(connection.scalars(select(case_facts_table.c.case_id)))
    assert ERASED not in projection.cases
    assert ERASED not in stored
    assert KEPT in stored
    assert (erased, _kent_2020(projection)) == (before, before)


def test_an_open_year_no_longer_counts_an_erased_case(tmp_path: Path) -> None:
    """Erased while 2020-21 is still open, the case is simply left out of its figures: they are
    as if only the other case had been sent."""
    alone = reporting.open_projection(f"sqlite:///{tmp_path / 'alone.db'}", NAMESPACE)
    alone.commit(alone.fold([r for r in _events() if r.key == KEPT.encode()]))
    projection = reporting.open_projection(f"sqlite:///{tmp_path / 'r.db'}", NAMESPACE)
    projection.commit(projection.fold(_events()))

    projection.commit(projection.fold([_erasure(date(2020, 12, 1))]))

    assert projection.kept == {}
    assert _kent_2020(projection) == _kent_2020(alone)


def test_the_board_stops_showing_an_erased_cases_alerts(tmp_path: Path) -> None:
    """The page's board drops the erased case's alerts when the erasure comes, and does not
    show one of them read after it (the topics are read side by side)."""
    projection = alerts.open_projection(f"sqlite:///{tmp_path / 'a.db'}", NAMESPACE)
    projection.commit(projection.fold(_events()))
    with projection.engine.connect() as connection:
        raised = all_raised(connection)
    erasure = case_erased(
        ErasureData(
            case_id=ERASED,
            area=Area.KENT,
            ground=ErasureGround.DECISION,
            decision="D-1",
            erased_on=date(2026, 1, 5),
        ),
        datetime.now(UTC),
    )
    board = AlertBoard()
    for alert in raised:
        board.take(Recorded(alert, alert.time))

    board.take(Recorded(erasure, erasure.time))
    for alert in raised:
        board.take(Recorded(alert, alert.time))

    assert {row.case_id for row in board.rows()} == {KEPT}


def test_the_slices_read_the_erasures_and_the_intake_does_not(tmp_path: Path) -> None:
    """Picture, reporting and alerts subscribe to the erasures beside the agency topics; the
    intake, which keeps no case and deletes what it has read, does not."""
    kek = tmp_path / "kek"
    write_key_encryption_key(kek)
    intake = IntakeProjection(
        open_engine(f"sqlite:///{tmp_path / 'i.db'}"),
        NAMESPACE,
        keyring=KEYRING,
        keys=open_key_store(f"sqlite:///{tmp_path / 'keys.db'}", kek),
    )
    slices: list[Projection[Any]] = [
        picture.open_projection(f"sqlite:///{tmp_path / 'p.db'}", NAMESPACE),
        reporting.open_projection(f"sqlite:///{tmp_path / 'r.db'}", NAMESPACE),
        alerts.open_projection(f"sqlite:///{tmp_path / 'a.db'}", NAMESPACE),
    ]

    reading = [erasures_topic(NAMESPACE) in projected_topics(p) for p in [*slices, intake]]

    assert reading == [True, True, True, False]
