"""The case-picture projection: folds every agency event into its case's picture and keeps the
changed pictures, with the offsets they came from, in one transaction (the Kafka side is
`projection.subscriber`).

A duplicate event id needs no table of its own here: the fold leaves a picture unchanged when
its timeline already holds the id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from mappa_bus.case.fold import apply_all
from mappa_bus.case.model import CasePicture
from mappa_bus.case.withdrawal import refusal
from mappa_bus.catalogue import Envelope, EventData
from mappa_bus.kafka_codec import appended_at
from mappa_bus.picture.retention import erased_among, erased_cases
from mappa_bus.picture.schema import create_schema
from mappa_bus.picture.store import PROJECTION, load_pictures, save_pictures
from mappa_bus.projection.batch import Batch
from mappa_bus.projection.database import snapshot
from mappa_bus.projection.heap import HeapKeeper
from mappa_bus.projection.offsets import Position, advance_offsets, load_offsets
from mappa_bus.signing import Keyring
from mappa_bus.topics import NAMESPACE


@dataclass
class PictureBatch(Batch):
    """What a batch of records would change: pictures, besides offsets and refusals."""

    changed: dict[str, CasePicture] = field(default_factory=dict)


@dataclass
class PictureProjection:
    """Every case's picture and the next offset of every partition, as the store has them
    (memory changes only after the store has committed)."""

    engine: Engine
    namespace: str = NAMESPACE
    # Every agency's keys, retired ones too: each record is checked against them.
    keyring: Keyring = field(kw_only=True, repr=False)
    name: str = PROJECTION
    pictures: dict[str, CasePicture] = field(default_factory=dict)
    offsets: dict[Position, int] = field(default_factory=dict)
    # Every picture stays in memory: without this, the collector walks all of them again each
    # time a quarter of the heap is new, which a busy fold makes it every few batches (a third
    # of the service's time in Kent's replay).
    heap: HeapKeeper = field(default_factory=HeapKeeper)
    # Cases whose details were erased when retention passed: their events, still on the log,
    # are not folded back in.
    erased: frozenset[str] = frozenset()

    def load(self) -> None:
        """Create the schema if need be and read back what the store holds."""
        create_schema(self.engine)
        with snapshot(self.engine) as connection:
            self.pictures = load_pictures(connection)
            self.offsets = load_offsets(connection, PROJECTION)
            self.erased = frozenset(erased_cases(connection))
        self.heap.settle()

    def fold(self, records: Sequence[Any]) -> PictureBatch:
        """Fold a batch of records into the pictures they change, without committing."""
        batch = PictureBatch(offsets=dict(self.offsets))
        # Each case folds once a batch: its events sorted together, so a late one among them
        # costs one re-fold of the case, not one per late event.
        arrivals: dict[str, list[tuple[Envelope[EventData], datetime]]] = {}
        for record, event in batch.events(records, self.namespace, self.keyring):
            if event.case_id not in self.erased:
                pending = arrivals.setdefault(event.case_id, [])
                known = self.pictures.get(event.case_id)
                # A withdrawal must name an event of its own agency this case already holds,
                # in the store or earlier in this batch.
                error = refusal(known, event, earlier=(e for e, _ in pending))
                if error is not None:
                    batch.refuse(record, error)
                    continue
                pending.append((event, appended_at(record.timestamp)))
        for case_id, events in arrivals.items():
            if not events:
                continue
            known = self.pictures.get(case_id)
            picture = apply_all(known, events)
            if picture is not known:
                batch.changed[case_id] = picture
        return batch

    def commit(self, batch: PictureBatch) -> None:
        """Store the batch's pictures and offsets in one transaction, then make them current."""
        with self.engine.begin() as connection:
            advance_offsets(connection, PROJECTION, self.offsets, batch.offsets)
            # Erased meanwhile by `mappa picture erase-expired`, another process: the batch's
            # folds of those cases started from details that must not come back.
            stubs = erased_among(connection, batch.changed)
            for case_id in stubs:
                del batch.changed[case_id]
            save_pictures(connection, batch.changed.values())
        self.pictures.update(batch.changed)
        self.pictures.update(stubs)
        self.erased |= stubs.keys()
        self.offsets = batch.offsets
        self.heap.settle()
        self.heap.sweep_if_due()
