"""Alerts in sealed mode (decision 0002) without a broker: the alerts service seals each alert
(and the page each acknowledgement) under its case's key, so the record holds none of its
details in the clear; readers given the case keys open it as it was; once the key is destroyed
every reader has an `ErasedEvent` to show as erased, the board drops the case's alerts, and the
outbox sends nothing more of the case."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import TypeAdapter
from structlog.testing import capture_logs

from mappa_bus.access.policy import ViewerRole
from mappa_bus.alerts.board import AlertBoard, Viewer
from mappa_bus.alerts.cli import case_keys, erased_line
from mappa_bus.alerts.model import (
    AlertAcknowledged,
    AlertData,
    AlertRaised,
    OnAlertsTopic,
    Severity,
    acknowledgement,
    raised,
)
from mappa_bus.alerts.schema import create_schema
from mappa_bus.alerts.service import Outbox
from mappa_bus.alerts.store import record_raised, unpublished
from mappa_bus.alerts.subscription import Recorded, decode
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.vocabulary import Level
from mappa_bus.contract.asyncapi import SealedAcknowledgement, SealedAlert
from mappa_bus.keystore import KeyStore, write_key_encryption_key
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.sealed import ErasedEvent, SealedBusEvents
from mappa_bus.settings import Settings
from tests.records import FakeBroker, Record

ERASED, KEPT = "KEN-2020-004242", "KEN-2020-001717"
HAPPENED = datetime(2020, 8, 19, 9, tzinfo=UTC)
RAISED_AT = datetime(2026, 12, 5, 10, tzinfo=UTC)
SUMMARY = "Released from HMP Elmley at the end of sentence"
ON_ALERTS: TypeAdapter[Any] = TypeAdapter(OnAlertsTopic)


def _alert(case_id: str, trigger: str = "event-1") -> AlertRaised:
    data = AlertData(
        rule="released-from-custody",
        severity=Severity.URGENT,
        audience=(ViewerRole.COORDINATOR,),
        case_id=case_id,
        area=Area.KENT,
        level=Level.THREE,
        summary=SUMMARY,
        trigger_event_id=trigger,
        happened_at=HAPPENED,
    )
    return raised(data, f"{case_id}-{trigger}", RAISED_AT)


def _record(value: bytes | None) -> Record:
    """`value` as a record of the alerts topic."""
    return Record("test.alerts", 0, 7, b"kent", value or b"", 0)


def test_a_sealed_alert_says_nothing_of_its_case_but_opens_as_it_was(keys: KeyStore) -> None:
    """The record names the alert, its case and area in the clear, and nothing else: no
    summary, no day; given the keys, a reader has the alert as the service raised it; the value
    is what the AsyncAPI document says the alerts topic carries in sealed mode."""
    alert = _alert(ERASED)
    sealed = SealedBusEvents(keys).seal(alert)

    assert sealed is not None
    clear = orjson.loads(sealed)
    assert (clear["subject"], clear["mappaarea"]) == (ERASED, "kent")
    assert [b"Elmley" in sealed, b"2020-08-19" in sealed, "time" in clear] == [False] * 3
    assert SealedAlert.model_validate_json(sealed).data.kid == ERASED
    assert decode(_record(sealed), ON_ALERTS, SealedBusEvents(keys)) == alert


def test_a_sealed_alerts_clear_id_is_stable_but_not_its_own(keys: KeyStore) -> None:
    """The clear id is the same however often the alert is sealed (repeats are told apart, the
    outbox finds what it sent), is not the alert's own id (derived from a rule and, for a
    time-driven rule, a day of the case), and differs from case to case."""
    sealer = SealedBusEvents(keys)
    alert = _alert(ERASED)
    ids = {orjson.loads(sealer.seal(alert) or b"{}")["id"] for _ in range(3)}
    other = raised(alert.data.model_copy(update={"case_id": KEPT}), "same-trigger", RAISED_AT)
    again = raised(alert.data, "same-trigger", RAISED_AT)

    assert ids == {sealer.wire_id(alert)}
    assert alert.id not in ids
    assert sealer.wire_id(other) != sealer.wire_id(again)


def test_an_alert_whose_case_key_is_destroyed_reads_as_erased(keys: KeyStore) -> None:
    """After the key's destruction: an `ErasedEvent` with the alert's id, case and area, to show
    as erased; the other case's alerts still open."""
    sealer = SealedBusEvents(keys)
    erased, kept = _alert(ERASED), _alert(KEPT)
    values = [sealer.seal(erased), sealer.seal(kept)]
    on_wire = sealer.wire_id(erased)
    keys.destroy_key(ERASED, "DPO-2026-0007", "a.dpo")

    read = [decode(_record(value), ON_ALERTS, sealer) for value in values]

    assert on_wire is not None
    assert read == [ErasedEvent(on_wire, erased.type, ERASED, Area.KENT), kept]
    assert sealer.wire_id(erased) is None
    assert sealer.seal(_alert(ERASED, "event-2")) is None
    assert "ERASED" in erased_line(ErasedEvent(erased.id, erased.type, ERASED, Area.KENT)).plain


def test_a_sealed_acknowledgement_opens_with_the_keys(keys: KeyStore) -> None:
    """An acknowledgement (who, and a note that may say anything) is sealed as its alert is."""
    ack = acknowledgement(_alert(ERASED), by="c.kent", at=RAISED_AT, note="spoke to HMP Elmley")
    sealed = SealedBusEvents(keys).seal(ack)

    assert sealed is not None
    assert [b"Elmley" in sealed, b"c.kent" in sealed] == [False, False]
    assert SealedAcknowledgement.model_validate_json(sealed).subject == ERASED
    assert decode(_record(sealed), AlertAcknowledged, SealedBusEvents(keys)) == ack


@pytest.mark.parametrize("kind", ["no-keys", "altered"])
def test_a_sealed_alert_that_cannot_be_opened_is_skipped_with_a_warning(
    keys: KeyStore, kind: str
) -> None:
    """Read without keys, or altered: skipped with where and why, never an error or content."""
    sealed = SealedBusEvents(keys).seal(_alert(KEPT))
    assert sealed is not None
    if kind == "altered":
        document = orjson.loads(sealed)
        document["id"] = "another-alert"
        sealed = orjson.dumps(document)
    with capture_logs() as logs:
        opener = None if kind == "no-keys" else SealedBusEvents(keys)
        got = decode(_record(sealed), ON_ALERTS, opener)
    assert got is None
    [entry] = logs
    assert "sealed" in entry["reason"]
    assert "Elmley" not in repr(entry)


def test_the_board_drops_an_erased_alert_and_shows_none_of_its_case_after() -> None:
    """An `ErasedEvent` (the key destroyed before the erasure is read) takes the case off the
    board, and an alert of the case read later is not shown."""
    board = AlertBoard()
    shown, later = _alert(ERASED), _alert(ERASED, "event-2")
    board.take(Recorded(shown, RAISED_AT))
    board.take(Recorded(_alert(KEPT), RAISED_AT))
    board.take(Recorded(ErasedEvent("gone", shown.type, ERASED, Area.KENT), RAISED_AT))
    board.take(Recorded(later, RAISED_AT))

    viewer = Viewer(frozenset({ViewerRole.COORDINATOR}), None)
    assert [row.case_id for row in board.rows(viewer)] == [KEPT]


async def test_the_outbox_seals_and_sends_nothing_of_an_erased_case(
    keys: KeyStore, tmp_path: Path
) -> None:
    """In sealed mode the outbox sends each alert sealed; an alert of a case whose key was
    destroyed after it was stored is not sent, and not left pending once the sent are marked."""
    engine = open_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    create_schema(engine)
    with engine.begin() as connection:
        record_raised(connection, [_alert(ERASED), _alert(KEPT)])
    keys.destroy_key(ERASED, "DPO-2026-0007", "a.dpo")
    broker = FakeBroker()

    outbox = Outbox(engine, "test", SealedBusEvents(keys))
    sent = await outbox.publish(broker)  # type: ignore[arg-type]
    outbox.mark_sent()

    assert sent == 2
    assert [orjson.loads(value)["subject"] for value, _ in broker.sent] == [KEPT]
    assert all(b"Elmley" not in value for value, _ in broker.sent)
    with engine.connect() as connection:
        assert unpublished(connection) == []


async def test_after_a_crash_the_outbox_finds_what_it_sent_sealed(
    keys: KeyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recovery matches the pending alerts by the clear ids they have on the topic once sealed
    (not their own): the one already sent is marked, the other stays pending."""
    engine = open_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    create_schema(engine)
    sent, unsent = _alert(KEPT), _alert(KEPT, "event-2")
    with engine.begin() as connection:
        record_raised(connection, [sent, unsent])
    sealer = SealedBusEvents(keys)
    on_topic = [_record(sealer.seal(sent))]

    async def topic(*_: Any) -> Any:
        yield on_topic

    monkeypatch.setattr("mappa_bus.alerts.service.read_to_end", topic)
    found = await Outbox(engine, "test", sealer).recover(None)  # type: ignore[arg-type]

    with engine.connect() as connection:
        assert (found, [alert.id for alert in unpublished(connection)]) == (1, [unsent.id])


def test_tail_and_the_page_open_alerts_wherever_a_key_encryption_key_is(tmp_path: Path) -> None:
    """A coordinator's shell beside `mappa up`'s sealed services names no mode: the keys are
    opened when the key-encryption key exists; without it, and outside sealed mode, none."""
    kek = tmp_path / "kek"
    settings = Settings(
        record="ingress",
        key_encryption_key=str(kek),
        key_store_url=f"sqlite:///{tmp_path / 'keys.db'}",
    )
    before = case_keys(settings)
    write_key_encryption_key(kek)

    assert (before, isinstance(case_keys(settings), SealedBusEvents)) == (None, True)
