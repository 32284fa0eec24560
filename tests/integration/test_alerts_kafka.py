"""The alerts service against the real broker: every alert the final pictures imply is raised,
none twice on the topic, also when the service restarts half way through the stream."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mappa_bus.adapters.publisher import publish_all
from mappa_bus.alerts.consumer import AlertProjection, evaluate_from
from mappa_bus.alerts.model import AlertRaised, alert_id
from mappa_bus.alerts.rules import calendar
from mappa_bus.alerts.service import catch_up, open_projection
from mappa_bus.alerts.store import all_raised, unpublished
from mappa_bus.catalogue import Envelope, EventData
from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import read_to_end
from mappa_bus.projection.publish import publish_event
from mappa_bus.topics import alerts_topic
from tests.area_year import small_area_year

pytestmark = pytest.mark.kafka

YEAR_END = date(2021, 3, 31)


def _implied(projection: AlertProjection) -> set[str]:
    """The alerts the final pictures imply: each event's rules against the case just before
    and after it in event-time order, and the time-driven ones at the year's end (reviews and
    plan actions overdue, level 3 cases without a meeting)."""
    implied = set()
    for picture in projection.stored_pictures().values():
        firings = evaluate_from(picture, picture.timeline[0].event_id)
        implied |= {alert_id(f.data.rule, f.trigger) for f in firings}
        implied |= {alert_id(f.data.rule, f.trigger) for f in calendar(picture, YEAR_END)}
    return implied


async def _publish(
    kafka_as: Callable[[str], KafkaConnection], batch: list[Envelope[EventData]], namespace: str
) -> None:
    await publish_all(lambda agency: kafka_as(agency.value), batch, namespace=namespace)


async def _on_topic(kafka: KafkaConnection, namespace: str) -> list[AlertRaised]:
    return [
        AlertRaised.model_validate_json(record.value)
        async for batch in read_to_end(kafka, [alerts_topic(namespace)])
        for record in batch
    ]


async def test_a_years_alerts_are_raised_once_each_across_a_restart(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
) -> None:
    """Half the year, a restart, then the rest (the second half sent twice): every alert the
    year's final pictures imply is on the topic, each exactly once, as the store records it.
    The catch-up keeps what it holds out of the cyclic collector's walks (`HeapKeeper`), as
    the picture's does."""
    stream = small_area_year()
    half = len(stream) // 2
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    await _publish(kafka_as, stream[:half], namespace)
    gc.unfreeze()
    await catch_up(kafka_as("alerts"), open_projection(url, namespace), today=lambda: YEAR_END)
    frozen = gc.get_freeze_count()
    await _publish(kafka_as, stream[half:] + stream[half:], namespace)
    restarted = open_projection(url, namespace)
    await catch_up(kafka_as("alerts"), restarted, today=lambda: YEAR_END)

    on_topic = await _on_topic(kafka, namespace)
    with restarted.engine.connect() as connection:
        stored, pending = all_raised(connection), unpublished(connection)
    ids = Counter(alert.id for alert in on_topic)
    rules = Counter(alert.data.rule for alert in on_topic)
    assert ids.most_common(1)[0][1] == 1
    assert set(ids) == {alert.id for alert in stored}
    assert len(ids) == restarted.raised_count()
    assert pending == []
    assert frozen > 0
    assert _implied(restarted) <= set(ids)
    # The year has releases, breaches, recalls, orders, level changes and transfers in it.
    assert {"released-from-custody", "recalled", "order-made", "level-raised"} <= set(rules)


async def test_alerts_sent_and_never_marked_are_found_or_sent_again_after_a_restart(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run that dies between sending and marking (here: no mark ever lands, and only every
    other alert reached the topic) leaves its alerts unpublished in the store; the next start
    finds those on the topic and sends the rest: each stored alert on the topic once."""
    stream = small_area_year()
    half = len(stream) // 2
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    await _publish(kafka_as, stream[:half], namespace)
    sends = 0

    async def every_other(*arguments: Any, **options: Any) -> None:
        nonlocal sends
        sends += 1
        if sends % 2:
            await publish_event(*arguments, **options)

    with monkeypatch.context() as crashing:
        crashing.setattr("mappa_bus.alerts.consumer.mark_published", lambda *_: None)
        crashing.setattr("mappa_bus.alerts.service.mark_published", lambda *_: None)
        crashing.setattr("mappa_bus.alerts.service.publish_event", every_other)
        crashed = open_projection(url, namespace)
        await catch_up(kafka_as("alerts"), crashed, today=lambda: YEAR_END)
    before_restart = await _on_topic(kafka, namespace)
    with crashed.engine.connect() as connection:
        left = len(unpublished(connection))
    await _publish(kafka_as, stream[half:], namespace)
    restarted = open_projection(url, namespace)
    await catch_up(kafka_as("alerts"), restarted, today=lambda: YEAR_END)

    on_topic = Counter(alert.id for alert in await _on_topic(kafka, namespace))
    with restarted.engine.connect() as connection:
        stored, pending = all_raised(connection), unpublished(connection)
    assert 0 < len(before_restart) < left == sends
    assert on_topic.most_common(1)[0][1] == 1
    assert set(on_topic) == {alert.id for alert in stored}
    assert pending == []
    assert _implied(restarted) <= set(on_topic)
