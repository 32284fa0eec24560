"""A reporting store written before its state was read per batch (issue 17) upgrades on load:
what it had applied stays applied, and its plan steps count as before."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import orjson
from sqlalchemy import delete, select

from mappa_bus.catalogue.withdrawal import ProbationEventWithdrawn
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.seen import applied_table, seen_batches_table
from mappa_bus.reporting.consumer import ReportingProjection, steps_in
from mappa_bus.reporting.plan_actions import step_of
from mappa_bus.reporting.schema import (
    action_steps_table,
    case_facts_table,
    cases_table,
    facts_table,
    plan_steps_table,
    withdrawn_table,
)
from tests.case_events import kent_case, withdrawal
from tests.keys import KEYRING
from tests.reporting_case import AGREED, CASE, ELIGIBLE, NAMESPACE, START, case_event
from tests.reporting_case import records as _records

_event = case_event


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


def test_plan_steps_of_a_store_of_one_row_a_batch_count_as_before(tmp_path: Path) -> None:
    """The steps kept the old way (a batch's in one JSON row) move to a row a step on load:
    the same actions, and a withdrawal of an old step still finds it."""
    projection = _open(tmp_path)
    projection.commit(projection.fold(_records(ELIGIBLE, AGREED)))
    before = projection.plans
    # The old row: [case_id, action_id, time, event_id, kind, publisher, area, on, owner,
    # due_on, reason] a step.
    (agreed,) = before[(CASE, "ACT-1")]
    old_row = [
        CASE,
        "ACT-1",
        agreed.time.isoformat(),
        "agreed",
        "agreed",
        "probation",
        "kent",
        "2023-06-02",
        "housing",
        "2023-06-30",
        None,
    ]
    with projection.engine.begin() as connection:
        connection.execute(delete(action_steps_table))
        connection.execute(plan_steps_table.insert(), {"steps": orjson.dumps([old_row]).decode()})

    upgraded = _open(tmp_path)
    assert upgraded.plans == before
    batch = upgraded.fold(
        _records(
            withdrawal(_event, ProbationEventWithdrawn, "agreed", "w", day=30, on=date(2023, 7, 1)),
            first=5,
        )
    )
    upgraded.commit(batch)

    assert (batch.rejected, upgraded.plans) == ([], {})
    with upgraded.engine.connect() as connection:
        assert connection.execute(select(plan_steps_table)).all() == []


def test_a_cache_of_one_case_folds_the_plans_as_a_large_one(tmp_path: Path) -> None:
    """Each batch reads the cases the cache lacks from the store: however small the cache, in
    cases or in plan steps, the steps come out the same."""
    other = kent_case("KEN-2023-000202", START)
    third = kent_case("KEN-2023-000203", START)
    events = [ELIGIBLE, AGREED, other(AGREED.data, 1, "other-agreed")]
    events.append(third(AGREED.data, 2, "third-agreed"))
    withdrawn = withdrawal(
        _event, ProbationEventWithdrawn, "agreed", "w", day=30, on=date(2023, 7, 1)
    )
    stores = []
    for size, steps in ((1, 100), (100, 1), (100, 100)):
        folder = tmp_path / f"{size}-{steps}"
        folder.mkdir()
        projection = ReportingProjection(
            open_engine(f"sqlite:///{folder / 'r.db'}"),
            NAMESPACE,
            keyring=KEYRING,
            cache_size=size,
            cache_plan_steps=steps,
        )
        projection.load()
        for index, event in enumerate([*events, withdrawn]):
            projection.commit(projection.fold(_records(event, first=index)))
        stores.append(projection.plans)
        cached, _ = projection.plan_cache.found(event.case_id for event in events)
        assert len(cached) <= size
        assert sum(map(steps_in, cached.values())) <= steps or len(cached) == 1
    assert stores[0] == stores[1] == stores[2]
    assert list(stores[0]) == [("KEN-2023-000202", "ACT-1"), ("KEN-2023-000203", "ACT-1")]


def test_the_plan_cache_weighs_a_case_by_its_steps() -> None:
    step = step_of(AGREED)
    assert step is not None
    (_, action_id), agreed = step
    assert steps_in({}) == 0
    assert steps_in({action_id: (agreed,), "ACT-2": (agreed, agreed)}) == 3


def test_facts_of_a_store_of_rows_a_case_and_a_batch_read_back_as_before(tmp_path: Path) -> None:
    """The facts kept the old ways (a case's in one row, a batch's in one row) move to a row a
    fact on load: the same cases, a withdrawn fact still left out, and a re-sent fact not
    added twice."""
    projection = _open(tmp_path)
    projection.commit(projection.fold(_records(ELIGIBLE, AGREED)))
    before = projection.cases
    (fact,) = before[CASE]
    old = [fact.time.isoformat(), fact.event_id, fact.kind.value, fact.area.value, fact.value]
    withdrawn = [fact.time.isoformat(), "gone", fact.kind.value, fact.area.value, fact.value]
    with projection.engine.begin() as connection:
        connection.execute(delete(case_facts_table))
        connection.execute(
            cases_table.insert(), {"case_id": CASE, "facts": orjson.dumps([old]).decode()}
        )
        connection.execute(
            facts_table.insert(),
            {"facts": orjson.dumps([[CASE, *old], [CASE, *withdrawn]]).decode()},
        )
        connection.execute(
            withdrawn_table.insert(), {"event_id": "gone", "case_id": CASE, "reason": "duplicate"}
        )

    upgraded = _open(tmp_path)

    assert upgraded.cases == before
    with upgraded.engine.connect() as connection:
        assert connection.execute(select(facts_table)).all() == []
        assert connection.execute(select(cases_table)).all() == []
