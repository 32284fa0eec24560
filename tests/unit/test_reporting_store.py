"""The reporting consumer's store without a broker: what it appends reads back as what it
folded, re-sent events change nothing, and publication recounts only changed years."""

import asyncio
import gc
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mappa_bus.catalogue import Area, Envelope, EventData
from mappa_bus.projection.database import open_engine
from mappa_bus.reporting.consumer import ReportingProjection
from mappa_bus.reporting.count import count_year
from mappa_bus.reporting.population import SHIPPED_POPULATIONS
from mappa_bus.reporting.service import publish_statistics
from mappa_bus.reporting.tables import kent_2020_21
from mappa_bus.topics import NAMESPACE, agency_topic
from tests.area_year import kent_year
from tests.keys import KEYRING
from tests.records import Record, record_of

# Each test here simulates whole area-years: seconds, so `make unit` leaves them out.
pytestmark = pytest.mark.year

TODAY = date(2025, 11, 25)


def _records(kent: list[Envelope[EventData]], first_offset: int = 0) -> list[Record]:
    """Each event on its agency's topic (one partition), in the order given."""
    offsets: dict[str, int] = {}
    records = []
    for event in kent:
        topic = agency_topic(event.publisher, NAMESPACE)
        offset = offsets.get(topic, first_offset)
        offsets[topic] = offset + 1
        stamp = int(event.time.timestamp() * 1000) + 60_000
        records.append(record_of(event, offset, stamp, NAMESPACE))
    return records


class _Broker:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def publish(self, message: bytes, *_: Any, **__: Any) -> None:
        self.sent.append(message)


def _consume(url: str, records: list[Record]) -> ReportingProjection:
    projection = ReportingProjection(open_engine(url), keyring=KEYRING)
    projection.load()
    for start in range(0, len(records), 2_000):
        projection.commit(projection.fold(records[start : start + 2_000]))
    return projection


def _publish(projection: ReportingProjection) -> int:
    broker = _Broker()
    return asyncio.run(publish_statistics(broker, projection, SHIPPED_POPULATIONS, TODAY))  # type: ignore[arg-type]


def test_the_store_reads_back_what_was_folded_and_a_resend_changes_nothing(
    tmp_path: Path,
) -> None:
    """Kent folded in batches, then every event sent again at new offsets: the store reads
    back the same cases, counting to the seed report, with each event applied once. Each
    commit moves what the projection keeps out of the cyclic collector's walks."""
    kent = kent_year()
    url = f"sqlite:///{tmp_path / 'reporting.db'}"
    gc.unfreeze()
    folded = _consume(url, _records(kent))
    frozen = gc.get_freeze_count()
    again = _consume(url, _records(kent, first_offset=len(kent)))
    reloaded = ReportingProjection(open_engine(url), keyring=KEYRING)
    reloaded.load()

    assert reloaded.cases == folded.cases == again.cases
    assert len(reloaded.seen) == len(kent)
    assert reloaded.partnership == folded.partnership
    assert frozen > 0
    assert count_year(reloaded.cases, date(2020, 4, 1))[Area.KENT] == kent_2020_21().model_copy(
        update={"rsos_per_100k": None}
    )


def test_publication_recounts_only_when_a_batch_changed_a_closed_year(tmp_path: Path) -> None:
    """Everything is due once; a restart publishes nothing; a late event reaching back into
    2020-21 makes that year (and no earlier one) due again."""
    kent = kent_year()
    late = [event for event in kent if event.time.date() >= date(2021, 1, 1)]
    early = [event for event in kent if event.time.date() < date(2021, 1, 1)]
    url = f"sqlite:///{tmp_path / 'reporting.db'}"
    first = _consume(url, _records(early))
    published = _publish(first)
    restarted = _consume(url, [])
    unchanged = _publish(restarted)
    restarted.commit(restarted.fold(_records(late, first_offset=len(early))))
    years_due = set(restarted.unpublished)
    revised = _publish(restarted)

    assert (published > 0, unchanged, years_due == {2020}, revised > 0) == (True, 0, True, True)
    assert restarted.unpublished == set()
