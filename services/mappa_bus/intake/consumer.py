"""The intake's projection on the shell: each batch of agency records checked as
`projection.subscriber.read_event` checks them (refusals dead-lettered by the shell, as every
consumer's), each valid one sealed under its case's key; its store holds only its offsets.

The sealed records are produced by the service (`intake.service`) before the batch's offsets
are committed: a crash in between produces them again when the batch is read again, and the
projections skip an event id already applied (the picture's timeline, reporting's seen ids).
A record of a case whose key is destroyed is not sealed, and not copied: the case is erased.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from mappa_bus.keystore import KeyDestroyed, KeyStore
from mappa_bus.projection.batch import Batch
from mappa_bus.projection.database import create_tables, snapshot
from mappa_bus.projection.offsets import (
    Position,
    advance_offsets,
    load_offsets,
    metadata,
    offsets_table,
)
from mappa_bus.sealing import seal_record
from mappa_bus.signing import Keyring
from mappa_bus.topics import NAMESPACE

PROJECTION = "intake"


@dataclass(frozen=True)
class SealedOut:
    """One record for the sealed record: its partition (the agency record's: the same number,
    as the key puts it), key, sealed value, and the time its agency record reached the bus."""

    partition: int
    key: bytes
    value: bytes
    timestamp: int


@dataclass
class IntakeBatch(Batch):
    """A batch's sealed records, besides its offsets and refusals."""

    sealed: list[SealedOut] = field(default_factory=list)


@dataclass
class IntakeProjection:
    """The offsets the intake has copied up to; the case keys it seals with."""

    engine: Engine
    namespace: str = NAMESPACE
    # Every agency's keys, retired ones too: each record is checked against them.
    keyring: Keyring = field(kw_only=True, repr=False)
    keys: KeyStore = field(kw_only=True, repr=False)
    name: str = PROJECTION
    offsets: dict[Position, int] = field(default_factory=dict)

    def load(self) -> None:
        """Create its table if need be and read back its offsets."""
        create_tables(self.engine, metadata, [offsets_table])
        with snapshot(self.engine) as connection:
            self.offsets = load_offsets(connection, PROJECTION)

    def fold(self, records: Sequence[Any]) -> IntakeBatch:
        """Check and seal a batch of agency records, without producing or committing."""
        batch = IntakeBatch(offsets=dict(self.offsets))
        for record, event in batch.events(records, self.namespace, self.keyring):
            try:
                cipher = self.keys.key_for(event.case_id)
            except KeyDestroyed:
                batch.erased += 1
                continue
            batch.sealed.append(
                SealedOut(
                    record.partition,
                    record.key,
                    seal_record(cipher, event, record.value),
                    record.timestamp,
                )
            )
        return batch

    def commit(self, batch: IntakeBatch) -> None:
        """Store the batch's offsets (its records are on the sealed record by now)."""
        with self.engine.begin() as connection:
            advance_offsets(connection, PROJECTION, self.offsets, batch.offsets)
        self.offsets = batch.offsets
