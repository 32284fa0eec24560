"""The operations endpoints and metrics without a broker: the observer's counts, the ASGI app's
answers, the server's start and stop, and the batch subscriber feeding the metrics on
FastStream's in-memory broker."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiokafka import TopicPartition
from faststream.kafka import KafkaBroker, TestKafkaBroker
from prometheus_client.parser import text_string_to_metric_families

from mappa_bus.agencies import Agency
from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.catalogue import Rejection, to_wire
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.police import ShpoMade
from mappa_bus.kafka_codec import partition_of
from mappa_bus.operations import http
from mappa_bus.operations.metrics import REGISTRY, ProjectionMetrics, count_alerts
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.subscriber import register_projection
from mappa_bus.topics import agency_topic
from mappa_bus.web.security import HEADERS
from tests.keys import KEYRING, signed


def _value(name: str, **labels: str) -> float:
    """A sample's current value in the process's registry (0 when it has none yet)."""
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


@dataclass(frozen=True)
class _Record:
    topic: str
    partition: int
    offset: int


class _Consumer:
    """What the observer asks of aiokafka's consumer: its partitions and their end offsets."""

    def __init__(self, ends: dict[TopicPartition, int | None]) -> None:
        self.ends = ends

    def assignment(self) -> set[TopicPartition]:
        return set(self.ends)

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.ends[partition]


def test_a_batch_counts_what_it_consumed_and_what_it_newly_applied() -> None:
    """Records below the stored offset (a redelivery) are consumed, not applied; refused ones
    are consumed, not applied; the batch's time is observed once."""
    metrics = ProjectionMetrics("unit-count")
    records = [_Record("t", 0, offset) for offset in range(10)]

    start = metrics.started(records, {("t", 0): 4})
    metrics.dead_lettered(Rejection.NOT_JSON)
    metrics.committed(start, rejected=1)

    assert _value("mappa_events_consumed_total", projection="unit-count") == 10
    assert _value("mappa_events_applied_total", projection="unit-count") == 5
    dead = {"projection": "unit-count", "rejection": "not-json"}
    assert _value("mappa_events_dead_lettered_total", **dead) == 1
    assert _value("mappa_batch_seconds_count", projection="unit-count") == 1
    metrics.refused()
    assert _value("mappa_batches_refused_total", projection="unit-count") == 1


def test_every_series_shows_at_zero_before_anything_happens() -> None:
    ProjectionMetrics("unit-zero")
    exposed = REGISTRY.get_sample_value
    assert exposed("mappa_events_applied_total", {"projection": "unit-zero"}) == 0
    assert exposed("mappa_store_unavailable_total", {"projection": "unit-zero"}) == 0
    assert exposed("mappa_batches_refused_total", {"projection": "unit-zero"}) == 0
    for rejection in Rejection:
        labels = {"projection": "unit-zero", "rejection": rejection.value}
        assert exposed("mappa_events_dead_lettered_total", labels) == 0


def test_lag_is_the_end_offset_minus_the_stored_one_and_forgets_revoked_partitions() -> None:
    metrics = ProjectionMetrics("unit-lag")
    first, second, unfetched = (TopicPartition("t", n) for n in range(3))
    metrics.lag(_Consumer({first: 12, second: 3, unfetched: None}), {("t", 0): 2})

    lag = {
        p: _value("mappa_consumer_lag", projection="unit-lag", topic="t", partition=p)
        for p in "012"
    }
    assert lag == {"0": 10.0, "1": 3.0, "2": 0.0}
    metrics.lag(_Consumer({second: 3}), {("t", 1): 3})
    labels = {"projection": "unit-lag", "topic": "t", "partition": "0"}
    assert REGISTRY.get_sample_value("mappa_consumer_lag", labels) is None
    assert _value("mappa_consumer_lag", projection="unit-lag", topic="t", partition="1") == 0


def test_lag_shows_again_for_a_partition_held_again_and_follows_each_change() -> None:
    # The series is set only when a partition's lag changed: one removed on a revocation must
    # come back with its partition even at the lag it had.
    metrics = ProjectionMetrics("unit-lag-again")
    first = TopicPartition("t", 0)
    labels = {"projection": "unit-lag-again", "topic": "t", "partition": "0"}
    metrics.lag(_Consumer({first: 5}), {("t", 0): 2})
    metrics.lag(_Consumer({}), {("t", 0): 2})
    assert REGISTRY.get_sample_value("mappa_consumer_lag", labels) is None
    metrics.lag(_Consumer({first: 5}), {("t", 0): 2})
    assert REGISTRY.get_sample_value("mappa_consumer_lag", labels) == 3
    metrics.lag(_Consumer({first: 5}), {("t", 0): 2})
    metrics.lag(_Consumer({first: 5}), {("t", 0): 5})
    assert REGISTRY.get_sample_value("mappa_consumer_lag", labels) == 0


def test_lag_of_a_consumer_not_yet_started_is_left_alone() -> None:
    ProjectionMetrics("unit-none").lag(None, {})


def test_alerts_are_counted_by_rule() -> None:
    before = _value("mappa_alerts_raised_total", rule="unit-rule")
    count_alerts(["unit-rule", "unit-rule"])
    assert _value("mappa_alerts_raised_total", rule="unit-rule") == before + 2


async def _get(app: http.AsgiApp, path: str, method: str = "GET") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
        return await client.request(method, path)


def _answer(reason: str | None) -> Callable[[], Awaitable[str | None]]:
    async def check() -> str | None:
        return reason

    return check


async def test_healthz_answers_and_metrics_are_in_prometheus_text_format() -> None:
    ProjectionMetrics("unit-http")
    app = http.operations_app({})
    health = await _get(app, "/healthz")
    metrics = await _get(app, "/metrics")

    assert health.status_code == 200
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    names = {family.name for family in text_string_to_metric_families(metrics.text)}
    assert {"mappa_events_consumed", "mappa_consumer_lag", "mappa_batch_seconds"} <= names


async def test_readyz_names_the_checks_that_fail_and_nothing_more() -> None:
    ready = http.operations_app({"broker": _answer(None), "store": _answer(None)})
    not_ready = http.operations_app({"broker": _answer(None), "store": _answer("down")})

    assert (await _get(ready, "/readyz")).json() == {"status": "ready", "failing": {}}
    refused = await _get(not_ready, "/readyz")
    assert refused.status_code == 503
    assert refused.json() == {"status": "not ready", "failing": {"store": "down"}}


async def test_a_check_that_hangs_is_a_failing_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http, "CHECK_SECONDS", 0.05)

    async def hang() -> str | None:
        await asyncio.sleep(10)
        return None

    refused = await _get(http.operations_app({"store": hang}), "/readyz")
    assert refused.status_code == 503
    assert refused.json()["failing"] == {"store": "no answer within 0.05 s"}


async def test_other_paths_and_methods_are_refused() -> None:
    app = http.operations_app({})
    assert (await _get(app, "/cases")).status_code == 404
    assert (await _get(app, "/metrics", method="POST")).status_code == 405


async def test_every_answer_carries_the_security_headers() -> None:
    """The operations port is hardened as the other HTTP apps are, refusals included."""
    app = http.operations_app({})
    for answer in (await _get(app, "/healthz"), await _get(app, "/cases")):
        for name, value in HEADERS:
            assert answer.headers[name.decode()] == value.decode()


async def test_the_store_check_says_what_failed_never_where(tmp_path: Path) -> None:
    answering = open_engine(f"sqlite:///{tmp_path / 'store.db'}")
    missing = open_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'secret-name.db'}")

    assert await http.store_check(answering)() is None
    reason = await http.store_check(missing)()
    assert reason == "the store does not answer: OperationalError"


async def test_warm_is_a_flag() -> None:
    warm = {"now": False}
    check = http.flag_check(lambda: warm["now"], "cold")
    assert await check() == "cold"
    warm["now"] = True
    assert await check() is None


async def test_the_server_answers_on_its_port_and_leaves_sigterm_to_the_app() -> None:
    """uvicorn would take SIGTERM for itself; the service's app must keep it, to drain."""
    before = signal.getsignal(signal.SIGTERM)
    async with http.serving(0, {"store": _answer(None)}, host="127.0.0.1") as port:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/healthz")
            ready = await client.get("/readyz")
        during = signal.getsignal(signal.SIGTERM)
    assert (health.status_code, ready.status_code) == (200, 200)
    assert during is before
    assert signal.getsignal(signal.SIGTERM) is before


async def test_a_port_in_use_is_not_served_again_and_does_not_stop_the_service() -> None:
    """A second member on one machine runs without endpoints rather than not at all."""
    async with http.serving(0, {}, host="127.0.0.1") as port:
        with pytest.raises(OSError, match="in use"):
            async with http.serving(port, {}, host="127.0.0.1"):
                pass
        async with contextlib.AsyncExitStack() as stack:
            assert await http.serve_if_free(stack, port, {}, "127.0.0.1") is None
        async with contextlib.AsyncExitStack() as stack:
            served = await http.serve_if_free(stack, 0, {}, "127.0.0.1")
            assert served is not None
            assert served != port


async def test_the_subscriber_feeds_the_metrics(tmp_path: Path) -> None:
    """On FastStream's in-memory broker: a good event is applied, a bad record is
    dead-lettered under its rejection, and both are consumed."""
    namespace = "unit-ops"
    projection = PictureProjection(
        open_engine(f"sqlite:///{tmp_path / 'p.db'}"), namespace, keyring=KEYRING
    )
    projection.load()
    broker = KafkaBroker()
    register_projection(broker, projection, group_id="unit-ops-picture")
    name = projection.name
    before = {
        "consumed": _value("mappa_events_consumed_total", projection=name),
        "applied": _value("mappa_events_applied_total", projection=name),
        "dead": _value("mappa_events_dead_lettered_total", projection=name, rejection="not-json"),
    }

    async with TestKafkaBroker(broker):
        topic = agency_topic(Agency.POLICE, namespace)
        # Partitions of their own: the in-memory broker gives every record offset 0.
        event = example_event(ShpoMade)
        key = event.case_id.encode()
        home = partition_of(key)
        value = to_wire(event)
        await broker.publish(value, topic, key=key, partition=home, headers=signed(value, event))
        await broker.publish(b"\x00not json", topic, key=key, partition=(home + 1) % 6)

    after = {
        "consumed": _value("mappa_events_consumed_total", projection=name),
        "applied": _value("mappa_events_applied_total", projection=name),
        "dead": _value("mappa_events_dead_lettered_total", projection=name, rejection="not-json"),
    }
    assert {key: after[key] - before[key] for key in after} == {
        "consumed": 2,
        "applied": 1,
        "dead": 1,
    }


def test_an_alerts_member_is_warm_once_the_partitions_it_holds_have_caught_up(
    tmp_path: Path,
) -> None:
    """Another member's partitions, where alerts were raised further, do not hold it back."""
    projection = AlertProjection(
        open_engine(f"sqlite:///{tmp_path / 'a.db'}"), "unit", keyring=KEYRING
    )
    projection.raised_upto = {("t", 0): 5, ("t", 1): 9}
    projection.offsets = {("t", 0): 3}
    holding_first = [("t", 0)]

    assert not projection.warm_over(holding_first)
    projection.offsets = {("t", 0): 5}
    assert projection.warm_over(holding_first)
    assert not projection.warm  # what the group as a whole would need
    assert projection.warm_over([])  # not started: it holds nothing yet


async def test_a_store_that_fails_the_batchs_read_is_waited_for_like_one_that_fails_its_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fold reads the batch's cases from the store: an outage found there is counted,
    logged and backed off like one found by the commit, and the batch is failed, not lost."""
    from sqlalchemy.exc import OperationalError

    namespace = "unit-ops-read"
    projection = PictureProjection(
        open_engine(f"sqlite:///{tmp_path / 'p.db'}"), namespace, keyring=KEYRING
    )
    projection.load()

    def unreachable(case_ids: object) -> dict[str, object]:
        raise OperationalError("SELECT", {}, ConnectionError("the database went away"))

    monkeypatch.setattr(projection, "current", unreachable)
    broker = KafkaBroker()
    register_projection(broker, projection, group_id="unit-ops-read-picture")
    before = _value("mappa_store_unavailable_total", projection=projection.name)

    async with TestKafkaBroker(broker):
        event = example_event(ShpoMade)
        key = event.case_id.encode()
        value = to_wire(event)
        # The batch fails (FastStream's in-memory broker then fails its own nack of a batch,
        # a list where Kafka has records; the real broker's seek back is in
        # test_database_outage).
        with pytest.raises((OperationalError, AttributeError)):
            await broker.publish(
                value,
                agency_topic(Agency.POLICE, namespace),
                key=key,
                partition=partition_of(key),
                headers=signed(value, event),
            )

    assert _value("mappa_store_unavailable_total", projection=projection.name) == before + 1
    assert projection.stored_pictures() == {}
