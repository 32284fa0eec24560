"""The Prometheus metrics of a service process, and the observer that feeds them from the batch
subscriber (projection/subscriber.py).

One registry per process, not prometheus_client's global one: /metrics shows the bus's own
series and nothing an imported library happens to register. Labels are the projection, topic,
partition, alert rule and rejection kind only: never a case id or anything else about a person,
since metrics leave the service unaudited.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from mappa_bus.catalogue import Rejection
from mappa_bus.projection.offsets import Position

# No `_created` series beside every counter: they double what a scrape carries and say only
# when this process started counting, which `process_start_time_seconds` would say once.
# (prometheus_client leaves this one function untyped.)
disable_created_metrics()  # type: ignore[no-untyped-call]
REGISTRY = CollectorRegistry(auto_describe=True)
# The process's memory, CPU time and start time (from /proc, read at each scrape).
ProcessCollector(registry=REGISTRY)

EVENTS_CONSUMED = Counter(
    "mappa_events_consumed",
    "Records delivered to the projection (again after a failed batch).",
    ["projection"],
    registry=REGISTRY,
)
EVENTS_APPLIED = Counter(
    "mappa_events_applied",
    "Records newly committed to the store, not counting refused ones or ones already applied.",
    ["projection"],
    registry=REGISTRY,
)
EVENTS_DEAD_LETTERED = Counter(
    "mappa_events_dead_lettered",
    "Records refused and written to the dead-letter topic.",
    ["projection", "rejection"],
    registry=REGISTRY,
)
EVENTS_ERASED = Counter(
    "mappa_events_erased",
    "Records of the sealed record skipped because their case's key was destroyed (erased; "
    "not an error, not dead-lettered).",
    ["projection"],
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "mappa_consumer_lag",
    "Records on a partition the projection has not applied: the partition's end offset, as the "
    "consumer last fetched it, minus the store's offset.",
    ["projection", "topic", "partition"],
    registry=REGISTRY,
)
BATCH_SECONDS = Histogram(
    "mappa_batch_seconds",
    "Time to fold a batch, dead-letter what it refused and commit it.",
    ["projection"],
    # Batches run from a few records (live traffic) to 2,000 (a replay).
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
ALERTS_RAISED = Counter(
    "mappa_alerts_raised",
    "Alerts published to the alerts topic (each alert once), by rule.",
    ["rule"],
    registry=REGISTRY,
)
STORE_UNAVAILABLE = Counter(
    "mappa_store_unavailable",
    "Batches whose commit failed because the store did not answer (retried after a backoff).",
    ["projection"],
    registry=REGISTRY,
)

BATCHES_REFUSED = Counter(
    "mappa_batches_refused",
    "Batches the store refused because another member of the group had moved their partitions"
    " on (the member reads the store again); a few around a rebalance are expected.",
    ["projection"],
    registry=REGISTRY,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def exposition() -> bytes:
    """Every metric of this process in Prometheus's text format."""
    return generate_latest(REGISTRY)


@dataclass(frozen=True)
class BatchStart:
    """What the observer notes when a batch arrives, to count it once it is committed."""

    started: float
    fresh: int


@dataclass
class ProjectionMetrics:
    """Feeds the metrics from one projection's batch subscriber; every call is cheap (a pass
    over the batch's records at most), so it costs the fold nothing that shows."""

    projection: str
    # The lag last set of each partition held. A series is set only when its lag changed: a
    # live batch of a few records sets the lag of some 80 partitions twice, most of them 0.
    _lagging: dict[Position, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Every series exists, at zero, from the start: a rate over a series that appears only
        # at its first increment misses that increment, and an absent series alerts nobody.
        series = (
            EVENTS_CONSUMED,
            EVENTS_APPLIED,
            STORE_UNAVAILABLE,
            BATCHES_REFUSED,
            BATCH_SECONDS,
            EVENTS_ERASED,
        )
        for metric in series:
            metric.labels(self.projection)
        for rejection in Rejection:
            EVENTS_DEAD_LETTERED.labels(self.projection, rejection.value)

    def started(self, records: Sequence[Any], offsets: Mapping[Position, int]) -> BatchStart:
        """A batch arrived; `offsets` are the store's before it is folded."""
        EVENTS_CONSUMED.labels(self.projection).inc(len(records))
        # Records below the stored offsets are ones a redelivery brings again: the fold skips
        # them, so they are consumed but not applied.
        fresh = sum(1 for record in records if record.offset >= offsets.get(_position(record), 0))
        return BatchStart(time.perf_counter(), fresh)

    def dead_lettered(self, rejection: Rejection) -> None:
        EVENTS_DEAD_LETTERED.labels(self.projection, rejection.value).inc()

    def erased(self, count: int) -> None:
        """Count a batch's records of erased cases."""
        if count:
            EVENTS_ERASED.labels(self.projection).inc(count)

    def store_unavailable(self) -> None:
        STORE_UNAVAILABLE.labels(self.projection).inc()

    def refused(self) -> None:
        BATCHES_REFUSED.labels(self.projection).inc()

    def committed(self, start: BatchStart, rejected: int) -> None:
        """The batch that `start` noted is in the store, `rejected` of its records refused."""
        BATCH_SECONDS.labels(self.projection).observe(time.perf_counter() - start.started)
        EVENTS_APPLIED.labels(self.projection).inc(max(0, start.fresh - rejected))

    def lag(self, consumer: Any, offsets: Mapping[Position, int]) -> None:
        """Set the lag of every partition `consumer` holds from the end offsets it last fetched
        (no request to the broker); forget the partitions it no longer holds."""
        lags = {p: max(0, end - offsets.get(p, 0)) for p, end in _highwaters(consumer).items()}
        for (topic, partition), lag in lags.items():
            if self._lagging.get((topic, partition)) != lag:
                CONSUMER_LAG.labels(self.projection, topic, str(partition)).set(lag)
        for topic, partition in self._lagging.keys() - lags.keys():
            CONSUMER_LAG.remove(self.projection, topic, str(partition))
        self._lagging = lags


def declare_rules(rules: Iterable[str]) -> None:
    """Show every rule's count, at zero until it fires (see ProjectionMetrics)."""
    for rule in rules:
        ALERTS_RAISED.labels(rule)


def count_alerts(rules: Iterable[str]) -> None:
    """Count published alerts by the rules that raised them."""
    for rule in rules:
        ALERTS_RAISED.labels(rule).inc()


def _position(record: Any) -> Position:
    return (record.topic, record.partition)


def _highwaters(consumer: Any) -> dict[Position, int]:
    """The last known end offset of each partition `consumer` holds; none known before its
    first fetch of a partition, nor of a consumer that has not started (or is a test's)."""
    if consumer is None or not hasattr(consumer, "highwater"):
        return {}
    ends: dict[Position, int] = {}
    for partition in consumer.assignment():
        end = consumer.highwater(partition)
        if end is not None:
            ends[(partition.topic, partition.partition)] = end
    return ends
