"""The alerts projection: folds every agency event into the case pictures the rules compare,
and raises the alerts that the rules find, exactly once per triggering event.

State lives in the store, not in memory (issue 17): each batch reads the cases it touches (and
their merge groups), those a bounded cache of recently used ones lacks, in one query, and writes
those it changes with the alerts they raised; the clock reads only the cases due, by a stored
day (`rules.first_due`). As the picture service does, a case is read and cached without its
timeline (`case.fold.Current`: the picture and its latest entry's order), which no rule reads:
only the cases whose events need the case's history (one ordered at or before its latest entry:
late, or perhaps already folded; a withdrawal; a case with withdrawals; an id the timeline rows
already hold; a merged group, whose one picture is folded from its ids' events) have their
timeline rows read too, for the batch only. A batch writes the timeline rows it adds, not each
changed case's history again. Nothing kept in memory grows with the caseload or the history,
apart from the merge links (a few a year). `AlertProjection(lean=False)` reads and caches whole
pictures instead: the fold as it was, kept to show that both raise the same alerts.

Two positions per partition, both stored, moved in the transaction that stores the pictures
and the alerts: `offsets`, how far the pictures have been folded, and `raised_upto`, how far
alerts have been raised. They move together, except in a store made before the pictures were
kept: its pictures are folded again from the start of the log (`load`). Every record is put to
the rules, also while the pictures are folded below `raised_upto` (what was raised then is in
the outbox and is not raised again); only records beyond it are dead-lettered. A crash
therefore neither loses an alert (the offsets move only with the alerts they produced) nor
raises one twice (an alert's id comes from its rule and trigger, and the outbox keeps every id).

An alert raised by an event its agency withdrew is withdrawn (`AlertWithdrawn`, in the outbox
beside the alerts), and so is one a later event raised that the case without it no longer
implies. Any other alert raised on what was known then stays raised: a replay in
another arrival order may raise one that the final picture would not imply (a victim's request
seen before probation's conditions granting it), and never misses one the final picture implies.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine

from mappa_bus.alerts.model import (
    AlertData,
    AlertRaised,
    AlertWithdrawn,
    alert_id,
    raised,
    withdrawn,
)
from mappa_bus.alerts.rules import (
    LEVEL_THREE_INTERVAL,
    RULES,
    Firing,
    calendar,
    evaluate,
    first_due,
)
from mappa_bus.alerts.schema import create_schema
from mappa_bus.alerts.store import (
    CASES,
    PROJECTION,
    HeldCase,
    cases_of,
    count_raised,
    delete_cases,
    due_cases,
    each_case,
    forget_cases,
    forget_folded,
    holding,
    mark_published,
    raised_alerts,
    record_raised,
    save_cases,
    set_due,
    whole_cases,
)
from mappa_bus.case.fold import Place, apply, apply_after, current_of, joined, replay
from mappa_bus.case.merges import NO_MERGES, Link, Merges, link_of, merges_of
from mappa_bus.case.merges import refusal as merge_refusal
from mappa_bus.case.model import CasePicture, TimelineEntry
from mappa_bus.case.withdrawal import is_withdrawal_type, refusal
from mappa_bus.catalogue import Envelope, EventData
from mappa_bus.catalogue.registry import BY_TYPE
from mappa_bus.catalogue.withdrawal import EventWithdrawn, WithdrawalReason
from mappa_bus.kafka_codec import appended_at
from mappa_bus.projection.batch import Batch
from mappa_bus.projection.cache import LeastRecentlyUsed
from mappa_bus.projection.database import let_go_of_deleted, snapshot
from mappa_bus.projection.erasures import record_erasures
from mappa_bus.projection.heap import HeapKeeper
from mappa_bus.projection.merges import load_links, save_links
from mappa_bus.projection.offsets import Position, advance_together, load_offsets
from mappa_bus.projection.sealed import RecordKeys
from mappa_bus.settings import load_settings
from mappa_bus.topics import NAMESPACE


def evaluate_from(picture: CasePicture, event_id: str) -> list[Firing]:
    """The rules for every event of `picture` from `event_id` on, in event-time order, each
    against the case as it stood just before and just after it.

    An event that arrives after later ones (a level set that reached the bus after the release
    it precedes) changes what those later events mean, so their rules are asked again: the
    release of a level 3 person is alerted once the level is known. Alerts already raised keep
    their ids, so asking again raises nothing twice.
    """
    timeline = picture.timeline
    start = next((n for n, entry in enumerate(timeline) if entry.event_id == event_id), None)
    if start is None:
        return []
    # The case as it stood before `event_id`, folded in one run: no rule asks about those
    # events, and a step at a time would make each step copy the case's history so far (a
    # late event in a long history cost its case a fold quadratic in the history).
    before = replay(picture.case_id, timeline[:start]) if start else None
    firings: list[Firing] = []
    for entry in timeline[start:]:
        event = envelope_of(entry, picture.case_id)
        after = apply(before, event, entry.recorded_at)
        firings.extend(evaluate(before, after, event, entry.recorded_at))
        before = after
    return firings


def envelope_of(entry: TimelineEntry, case_id: str) -> Envelope[EventData]:
    """The event a timeline entry keeps, as the rules take it."""
    data_type = BY_TYPE[entry.type]
    return Envelope[EventData](
        id=entry.event_id,
        source=f"/mappa/{entry.agency.value}/bus",
        type=entry.type,
        time=entry.time,
        subject=case_id,
        dataschema=data_type.schema_uri(),
        mappaarea=entry.area,
        data=data_type.model_validate(entry.data),
    )


def _says(data: AlertData) -> dict[str, object]:
    """What an alert tells its readers, leaving out when its trigger happened and arrived."""
    return data.model_dump(
        include={"severity", "audience", "case_id", "area", "level", "category", "summary"}
    )


# How the fold and the clock look a case's picture up: the batch's, else the store's.
Lookup = Callable[[str], CasePicture | None]


def _now() -> datetime:
    return datetime.now(UTC)


def _cache_size() -> int:
    return load_settings().alerts_cache_cases


def _cache_bytes() -> int:
    return load_settings().alerts_cache_row_kib * 1024


@dataclass
class AlertBatch(Batch):
    """What a batch of records would change: pictures, how far alerts are raised, alerts,
    besides how far the pictures have read (`offsets`) and refusals."""

    raised_upto: dict[Position, int] = field(default_factory=dict)
    changed: dict[str, CasePicture] = field(default_factory=dict)
    alerts: dict[str, AlertRaised] = field(default_factory=dict)
    # Alerts to withdraw, each with the withdrawn event and why: withdrawn at the commit, those
    # the outbox or the batch holds (the alert raised may be in the store rather than the batch).
    withdrawing: dict[str, tuple[str, WithdrawalReason]] = field(default_factory=dict)
    # Alerts still implied once an event is withdrawn, with what they would now say, the
    # withdrawn event, why, and the withdrawal's id: one that said otherwise is withdrawn and
    # raised again as it now reads (under an id of its own).
    restating: dict[str, tuple[Firing, str, WithdrawalReason, str]] = field(default_factory=dict)
    # The MAPPA unit's merges and unmerges the batch met, and the merges in force with them.
    links: list[Link] = field(default_factory=list)
    merges: Merges = NO_MERGES
    # The stored cases the batch read (its cases and their merge groups), and those of its
    # cases erased before it (their events are not folded).
    known: dict[str, HeldCase] = field(default_factory=dict)
    erased_before: set[str] = field(default_factory=set)
    # The partition number each changed case's events are on.
    homes: dict[str, int] = field(default_factory=dict)
    # The due day of every case whose person the batch changed (`rules.first_due`).
    due: dict[str, date | None] = field(default_factory=dict)

    def picture(self, case_id: str) -> CasePicture | None:
        """`case_id`'s own picture as the batch leaves it so far, or None: none yet."""
        changed = self.changed.get(case_id)
        if changed is not None:
            return changed
        held = self.known.get(case_id)
        return None if held is None else held.picture


@dataclass
class Outgoing:
    """The outbox's part in memory (alerts/service.py, `Outbox`), shared with the commits: a
    batch's alerts go out as its commit stored them, not read back, and are marked sent in the
    next commit's transaction, not one of their own (docs/alerts.md, "Exactly once")."""

    # Stored by the commits since the outbox last sent, in the order stored.
    stored: list[AlertRaised | AlertWithdrawn] = field(default_factory=list)
    # Sent, and not marked in the store yet.
    sent: set[str] = field(default_factory=set)
    # Whether `stored` holds every alert the store has not marked, besides those `sent`. Not
    # at start nor after a reassignment (a crashed run's or another member's may be there),
    # nor after a send failed: the outbox then reads them all back, once.
    complete: bool = False


@dataclass
class AlertProjection:
    """Where the pictures and the alerts stand, the merge links, and a bounded cache of the
    store's pictures (memory changes only after the store has committed)."""

    # It keeps cases: the shell subscribes it to the erasures too (docs/decisions/0002).
    folds_erasures: ClassVar[bool] = True

    engine: Engine
    namespace: str = NAMESPACE
    # Every agency's keys, retired ones too: each record is checked against them.
    keyring: RecordKeys = field(kw_only=True, repr=False)
    name: str = PROJECTION
    clock: Callable[[], datetime] = _now
    offsets: dict[Position, int] = field(default_factory=dict)
    raised_upto: dict[Position, int] = field(default_factory=dict)
    level_three_interval: timedelta = LEVEL_THREE_INTERVAL
    """How long a level 3 case may go without a meeting (the settings' interval)."""
    # The MAPPA unit's merges and unmerges, kept with the pictures: from a merge on, the rules
    # reason over the group's one picture (docs/alerts.md, "Merged cases").
    links: list[Link] = field(default_factory=list)
    # The cases used most recently, as the store has them: a case busy on the log is folded
    # without reading it back, and the memory stays at `alerts_cache_cases` pictures.
    cache_size: int = field(default_factory=_cache_size, kw_only=True)
    # And at most so many bytes of their rows: a picture grows with its case's history, so a
    # number of cases alone let the cache grow with the years.
    cache_bytes: int = field(default_factory=_cache_bytes, kw_only=True)
    cache: LeastRecentlyUsed[str, HeldCase] = field(init=False, repr=False)
    # Whether cases are read and cached without their timelines (the fold's memory and work do
    # not grow with the history); False reads them whole, as the fold did before, to compare.
    lean: bool = field(default=True, kw_only=True)
    outgoing: Outgoing = field(default_factory=Outgoing, init=False, repr=False)
    # What stays between batches (the cache, the links) is moved out of the cyclic collector's
    # view, as the picture's is. The service settles it once a batch's alerts are sent (the
    # live one only once warm), and a catch-up sweeps it every minute (`consume_until_caught_up`).
    heap: HeapKeeper = field(default_factory=HeapKeeper, repr=False)
    # `links` folded, made again only when they change (load, commit): the fold asks for them
    # every batch and a merged case's group every event, and the links grow with the years.
    _merges: Merges = field(default=NO_MERGES, init=False, repr=False)

    def __post_init__(self) -> None:
        self.cache = LeastRecentlyUsed(
            self.cache_size, budget=self.cache_bytes, weigh=lambda held: held.stored_size
        )
        self._merges = merges_of(self.links)

    @property
    def merges(self) -> Merges:
        """The merges in force, as far as the pictures have read."""
        return self._merges

    def _with(self, links: Sequence[Link]) -> Merges:
        """The merges in force with `links` (a batch's, not yet judged) folded in too."""
        return merges_of([*self.links, *links]) if links else self.merges

    @staticmethod
    def person(case_id: str, merges: Merges, look: Lookup) -> CasePicture | None:
        """The picture the rules see for `case_id`: its own, or its merged group's one picture,
        each id's picture as `look` finds it (None: none yet)."""
        group = merges.group(case_id)
        pictures = [picture for one in group if (picture := look(one)) is not None]
        if len(group) == 1 or not pictures:
            return pictures[0] if pictures else None
        return joined(group, pictures)

    def load(self) -> None:
        """Read where the pictures and the alerts stand (again, after a rebalance: another
        member may have moved them on); the cache is emptied. A store whose pictures' table
        had to be made folds them again from the log: where they were folded up to is
        forgotten (a store made before they were kept has none of it anyway)."""
        if create_schema(self.engine):
            with self.engine.begin() as connection:
                forget_folded(connection)
        with snapshot(self.engine) as connection:
            self.raised_upto = load_offsets(connection, PROJECTION)
            self.offsets = load_offsets(connection, CASES)
            self.links = [Link.from_row(row) for row in load_links(connection, CASES)]
        self._merges = merges_of(self.links)
        self.cache.clear()
        self.outgoing.complete = False

    def cases_of(self, case_ids: Iterable[str]) -> tuple[dict[str, HeldCase], set[str]]:
        """The stored cases among `case_ids` (those cached, the rest in one read), without
        their timelines unless the projection is not `lean`, and those of the rest the service
        has erased."""
        erased: set[str] = set()

        def read(misses: list[str]) -> dict[str, HeldCase]:
            with self.engine.connect() as connection:
                found, gone = cases_of(connection, misses, whole=not self.lean)
            erased.update(gone)
            return found

        return self.cache.through(case_ids, read), erased

    def _whole(self, known: dict[str, HeldCase], wanted: Collection[str]) -> None:
        """Put in `known` the whole stored cases of `wanted` among those read without their
        timelines (for one batch or one turn of the clock only: they are not cached)."""
        lean = [case_id for case_id in wanted if case_id in known and not known[case_id].whole]
        if lean:
            with snapshot(self.engine) as connection:
                known.update(whole_cases(connection, lean))

    def _read_timelines(
        self, batch: AlertBatch, read: Sequence[tuple[Any, Envelope[EventData], Link | None, bool]]
    ) -> None:
        """Read whole the batch's cases whose events need their history (as `apply_after`
        says, for the events in the batch's order): the members of a merged group, a case with
        a withdrawal or withdrawals, one with an event ordered at or before its latest entry, or
        one whose timeline rows hold an id of its events (a redelivery)."""
        links = [link for _, _, link, _ in read if link is not None]
        groups = (self.merges, self._with(links))
        needed = {c for c in batch.known for m in groups if len(m.group(c)) > 1}
        last: dict[str, Place | None] = {}
        ids: dict[str, list[str]] = {}
        for _, event, link, _ in read:
            held = batch.known.get(event.case_id)
            if link is not None or held is None or held.whole or event.case_id in needed:
                continue
            latest = last.get(event.case_id, held.last)
            place = (event.time, event.id)
            if (
                is_withdrawal_type(event.type)
                or held.picture.withdrawn
                or held.picture.withdrawals
                or (latest is not None and place <= latest)
            ):
                needed.add(event.case_id)
            else:
                ids.setdefault(event.case_id, []).append(event.id)
                last[event.case_id] = place
        asked = {case_id: found for case_id, found in ids.items() if case_id not in needed}
        if asked:
            with snapshot(self.engine) as connection:
                needed |= holding(connection, asked)
        self._whole(batch.known, needed)

    def stored_pictures(self) -> dict[str, CasePicture]:
        """Every picture in the store, all at once: for tests and small stores (the fold and
        the clock never hold them all)."""
        with snapshot(self.engine) as connection:
            return {picture.case_id: picture for picture in each_case(connection)}

    def raised_count(self) -> int:
        """How many alerts and withdrawals the store holds."""
        with snapshot(self.engine) as connection:
            return count_raised(connection)

    @property
    def warm(self) -> bool:
        """Whether the pictures have caught up with every record alerts were raised for: only
        then may a time-driven rule look at them."""
        return self.warm_over(None)

    def warm_over(self, held: Collection[Position] | None) -> bool:
        """As `warm`, for the partitions a group member holds (None: every partition, as a
        catch-up reads them); the store's other partitions are other members' business."""
        positions = self.raised_upto if held is None else held
        return all(self.offsets.get(p, 0) >= self.raised_upto.get(p, 0) for p in positions)

    def fold(self, records: Sequence[Any]) -> AlertBatch:
        """Fold a batch into pictures and the alerts they raise, without committing."""
        batch = AlertBatch(
            offsets=dict(self.offsets),
            raised_upto=dict(self.raised_upto),
            namespace=self.namespace,
            merges=self.merges,
        )
        read: list[tuple[Any, Envelope[EventData], Link | None, bool]] = []
        for record in batch.unread(records):
            position = (record.topic, record.partition)
            live = record.offset >= batch.raised_upto.get(position, 0)
            if live:
                batch.raised_upto[position] = record.offset + 1
            # Refused once, when first met, not again when folded again.
            event = batch.read(record, self.namespace, self.keyring, refuse=live)
            if event is not None:
                read.append((record, event, link_of(event, appended_at(record.timestamp)), live))
        batch.known, batch.erased_before = self.cases_of(self._wanted(batch, read))
        if self.lean:
            self._read_timelines(batch, read)
        for record, event, link, live in read:
            self._fold_one(batch, record, event, link, live=live)
        # Erasures are folded whenever met, below `raised_upto` too (they raise nothing).
        self._erase(batch)
        self._due(batch)
        return batch

    def _wanted(
        self, batch: AlertBatch, read: Sequence[tuple[Any, Envelope[EventData], Link | None, bool]]
    ) -> set[str]:
        """The cases the batch reads: its own, the ids its links name, and every member of
        their merge groups before and after the batch's links (a group met in between holds
        no other ids: groups are stars)."""
        ids = {event.case_id for _, event, _, _ in read} | set(batch.erasures)
        links = [link for _, _, link, _ in read if link is not None]
        ids |= {one for link in links for one in (link.kept, link.merged)}
        now, then = self.merges, self._with(links)
        return {one for case_id in ids for merges in (now, then) for one in merges.group(case_id)}

    def _erase(self, batch: AlertBatch) -> None:
        """Take the batch's erased cases out of what it would change."""
        gone = batch.erasures.keys()
        if not gone:
            return
        for case_id in gone:
            batch.changed.pop(case_id, None)
        batch.alerts = {k: a for k, a in batch.alerts.items() if a.data.case_id not in gone}
        batch.restating = {
            k: r for k, r in batch.restating.items() if r[0].data.case_id not in gone
        }

    def _due(self, batch: AlertBatch) -> None:
        """The due day of every case whose person the batch changed: a changed case's and its
        group's, and the groups a link made or undid, each over its group's one picture (the
        clock asks about a group through its kept id)."""
        before, after = self.merges, batch.merges
        touched = set(batch.changed) | {
            one for link in batch.links for one in (link.kept, link.merged)
        }
        cases = {one for case_id in touched for m in (before, after) for one in m.group(case_id)}
        for case_id in sorted(cases - batch.erasures.keys() - batch.erased_before):
            person = self.person(after.kept(case_id), after, batch.picture)
            batch.due[case_id] = (
                None if person is None else first_due(person, self.level_three_interval)
            )

    def _fold_one(
        self,
        batch: AlertBatch,
        record: Any,
        event: Envelope[EventData],
        link: Link | None,
        *,
        live: bool,
    ) -> None:
        if event.case_id in batch.erased_before:
            return
        if link is not None:
            self._link(batch, record, link, live=live)
            return
        batch.homes[event.case_id] = record.partition
        before = batch.picture(event.case_id)
        error = refusal(before, event)
        if error is not None:
            if live:
                batch.refuse(record, error)
            return
        recorded_at = appended_at(record.timestamp)
        after = self._apply(batch.known.get(event.case_id), before, event, recorded_at)
        if after is before:
            return  # the same event again
        batch.changed[event.case_id] = after
        if isinstance(event.data, EventWithdrawn):
            self._withdraw(batch, event.id, event.data, after)
            return
        merges = batch.merges
        if len(merges.group(event.case_id)) > 1:
            # One person under several ids: the rules see the group's one picture before and
            # after the event, so what the other id already holds raises nothing again.
            person_after = self.person(event.case_id, merges, batch.picture)
            person_before = self.person(
                event.case_id,
                merges,
                lambda one: before if one == event.case_id else batch.picture(one),
            )
            if person_after is not None:
                self._raise(batch, evaluate(person_before, person_after, event, recorded_at))
            return
        # Asked even while folding again: a run that crashed may have met an event before one
        # that happened earlier (another agency's), and so not raised what the two imply
        # together. Alerts it did raise keep their ids, so asking again raises nothing twice.
        if after.timeline[-1].event_id != event.id:
            self._raise(batch, evaluate_from(after, event.id))
        else:
            self._raise(batch, evaluate(before, after, event, recorded_at))

    @staticmethod
    def _apply(
        held: HeldCase | None,
        before: CasePicture | None,
        event: Envelope[EventData],
        recorded_at: datetime,
    ) -> CasePicture:
        """`before` with `event` in it; for a case read without its timeline, through
        `apply_after`, which says if the event needed the timeline after all."""
        if held is None or held.whole:
            return apply(before, event, recorded_at)
        after = apply_after(before, held.last, [(event, recorded_at)])
        if after is None:
            # `_read_timelines` reads whole every case whose events need it: a bug, not input.
            raise LookupError(f"event {event.id} needs its case's timeline, which was not read")
        return after

    def _link(self, batch: AlertBatch, record: Any, link: Link, *, live: bool) -> None:
        """Keep a merge or unmerge (no picture changes), or refuse it (once, when first met)."""
        known = [*self.links, *batch.links]
        if link in known:
            return  # the same event again
        error = merge_refusal(known, link)
        if error is None:
            batch.links.append(link)
            batch.merges = merges_of([*known, link])
        elif live:
            batch.refuse(record, error)

    def _withdraw(
        self, batch: AlertBatch, by: str, withdrawal: EventWithdrawn, after: CasePicture
    ) -> None:
        """As if the withdrawn event had never been sent: note for withdrawal every alert it
        raised, and every alert of a later event of the case that the picture without it no
        longer implies; raise those it now implies. (An alert's id comes from its rule and
        trigger, so they are found without a table of triggers; the commit withdraws those
        the outbox or the batch holds.)"""
        target = withdrawal.withdrawn_event_id
        gone = next((e for e in after.withdrawn if e.event_id == target), None)
        if gone is None:
            return  # it withdrew nothing (only a refused withdrawal could)
        later = [e.event_id for e in after.timeline if (e.time, e.event_id) > (gone.time, target)]
        firings = evaluate_from(after, later[0]) if later else []
        self._raise(batch, firings)
        implied = {alert_id(firing.data.rule, firing.trigger): firing for firing in firings}
        for identity, firing in implied.items():
            batch.restating[identity] = (firing, target, withdrawal.reason, by)
        for trigger in (target, *later):
            for rule in RULES:
                identity = alert_id(rule.name, trigger)
                if identity not in implied:
                    batch.withdrawing[identity] = (target, withdrawal.reason)

    def _raise(self, batch: AlertBatch, firings: Sequence[Firing]) -> None:
        """Note the alerts of `firings` (the commit keeps those the outbox lacks)."""
        for firing in firings:
            identity = alert_id(firing.data.rule, firing.trigger)
            if identity not in batch.alerts:
                batch.alerts[identity] = raised(firing.data, firing.trigger, self.clock())

    def commit(self, batch: AlertBatch) -> None:
        """Store the pictures, the alerts and how far both were taken in one transaction, and
        mark what the outbox has sent since the last; then make the batch current."""
        fresh = [e for case_id, e in batch.erasures.items() if case_id not in batch.erased_before]
        cases = {
            case_id: HeldCase(picture, batch.homes.get(case_id))
            for case_id, picture in batch.changed.items()
        }
        sent = sorted(self.outgoing.sent)
        with self.engine.begin() as connection:
            advance_together(
                connection,
                {
                    PROJECTION: (self.raised_upto, batch.raised_upto),
                    CASES: (self.offsets, batch.offsets),
                },
            )
            # Those raised before (folded again, or asked again) are in the outbox already.
            stored = record_raised(connection, batch.alerts.values())
            alerts = {a.id: a for a in stored if isinstance(a, AlertRaised)}
            stored += record_raised(connection, self._withdrawals(connection, batch, alerts))
            mark_published(connection, sent)
            forget_cases(connection, [erasure.case_id for erasure in fresh])
            delete_cases(connection, batch.erasures)
            record_erasures(connection, PROJECTION, fresh)
            before = {case_id: held.picture for case_id, held in batch.known.items()}
            last = {case_id: held.last for case_id, held in batch.known.items() if not held.whole}
            sizes = save_cases(connection, cases, batch.due, before, last)
            set_due(connection, {k: d for k, d in batch.due.items() if k not in cases})
            save_links(connection, CASES, (link.as_row() for link in batch.links))
        if fresh:
            let_go_of_deleted(self.engine)
        self.outgoing.sent.difference_update(sent)
        self.outgoing.stored += stored
        self.cache.put({case: self._kept(batch, held, sizes[case]) for case, held in cases.items()})
        self.cache.discard(batch.erasures)
        if batch.links:
            self.links.extend(batch.links)
            self._merges = batch.merges
        self.offsets = batch.offsets
        self.raised_upto = batch.raised_upto

    def _kept(self, batch: AlertBatch, held: HeldCase, size: int) -> HeldCase:
        """What the cache keeps of a changed case (its current row `size` long): without its
        timeline, when `lean`."""
        if not self.lean:
            return replace(held, stored_size=size)
        was = batch.known.get(held.picture.case_id)
        current = current_of(held.picture, None if was is None or was.whole else was.last)
        return HeldCase(current.picture, held.home, current.last, whole=False, stored_size=size)

    def _withdrawals(
        self, connection: Connection, batch: AlertBatch, alerts: dict[str, AlertRaised]
    ) -> list[AlertRaised | AlertWithdrawn]:
        """The alerts raised again as they now read, and the withdrawals of the alerts `batch`
        withdraws that the outbox or `alerts` (the batch's new ones) hold. Those made before
        (the log folded again meets the withdrawal again) have the same derived ids: the
        outbox keeps them once."""
        wanted = set(batch.withdrawing) | set(batch.restating)
        if not wanted:
            return []
        held = {alert.id: alert for alert in raised_alerts(connection, wanted - set(alerts))}
        held |= {identity: alerts[identity] for identity in wanted & set(alerts)}
        now = self.clock()
        made: list[AlertRaised | AlertWithdrawn] = [
            withdrawn(held[identity], target, reason, now)
            for identity, (target, reason) in batch.withdrawing.items()
            if identity in held
        ]
        restated: list[AlertRaised] = []
        for identity, (firing, target, reason, by) in batch.restating.items():
            alert = held.get(identity)
            if alert is not None and _says(alert.data) != _says(firing.data):
                made.append(withdrawn(alert, target, reason, now))
                restated.append(raised(firing.data, f"{firing.trigger}|{by}", now))
        return [*restated, *made]

    def raise_overdue(self, today: date, held: Collection[Position] | None = None) -> int:
        """Raise the time-driven alerts (reviews and plan actions now overdue, level 3 cases
        without a meeting) not raised before, for the cases due by `today` on the partitions
        held (None: all); how many. Only the cases due are read, a page at a time."""
        if not self.warm_over(held):
            return 0
        numbers = None if held is None else {partition for _, partition in held}
        merges = self.merges
        count = 0
        after: str | None = None
        while True:
            with snapshot(self.engine) as connection:
                due = due_cases(connection, today, numbers, after)
            if not due:
                return count
            after = due[-1]
            count += self._raise_due(due, today, merges)

    def _raise_due(self, due: Sequence[str], today: date, merges: Merges) -> int:
        """Raise what the calendar finds for the persons of the cases `due` (a group once,
        through its kept id), and move each case's due day past `today`."""
        known, _ = self.cases_of(one for case_id in due for one in merges.group(case_id))
        # A merged group's one picture is folded from its ids' timelines.
        self._whole(known, {one for c in due if len(g := merges.group(c)) > 1 for one in g})

        def look(case_id: str) -> CasePicture | None:
            held = known.get(case_id)
            return None if held is None else held.picture

        batch = AlertBatch(offsets=self.offsets, raised_upto=self.raised_upto)
        persons = {kept: self.person(kept, merges, look) for kept in {merges.kept(c) for c in due}}
        for kept in sorted(persons):
            if (person := persons[kept]) is not None:
                self._raise(batch, calendar(person, today, self.level_three_interval))
        moved = {
            case_id: None
            if (person := persons[merges.kept(case_id)]) is None
            else first_due(person, self.level_three_interval, after=today)
            for case_id in due
        }
        with self.engine.begin() as connection:
            alerts = record_raised(connection, batch.alerts.values())
            set_due(connection, moved)
        self.outgoing.stored += alerts
        return len(alerts)
