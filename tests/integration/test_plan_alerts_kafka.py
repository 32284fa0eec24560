"""Overdue plan actions against the real broker: `mappa alerts catch-up` run, stopped and run
again with later `--today`s raises an overdue action's alert once on the topic, and a new one
only when the action, re-dated by its owner, is missed again; `mappa alerts tail --role
housing --overdue-actions` shows the owner both, and another agency's role none."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from mappa_bus.adapters.publisher import publish_all
from mappa_bus.agencies import Agency
from mappa_bus.alerts.model import AlertRaised, alert_id
from mappa_bus.catalogue import Area, Category, Envelope, EventData, Level, make_event, plans
from mappa_bus.catalogue.probation import (
    LeadAgency,
    LevelReason,
    MappaEligibilityIdentified,
    MappaLevelSet,
)
from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import read_to_end
from mappa_bus.topics import alerts_topic
from tests.integration.test_alert_tail_kafka import QUIET_S, _lines

pytestmark = pytest.mark.kafka

MAPPA = Path(sys.executable).with_name("mappa")
CASE = "KEN-2025-000019"
ACTION = "ACT-KEN-0001"
DUE = date(2025, 7, 1)
REDATED_TO = date(2025, 8, 1)


def _event(data: EventData, on: date, event_id: str) -> Envelope[EventData]:
    return make_event(
        data,
        case_id=CASE,
        area=Area.KENT,
        time=datetime.combine(on, time(9), tzinfo=UTC),
        system="test",
        event_id=event_id,
    )


def _planned() -> list[Envelope[EventData]]:
    """A level 2 Kent case whose MAPPA meeting agreed an accommodation search owned by
    housing, due on 1 July."""
    return [
        _event(
            MappaEligibilityIdentified(
                identified_on=date(2025, 5, 1),
                category=Category.VIOLENT_OFFENDER,
                lead_agency=LeadAgency.PROBATION,
            ),
            date(2025, 5, 1),
            "eligible-1",
        ),
        _event(
            MappaLevelSet(
                set_on=date(2025, 5, 8),
                level=Level.TWO,
                reason=LevelReason.INITIAL_SCREENING,
                review_due_on=date(2025, 12, 8),
            ),
            date(2025, 5, 8),
            "level-1",
        ),
        _event(
            plans.ProbationPlanActionAgreed(
                action_id=ACTION,
                meeting_reference="MTG-KEN-0001",
                agreed_on=date(2025, 6, 1),
                owner=Agency.HOUSING,
                kind=plans.ActionKind.ACCOMMODATION_SEARCH,
                due_on=DUE,
            ),
            date(2025, 6, 1),
            "agreed-1",
        ),
    ]


def _redated() -> Envelope[EventData]:
    """Housing, the owner, moves the action's due date to 1 August."""
    data = plans.HousingPlanActionRedated(
        action_id=ACTION,
        redated_on=date(2025, 7, 10),
        due_on=REDATED_TO,
        reason=plans.RedateReason.AWAITING_OTHER_AGENCY,
    )
    return _event(data, date(2025, 7, 10), "redated-1")


def _catch_up(env: dict[str, str], namespace: str, url: str, today: date) -> None:
    """One run of the alerts service to the end of the topics, as of `today`, then stop."""
    command = [str(MAPPA), "alerts", "catch-up", "--namespace", namespace, "--database", url]
    done = subprocess.run(
        [*command, "--today", today.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]


async def _overdue_on_topic(kafka: KafkaConnection, namespace: str) -> Counter[str]:
    """How many times each action-overdue alert id is on the alerts topic."""
    alerts = [
        AlertRaised.model_validate_json(record.value)
        async for batch in read_to_end(kafka, [alerts_topic(namespace)])
        for record in batch
    ]
    return Counter(alert.id for alert in alerts if alert.data.rule == "action-overdue")


async def _tail(env: dict[str, str], namespace: str, role: str, count: int) -> list[str]:
    """The lines `mappa alerts tail --role <role> --overdue-actions --from-beginning` prints:
    `count` of them, then none for a while; stopped with Ctrl-C."""
    process = await asyncio.create_subprocess_exec(
        str(MAPPA),
        *("alerts", "tail", "--role", role, "--overdue-actions", "--from-beginning"),
        *("--namespace", namespace),
        env={**env, "COLUMNS": "250"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        # Started (not still importing) before its silence counts: it first says what it
        # waits for, on stderr.
        assert process.stderr is not None
        started = await asyncio.wait_for(process.stderr.readline(), 60)
        assert b"waiting for alerts" in started
        lines = await _lines(process, count)
        with pytest.raises(TimeoutError):  # and no more
            await _lines(process, 1, wait_s=QUIET_S)
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, err.decode()
    return lines


async def test_an_overdue_action_is_raised_once_across_restarts_and_again_when_redated(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    service_env: dict[str, str],
    namespace: str,
    tmp_path: Path,
) -> None:
    """Run on the due date (nothing), the day after (one alert), a month on (still that one);
    re-dated by housing and missed again: a second alert, each once on the topic."""
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    await publish_all(lambda agency: kafka_as(agency.value), _planned(), namespace=namespace)
    first = alert_id("action-overdue", f"{CASE}:{ACTION}:{DUE.isoformat()}")

    _catch_up(service_env, namespace, url, DUE)
    assert await _overdue_on_topic(kafka, namespace) == Counter()

    _catch_up(service_env, namespace, url, date(2025, 7, 2))
    _catch_up(service_env, namespace, url, date(2025, 7, 31))
    assert await _overdue_on_topic(kafka, namespace) == Counter({first: 1})

    await publish_all(lambda agency: kafka_as(agency.value), [_redated()], namespace=namespace)
    _catch_up(service_env, namespace, url, REDATED_TO)
    assert await _overdue_on_topic(kafka, namespace) == Counter({first: 1})
    _catch_up(service_env, namespace, url, date(2025, 8, 2))
    second = alert_id("action-overdue", f"{CASE}:{ACTION}:{REDATED_TO.isoformat()}")
    assert await _overdue_on_topic(kafka, namespace) == Counter({first: 1, second: 1})

    housing = await _tail(service_env, namespace, "housing", 2)
    assert ["action-overdue" in line and CASE in line for line in housing] == [True, True]
    assert ["due on 2025-07-01 " in housing[0], "due on 2025-08-01 " in housing[1]] == [True, True]
    assert await _tail(service_env, namespace, "police", 0) == []
