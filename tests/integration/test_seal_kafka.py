"""Crypto-shredding against the real broker (decision 0002): the intake seals a few cases'
records onto the sealed record and deletes them from the agency topics; the picture and
reporting projections reading the sealed record make the stores the agency topics made; after
one case's key is destroyed, a rebuild from the log leaves it out, and no topic's records, read
back as a consumer reads them, hold any of its details, while the other cases are intact."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from mappa_bus.adapters.publisher import AgencyPublisher
from mappa_bus.agencies import Agency
from mappa_bus.case.model import CasePicture
from mappa_bus.catalogue import Area, EventData
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
from mappa_bus.projection.sealed import RecordKeys, SealedRecords
from mappa_bus.reporting import service as reporting
from mappa_bus.topics import agency_topic_specs, bus_topic_specs, record_topic
from tests.keys import KEYRING

pytestmark = pytest.mark.kafka

ERASED = "KEN-2020-000611"
KEPT = ("KEN-2020-000612", "KEN-2020-000613")


def _events(case_id: str, day: int) -> list[tuple[str, EventData, datetime]]:
    """A case's eligibility and level, on dates and with a reference no other case has."""
    identified = date(2020, 5, day)
    return [
        (
            f"{case_id}-eligible",
            MappaEligibilityIdentified(
                identified_on=identified,
                category=Category.VIOLENT_OFFENDER,
                lead_agency=LeadAgency.PROBATION,
                agency_reference=f"NDELIUS-X{day:02d}Q7",
            ),
            datetime(2020, 5, day, 9, tzinfo=UTC),
        ),
        (
            f"{case_id}-level",
            MappaLevelSet(
                set_on=date(2020, 6, day), level=Level.TWO, reason=LevelReason.INITIAL_SCREENING
            ),
            datetime(2020, 6, day, 9, tzinfo=UTC),
        ),
    ]


# Each case's dates and reference are its own: day 11 for the case to be erased.
CASES = {ERASED: _events(ERASED, 11), KEPT[0]: _events(KEPT[0], 13), KEPT[1]: _events(KEPT[1], 17)}
ERASED_DETAILS = (b"2020-05-11", b"2020-06-11", b"NDELIUS-X11Q7")
MAPPA = Path(sys.executable).with_name("mappa")


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[KeyStore]:
    write_key_encryption_key(tmp_path / "kek")
    store = open_key_store(f"sqlite:///{tmp_path / 'keys.db'}", tmp_path / "kek")
    yield store
    store.engine.dispose()


async def _publish(kafka_as: Callable[[str], KafkaConnection], namespace: str) -> None:
    for case_id, sent in CASES.items():
        async with AgencyPublisher(
            kafka_as("probation"), Agency.PROBATION, system="test", namespace=namespace
        ) as publisher:
            for event_id, data, time in sent:
                await publisher.publish(
                    data, case_id=case_id, area=Area.KENT, time=time, event_id=event_id
                )


async def _project(
    kafka_as: Callable[[str], KafkaConnection], namespace: str, store: Path, keys: RecordKeys
) -> tuple[dict[str, CasePicture], Any]:
    """Picture and reporting caught up on their stores in `store`, reading with `keys`."""
    pictures = picture.open_projection(f"sqlite:///{store}-picture.db", namespace, keyring=keys)
    await picture.catch_up(kafka_as("picture"), pictures)
    facts = reporting.open_projection(f"sqlite:///{store}-reporting.db", namespace, keyring=keys)
    await reporting.catch_up(kafka_as("reporting"), facts, publish=False)
    return pictures.stored_pictures(), facts.cases


def _as_sent(picture_: CasePicture) -> dict[str, Any]:
    """What a picture says, without when the bus recorded things."""
    said = picture_.model_dump(mode="json", exclude={"timeline", "last_recorded_at"})
    return {**said, "timeline": [entry.event_id for entry in picture_.timeline]}


async def _records(kafka: KafkaConnection, topics: list[str]) -> list[Any]:
    """Every record now on `topics`, read back as a consumer reads them."""
    return [record async for batch in read_to_end(kafka, topics) for record in batch]


async def _every_byte(kafka: KafkaConnection, namespace: str) -> bytes:
    """Every record's key, value and headers on every topic of `namespace`, joined."""
    found = []
    for record in await _records(kafka, [spec.name for spec in bus_topic_specs(namespace)]):
        found.append(record.key or b"")
        found.append(record.value or b"")
        found.extend(value for _, value in record.headers or ())
    return b"\x00".join(found)


async def test_an_erased_case_is_gone_from_every_topic_and_every_rebuild(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
    keys: KeyStore,
) -> None:
    """Same pictures and facts from the sealed record as from the agency topics; the agency
    topics emptied by the intake; after the key's destruction a rebuild holds the other cases
    alone, and no record of any topic holds the erased case's dates or reference."""
    await _publish(kafka_as, namespace)
    plain_pictures, plain_facts = await _project(kafka_as, namespace, tmp_path / "plain", KEYRING)
    before = await _records(kafka, [record_topic(namespace)])
    published = await _every_byte(kafka, namespace)
    assert [detail in published for detail in ERASED_DETAILS] == [True] * len(ERASED_DETAILS)

    engine = open_engine(f"sqlite:///{tmp_path / 'intake.db'}")
    intake_projection = IntakeProjection(engine, namespace, keyring=KEYRING, keys=keys)
    intake_projection.load()
    sealed_count = await intake.catch_up(kafka_as("intake"), intake_projection)

    sealed = SealedRecords(keys)
    sealed_pictures, sealed_facts = await _project(kafka_as, namespace, tmp_path / "sealed", sealed)
    assert (before, sealed_count) == ([], 6)
    assert {c: _as_sent(p) for c, p in sealed_pictures.items()} == {
        c: _as_sent(p) for c, p in plain_pictures.items()
    }
    assert sealed_facts == plain_facts

    assert keys.destroy_key(ERASED, "DPA-47/2026/31", "dpo@example.org") is True
    rebuilt = picture.open_projection(
        f"sqlite:///{tmp_path / 'sealed'}-picture.db", namespace, keyring=SealedRecords(keys)
    )
    picture.rebuild(rebuilt)
    await picture.catch_up(kafka_as("picture"), rebuilt)
    recounted = reporting.open_projection(
        f"sqlite:///{tmp_path / 'sealed'}-reporting.db", namespace, keyring=SealedRecords(keys)
    )
    reporting.rebuild(recounted)
    await reporting.catch_up(kafka_as("reporting"), recounted, publish=False)

    assert sorted(rebuilt.stored_pictures()) == sorted(KEPT)
    assert {c: _as_sent(rebuilt.stored_pictures()[c]) for c in KEPT} == {
        c: _as_sent(plain_pictures[c]) for c in KEPT
    }
    assert sorted(recounted.cases) == sorted(KEPT)
    everything = await _every_byte(kafka, namespace)
    assert [detail in everything for detail in ERASED_DETAILS] == [False] * len(ERASED_DETAILS)
    on_record = await _records(kafka, [record_topic(namespace)])
    assert len(on_record) == 6


def _mappa(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MAPPA, *args], env=env, capture_output=True, text=True, check=False, timeout=180
    )


def _intake_service(
    namespace: str, store: str, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    """`mappa intake run` started, its output in `log`."""
    with log.open("w") as output:
        return subprocess.Popen(
            [
                MAPPA,
                "intake",
                "run",
                "--namespace",
                namespace,
                "--database",
                store,
                "--metrics-port",
                "0",
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def test_the_commands_run_the_intake_and_a_sealed_picture(
    service_env: dict[str, str],
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
) -> None:
    """`mappa intake run` as a service seals every record onto the sealed record and empties
    the agency topics; `mappa picture catch-up` in sealed mode then holds every case; outside
    sealed mode the intake refuses to start."""
    await _publish(kafka_as, namespace)
    write_key_encryption_key(tmp_path / "kek")
    env = {
        **service_env,
        "MAPPA_RECORD": "sealed",
        "MAPPA_KEY_STORE_URL": f"sqlite:///{tmp_path / 'keys.db'}",
        "MAPPA_KEY_ENCRYPTION_KEY": str(tmp_path / "kek"),
    }
    store = f"sqlite:///{tmp_path / 'store.db'}"
    refused = _mappa(
        "intake", "catch-up", "--namespace", namespace, env={**env, "MAPPA_RECORD": "ingress"}
    )
    log = tmp_path / "intake.log"
    process = _intake_service(namespace, store, env, log)
    try:
        deadline = time.monotonic() + 120
        while len(sealed := await _records(kafka, [record_topic(namespace)])) < 6:
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            await asyncio.sleep(0.5)
        # Deleted behind the commit (at most every 5 s: the first batch's deletion comes at once).
        while await _records(kafka, [spec.name for spec in agency_topic_specs(namespace)]):
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            await asyncio.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    caught_up = _mappa(
        "picture", "catch-up", "--namespace", namespace, "--database", f"{store}-picture", env=env
    )
    pictures = picture.open_projection(
        f"{store}-picture",
        namespace,
        keyring=SealedRecords(open_key_store(env["MAPPA_KEY_STORE_URL"], tmp_path / "kek")),
    ).stored_pictures()
    assert (refused.returncode, "only in sealed mode" in refused.stdout + refused.stderr) == (
        78,
        True,
    )
    assert len(sealed) == 6
    assert caught_up.returncode == 0, caught_up.stderr
    assert sorted(pictures) == sorted(CASES)
