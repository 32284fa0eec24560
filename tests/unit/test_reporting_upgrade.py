"""A reporting store written before its state was read per batch (issue 17) upgrades on load:
what it had applied stays applied, and its plan steps count as before."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Envelope, EventData
from mappa_bus.catalogue.plans import ActionKind, ProbationPlanActionAgreed
from mappa_bus.catalogue.probation import LeadAgency, MappaEligibilityIdentified
from mappa_bus.catalogue.vocabulary import Category
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.seen import applied_table, seen_batches_table
from mappa_bus.reporting.consumer import ReportingProjection
from tests.case_events import kent_case
from tests.keys import KEYRING
from tests.records import Record, record_of

NAMESPACE = "test"
CASE = "KEN-2023-000201"
START = datetime(2023, 6, 1, 9, 0, tzinfo=UTC)
_event = kent_case(CASE, START)

ELIGIBLE = _event(
    MappaEligibilityIdentified(
        identified_on=date(2023, 6, 1),
        category=Category.VIOLENT_OFFENDER,
        lead_agency=LeadAgency.PROBATION,
    ),
    0,
    "eligible",
)
AGREED = _event(
    ProbationPlanActionAgreed(
        action_id="ACT-1",
        meeting_reference="MTG-1",
        agreed_on=date(2023, 6, 2),
        owner=Agency.HOUSING,
        kind=ActionKind.ACCOMMODATION_SEARCH,
        due_on=date(2023, 6, 30),
    ),
    1,
    "agreed",
)


def _records(*events: Envelope[EventData], first: int = 0) -> list[Record]:
    return [
        record_of(
            event,
            first + index,
            int((START + timedelta(hours=first + index)).timestamp() * 1000),
            NAMESPACE,
        )
        for index, event in enumerate(events)
    ]


def _open(path: Path) -> ReportingProjection:
    projection = ReportingProjection(
        open_engine(f"sqlite:///{path / 'reporting.db'}"), NAMESPACE, keyring=KEYRING
    )
    projection.load()
    return projection


def test_ids_applied_by_a_store_of_one_row_a_batch_stay_applied(tmp_path: Path) -> None:
    """The ids kept the old way (a batch's in one text) move to the keyed table on load, and
    a re-send of an event among them changes nothing."""
    projection = _open(tmp_path)
    projection.commit(projection.fold(_records(ELIGIBLE, AGREED)))
    counts = projection.partnership
    with projection.engine.begin() as connection:
        connection.execute(delete(applied_table))
        connection.execute(
            seen_batches_table.insert(),
            {"projection": "reporting", "event_ids": "eligible\nagreed"},
        )

    upgraded = _open(tmp_path)
    batch = upgraded.fold(_records(ELIGIBLE, first=5))
    upgraded.commit(batch)

    assert (batch.new_ids, upgraded.partnership) == (set(), counts)
    assert upgraded.seen == {"eligible", "agreed"}
    with upgraded.engine.connect() as connection:
        assert connection.execute(select(seen_batches_table)).all() == []
