"""The case-picture projection: folds every agency event into its case's picture and keeps the
changed pictures, with the offsets they came from, in one transaction (the Kafka side is
`projection.subscriber`).

A duplicate event id needs no table of its own here: the fold leaves a picture unchanged when
its timeline already holds the id. An outcome of a plan action that the case's picture (with the
batch's other events of the case in it) shows another agency owns is refused, `not-owner`, and
dead-lettered: it changes nothing, not even the timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Engine

from mappa_bus.case.erasure import erased_picture
from mappa_bus.case.fold import apply_all
from mappa_bus.case.merges import Link, link_of
from mappa_bus.case.merges import refusal as merge_refusal
from mappa_bus.case.model import CasePicture
from mappa_bus.case.plans import refusal
from mappa_bus.case.withdrawal import refusal as withdrawal_refusal
from mappa_bus.catalogue import Envelope, EventData, Rejection, WireError, plans
from mappa_bus.kafka_codec import appended_at
from mappa_bus.picture.retention import erased_among, erased_cases
from mappa_bus.picture.schema import create_schema
from mappa_bus.picture.store import PROJECTION, load_pictures, save_pictures
from mappa_bus.projection.batch import Batch
from mappa_bus.projection.database import let_go_of_deleted, snapshot
from mappa_bus.projection.erasures import load_erasures, record_erasures
from mappa_bus.projection.heap import HeapKeeper
from mappa_bus.projection.merges import load_links, save_links
from mappa_bus.projection.offsets import Position, advance_offsets, load_offsets
from mappa_bus.projection.sealed import RecordKeys
from mappa_bus.topics import NAMESPACE


@dataclass
class PictureBatch(Batch):
    """What a batch of records would change: pictures, besides offsets and refusals."""

    changed: dict[str, CasePicture] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    # The cases the batch's erasures cut, as their stubs.
    stubs: dict[str, CasePicture] = field(default_factory=dict)


@dataclass
class PictureProjection:
    """Every case's picture and the next offset of every partition, as the store has them
    (memory changes only after the store has committed)."""

    # It keeps cases: the shell subscribes it to the erasures too (docs/decisions/0002).
    folds_erasures: ClassVar[bool] = True

    engine: Engine
    namespace: str = NAMESPACE
    # Every agency's keys, retired ones too: each record is checked against them.
    keyring: RecordKeys = field(kw_only=True, repr=False)
    name: str = PROJECTION
    pictures: dict[str, CasePicture] = field(default_factory=dict)
    offsets: dict[Position, int] = field(default_factory=dict)
    # Every picture stays in memory: without this, the collector walks all of them again each
    # time a quarter of the heap is new, which a busy fold makes it every few batches (a third
    # of the service's time in Kent's replay).
    heap: HeapKeeper = field(default_factory=HeapKeeper)
    # Cases whose details were erased (when retention passed, or by an erasure on the log):
    # their events, still on the log, are not folded back in.
    erased: frozenset[str] = frozenset()
    # The MAPPA unit's merges and unmerges (case/merges.py): kept beside the pictures, which
    # stay per id (docs/picture.md, "Merged cases").
    links: list[Link] = field(default_factory=list)

    def load(self) -> None:
        """Create the schema if need be and read back what the store holds."""
        create_schema(self.engine)
        with snapshot(self.engine) as connection:
            self.pictures = load_pictures(connection)
            self.offsets = load_offsets(connection, PROJECTION)
            self.erased = frozenset(erased_cases(connection))
            self.links = [Link.from_row(row) for row in load_links(connection, PROJECTION)]
            self.erased = frozenset(erased_cases(connection)) | frozenset(
                load_erasures(connection, PROJECTION)
            )
        self.heap.settle()

    def fold(self, records: Sequence[Any]) -> PictureBatch:
        """Fold a batch of records into the pictures they change, without committing."""
        batch = PictureBatch(offsets=dict(self.offsets), namespace=self.namespace)
        # Each case folds once a batch: its events sorted together, so a late one among them
        # costs one re-fold of the case, not one per late event.
        arrivals: dict[str, list[tuple[Any, Envelope[EventData]]]] = {}
        for record, event in batch.events(records, self.namespace, self.keyring):
            link = link_of(event, appended_at(record.timestamp))
            if link is not None:
                _link(batch, record, link, self.links)
            elif event.case_id not in self.erased:
                pending = arrivals.setdefault(event.case_id, [])
                known = self.pictures.get(event.case_id)
                # A withdrawal must name an event of its own agency this case already holds,
                # in the store or earlier in this batch.
                error = withdrawal_refusal(known, event, earlier=(e for _, e in pending))
                if error is not None:
                    batch.refuse(record, error)
                    continue
                pending.append((record, event))
        for case_id, events in arrivals.items():
            if not events:
                continue
            known = self.pictures.get(case_id)
            folded = _fold_case(batch, known, events)
            # None: the case's only events were refused, and it had no picture.
            if folded is not None and folded is not known:
                batch.changed[case_id] = folded
        # After the events: an erasure cuts its case whatever the batch folded into it.
        for case_id, erasure in batch.erasures.items():
            batch.changed.pop(case_id, None)
            if case_id not in self.erased:
                batch.stubs[case_id] = erased_picture(self.pictures.get(case_id), erasure)
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
            save_pictures(connection, [*batch.changed.values(), *batch.stubs.values()])
            save_links(connection, PROJECTION, (link.as_row() for link in batch.links))
            record_erasures(connection, PROJECTION, batch.erasures.values())
        if batch.stubs:
            let_go_of_deleted(self.engine)
        self.pictures.update(batch.changed)
        self.pictures.update(stubs)
        self.pictures.update(batch.stubs)
        self.erased |= stubs.keys() | batch.erasures.keys()
        self.links.extend(batch.links)
        self.offsets = batch.offsets
        self.heap.settle()
        self.heap.sweep_if_due()


def _link(batch: PictureBatch, record: Any, link: Link, known: Sequence[Link]) -> None:
    """Keep a merge or unmerge beside the pictures (no picture changes), or refuse it."""
    if link in known or link in batch.links:
        return  # the same event again
    error = merge_refusal([*known, *batch.links], link)
    if error is not None:
        batch.refuse(record, error)
    else:
        batch.links.append(link)


def _fold_case(
    batch: Batch, known: CasePicture | None, arrivals: Sequence[tuple[Any, Envelope[EventData]]]
) -> CasePicture | None:
    """`known` with a batch's `arrivals` of one case in it, a non-owner's outcome of a known
    plan action refused. The rest is folded first, so an agreement in the same batch counts as
    known; the outcomes after (the fold's order is the events' own, whichever is applied first).
    """
    rest = [a for a in arrivals if not isinstance(a[1].data, _OUTCOMES)]
    outcomes = [a for a in arrivals if isinstance(a[1].data, _OUTCOMES)]
    picture = apply_all(known, _recorded(rest)) if rest else known
    accepted = []
    for record, event in outcomes:
        reason = refusal(picture, event)
        if reason is None:
            accepted.append((record, event))
        else:
            batch.refuse(record, WireError(Rejection.NOT_OWNER, "data.action_id", reason))
    return apply_all(picture, _recorded(accepted)) if accepted else picture


_OUTCOMES = (plans.ActionCompleted, plans.ActionClosed, plans.ActionRedated)


def _recorded(
    arrivals: Sequence[tuple[Any, Envelope[EventData]]],
) -> list[tuple[Envelope[EventData], datetime]]:
    return [(event, appended_at(record.timestamp)) for record, event in arrivals]
