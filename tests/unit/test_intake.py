"""The intake and the projections in sealed mode, folded without a broker: the intake seals
what every consumer would accept and refuses what they would refuse; a projection reading the
sealed record makes the same store as one reading the agency topics; an erased case's records
are skipped, counted, not refused."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.catalogue import Envelope, EventData, Rejection
from mappa_bus.catalogue.housing import HousingNeedRaised
from mappa_bus.catalogue.probation import (
    LevelReason,
    LicenceBreached,
    MappaEligibilityIdentified,
    MappaLevelSet,
)
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.intake.consumer import IntakeProjection, SealedOut
from mappa_bus.keystore import KeyStore
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.sealed import RecordKeys, SealedRecords, source_topics
from mappa_bus.reporting.consumer import ReportingProjection
from mappa_bus.topics import agency_topic, record_topic
from tests.case_events import kent_case
from tests.keys import KEYRING
from tests.records import Record, record_of

NAMESPACE = "test"
KEPT = "KEN-2024-000501"
ERASED = "KEN-2024-000502"
START = datetime(2024, 6, 3, 9, tzinfo=UTC)


def _case(case_id: str) -> list[Envelope[EventData]]:
    event = kent_case(case_id, START)
    return [
        event(
            MappaEligibilityIdentified(
                identified_on=date(2024, 6, 3),
                category=Category.VIOLENT_OFFENDER,
                lead_agency="probation",
            ),
            0,
            f"{case_id}-1",
        ),
        event(
            MappaLevelSet(
                set_on=date(2024, 6, 10),
                level=Level.TWO,
                reason=LevelReason.INITIAL_SCREENING,
                review_due_on=date(2024, 9, 10),
            ),
            7,
            f"{case_id}-2",
        ),
    ]


EVENTS = [*_case(KEPT), *_case(ERASED)]


def _ingress(events: Sequence[Envelope[EventData]]) -> list[Record]:
    """The events as their agencies' topics hold them, a minute apart."""
    offsets: dict[str, int] = {}
    records = []
    for index, event in enumerate(events):
        topic = agency_topic(event.publisher, NAMESPACE)
        offsets[topic] = offsets.get(topic, -1) + 1
        millis = int(START.timestamp() * 1000) + index * 60_000
        records.append(record_of(event, offsets[topic], millis, NAMESPACE))
    return records


def _on_record(sealed: Sequence[SealedOut]) -> list[Record]:
    """The intake's output as the sealed record delivers it."""
    offsets: dict[int, int] = {}
    records = []
    for out in sealed:
        offsets[out.partition] = offsets.get(out.partition, -1) + 1
        topic = record_topic(NAMESPACE)
        records.append(
            Record(topic, out.partition, offsets[out.partition], out.key, out.value, out.timestamp)
        )
    return records


def _intake(tmp_path: Path, keys: KeyStore, name: str = "intake") -> IntakeProjection:
    engine = open_engine(f"sqlite:///{tmp_path / f'{name}.db'}")
    intake = IntakeProjection(engine, NAMESPACE, keyring=KEYRING, keys=keys)
    intake.load()
    return intake


def _sealed_record(tmp_path: Path, keys: KeyStore) -> list[Record]:
    intake = _intake(tmp_path, keys)
    batch = intake.fold(_ingress(EVENTS))
    intake.commit(batch)
    return _on_record(batch.sealed)


def _picture(tmp_path: Path, name: str, keyring: Any, records: list[Record]) -> PictureProjection:
    projection = PictureProjection(
        open_engine(f"sqlite:///{tmp_path / f'{name}.db'}"), NAMESPACE, keyring=keyring
    )
    projection.load()
    batch = projection.fold(records)
    projection.commit(batch)
    return projection


def test_the_intake_seals_each_record_on_its_partition_with_its_time(
    tmp_path: Path, keys: KeyStore
) -> None:
    """Each valid agency record becomes one sealed record: same key, partition and time, its
    value naming the event's id in the clear and nothing of its details."""
    ingress = _ingress(EVENTS)
    batch = _intake(tmp_path, keys).fold(ingress)
    assert [(o.partition, o.key, o.timestamp) for o in batch.sealed] == [
        (r.partition, r.key, r.timestamp) for r in ingress
    ]
    assert [orjson.loads(o.value)["id"] for o in batch.sealed] == [e.id for e in EVENTS]
    assert [b"2024-06-03" in o.value for o in batch.sealed] == [False] * len(EVENTS)


def test_the_intake_refuses_what_every_consumer_refuses(tmp_path: Path, keys: KeyStore) -> None:
    """A record whose signature does not match is refused (to be dead-lettered), not sealed."""
    good, forged = _ingress(EVENTS[:2])
    forged = replace(forged, value=forged.value.replace(b'"level":2', b'"level":3'))
    batch = _intake(tmp_path, keys).fold([good, forged])
    assert [r.error.kind for r in batch.rejected] == [Rejection.BAD_SIGNATURE]
    assert len(batch.sealed) == 1


def test_the_intake_moves_its_offsets_only_when_it_commits(tmp_path: Path, keys: KeyStore) -> None:
    """Folded, nothing moves; committed, the offsets are past every record, and a second
    intake on the store starts there."""
    intake = _intake(tmp_path, keys)
    ingress = _ingress(EVENTS)
    batch = intake.fold(ingress)
    before = dict(intake.offsets)
    intake.commit(batch)
    expected = {(r.topic, r.partition): r.offset + 1 for r in ingress}
    assert (before, intake.offsets, _intake(tmp_path, keys).offsets) == ({}, expected, expected)


def test_a_picture_from_the_sealed_record_is_the_picture_from_the_agency_topics(
    tmp_path: Path, keys: KeyStore
) -> None:
    """The picture projection reading the sealed record stores the same pictures."""
    plain = _picture(tmp_path, "plain", KEYRING, _ingress(EVENTS))
    sealed = _picture(tmp_path, "sealed", SealedRecords(keys), _sealed_record(tmp_path, keys))
    assert sealed.stored_pictures() == plain.stored_pictures()
    assert sorted(sealed.stored_pictures()) == [KEPT, ERASED]


def test_reporting_from_the_sealed_record_holds_the_same_facts(
    tmp_path: Path, keys: KeyStore
) -> None:
    """The reporting projection reading the sealed record keeps the same cases' facts."""
    sources: list[tuple[str, RecordKeys, list[Record]]] = [
        ("plain", KEYRING, _ingress(EVENTS)),
        ("sealed", SealedRecords(keys), _sealed_record(tmp_path, keys)),
    ]
    projections = []
    for name, keyring, records in sources:
        engine = open_engine(f"sqlite:///{tmp_path / f'report-{name}.db'}")
        projection = ReportingProjection(engine, NAMESPACE, keyring=keyring)
        projection.load()
        projection.commit(projection.fold(records))
        projections.append(projection)
    plain, sealed = projections
    assert (sealed.cases, sealed.seen) == (plain.cases, plain.seen)


def test_an_erased_case_is_skipped_and_counted_not_refused(tmp_path: Path, keys: KeyStore) -> None:
    """After its key is destroyed, a case's sealed records fold nothing, are counted as
    erased, and none is refused; the other case is as before."""
    records = _sealed_record(tmp_path, keys)
    keys.destroy_key(ERASED, "DPA-47/2026/20", "dpo@example.org")
    projection = PictureProjection(
        open_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}"), NAMESPACE, keyring=SealedRecords(keys)
    )
    projection.load()
    batch = projection.fold(records)
    projection.commit(batch)
    assert (batch.erased, batch.rejected, sorted(projection.stored_pictures())) == (2, [], [KEPT])


def test_the_intake_copies_nothing_of_an_erased_case(tmp_path: Path, keys: KeyStore) -> None:
    """A record of a case whose key is destroyed is not sealed: counted as erased."""
    keys.destroy_key(ERASED, "DPA-47/2026/21", "dpo@example.org")
    batch = _intake(tmp_path, keys).fold(_ingress(EVENTS))
    assert (batch.erased, {o.key for o in batch.sealed}) == (2, {KEPT.encode()})


def test_an_altered_sealed_record_is_refused_as_a_bad_signature(
    tmp_path: Path, keys: KeyStore
) -> None:
    """A sealed record that does not open under its live key is dead-lettered, not skipped."""
    first, *rest = _sealed_record(tmp_path, keys)
    document = orjson.loads(first.value)
    document["id"] = "moved"
    moved = replace(first, value=orjson.dumps(document))
    projection = PictureProjection(
        open_engine(f"sqlite:///{tmp_path / 'altered.db'}"), NAMESPACE, keyring=SealedRecords(keys)
    )
    projection.load()
    batch = projection.fold([moved, *rest])
    assert ([r.error.kind for r in batch.rejected], batch.erased) == ([Rejection.BAD_SIGNATURE], 0)


def test_a_projection_reads_the_sealed_record_or_the_agency_topics_by_its_keys(
    keys: KeyStore,
) -> None:
    """With the case keys it subscribes to the sealed record alone; with the agencies' keys,
    to every agency topic."""
    assert source_topics(NAMESPACE, SealedRecords(keys)) == [record_topic(NAMESPACE)]
    assert record_topic(NAMESPACE) not in source_topics(NAMESPACE, KEYRING)
    assert HousingNeedRaised.PUBLISHER.value in " ".join(source_topics(NAMESPACE, KEYRING))


def test_alerts_from_the_sealed_record_are_the_alerts_from_the_agency_topics(
    tmp_path: Path, keys: KeyStore
) -> None:
    """The alerts projection reading the sealed record raises the very alerts (same ids, same
    words) it raises reading the agency topics."""
    breach = kent_case(KEPT, START)(
        LicenceBreached(breached_on=date(2024, 7, 1), breach="condition-breach"), 28, "breach"
    )
    events = [*EVENTS, breach]
    intake = _intake(tmp_path, keys)
    sources: list[tuple[str, RecordKeys, list[Record]]] = [
        ("plain", KEYRING, _ingress(events)),
        ("sealed", SealedRecords(keys), _on_record(intake.fold(_ingress(events)).sealed)),
    ]
    raised = []
    for name, keyring, records in sources:
        engine = open_engine(f"sqlite:///{tmp_path / f'alerts-{name}.db'}")
        projection = AlertProjection(engine, NAMESPACE, keyring=keyring)
        projection.load()
        batch = projection.fold(records)
        projection.commit(batch)
        raised.append({alert_id: alert.data for alert_id, alert in batch.alerts.items()})
    plain, sealed = raised
    assert (sealed, len(plain) > 0) == (plain, True)
