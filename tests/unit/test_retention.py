"""Erasure when retention has passed: the details go, the fact of the erasure stays (in the
store and the audit trail), and replaying the log, which still holds the events, does not bring
the details back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from mappa_bus.audit import reads
from mappa_bus.catalogue import Area, Envelope, EventData, make_event
from mappa_bus.catalogue.probation import (
    LeadAgency,
    ManagementEndReason,
    MappaEligibilityIdentified,
    MappaManagementEnded,
)
from mappa_bus.catalogue.vocabulary import Category
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.picture.retention import retention_ends
from mappa_bus.picture.service import erase_expired, open_projection, rebuild
from mappa_bus.topics import agency_topic
from tests.records import Record, record_of
from tests.stores import stored_picture

NAMESPACE = "unit"
ENDED, ACTIVE = "KEN-2010-000001", "KEN-2020-000002"


def _event(data: EventData, case_id: str, on: date, n: int) -> Envelope[EventData]:
    return make_event(
        data,
        case_id=case_id,
        area=Area.KENT,
        time=datetime(on.year, on.month, on.day, 9, tzinfo=UTC),
        system="test",
        event_id=f"{case_id}-{n}",
    )


def _records() -> list[Record]:
    eligible = MappaEligibilityIdentified(
        identified_on=date(2008, 5, 1),
        category=Category.VIOLENT_OFFENDER,
        lead_agency=LeadAgency.PROBATION,
        agency_reference="NDL-0001",
    )
    ended = MappaManagementEnded(
        ended_on=date(2012, 3, 1), reason=ManagementEndReason.LICENCE_ENDED
    )
    stream = [
        _event(eligible, ENDED, date(2008, 5, 1), 1),
        _event(ended, ENDED, date(2012, 3, 1), 2),
        _event(eligible, ACTIVE, date(2020, 5, 1), 1),
    ]
    stamp = int(datetime(2021, 1, 1, tzinfo=UTC).timestamp() * 1000)
    return [record_of(event, n, stamp + n, NAMESPACE) for n, event in enumerate(stream)]


def _consume(projection: PictureProjection) -> None:
    projection.commit(projection.fold(_records()))


def test_retention_runs_from_the_end_of_management() -> None:
    assert retention_ends(date(2012, 3, 1), 6) == date(2018, 3, 1)
    assert retention_ends(date(2016, 2, 29), 1) == date(2017, 2, 28)


def test_an_expired_case_is_erased_audited_and_stays_erased_through_a_rebuild(
    tmp_path: Path,
) -> None:
    projection = open_projection(f"sqlite:///{tmp_path / 'store.db'}", NAMESPACE)
    _consume(projection)
    active_before = stored_picture(projection, ACTIVE)

    too_early = erase_expired(projection, date(2018, 2, 28), years=6)
    erased = erase_expired(projection, date(2021, 1, 1), years=6)
    again = erase_expired(projection, date(2022, 1, 1), years=6)
    rebuild(projection)
    _consume(projection)

    stub = stored_picture(projection, ENDED)
    with projection.engine.connect() as connection:
        trail = [(r.subject, r.outcome, r.user) for r in reads(connection)]
    assert (too_early, erased, again) == ([], [ENDED], [])
    assert stub.erased_on == date(2021, 1, 1)
    assert stub.management_ended is not None
    assert (stub.management, stub.lead_reference, stub.timeline) == (None, None, ())
    assert stored_picture(projection, ACTIVE) == active_before
    assert trail == [(f"case:{ENDED}", "erased", "retention")]


def test_a_running_service_does_not_write_back_a_case_erased_by_another_process(
    tmp_path: Path,
) -> None:
    """`mappa picture erase-expired` runs beside `mappa picture run`, which holds the case's
    details in memory: a later event of the case must not bring them back into the store."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    service = open_projection(url, NAMESPACE)
    _consume(service)
    erase_expired(open_projection(url, NAMESPACE), date(2021, 1, 1), years=6)

    later = MappaEligibilityIdentified(
        identified_on=date(2021, 2, 1),
        category=Category.VIOLENT_OFFENDER,
        lead_agency=LeadAgency.PROBATION,
        agency_reference="NDL-0009",
    )
    event = _event(later, ENDED, date(2021, 2, 1), 3)
    topic = agency_topic(later.PUBLISHER, NAMESPACE)
    record = record_of(event, 3, 1_612_170_000_000, NAMESPACE)
    service.commit(service.fold([record]))

    stored = stored_picture(open_projection(url, NAMESPACE), ENDED)
    assert stored.erased_on == date(2021, 1, 1)
    assert (stored.lead_reference, stored.timeline) == (None, ())
    assert stored_picture(service, ENDED) == stored
    assert service.offsets[(topic, record.partition)] == 4  # passed, not refolded later
