"""Withdrawal in the catalogue, in feeds and in the SDK: each agency withdraws only its own
events, with a reason from a closed list; a correction sends the corrected event first."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from mappa_bus.adapters.feeds import Accepted, Rejected, read_jsonl
from mappa_bus.adapters.publisher import AgencyPublisher, NotSent
from mappa_bus.agencies import SHARING_AGENCIES, Agency
from mappa_bus.catalogue import Area, Rejection, WireError, parse_event, published_by, to_wire
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.probation import MappaLevelSet
from mappa_bus.catalogue.vocabulary import Level
from mappa_bus.catalogue.withdrawal import (
    WITHDRAWALS,
    EventWithdrawn,
    ProbationEventWithdrawn,
    WithdrawalReason,
)
from mappa_bus.connection import KafkaConnection
from tests.keys import KEYRING

LEVEL = MappaLevelSet(set_on=date(2024, 5, 1), level=Level.TWO, reason="initial-screening")
WHEN = datetime(2024, 5, 2, 9, 0, tzinfo=UTC)


def test_every_agency_publishes_exactly_one_withdrawal() -> None:
    """Each agency's own event-withdrawn type is among what it may publish, and only its own."""
    expected = {
        agency: [f"uk.gov.mappa.{agency.value}.event-withdrawn.v1"] for agency in SHARING_AGENCIES
    }

    actual = {
        agency: [m.event_type() for m in published_by(agency) if issubclass(m, EventWithdrawn)]
        for agency in SHARING_AGENCIES
    }

    assert expected == actual
    assert set(SHARING_AGENCIES) == set(WITHDRAWALS)


def test_the_reasons_are_a_closed_list() -> None:
    """The four reasons of issue 16, and no other."""
    assert [reason.value for reason in WithdrawalReason] == [
        "entered-in-error",
        "wrong-case",
        "duplicate",
        "superseded",
    ]


def test_a_withdrawal_with_a_reason_not_on_the_list_is_invalid_data() -> None:
    """A reason outside the vocabulary is refused on the wire, naming the field."""
    wire = json.loads(to_wire(example_event(ProbationEventWithdrawn)))
    wire["data"]["reason"] = "changed-my-mind"

    with pytest.raises(WireError) as refused:
        parse_event(json.dumps(wire))

    assert (refused.value.kind, refused.value.field) == (Rejection.INVALID_DATA, "data.reason")


def test_a_withdrawal_cannot_name_its_event_as_its_own_correction() -> None:
    """`corrected_by` names the event that replaces the one withdrawn, never that one."""
    with pytest.raises(ValidationError):
        ProbationEventWithdrawn(
            withdrawn_event_id="e-1",
            reason=WithdrawalReason.SUPERSEDED,
            withdrawn_on=date(2024, 5, 2),
            corrected_by="e-1",
        )


def test_a_feed_line_may_withdraw_an_event_of_the_feeds_agency() -> None:
    """`mappa publish` reads `event-withdrawn` as the feed agency's own withdrawal type."""
    line = {
        "type": "event-withdrawn",
        "case_id": "KEN-000001",
        "area": "kent",
        "time": "2024-05-02",
        "withdrawn_event_id": "ndelius-0001",
        "reason": "duplicate",
        "withdrawn_on": "2024-05-02",
    }

    [result] = read_jsonl([json.dumps(line).encode()], Agency.PROBATION, system="ndelius")

    assert isinstance(result, Accepted)
    expected = ProbationEventWithdrawn(
        withdrawn_event_id="ndelius-0001",
        reason=WithdrawalReason.DUPLICATE,
        withdrawn_on=date(2024, 5, 2),
    )
    assert expected == result.event.data


def test_a_feed_line_cannot_carry_another_agencys_withdrawal() -> None:
    """A police feed naming probation's withdrawal type is refused as from the wrong publisher."""
    line = {
        "type": "uk.gov.mappa.probation.event-withdrawn.v1",
        "case_id": "KEN-000001",
        "area": "kent",
        "time": "2024-05-02",
        "withdrawn_event_id": "ndelius-0001",
        "reason": "duplicate",
        "withdrawn_on": "2024-05-02",
    }

    [result] = read_jsonl([json.dumps(line).encode()], Agency.POLICE, system="visor")

    assert isinstance(result, Rejected)
    assert result.error.kind == Rejection.WRONG_PUBLISHER


class FakeProducer:
    """The producer's `send` as the publisher uses it: records each send, and answers with the
    broker's acknowledgement, or an error for the values named in `failing`."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.sent: list[Any] = []
        self.failing = failing

    async def send(self, topic: str, value: bytes, **_: Any) -> asyncio.Future[Any]:
        event = parse_event(value)
        self.sent.append(event)
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if event.id in self.failing:
            answer.set_exception(RuntimeError("broker gone"))
        else:
            answer.set_result(None)
        return answer


def _probation(producer: FakeProducer) -> AgencyPublisher:
    publisher = AgencyPublisher(
        KafkaConnection("127.0.0.1:9"), Agency.PROBATION, system="ndelius", keyring=KEYRING
    )
    publisher._producer = producer
    return publisher


async def test_a_correction_sends_the_corrected_event_then_the_withdrawal_naming_it() -> None:
    """The corrected event is on the log before the original is withdrawn, and linked to it."""
    producer = FakeProducer()

    corrected, withdrawal = await _probation(producer).correct(
        "ndelius-0001", LEVEL, case_id="KEN-000001", area=Area.KENT, time=WHEN
    )

    expected = ProbationEventWithdrawn(
        withdrawn_event_id="ndelius-0001",
        reason=WithdrawalReason.SUPERSEDED,
        withdrawn_on=withdrawal.time.date(),
        corrected_by=corrected.id,
    )
    assert [corrected.id, withdrawal.id] == [event.id for event in producer.sent]
    assert expected == withdrawal.data
    assert (corrected.case_id, withdrawal.case_id) == ("KEN-000001", "KEN-000001")


async def test_a_correction_whose_new_event_is_not_acknowledged_withdraws_nothing() -> None:
    """Better the original for a while longer than the case with neither."""
    producer = FakeProducer(failing=frozenset({"new-1"}))

    with pytest.raises(NotSent):
        await _probation(producer).correct(
            "ndelius-0001",
            LEVEL,
            case_id="KEN-000001",
            area=Area.KENT,
            time=WHEN,
            corrected_id="new-1",
        )

    assert [event.id for event in producer.sent] == ["new-1"]


async def test_a_wrong_case_correction_withdraws_from_the_case_the_original_was_about() -> None:
    """The withdrawal goes with the original's case (its partition), the new event with its."""
    producer = FakeProducer()

    corrected, withdrawal = await _probation(producer).correct(
        "ndelius-0001",
        LEVEL,
        case_id="KEN-000002",
        original_case_id="KEN-000001",
        area=Area.KENT,
        time=WHEN,
        reason=WithdrawalReason.WRONG_CASE,
    )

    assert (corrected.case_id, withdrawal.case_id) == ("KEN-000002", "KEN-000001")
