"""Every Kafka topic the bus uses, with its partitions and retention chosen on purpose.

Topics are created explicitly from this list (`mappa topics create`), never by auto-creation, so
that the agency topics, which are the record, can never appear with a broker's default retention.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from mappa_bus.agencies import Agency

# Kafka's way of saying "keep for ever".
_FOREVER = "-1"
_DAY_MS = 24 * 60 * 60 * 1000

# Six partitions per agency topic: enough for a handful of subscriber instances to share the
# load on one modest machine, few enough that a single-node broker stays light. Every agency
# topic has the same count, so a case (the key) is on the same partition number everywhere and
# subscriber instances can be given whole cases (projection/subscriber.py relies on it).
AGENCY_PARTITIONS = 6


@dataclass(frozen=True)
class TopicSpec:
    """A topic as the bus needs it to exist."""

    name: str
    partitions: int
    purpose: str
    config: dict[str, str] = field(default_factory=dict)


# Every topic name starts with a namespace: `mappa` in production; tests use their own so that
# they never read each other's events.
NAMESPACE = "mappa"


def agency_topic(agency: Agency, namespace: str = NAMESPACE) -> str:
    """The one topic on which `agency` publishes: the publishing agency is the topic."""
    return f"{namespace}.{agency.value}.events"


@functools.cache
def agency_of_topic(topic: str, namespace: str = NAMESPACE) -> Agency | None:
    """The agency whose topic `topic` is, or None when it is no agency topic of `namespace`."""
    for agency in Agency:
        if topic == agency_topic(agency, namespace):
            return agency
    return None


def agency_topic_specs(
    namespace: str = NAMESPACE, *, sealed: bool = False
) -> tuple[TopicSpec, ...]:
    """The agency topics, one per agency, as they must exist: the record, kept for ever; or,
    `sealed`, the ingress the intake copies to the sealed record (kept `INGRESS_DAYS`)."""
    return tuple(_agency_spec(agency, namespace, sealed) for agency in Agency)


# In sealed mode the intake deletes what it has copied from the agency topics at once; this
# bounds how long the plain text stays when the intake is down (decision 0002).
INGRESS_DAYS = 7


def _agency_spec(agency: Agency, namespace: str, sealed: bool = False) -> TopicSpec:
    kept = (
        f"the ingress, kept {INGRESS_DAYS} days at most (the intake seals it into the record)"
        if sealed
        else "the record, kept indefinitely"
    )
    return TopicSpec(
        name=agency_topic(agency, namespace),
        partitions=AGENCY_PARTITIONS,
        purpose=f"events published by {agency.value}; {kept}",
        config={
            "retention.ms": str(INGRESS_DAYS * _DAY_MS) if sealed else _FOREVER,
            "retention.bytes": _FOREVER,
            "cleanup.policy": "delete",
            # When an event reached the bus is the broker's clock, not the publisher's, so that
            # late sharing is visible and a picture can be rebuilt as known at any moment.
            "message.timestamp.type": "LogAppendTime",
        },
    )


def record_topic(namespace: str = NAMESPACE) -> str:
    """The sealed record (decision 0002): every checked agency record, its event sealed under
    its case's key, written by the intake alone."""
    return f"{namespace}.record"


def record_spec(namespace: str = NAMESPACE) -> TopicSpec:
    """The sealed record of `namespace`: kept for ever (erasure destroys a case's key, not its
    records), keyed by case id on as many partitions as the agency topics, so that a case is on
    the same partition number as on every agency topic."""
    return TopicSpec(
        name=record_topic(namespace),
        partitions=AGENCY_PARTITIONS,
        purpose="every checked agency event, sealed under its case's key; the record in sealed "
        "mode, kept indefinitely",
        config={
            "retention.ms": _FOREVER,
            "retention.bytes": _FOREVER,
            "cleanup.policy": "delete",
            # The intake writes each record with the time its agency record reached the bus
            # (the ingress's log-append time): a picture's "recorded at" stays that of sharing,
            # not of copying. Only the intake may write here.
            "message.timestamp.type": "CreateTime",
        },
    )


def dead_letter_topic(namespace: str = NAMESPACE) -> str:
    """Where rejected input goes, with the reason and where it came from."""
    return f"{namespace}.dead-letter"


def alerts_topic(namespace: str = NAMESPACE) -> str:
    """Where the alerts service tells coordinators what needs their attention."""
    return f"{namespace}.alerts"


def acknowledgements_topic(namespace: str = NAMESPACE) -> str:
    """Where coordinators' acknowledgements of alerts go (apart from the alerts themselves, so
    that a coordinator may acknowledge an alert but never forge one)."""
    return f"{namespace}.alert-acknowledgements"


def statistics_topic(namespace: str = NAMESPACE) -> str:
    """Where the reporting consumer publishes each closed year's MAPPA statistics."""
    return f"{namespace}.statistics"


def statistics_spec(namespace: str = NAMESPACE) -> TopicSpec:
    """The statistics topic of `namespace`: aggregate figures, publishable, kept for ever."""
    return TopicSpec(
        name=statistics_topic(namespace),
        partitions=1,
        purpose="each closed reporting year's statistics per area and nationally; kept for ever",
        config={"retention.ms": _FOREVER, "retention.bytes": _FOREVER, "cleanup.policy": "delete"},
    )


# In sealed mode a dead letter of the intake, or of a feed, is an agency record refused before
# it was sealed: its bytes are in the clear, and no key's destruction reaches them. Kept long
# enough to investigate (a month of working days), and no longer (decision 0002).
SEALED_DEAD_LETTER_DAYS = 30


def dead_letter_spec(namespace: str = NAMESPACE, *, sealed: bool = False) -> TopicSpec:
    """The dead-letter topic of `namespace`, as it must exist: kept for ever; or, `sealed`,
    `SEALED_DEAD_LETTER_DAYS` (it holds refused agency records in the clear)."""
    kept = (
        f"kept {SEALED_DEAD_LETTER_DAYS} days (sealed mode: refused records are in the clear, "
        "and no erasure reaches them)"
        if sealed
        else "kept indefinitely so nothing is dropped silently"
    )
    retention = str(SEALED_DEAD_LETTER_DAYS * _DAY_MS) if sealed else _FOREVER
    return TopicSpec(
        name=dead_letter_topic(namespace),
        partitions=3,
        purpose=f"rejected input with the reason; {kept}",
        config={"retention.ms": retention, "retention.bytes": _FOREVER, "cleanup.policy": "delete"},
    )


def erasures_topic(namespace: str = NAMESPACE) -> str:
    """Where case erasures go (docs/decisions/0002): every projection folds them."""
    return f"{namespace}.erasures"


def is_erasures_topic(topic: str, namespace: str = NAMESPACE) -> bool:
    """Whether `topic` is `namespace`'s erasures topic."""
    return topic == erasures_topic(namespace)


def erasures_spec(namespace: str = NAMESPACE) -> TopicSpec:
    """The erasures topic of `namespace`: keyed by case id on as many partitions as the agency
    topics, so a case's erasure sits on the partition number its events sit on (the group
    member holding the case folds it); kept for ever, so that any rebuild or new projection
    erases the case again. It holds no personal detail: case id, area, ground, decision, day."""
    return TopicSpec(
        name=erasures_topic(namespace),
        partitions=AGENCY_PARTITIONS,
        purpose="cases erased on a decision or after retention, keyed by case id; kept for ever",
        config={
            "retention.ms": _FOREVER,
            "retention.bytes": _FOREVER,
            "cleanup.policy": "delete",
            "message.timestamp.type": "LogAppendTime",
        },
    )


_A_YEAR = {"retention.ms": str(365 * _DAY_MS), "cleanup.policy": "delete"}
# A record's timestamp is when the broker appended it, not what the producer claims: the alerts
# board keeps the first acknowledgement by this time, so a backdated one cannot come first.
_BUS_TIME = {"message.timestamp.type": "LogAppendTime"}


def alerts_spec(namespace: str = NAMESPACE) -> TopicSpec:
    """The alerts topic of `namespace`, as it must exist.

    Keyed by MAPPA area, so one area's alerts stay in order; three partitions are plenty for the
    handful of areas one coordinator service serves. A year's alerts are kept: the record itself
    is on the agency topics, an alert is a prompt derived from it.
    """
    return TopicSpec(
        name=alerts_topic(namespace),
        partitions=3,
        purpose="alerts for MAPPA coordinators, keyed by area; kept for a year",
        config={**_A_YEAR, **_BUS_TIME},
    )


def acknowledgements_spec(namespace: str = NAMESPACE) -> TopicSpec:
    """The acknowledgements topic of `namespace`: keyed by area like the alerts, kept as long."""
    return TopicSpec(
        name=acknowledgements_topic(namespace),
        partitions=3,
        purpose="coordinators' acknowledgements of alerts (who, when), keyed by area; a year",
        config={**_A_YEAR, **_BUS_TIME},
    )


def bus_topic_specs(namespace: str = NAMESPACE, *, sealed: bool = False) -> tuple[TopicSpec, ...]:
    """Every topic of `namespace` that the principals' ACLs name: agency (`sealed`: as the
    ingress), dead-letter (`sealed`: a month), alerts, acknowledgements, statistics, the sealed
    record, and the erasures."""
    return (
        *agency_topic_specs(namespace, sealed=sealed),
        dead_letter_spec(namespace, sealed=sealed),
        alerts_spec(namespace),
        acknowledgements_spec(namespace),
        statistics_spec(namespace),
        record_spec(namespace),
        erasures_spec(namespace),
    )


DEAD_LETTER = dead_letter_spec()
ALERTS = alerts_spec()

ALL_TOPICS: tuple[TopicSpec, ...] = bus_topic_specs()
