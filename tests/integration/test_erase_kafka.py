"""Erasure against the real broker (docs/decisions/0002, issue 16): after `mappa erase`, every
projection caught up and then rebuilt from the log (whose agency topics still hold the case's
events), no store's bytes hold the case's details, the audit trail still lists who read it and
who erased it, and the closed year's published statistics are not revised.

In sealed mode, with the alerts service run, no topic of the namespace yields the case's
details either: the sealed record, its alerts and their acknowledgement are sealed under its
key, which `mappa erase` destroys."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy

from mappa_bus.adapters.publisher import AgencyPublisher
from mappa_bus.alerts import service as alerts
from mappa_bus.alerts.model import acknowledgement
from mappa_bus.alerts.store import all_raised
from mappa_bus.alerts.subscription import subscribe
from mappa_bus.alerts.web import kafka_publisher
from mappa_bus.audit import reads
from mappa_bus.catalogue import Area, EventData
from mappa_bus.catalogue.prisons import ReleasedFromCustody
from mappa_bus.catalogue.probation import (
    LeadAgency,
    LevelReason,
    MappaEligibilityIdentified,
    MappaLevelSet,
)
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.connection import KafkaConnection
from mappa_bus.intake import service as intake
from mappa_bus.intake.consumer import IntakeProjection
from mappa_bus.keystore import KeyStore, open_key_store, write_key_encryption_key
from mappa_bus.log_reader import read_to_end
from mappa_bus.picture import service as picture
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.sealed import SealedBusEvents, SealedRecords
from mappa_bus.reporting import service as reporting
from mappa_bus.reporting.population import SHIPPED_POPULATIONS
from mappa_bus.reporting.publication import StatisticsPublished
from mappa_bus.reporting.queries import statistics_for
from mappa_bus.sealing import is_sealed, read_sealed, unseal
from mappa_bus.topics import acknowledgements_topic, alerts_topic, bus_topic_specs, statistics_topic
from tests.keys import KEYRING

pytestmark = pytest.mark.kafka

ERASED, KEPT = "KEN-2020-004242", "KEN-2020-001717"
YEAR = date(2020, 4, 1)
# What only the erased case's events say, as a store would hold it: its agency reference and
# the days things happened to it (the kept case's fall on other days).
REFERENCE = "NDL-ERASE-93817"
DAYS = (date(2020, 5, 13), date(2020, 5, 17), date(2020, 8, 19))
NEEDLES = (REFERENCE.encode(), *(day.isoformat().encode() for day in DAYS))


def _history(case_id: str, days: tuple[date, date, date], reference: str) -> list[EventData]:
    """Eligible (violent offender), set at level 3, released at the end of sentence."""
    eligible, level, released = days
    return [
        MappaEligibilityIdentified(
            identified_on=eligible,
            category=Category.VIOLENT_OFFENDER,
            lead_agency=LeadAgency.PROBATION,
            agency_reference=reference,
        ),
        MappaLevelSet(set_on=level, level=Level.THREE, reason=LevelReason.INITIAL_SCREENING),
        ReleasedFromCustody(released_on=released, release="sentence-end"),
    ]


SENT = {
    ERASED: _history(ERASED, DAYS, REFERENCE),
    KEPT: _history(KEPT, (date(2020, 6, 2), date(2020, 6, 4), date(2020, 9, 1)), "NDL-KEPT-1"),
}


def _day_of(data: EventData) -> date:
    for name in ("identified_on", "set_on", "released_on"):
        if hasattr(data, name):
            day: date = getattr(data, name)
            return day
    raise AssertionError(data)


async def _publish(kafka_as: Callable[[str], KafkaConnection], namespace: str) -> None:
    """Both cases' events, each by its own agency."""
    for case_id, history in SENT.items():
        for data in history:
            agency = data.PUBLISHER
            day = _day_of(data)
            async with AgencyPublisher(
                kafka_as(agency.value), agency, system="test", namespace=namespace
            ) as publisher:
                await publisher.publish(
                    data,
                    case_id=case_id,
                    area=Area.KENT,
                    time=datetime(day.year, day.month, day.day, 9, tzinfo=UTC),
                )


async def _catch_up_all(
    kafka_as: Callable[[str], KafkaConnection], namespace: str, store: str
) -> None:
    """Every slice caught up with the namespace's topics, in the one store, as deployed."""
    await picture.catch_up(kafka_as("picture"), picture.open_projection(store, namespace))
    await reporting.catch_up(kafka_as("reporting"), reporting.open_projection(store, namespace))
    await alerts.catch_up(kafka_as("alerts"), alerts.open_projection(store, namespace), today=None)


async def _mappa(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    """A `mappa` command run as an operator runs it, in a process of its own."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "mappa_bus", *arguments],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


async def _read_case(store: str, env: dict[str, str]) -> None:
    """A probation officer reads the case through `mappa picture show` (audited)."""
    shown = await _mappa(
        env,
        *("picture", "show", ERASED, "--database", store, "--insecure-dev-identity"),
        *("--user", "j.smith", "--as", "probation", "--area", "kent"),
        *("--reason", "preparing the level 3 meeting"),
    )
    assert (shown.returncode, REFERENCE in shown.stdout) == (0, True), shown.stderr


async def _erase(store: str, namespace: str, env: dict[str, str]) -> None:
    erased = await _mappa(
        env,
        *("erase", ERASED, "--decision", "DPO-2026-0007", "--by", "a.dpo"),
        *("--reason", "recorded against the wrong person; s.47 decision"),
        *("--namespace", namespace, "--database", store),
    )
    assert erased.returncode == 0, erased.stderr


def _store_bytes(store: str) -> bytes:
    """Every byte the store keeps: a SQLite store's files (the database, and its write-ahead
    log and index where present); a PostgreSQL store's tables, dumped row by row."""
    engine = open_engine(store)
    try:
        if engine.dialect.name == "sqlite":
            assert engine.url.database is not None
            path = Path(engine.url.database)
            files = [path, *path.parent.glob(f"{path.name}-*")]
            return b"".join(file.read_bytes() for file in files if file.is_file())
        metadata = sqlalchemy.MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return b"".join(
                "|".join(str(value) for value in row).encode()
                for table in metadata.sorted_tables
                for row in connection.execute(sqlalchemy.select(table))
            )
    finally:
        engine.dispose()


async def _statistics(kafka: KafkaConnection, namespace: str) -> list[StatisticsPublished]:
    """Kent 2020-21's statistics as published, in order."""
    published = [
        StatisticsPublished.model_validate_json(record.value)
        async for batch in read_to_end(kafka, [statistics_topic(namespace)])
        for record in batch
    ]
    return [s for s in published if (s.subject, s.data.year_start) == ("kent", YEAR)]


async def test_an_erased_case_leaves_no_detail_in_any_store_through_a_rebuild(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    database_url: str,
    service_env: dict[str, str],
) -> None:
    """Counted, alerted on and read, then erased by `mappa erase`: every store caught up, then
    rebuilt from the log, holds none of its details; the trail keeps the read and the erasure;
    Kent 2020-21 (closed) is published once, and counts the case as it did."""
    await _publish(kafka_as, namespace)
    await _catch_up_all(kafka_as, namespace, database_url)
    await _read_case(database_url, service_env)
    with alerts.open_projection(database_url, namespace).engine.connect() as connection:
        alerted = {alert.data.case_id for alert in all_raised(connection)}
    assert all(needle in _store_bytes(database_url) for needle in NEEDLES)
    published = await _statistics(kafka, namespace)

    await _erase(database_url, namespace, service_env)
    await _catch_up_all(kafka_as, namespace, database_url)
    erased_bytes = _store_bytes(database_url)
    picture.rebuild(picture.open_projection(database_url, namespace))
    reporting.rebuild(reporting.open_projection(database_url, namespace))
    await _catch_up_all(kafka_as, namespace, database_url)

    rebuilt = picture.open_projection(database_url, namespace).stored_pictures()
    counted = reporting.open_projection(database_url, namespace, for_consuming=False)
    with open_engine(database_url).connect() as connection:
        trail = [(r.user, r.role, r.outcome) for r in reads(connection, case_id=ERASED)]
        still_alerted = {alert.data.case_id for alert in all_raised(connection)}
    assert alerted == {ERASED, KEPT}
    assert still_alerted == {KEPT}
    assert (rebuilt[ERASED].timeline, rebuilt[ERASED].erased_on) == ((), date.today())
    assert rebuilt[KEPT].timeline != ()
    assert [needle for needle in NEEDLES if needle in erased_bytes] == []
    assert [needle for needle in NEEDLES if needle in _store_bytes(database_url)] == []
    assert trail == [("j.smith", "probation", "read"), ("a.dpo", "erasure", "erased")]
    assert [s.revision for s in published] == [1]
    assert await _statistics(kafka, namespace) == published
    assert ERASED not in counted.cases
    kent = statistics_for(counted.cases, Area.KENT, 2020, SHIPPED_POPULATIONS, kept=counted.kept)
    assert kent == published[0].data
    assert (kent.levels_2_and_3_in_year[3][2] if kent else None) == 2


def _sealed_env(service_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The environment of sealed mode: the sealed record, and the case keys' store and its
    key-encryption key (made here)."""
    write_key_encryption_key(tmp_path / "kek")
    return {
        **service_env,
        "MAPPA_RECORD": "sealed",
        "MAPPA_KEY_STORE_URL": f"sqlite:///{tmp_path / 'keys.db'}",
        "MAPPA_KEY_ENCRYPTION_KEY": str(tmp_path / "kek"),
    }


def _case_keys(env: dict[str, str]) -> KeyStore:
    """The case keys as a process starting now has them (no key cached from before)."""
    return open_key_store(env["MAPPA_KEY_STORE_URL"], Path(env["MAPPA_KEY_ENCRYPTION_KEY"]))


async def _sealed_catch_up(
    kafka_as: Callable[[str], KafkaConnection], namespace: str, store: str, keys: KeyStore
) -> None:
    """The intake, then picture and alerts, caught up in sealed mode, as deployed."""
    intake_projection = IntakeProjection(
        open_engine(f"{store}-intake"), namespace, keyring=KEYRING, keys=keys
    )
    intake_projection.load()
    await intake.catch_up(kafka_as("intake"), intake_projection)
    sealed = SealedRecords(keys)
    await picture.catch_up(
        kafka_as("picture"), picture.open_projection(store, namespace, keyring=sealed)
    )
    await alerts.catch_up(
        kafka_as("alerts"), alerts.open_projection(store, namespace, keyring=sealed), today=None
    )


async def _read_back(kafka: KafkaConnection, namespace: str, keys: KeyStore | None) -> list[Any]:
    """Every record of every topic of `namespace`, from the start, as a consumer with the case
    keys reads it: its key, headers and value, and what its value opens to when it is sealed
    under a key not destroyed (with no keys: as it sits on the log)."""
    topics = [spec.name for spec in bus_topic_specs(namespace, sealed=True)]
    return [
        (
            record.topic,
            record.value,
            b"\x00".join(
                [
                    record.key or b"",
                    *(value for _, value in record.headers or ()),
                    record.value or b"",
                    _opened(record.value, keys),
                ]
            ),
        )
        async for batch in read_to_end(kafka, topics)
        for record in batch
    ]


def _opened(value: bytes | None, keys: KeyStore | None) -> bytes:
    if keys is None or value is None or not is_sealed(value):
        return b""
    sealed = read_sealed(value)
    cipher = keys.opener_for(sealed.case_id)
    return b"" if cipher is None else unseal(cipher, sealed.sealed, sealed.aad())


def _found(records: list[Any], topic: str | None = None) -> list[bytes]:
    """The needles that `records` (of `topic`, or of any) hold."""
    held = [value for on, _, value in records if topic in (None, on)]
    return [needle for needle in NEEDLES if any(needle in value for value in held)]


async def _alerts_read(
    kafka_as: Callable[[str], KafkaConnection], namespace: str, keys: KeyStore, count: int
) -> list[Any]:
    """The first `count` alerts `mappa alerts tail --from-beginning` would print, as the SDK
    yields them to a coordinator with the case keys."""
    read: list[Any] = []
    alerts_read = subscribe(
        kafka_as("coordinator"), namespace, from_beginning=True, keys=SealedBusEvents(keys)
    )
    async with contextlib.aclosing(alerts_read):
        while len(read) < count:
            read.append(await asyncio.wait_for(anext(alerts_read), 60))
    return read


async def test_in_sealed_mode_no_topic_yields_an_erased_cases_details_alerts_included(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
    service_env: dict[str, str],
) -> None:
    """Sealed mode, with the alerts service run and an alert acknowledged: before `mappa
    erase`, the case's details are on the log only sealed (the sealed record, its alerts, the
    acknowledgement), and open there; after it, no record of any topic of the namespace, read
    back from the start and opened wherever a key opens it, holds any of them. The case's
    alerts are still on the alerts topic (Kafka rewrites nothing): a coordinator reading from
    the start is given them as erased, and the other case's alerts as raised.

    (Ingress mode has no such test: its agency topics keep every record in clear by design,
    docs/retention.md, and a test that they do would only restate it.)"""
    env = _sealed_env(service_env, tmp_path)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    await _publish(kafka_as, namespace)
    await _sealed_catch_up(kafka_as, namespace, store, _case_keys(env))
    with alerts.open_projection(store, namespace).engine.connect() as connection:
        raised = all_raised(connection)
    alert = next(alert for alert in raised if alert.data.case_id == ERASED)
    async with kafka_publisher(
        kafka_as("coordinator"), namespace, SealedBusEvents(_case_keys(env))
    ) as publish:
        note = f"spoke to the offender manager about {REFERENCE}"
        await publish(acknowledgement(alert, by="c.kent", at=datetime.now(UTC), note=note))
    before = await _read_back(kafka, namespace, _case_keys(env))
    in_clear = await _read_back(kafka, namespace, None)

    await _erase(store, namespace, env)
    await _sealed_catch_up(kafka_as, namespace, store, _case_keys(env))
    after = await _read_back(kafka, namespace, _case_keys(env))
    on_alerts = {
        orjson.loads(value)["id"] for on, value, _ in after if on == alerts_topic(namespace)
    }
    read = await _alerts_read(kafka_as, namespace, _case_keys(env), len(on_alerts))

    assert {alert.data.case_id for alert in raised} == {ERASED, KEPT}
    assert _found(before, alerts_topic(namespace)) == [DAYS[2].isoformat().encode()]
    assert _found(before, acknowledgements_topic(namespace)) == [REFERENCE.encode()]
    assert _found(before) == list(NEEDLES)
    assert _found(in_clear) == []
    assert _found(after) == []
    assert sorted((type(item).__name__, item.subject) for item in read) == sorted(
        ("ErasedEvent" if alert.data.case_id == ERASED else "AlertRaised", alert.data.case_id)
        for alert in raised
    )
