"""A simulated year folded through an alerts projection as the service would: a batch at a
time, the clock asked each month, for tests that compare what two projections raise."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.alerts.store import all_raised, all_withdrawn
from tests.records import Record


def fold_the_year(
    projection: AlertProjection, records: Sequence[Record], size: int
) -> tuple[list[tuple[str, str]], int]:
    """Fold `records` `size` at a time into the loaded `projection`, asking the clock each
    month and once more in June 2022: every alert and withdrawal the store then holds (id and
    JSON, sorted), and how many records were refused."""
    refused = 0
    month = None
    for start in range(0, len(records), size):
        chunk = records[start : start + size]
        batch = projection.fold(chunk)
        refused += len(batch.rejected)
        projection.commit(batch)
        day = datetime.fromtimestamp(chunk[-1].timestamp / 1000, UTC).date()
        if day.replace(day=1) != month:
            month = day.replace(day=1)
            projection.raise_overdue(day)
    projection.raise_overdue(date(2022, 6, 1))
    with projection.engine.connect() as connection:
        alerts = [*all_raised(connection), *all_withdrawn(connection)]
    return sorted((alert.id, alert.model_dump_json()) for alert in alerts), refused
