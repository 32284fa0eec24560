"""A catch-up folds the records merged across the partitions in the order they reached the bus
(projection/merge.py, issue 17), and ends with the store reading them as fetched made, a commit
failing on the way included. A crash mid catch-up leaving the store exact is
test_crash_kafka.py's (five kills of each catch-up)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from sqlite3 import OperationalError as SqliteError
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from mappa_bus.adapters.publisher import publish_all
from mappa_bus.alerts import service as alerts
from mappa_bus.connection import KafkaConnection
from mappa_bus.picture import service as picture
from mappa_bus.projection.heap import CATCH_UP_SWEEP_SECONDS, FULL_SWEEP_SECONDS
from mappa_bus.projection.subscriber import consume_until_caught_up
from mappa_bus.reporting import service as reporting
from mappa_bus.reporting.count import count_year
from mappa_bus.reporting.population import SHIPPED_POPULATIONS
from tests.area_year import small_area_year

pytestmark = pytest.mark.kafka

YEAR = date(2020, 4, 1)
MONTH_END = date(2020, 5, 1)


def _recording(projection: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The append times of the records `projection` folds, in the order it folds them."""
    stamps: list[int] = []
    fold = projection.fold

    def recorded(records: Sequence[Any]) -> Any:
        stamps.extend(record.timestamp for record in records)
        return fold(records)

    monkeypatch.setattr(projection, "fold", recorded)
    return stamps


def _failing_once(projection: Any, monkeypatch: pytest.MonkeyPatch, at: int) -> list[int]:
    """Make `projection`'s commit number `at` fail as a locked store does; the commits tried."""
    tried: list[int] = []
    commit = projection.commit

    def failing(batch: Any) -> None:
        tried.append(len(tried) + 1)
        if len(tried) == at:
            raise OperationalError("COMMIT", None, SqliteError("database is locked"))
        commit(batch)

    monkeypatch.setattr(projection, "commit", failing)
    return tried


def _sweep_periods(projection: Any, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """How often `projection`'s heap keeper sweeps, as each of its commits finds it."""
    periods: list[float] = []
    commit = projection.commit

    def noting(batch: Any) -> None:
        periods.append(projection.heap.full_sweep_seconds)
        commit(batch)

    monkeypatch.setattr(projection, "commit", noting)
    return periods


async def test_a_catch_up_folds_in_the_bus_order_and_makes_the_store_reading_as_fetched_made(
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A month published day by day, the agencies' topics as out of step as a catch-up finds
    them: read as fetched, the fold's order is not the bus's; merged, it is, and the pictures
    and the statistics are the same; and the same again when a commit fails on the way."""
    # A month (and the history of the people in it): the order is the point, not the volume.
    stream = [event for event in small_area_year() if event.time.date() < MONTH_END]
    await publish_all(
        lambda agency: kafka_as(agency.value), stream, namespace=namespace, daily=True
    )
    stamps: dict[bool, list[int]] = {}
    pictures: dict[bool, Any] = {}
    statistics: dict[bool, Any] = {}
    for merged in (False, True):
        kept = picture.open_projection(f"sqlite:///{tmp_path / f'picture-{merged}.db'}", namespace)
        stamps[merged] = _recording(kept, monkeypatch)
        await consume_until_caught_up(kafka_as("picture"), kept, merged=merged)
        pictures[merged] = (kept.offsets, kept.stored_pictures())
        counted = reporting.open_projection(
            f"sqlite:///{tmp_path / f'count-{merged}.db'}", namespace
        )
        await consume_until_caught_up(kafka_as("reporting"), counted, merged=merged)
        statistics[merged] = (
            counted.offsets,
            counted.cases,
            count_year(counted.cases, YEAR, SHIPPED_POPULATIONS),
        )

    assert len(stamps[True]) == len(stamps[False]) == len(stream)
    assert stamps[False] != sorted(stamps[False])  # the topics are out of step
    assert stamps[True] == sorted(stamps[True])
    assert pictures[True] == pictures[False]
    assert statistics[True] == statistics[False]

    # A batch whose commit fails: what was held and released is read again from the store.
    again = picture.open_projection(f"sqlite:///{tmp_path / 'picture-failed.db'}", namespace)
    tried = _failing_once(again, monkeypatch, at=2)
    await consume_until_caught_up(kafka_as("picture"), again, merged=True)
    assert len(tried) > 2
    assert (again.offsets, again.stored_pictures()) == pictures[True]


async def test_a_catch_up_sweeps_its_projections_heap_every_minute_and_a_live_one_hourly(
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While the picture, reporting and the alerts catch up, their heap keepers sweep the frozen
    heap every minute (the cyclic garbage a batch freezes would otherwise wait for the hour);
    after it, they are back to the live service's hourly sweep."""
    stream = [event for event in small_area_year() if event.time.date() < date(2020, 4, 8)]
    await publish_all(lambda agency: kafka_as(agency.value), stream, namespace=namespace)
    for name, service in (("picture", picture), ("reporting", reporting)):
        projection: Any = service.open_projection(f"sqlite:///{tmp_path / name}.db", namespace)
        periods = _sweep_periods(projection, monkeypatch)
        await consume_until_caught_up(kafka_as(name), projection)

        assert periods
        assert set(periods) == {CATCH_UP_SWEEP_SECONDS}
        assert projection.heap.full_sweep_seconds == FULL_SWEEP_SECONDS

    alerting = alerts.open_projection(f"sqlite:///{tmp_path / 'alerts'}.db", namespace)
    periods = _sweep_periods(alerting, monkeypatch)
    await alerts.catch_up(kafka_as("alerts"), alerting, today=None)

    assert periods
    assert set(periods) == {CATCH_UP_SWEEP_SECONDS}
    assert alerting.heap.full_sweep_seconds == FULL_SWEEP_SECONDS
