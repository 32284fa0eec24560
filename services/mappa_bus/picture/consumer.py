"""The case-picture projection: folds every agency event into its case's picture and keeps the
changed pictures, with the offsets they came from, in one transaction (the Kafka side is
`projection.subscriber`).

State lives in the store, not in memory (issue 17): each batch reads the cases it touches,
those a bounded cache lacks, in one query, as the fold needs them for events that follow all of
a case's own: the current picture without its timeline, and the order of its latest entry
(`case.fold.Current`). Only the cases whose events need more (one ordered at or before that
entry: late, or perhaps already folded; a withdrawal; a case with withdrawals) have their
timeline rows read too, for the batch only. Nothing kept in memory grows with the caseload or
the history, apart from the merge links (a few a year).

A duplicate event id needs no table of its own here: the fold leaves a picture unchanged when
its timeline already holds the id; a case whose timeline rows hold one of the batch's ids is
read whole (`holding`), whatever the event's time. A case is erased exactly when its stored
picture is a stub (`erased_on` set): every erasure writes the stub in the transaction that
records it, and a rebuild writes the stubs back.

An outcome of a plan action that the case's picture (with the batch's other events of the case
in it) shows another agency owns is refused, `not-owner`, and dead-lettered: it changes
nothing, not even the timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Engine

from mappa_bus.case.erasure import erased_picture
from mappa_bus.case.fold import Current, Place, apply_after, apply_all, current_of
from mappa_bus.case.merges import Link, link_of
from mappa_bus.case.merges import refusal as merge_refusal
from mappa_bus.case.model import CasePicture
from mappa_bus.case.plans import refusal
from mappa_bus.case.withdrawal import is_withdrawal_type
from mappa_bus.case.withdrawal import refusal as withdrawal_refusal
from mappa_bus.catalogue import Envelope, EventData, Rejection, WireError, plans
from mappa_bus.kafka_codec import appended_at
from mappa_bus.picture.retention import erased_among
from mappa_bus.picture.schema import create_schema
from mappa_bus.picture.store import (
    PROJECTION,
    count_pictures,
    current_pictures,
    holding,
    load_picture,
    load_pictures,
    pictures_of,
    save_pictures,
)
from mappa_bus.projection.batch import Batch
from mappa_bus.projection.cache import LeastRecentlyUsed
from mappa_bus.projection.database import let_go_of_deleted, snapshot
from mappa_bus.projection.erasures import record_erasures
from mappa_bus.projection.heap import HeapKeeper
from mappa_bus.projection.merges import load_links, save_links
from mappa_bus.projection.offsets import Position, advance_offsets, load_offsets
from mappa_bus.projection.sealed import RecordKeys
from mappa_bus.settings import load_settings
from mappa_bus.topics import NAMESPACE


@dataclass
class PictureBatch(Batch):
    """What a batch of records would change: pictures, besides offsets and refusals."""

    changed: dict[str, CasePicture] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    # The cases the batch's erasures cut, as their stubs.
    stubs: dict[str, CasePicture] = field(default_factory=dict)
    # The store's pictures of the batch's cases as the fold read them, most without their
    # timeline (`Current`): what the commit writes is what the batch added to them (its
    # timeline rows), not each case's history again. A changed picture read without its
    # timeline holds only the batch's entries on it.
    stored: dict[str, CasePicture] = field(default_factory=dict)
    # The order of each case's latest entry as the store had it: the cache keeps it beside the
    # changed picture.
    last: dict[str, Place | None] = field(default_factory=dict)


def _cache_size() -> int:
    return load_settings().picture_cache_cases


def _cache_bytes() -> int:
    return load_settings().picture_cache_row_kib * 1024


@dataclass
class PictureProjection:
    """The next offset of every partition and the merge links, as the store has them, and a
    bounded cache of what the fold reads of the store's cases (memory changes only after the
    store has committed); every picture is read from the store (`picture`)."""

    # It keeps cases: the shell subscribes it to the erasures too (docs/decisions/0002).
    folds_erasures: ClassVar[bool] = True

    engine: Engine
    namespace: str = NAMESPACE
    # Every agency's keys, retired ones too: each record is checked against them.
    keyring: RecordKeys = field(kw_only=True, repr=False)
    name: str = PROJECTION
    offsets: dict[Position, int] = field(default_factory=dict)
    # The cases used most recently, as the store has them, without their timelines: a case
    # busy on the log is folded without reading it back, and the memory stays at
    # `picture_cache_cases` current pictures, however long their histories.
    cache_size: int = field(default_factory=_cache_size, kw_only=True)
    # And at most so many bytes of their rows: a picture grows with its case's history, so a
    # number of cases alone is not a bound on memory as the history grows.
    cache_bytes: int = field(default_factory=_cache_bytes, kw_only=True)
    cache: LeastRecentlyUsed[str, Current] = field(init=False, repr=False)
    # What stays between batches (the cache, the links) is moved out of the cyclic collector's
    # view after each batch: otherwise each full collection walks every cached picture again,
    # which a busy fold makes it do every few batches.
    heap: HeapKeeper = field(default_factory=HeapKeeper)
    # The MAPPA unit's merges and unmerges (case/merges.py): kept beside the pictures, which
    # stay per id (docs/picture.md, "Merged cases"), so the fold reads no group.
    links: list[Link] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cache = LeastRecentlyUsed(
            self.cache_size, budget=self.cache_bytes, weigh=lambda case: case.stored_size
        )

    def load(self) -> None:
        """Create the schema if need be and read back where the store stands; the cache is
        emptied (after a rebalance another member may have changed what it held)."""
        create_schema(self.engine)
        with snapshot(self.engine) as connection:
            self.offsets = load_offsets(connection, PROJECTION)
            self.links = [Link.from_row(row) for row in load_links(connection, PROJECTION)]
        self.cache.clear()
        self.heap.settle()

    def picture(self, case_id: str) -> CasePicture | None:
        """`case_id`'s whole picture as the store has it, or None when the store has none: its
        own, not its merge group's (the readers join groups)."""
        with snapshot(self.engine) as connection:
            return load_picture(connection, case_id)

    def current(self, case_ids: Iterable[str]) -> dict[str, Current]:
        """What the fold reads of the stored cases among `case_ids`: those cached, the rest in
        one read."""

        def read(misses: list[str]) -> dict[str, Current]:
            with snapshot(self.engine) as connection:
                return current_pictures(connection, misses)

        return self.cache.through(case_ids, read)

    def _read_whole(
        self, current: dict[str, Current], events: Sequence[Envelope[EventData]]
    ) -> dict[str, CasePicture]:
        """The pictures the fold starts from: each stored case's current one, or its whole one
        (for this batch only, not cached) when one of its `events` needs the timeline from the
        start: a withdrawal (judged against the case's events) or an event whose id the case's
        timeline rows hold (a redelivery)."""
        withdrawing = {event.case_id for event in events if is_withdrawal_type(event.type)}
        # Only an event ordered after the case's latest entry is asked after: one at or before
        # it has the case read whole anyway (`apply_after`).
        ids: dict[str, list[str]] = {}
        for event in events:
            case = current.get(event.case_id)
            if case is not None and (case.last is None or (event.time, event.id) > case.last):
                ids.setdefault(event.case_id, []).append(event.id)
        if not ids and not withdrawing:
            return {case_id: case.picture for case_id, case in current.items()}
        with snapshot(self.engine) as connection:
            wanted = (holding(connection, ids) | withdrawing) & current.keys()
            whole = pictures_of(connection, wanted) if wanted else {}
        return {case_id: whole.get(case_id, case.picture) for case_id, case in current.items()}

    def stored_pictures(self) -> dict[str, CasePicture]:
        """Every picture in the store, all at once: for tests and small stores (the fold and
        the services never hold them all)."""
        with snapshot(self.engine) as connection:
            return load_pictures(connection)

    def case_count(self) -> int:
        """How many cases the store holds a picture of."""
        with snapshot(self.engine) as connection:
            return count_pictures(connection)

    def fold(self, records: Sequence[Any]) -> PictureBatch:
        """Fold a batch of records into the pictures they change, without committing."""
        batch = PictureBatch(offsets=dict(self.offsets), namespace=self.namespace)
        read = [
            (record, event, link_of(event, appended_at(record.timestamp)))
            for record, event in batch.events(records, self.namespace, self.keyring)
        ]
        # The batch's cases (its erasures' too, now read), in one read of those not cached.
        current = self.current(
            [*(event.case_id for _, event, link in read if link is None), *batch.erasures]
        )
        known = self._read_whole(current, [event for _, event, link in read if link is None])
        batch.stored = known
        batch.last = {case_id: case.last for case_id, case in current.items()}
        # Each case folds once a batch: its events sorted together, so a late one among them
        # costs one re-fold of the case, not one per late event.
        arrivals: dict[str, list[tuple[Any, Envelope[EventData]]]] = {}
        for record, event, link in read:
            if link is not None:
                _link(batch, record, link, self.links)
            elif not _erased(known.get(event.case_id)):
                pending = arrivals.setdefault(event.case_id, [])
                # A withdrawal must name an event of its own agency this case already holds,
                # in the store or earlier in this batch (its case was read whole for it).
                error = withdrawal_refusal(
                    known.get(event.case_id), event, earlier=(e for _, e in pending)
                )
                if error is not None:
                    batch.refuse(record, error)
                    continue
                pending.append((record, event))
        arrivals = {case_id: events for case_id, events in arrivals.items() if events}
        # The cases folded without their timelines that turn out to need them after all.
        later: list[str] = []
        for case_id, events in arrivals.items():
            before = known.get(case_id)
            case = current.get(case_id)
            # Read without its timeline (not a new case, nor one read whole): folded after it.
            fold = _after(case.last) if case is not None and before is case.picture else apply_all
            folded = _fold_case(before, events, fold)
            if folded is None:
                later.append(case_id)
            else:
                _changed(batch, before, folded)
        with snapshot(self.engine) as connection:
            wholes = pictures_of(connection, later) if later else {}
        for case_id, picture in wholes.items():
            batch.stored[case_id] = picture
            folded = _fold_case(picture, arrivals[case_id], apply_all)
            if folded is not None:  # always: `apply_all` needs nothing more
                _changed(batch, picture, folded)
        # After the events: an erasure cuts its case whatever the batch folded into it.
        for case_id, erasure in batch.erasures.items():
            batch.changed.pop(case_id, None)
            stored = known.get(case_id)
            if not _erased(stored):
                batch.stubs[case_id] = erased_picture(stored, erasure)
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
            sizes = save_pictures(
                connection,
                [*batch.changed.values(), *batch.stubs.values()],
                before=batch.stored,
                last=batch.last,
            )
            save_links(connection, PROJECTION, (link.as_row() for link in batch.links))
            record_erasures(connection, PROJECTION, batch.erasures.values())
        if batch.stubs:
            let_go_of_deleted(self.engine)
        self.cache.put(
            {
                case_id: current_of(picture, batch.last.get(case_id), sizes[case_id])
                for case_id, picture in batch.changed.items()
            }
        )
        self.cache.put({case_id: current_of(stub) for case_id, stub in stubs.items()})
        erased = batch.stubs.items()
        self.cache.put({case: current_of(stub, None, sizes[case]) for case, stub in erased})
        self.links.extend(batch.links)
        self.offsets = batch.offsets
        self.heap.after_batch()


def _erased(picture: CasePicture | None) -> bool:
    """Whether the stored `picture` is an erased case's stub: its events are not folded back."""
    return picture is not None and picture.erased_on is not None


def _link(batch: PictureBatch, record: Any, link: Link, known: Sequence[Link]) -> None:
    """Keep a merge or unmerge beside the pictures (no picture changes), or refuse it."""
    if link in known or link in batch.links:
        return  # the same event again
    error = merge_refusal([*known, *batch.links], link)
    if error is not None:
        batch.refuse(record, error)
    else:
        batch.links.append(link)


# A fold of one case's arrivals into its picture; None when it needs the case's timeline.
_Fold = Callable[
    [CasePicture | None, Sequence[tuple[Envelope[EventData], datetime]]], CasePicture | None
]
# A case folded: its picture (None: its only events were refused, and it had none), and the
# records refused, each with why.
_Folded = tuple[CasePicture | None, list[tuple[Any, WireError]]]


def _after(last: Place | None) -> _Fold:
    """The fold of a case read without its timeline, whose latest entry is at `last`."""
    return lambda picture, arrivals: apply_after(picture, last, arrivals)


def _fold_case(
    known: CasePicture | None, arrivals: Sequence[tuple[Any, Envelope[EventData]]], fold: _Fold
) -> _Folded | None:
    """`known` with a batch's `arrivals` of one case in it by `fold`, a non-owner's outcome of
    a known plan action refused; None when `fold` needs the case's timeline. The rest is folded
    first, so an agreement in the same batch counts as known; the outcomes after (the fold's
    order is the events' own, whichever is applied first)."""
    rest = [a for a in arrivals if not isinstance(a[1].data, _OUTCOMES)]
    outcomes = [a for a in arrivals if isinstance(a[1].data, _OUTCOMES)]
    picture = fold(known, _recorded(rest)) if rest else known
    if rest and picture is None:
        return None
    accepted = []
    refused: list[tuple[Any, WireError]] = []
    for record, event in outcomes:
        reason = refusal(picture, event)
        if reason is None:
            accepted.append((record, event))
        else:
            refused.append((record, WireError(Rejection.NOT_OWNER, "data.action_id", reason)))
    if accepted:
        picture = fold(picture, _recorded(accepted))
        if picture is None:
            return None
    return picture, refused


def _changed(batch: PictureBatch, before: CasePicture | None, folded: _Folded) -> None:
    """Keep a case's `folded` picture in `batch` if it changed `before`, and its refusals."""
    picture, refused = folded
    for record, error in refused:
        batch.refuse(record, error)
    # None: the case's only events were refused, and it had no picture.
    if picture is not None and picture is not before:
        batch.changed[picture.case_id] = picture


_OUTCOMES = (plans.ActionCompleted, plans.ActionClosed, plans.ActionRedated)


def _recorded(
    arrivals: Sequence[tuple[Any, Envelope[EventData]]],
) -> list[tuple[Envelope[EventData], datetime]]:
    return [(event, appended_at(record.timestamp)) for record, event in arrivals]
