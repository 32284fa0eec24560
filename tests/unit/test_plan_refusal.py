"""The picture consumer refuses an outcome of a plan action from an agency that does not own it
(`not-owner`, through the batch's refusal path), and the store keeps the open due date the
overdue listing reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from mappa_bus.agencies import Agency
from mappa_bus.case.model import ActionStatus
from mappa_bus.catalogue import Area, Envelope, EventData, Rejection, make_event, plans
from mappa_bus.catalogue.plans import ActionKind
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.picture.schema import pictures_table
from mappa_bus.picture.store import find_overdue
from mappa_bus.projection.database import StoreOutOfDateError, open_engine
from mappa_bus.topics import agency_topic
from tests.keys import KEYRING
from tests.records import Record, record_of
from tests.stores import stored_picture

NAMESPACE = "test"
CASE = "KEN-2024-000021"
START = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)


def _on(day: int) -> date:
    return (START + timedelta(days=day)).date()


def _event(data: EventData, day: int, name: str, case_id: str = CASE) -> Envelope[EventData]:
    time = START + timedelta(days=day)
    return make_event(data, case_id=case_id, area=Area.KENT, time=time, system="t", event_id=name)


def _agreed(action_id: str, due: int, case_id: str = CASE) -> Envelope[EventData]:
    data = plans.ProbationPlanActionAgreed(
        action_id=action_id,
        meeting_reference="MTG-1",
        agreed_on=_on(0),
        owner=Agency.HOUSING,
        kind=ActionKind.ACCOMMODATION_SEARCH,
        due_on=_on(due),
    )
    return _event(data, 0, f"agreed-{case_id}-{action_id}", case_id)


AGREED = _agreed("ACT-1", due=14)
BY_OWNER = _event(
    plans.HousingPlanActionCompleted(action_id="ACT-1", completed_on=_on(9)), 9, "by-owner"
)
BY_POLICE = _event(
    plans.PolicePlanActionCompleted(action_id="ACT-1", completed_on=_on(8)), 8, "by-police"
)


class _Topics:
    """Records as each agency's topic (one partition each, here) delivers them."""

    def __init__(self) -> None:
        self.offsets: dict[str, int] = {}

    def records(self, *events: Envelope[EventData]) -> list[Record]:
        made = []
        for event in events:
            topic = agency_topic(event.publisher, NAMESPACE)
            self.offsets[topic] = self.offsets.get(topic, -1) + 1
            millis = int((event.time + timedelta(hours=1)).timestamp() * 1000)
            made.append(record_of(event, self.offsets[topic], millis, NAMESPACE))
        return made


@pytest.fixture
def projection(tmp_path: Path) -> PictureProjection:
    """An empty picture store."""
    projection = PictureProjection(
        open_engine(f"sqlite:///{tmp_path}/p.db"), NAMESPACE, keyring=KEYRING
    )
    projection.load()
    return projection


def test_a_non_owners_completion_of_a_known_action_is_refused_and_changes_nothing(
    projection: PictureProjection,
) -> None:
    """Police completing housing's action is dead-lettered `not-owner`, naming action and
    owner; the picture stays as the agreement left it, its timeline too."""
    topics = _Topics()
    projection.commit(projection.fold(topics.records(AGREED)))
    before = stored_picture(projection, CASE)

    batch = projection.fold(topics.records(BY_POLICE))
    projection.commit(batch)

    refused = [(r.error.kind, str(r.error)) for r in batch.rejected]
    assert refused == [
        (Rejection.NOT_OWNER, "data.action_id: plan action ACT-1 is owned by housing, not police")
    ]
    assert stored_picture(projection, CASE) == before


def test_an_agreement_in_the_same_batch_makes_the_action_known(
    projection: PictureProjection,
) -> None:
    """Agreement, non-owner and owner outcomes in one batch: the non-owner's is refused, the
    owner's completes the action."""
    batch = projection.fold(_Topics().records(BY_POLICE, AGREED, BY_OWNER))
    projection.commit(batch)

    plan = stored_picture(projection, CASE).plan
    assert plan is not None
    assert ([r.record.topic for r in batch.rejected], plan.actions[0].status) == (
        [agency_topic(Agency.POLICE, NAMESPACE)],
        ActionStatus.COMPLETED,
    )


def test_a_non_owners_outcome_before_the_agreement_is_kept_not_refused(
    projection: PictureProjection,
) -> None:
    """Before the agreement nobody knows the owner: the outcome is kept, then ignored by the
    fold once the agreement shows it is not the owner's."""
    topics = _Topics()
    first = projection.fold(topics.records(BY_POLICE))
    projection.commit(first)
    second = projection.fold(topics.records(AGREED))
    projection.commit(second)

    picture = stored_picture(projection, CASE)
    assert picture.plan is not None
    assert (
        first.rejected,
        second.rejected,
        picture.plan.actions[0].status,
        picture.plan.pending,
    ) == (
        [],
        [],
        ActionStatus.OPEN,
        (),
    )
    assert "by-police" in {entry.event_id for entry in picture.timeline}


def test_the_store_keeps_the_earliest_open_due_date_and_lists_overdue_cases_by_it(
    projection: PictureProjection,
) -> None:
    """`open_due_on` is the earliest due date of open actions (none once all are done); the
    overdue query returns only cases due before the day, earliest first."""
    other = "KEN-2024-000022"
    done = "KEN-2024-000023"
    events = [
        AGREED,
        _agreed("ACT-2", due=20),
        _agreed("ACT-9", due=5, case_id=other),
        _agreed("ACT-3", due=2, case_id=done),
        _event(
            plans.HousingPlanActionCompleted(action_id="ACT-3", completed_on=_on(1)),
            1,
            "done-3",
            done,
        ),
    ]
    projection.commit(projection.fold(_Topics().records(*events)))

    with projection.engine.connect() as connection:
        rows = connection.execute(select(pictures_table.c.case_id, pictures_table.c.open_due_on))
        due = {case_id: open_due_on for case_id, open_due_on in rows}
        overdue = [p.case_id for p in find_overdue(connection, _on(15), None)]
        in_lancashire = find_overdue(connection, _on(15), frozenset({Area.LANCASHIRE}))

    assert due == {CASE: _on(14), other: _on(5), done: None}
    assert (overdue, in_lancashire) == ([other, CASE], [])


def test_a_store_made_before_the_plans_is_refused_naming_the_column(tmp_path: Path) -> None:
    """A `picture_cases` table without `open_due_on` stops the service on start, saying so."""
    engine = open_engine(f"sqlite:///{tmp_path}/old.db")
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE picture_cases (case_id VARCHAR(64) PRIMARY KEY, picture TEXT)")
        )
    projection = PictureProjection(engine, NAMESPACE, keyring=KEYRING)

    with pytest.raises(StoreOutOfDateError, match="open_due_on"):
        projection.load()
