"""The picture fold's reads of its store find rows by key, never by scanning a table that grows
with the history: at national scale a scan per batch makes a rebuild quadratic (a redelivery
lookup once did, unseen on an area's year). Checked with SQLite's own query plans of the
statements a fold runs."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.catalogue import Envelope, EventData
from mappa_bus.catalogue.housing import HousingNeedRaised
from mappa_bus.catalogue.probation import MappaEligibilityIdentified
from mappa_bus.catalogue.vocabulary import Category
from mappa_bus.catalogue.withdrawal import HousingEventWithdrawn
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.projection.database import open_engine
from mappa_bus.reporting.consumer import ReportingProjection
from tests.case_events import kent_case, withdrawal
from tests.keys import KEYRING
from tests.records import Record, record_of

NAMESPACE = "test"
START = datetime(2024, 4, 1, 9, tzinfo=UTC)


def _records(events: list[Envelope[EventData]], first_offset: int) -> list[Record]:
    return [
        record_of(
            e, first_offset + n, int((e.time + timedelta(hours=1)).timestamp() * 1000), NAMESPACE
        )
        for n, e in enumerate(events)
    ]


def _first_and_second(case_ids: list[str]) -> tuple[list[Envelope[EventData]], ...]:
    """Each case's eligibility, then its housing need; in the second batch also a late event
    and withdrawals (the reads of a whole timeline), one of an event of the first batch (the
    reads of what the store kept of it)."""
    first, second = [], []
    eligible = MappaEligibilityIdentified(
        identified_on=date(2024, 4, 1), category=Category.VIOLENT_OFFENDER, lead_agency="probation"
    )
    for case_id in case_ids:
        event_of = kent_case(case_id, START)
        first.append(event_of(eligible, 0, f"{case_id}-eligible"))
        need = HousingNeedRaised(raised_on=date(2024, 4, 4), need="homeless")
        second.append(event_of(need, 3, f"{case_id}-housing"))
    late = kent_case(case_ids[0], START)(
        HousingNeedRaised(raised_on=date(2024, 3, 1), need="homeless"), -30, "late"
    )
    withdrawn = withdrawal(
        kent_case(case_ids[1], START),
        HousingEventWithdrawn,
        f"{case_ids[1]}-housing",
        "wrong",
        day=5,
        on=START.date(),
    )
    early = kent_case(case_ids[2], START)(
        HousingNeedRaised(raised_on=date(2024, 4, 2), need="homeless"), 1, "early"
    )
    withdrawn_early = withdrawal(
        kent_case(case_ids[2], START),
        HousingEventWithdrawn,
        "early",
        "wrong-early",
        day=5,
        on=START.date(),
    )
    return [*first, early], [*second, late, withdrawn, withdrawn_early]


@pytest.mark.parametrize(
    ("kind", "growing"),
    [
        (PictureProjection, ("picture_timeline", "picture_cases")),
        (AlertProjection, ("alerts_timeline", "alerts_cases", "alerts_raised")),
        (
            ReportingProjection,
            (
                "reporting_case_facts",
                "projection_applied_events",
                "reporting_contributions",
                "reporting_action_steps",
            ),
        ),
    ],
)
def test_a_fold_reads_its_store_by_key(
    tmp_path: Path, kind: type[Any], growing: tuple[str, ...]
) -> None:
    """What a projection's second batch reads of the first (with a late event and a
    withdrawal, from outside a cache of one case) it finds by key."""
    database = tmp_path / "store.db"
    projection = kind(
        open_engine(f"sqlite:///{database}"), NAMESPACE, keyring=KEYRING, cache_size=1
    )
    projection.load()
    first, second = _first_and_second([f"KEN-2024-{n:06d}" for n in range(1, 41)])
    projection.commit(projection.fold(_records(first, 0)))
    statements: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(projection.engine, "before_cursor_execute", note)
    batch = projection.fold(_records(second, len(first)))
    projection.commit(batch)

    assert not batch.rejected
    assert len(statements) >= 2
    with sqlite3.connect(database) as plain:
        plans = [
            (statement, detail)
            for statement, parameters in statements
            for *_, detail in plain.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
        ]
    scans = [(s, d) for s, d in plans if d.startswith(tuple(f"SCAN {t}" for t in growing))]
    assert scans == []
    # Every growing table was read, so that each of its reads was judged.
    assert [t for t in growing if not any(t in s for s, _ in statements)] == []
