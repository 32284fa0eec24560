"""Every Kafka topic the bus uses, with its partitions and retention chosen on purpose.

Topics are created explicitly from this list (`mappa topics create`), never by auto-creation, so
that the agency topics, which are the record, can never appear with a broker's default retention.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mappa_bus.agencies import Agency

# Kafka's way of saying "keep for ever".
_FOREVER = "-1"
_DAY_MS = 24 * 60 * 60 * 1000

# Six partitions per agency topic: enough for a handful of subscriber instances to share the
# load on one modest machine, few enough that a single-node broker stays light.
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


def agency_topic_specs(namespace: str = NAMESPACE) -> tuple[TopicSpec, ...]:
    """The agency topics, one per agency, as they must exist."""
    return tuple(_agency_spec(agency, namespace) for agency in Agency)


def _agency_spec(agency: Agency, namespace: str) -> TopicSpec:
    return TopicSpec(
        name=agency_topic(agency, namespace),
        partitions=AGENCY_PARTITIONS,
        purpose=f"events published by {agency.value}; the record, kept indefinitely",
        config={
            "retention.ms": _FOREVER,
            "retention.bytes": _FOREVER,
            "cleanup.policy": "delete",
            # When an event reached the bus is the broker's clock, not the publisher's, so that
            # late sharing is visible and a picture can be rebuilt as known at any moment.
            "message.timestamp.type": "LogAppendTime",
        },
    )


DEAD_LETTER = TopicSpec(
    name="mappa.dead-letter",
    partitions=3,
    purpose="rejected input with the reason; kept indefinitely so nothing is dropped silently",
    config={"retention.ms": _FOREVER, "retention.bytes": _FOREVER, "cleanup.policy": "delete"},
)

WALKING_SKELETON = TopicSpec(
    name="mappa.skeleton.events",
    partitions=1,
    purpose="the walking skeleton's demonstration events; a week is plenty",
    config={"retention.ms": str(7 * _DAY_MS)},
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    *agency_topic_specs(),
    DEAD_LETTER,
    WALKING_SKELETON,
)
