"""Records gathered into one aiokafka batch per partition, for a publisher sending in bulk (a
feed): a batch goes to the producer when it is full or when the publisher flushes, and the
broker's answer is one future per batch, not one per record.

Per-record `send` costs a coroutine, the producer's partitioner and a future for every record,
and counting the answers costs as much again: together more than validating a feed line. Here
each record is one append to a batch the producer will send as it is.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder

Headers = list[tuple[str, bytes]]


@dataclass
class SentBatch:
    """A batch handed to the producer: the broker's answer to come, and the ids of the records
    in it (what was not sent, when the answer is an error, is named, not counted)."""

    answer: asyncio.Future[Any]
    ids: list[str]


@dataclass
class _Filling:
    builder: BatchBuilder
    ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Full:
    """A partition's batch that `append` filled, to hand over."""

    where: tuple[str, int]
    filling: _Filling


class BatchFailed(Exception):
    """The producer refused a batch: the ids of its records, and why."""

    def __init__(self, ids: list[str], cause: Exception) -> None:
        super().__init__(repr(cause))
        self.ids = ids
        self.cause = cause


class PartitionBatches:
    """One batch filling per topic partition, over one started producer. Records of one
    partition reach the broker in the order they were added (batches of a partition are handed
    over in order, and the idempotent producer keeps them so)."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer
        self._filling: dict[tuple[str, int], _Filling] = {}

    def append(
        self, topic: str, partition: int, key: bytes, value: bytes, headers: Headers, id_: str
    ) -> Full | None:
        """Add one record (`id_`: its id) without handing anything over: the partition's batch
        it filled, when it did, for the caller to `hand_over` (this record starts the next)."""
        where = (topic, partition)
        filling = self._filling.get(where)
        if filling is None:
            filling = self._filling[where] = _Filling(self._producer.create_batch())
        if (
            filling.builder.append(timestamp=None, key=key, value=value, headers=headers)
            is not None
        ):
            filling.ids.append(id_)
            return None
        # Full: the record starts the partition's next batch (an event is at most 64 KiB, a
        # batch `max_batch_size`, 512 KiB: it fits an empty one), and the full one goes.
        full, filling = filling, _Filling(self._producer.create_batch())
        self._filling[where] = filling
        if filling.builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
            raise ValueError(f"a record of {len(value)} bytes does not fit an empty batch")
        filling.ids.append(id_)
        return Full(where, full)

    async def hand_over(self, full: Full) -> SentBatch:
        """Hand a batch `append` filled to the producer; `BatchFailed` when it refuses it."""
        return await self._hand_over(full.where, full.filling)

    async def hand_over_all(self) -> tuple[list[SentBatch], list[BatchFailed]]:
        """Hand every batch still filling to the producer: those it took, and those it refused."""
        filling, self._filling = self._filling, {}
        sent: list[SentBatch] = []
        refused: list[BatchFailed] = []
        for where, batch in filling.items():
            try:
                sent.append(await self._hand_over(where, batch))
            except BatchFailed as failed:
                refused.append(failed)
        return sent, refused

    async def _hand_over(self, where: tuple[str, int], filling: _Filling) -> SentBatch:
        topic, partition = where
        # Closed, it goes at once rather than after the producer's linger, and nothing sent
        # record by record can be appended to it.
        filling.builder.close()
        try:
            answer = await self._producer.send_batch(filling.builder, topic, partition=partition)
        except Exception as error:
            raise BatchFailed(filling.ids, error) from error
        return SentBatch(answer, filling.ids)
