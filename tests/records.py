"""Kafka records as the projections read them, for tests that fold without a broker."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Record:
    """What a projection reads of an aiokafka record."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    timestamp: int
