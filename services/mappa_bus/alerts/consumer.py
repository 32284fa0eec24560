"""The alerts projection: folds every agency event into the case pictures the rules compare,
and raises the alerts that the rules find, exactly once per triggering event.

Two positions per partition: `offsets`, how far the in-memory pictures have read (the service
starts with none and folds the topics again from their start), and `raised_upto`, how far
alerts have been raised (stored, with the alerts raised, in one transaction). Every record is
put to the rules, also while the pictures are rebuilt below `raised_upto` (what was raised then
is in the outbox and is not raised again); only records beyond it are dead-lettered. A crash
therefore neither loses an alert (the offsets move only with the alerts they produced) nor
raises one twice (an alert's id comes from its rule and trigger, and the outbox keeps every id).

An alert raised by an event its agency withdrew is withdrawn (`AlertWithdrawn`, in the outbox
beside the alerts), and so is one a later event raised that the case without it no longer
implies. Any other alert raised on what was known then stays raised: a replay in
another arrival order may raise one that the final picture would not imply (a victim's request
seen before probation's conditions granting it), and never misses one the final picture implies.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
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
from mappa_bus.alerts.rules import LEVEL_THREE_INTERVAL, RULES, Firing, calendar, evaluate
from mappa_bus.alerts.schema import create_schema
from mappa_bus.alerts.store import (
    PROJECTION,
    forget_cases,
    raised_alerts,
    raised_ids,
    record_raised,
)
from mappa_bus.case.fold import apply, joined
from mappa_bus.case.merges import Link, Merges, link_of, merges_of
from mappa_bus.case.merges import refusal as merge_refusal
from mappa_bus.case.model import CasePicture, TimelineEntry
from mappa_bus.case.withdrawal import refusal
from mappa_bus.catalogue import Envelope, EventData
from mappa_bus.catalogue.registry import BY_TYPE
from mappa_bus.catalogue.withdrawal import EventWithdrawn, WithdrawalReason
from mappa_bus.kafka_codec import appended_at
from mappa_bus.projection.batch import Batch
from mappa_bus.projection.database import let_go_of_deleted, snapshot
from mappa_bus.projection.erasures import load_erasures, record_erasures
from mappa_bus.projection.offsets import Position, advance_offsets, load_offsets
from mappa_bus.projection.sealed import RecordKeys
from mappa_bus.topics import NAMESPACE


def evaluate_from(picture: CasePicture, event_id: str) -> list[Firing]:
    """The rules for every event of `picture` from `event_id` on, in event-time order, each
    against the case as it stood just before and just after it.

    An event that arrives after later ones (a level set that reached the bus after the release
    it precedes) changes what those later events mean, so their rules are asked again: the
    release of a level 3 person is alerted once the level is known. Alerts already raised keep
    their ids, so asking again raises nothing twice.
    """
    firings: list[Firing] = []
    before: CasePicture | None = None
    reached = False
    for entry in picture.timeline:
        event = envelope_of(entry, picture.case_id)
        after = apply(before, event, entry.recorded_at)
        reached = reached or entry.event_id == event_id
        if reached:
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


_NONE_HELD: Mapping[str, CasePicture | None] = MappingProxyType({})


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AlertBatch(Batch):
    """What a batch of records would change: pictures, how far alerts are raised, alerts,
    besides how far the pictures have read (`offsets`) and refusals."""

    raised_upto: dict[Position, int] = field(default_factory=dict)
    changed: dict[str, CasePicture] = field(default_factory=dict)
    alerts: dict[str, AlertRaised] = field(default_factory=dict)
    # Alerts to withdraw, each with the withdrawn event and why: withdrawn at the commit (the
    # alert raised may be in the store rather than the batch).
    withdrawing: dict[str, tuple[str, WithdrawalReason]] = field(default_factory=dict)
    # Alerts still implied once an event is withdrawn, with what they would now say, the
    # withdrawn event, why, and the withdrawal's id: one that said otherwise is withdrawn and
    # raised again as it now reads (under an id of its own).
    restating: dict[str, tuple[Firing, str, WithdrawalReason, str]] = field(default_factory=dict)
    # The MAPPA unit's merges and unmerges the batch met.
    links: list[Link] = field(default_factory=list)


@dataclass
class AlertProjection:
    """The pictures in memory, where they and the alerts stand, and every alert id raised."""

    # It keeps cases: the shell subscribes it to the erasures too (docs/decisions/0002).
    folds_erasures: ClassVar[bool] = True

    engine: Engine
    namespace: str = NAMESPACE
    # Every agency's keys, retired ones too: each record is checked against them.
    keyring: RecordKeys = field(kw_only=True, repr=False)
    name: str = PROJECTION
    clock: Callable[[], datetime] = _now
    pictures: dict[str, CasePicture] = field(default_factory=dict)
    offsets: dict[Position, int] = field(default_factory=dict)
    raised_upto: dict[Position, int] = field(default_factory=dict)
    raised: set[str] = field(default_factory=set)
    # The partition number each case's events are on (the same on every agency topic): a
    # group member asks the clock only about the cases it holds.
    homes: dict[str, int] = field(default_factory=dict)
    level_three_interval: timedelta = LEVEL_THREE_INTERVAL
    """How long a level 3 case may go without a meeting (the settings' interval)."""
    # The MAPPA unit's merges and unmerges, folded from the log like the pictures: from a
    # merge on, the rules reason over the group's one picture (docs/alerts.md, "Merged cases").
    links: list[Link] = field(default_factory=list)
    erased: set[str] = field(default_factory=set)
    """Erased cases (docs/decisions/0002): no picture, no alert, their events not folded."""

    @property
    def merges(self) -> Merges:
        """The merges in force, as far as the pictures have read."""
        return merges_of(self.links)

    def person(
        self, case_id: str, merges: Merges, held: Mapping[str, CasePicture | None] = _NONE_HELD
    ) -> CasePicture | None:
        """The picture the rules see for `case_id`: its own, or its merged group's one picture
        (`held`: pictures by id that stand instead of the projection's, None for none yet)."""
        group = merges.group(case_id)
        pictures = [
            picture
            for one in group
            if (picture := held[one] if one in held else self.pictures.get(one)) is not None
        ]
        if len(group) == 1 or not pictures:
            return pictures[0] if pictures else None
        return joined(group, pictures)

    def load(self) -> None:
        """Read where alerts stand (again, after a rebalance: another instance may have moved
        them on). The pictures are kept: they are folded from the log, not read from here."""
        create_schema(self.engine)
        with snapshot(self.engine) as connection:
            self.raised_upto = load_offsets(connection, PROJECTION)
            self.raised = raised_ids(connection)
            self.erased = set(load_erasures(connection, PROJECTION))
        for case_id in self.erased:
            self.pictures.pop(case_id, None)

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
        )
        for record in batch.unread(records):
            position = (record.topic, record.partition)
            live = record.offset >= batch.raised_upto.get(position, 0)
            if live:
                batch.raised_upto[position] = record.offset + 1
            self._fold_one(batch, record, live=live)
        # Erasures are folded whenever met, below `raised_upto` too (they raise nothing): the
        # pictures are folded from the log at every start, and an erased case keeps none.
        self._erase(batch)
        return batch

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

    def _fold_one(self, batch: AlertBatch, record: Any, *, live: bool) -> None:
        # Refused once, when first met, not again at every start.
        event = batch.read(record, self.namespace, self.keyring, refuse=live)
        if event is None or event.case_id in self.erased:
            return
        link = link_of(event, appended_at(record.timestamp))
        if link is not None:
            self._link(batch, record, link, live=live)
            return
        self.homes[event.case_id] = record.partition
        before = batch.changed.get(event.case_id) or self.pictures.get(event.case_id)
        error = refusal(before, event)
        if error is not None:
            if live:
                batch.refuse(record, error)
            return
        recorded_at = appended_at(record.timestamp)
        after = apply(before, event, recorded_at)
        if after is before:
            return  # the same event again
        batch.changed[event.case_id] = after
        if isinstance(event.data, EventWithdrawn):
            self._withdraw(batch, event.id, event.data, after)
            return
        merges = merges_of([*self.links, *batch.links])
        if len(merges.group(event.case_id)) > 1:
            # One person under several ids: the rules see the group's one picture before and
            # after the event, so what the other id already holds raises nothing again.
            person_after = self.person(event.case_id, merges, batch.changed)
            person_before = self.person(
                event.case_id, merges, {**batch.changed, event.case_id: before}
            )
            if person_after is not None:
                self._raise(batch, evaluate(person_before, person_after, event, recorded_at))
            return
        # Asked even while rebuilding: a run that crashed may have met an event before one
        # that happened earlier (another agency's), and so not raised what the two imply
        # together. Alerts it did raise keep their ids, so asking again raises nothing twice.
        if after.timeline[-1].event_id != event.id:
            self._raise(batch, evaluate_from(after, event.id))
        else:
            self._raise(batch, evaluate(before, after, event, recorded_at))

    def _link(self, batch: AlertBatch, record: Any, link: Link, *, live: bool) -> None:
        """Keep a merge or unmerge (no picture changes), or refuse it (once, when first met)."""
        known = [*self.links, *batch.links]
        if link in known:
            return  # the same event again
        error = merge_refusal(known, link)
        if error is None:
            batch.links.append(link)
            self.homes.setdefault(link.kept, record.partition)
        elif live:
            batch.refuse(record, error)

    def _withdraw(
        self, batch: AlertBatch, by: str, withdrawal: EventWithdrawn, after: CasePicture
    ) -> None:
        """As if the withdrawn event had never been sent: note for withdrawal every alert it
        raised, and every alert of a later event of the case that the picture without it no
        longer implies; raise those it now implies. (An alert's id comes from its rule and
        trigger, so they are found without a table of triggers.)"""
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
                known = identity in self.raised or identity in batch.alerts
                if known and identity not in implied:
                    batch.withdrawing[identity] = (target, withdrawal.reason)

    def _raise(self, batch: AlertBatch, firings: Sequence[Firing]) -> None:
        for firing in firings:
            identity = alert_id(firing.data.rule, firing.trigger)
            if identity not in self.raised and identity not in batch.alerts:
                batch.alerts[identity] = raised(firing.data, firing.trigger, self.clock())

    def commit(self, batch: AlertBatch) -> None:
        """Store the alerts and how far they were raised in one transaction, then make the
        batch current."""
        with self.engine.begin() as connection:
            advance_offsets(connection, PROJECTION, self.raised_upto, batch.raised_upto)
            record_raised(connection, batch.alerts.values())
            withdrawals, restated = self._withdrawals(connection, batch)
            record_raised(connection, [*restated, *withdrawals])
            # Erasures met again (the log is folded at every start) are known: nothing to do.
            fresh = [e for case_id, e in batch.erasures.items() if case_id not in self.erased]
            forget_cases(connection, [erasure.case_id for erasure in fresh])
            record_erasures(connection, PROJECTION, fresh)
        if fresh:
            let_go_of_deleted(self.engine)
        self.pictures.update(batch.changed)
        self.links.extend(batch.links)
        for case_id in batch.erasures:
            self.pictures.pop(case_id, None)
            self.homes.pop(case_id, None)
        self.erased |= batch.erasures.keys()
        self.offsets = batch.offsets
        self.raised_upto = batch.raised_upto
        self.raised.update(batch.alerts)
        self.raised.update(event.id for event in (*restated, *withdrawals))

    def _withdrawals(
        self, connection: Connection, batch: AlertBatch
    ) -> tuple[list[AlertWithdrawn], list[AlertRaised]]:
        """The withdrawals of the alerts `batch` withdraws, and the alerts raised again as they
        now read; none made before (a replay of the log meets the withdrawal again; their ids
        are derived, so they are known)."""
        wanted = set(batch.withdrawing) | set(batch.restating)
        if not wanted:
            return [], []
        held = {alert.id: alert for alert in raised_alerts(connection, wanted - set(batch.alerts))}
        held |= {identity: batch.alerts[identity] for identity in wanted & set(batch.alerts)}
        now = self.clock()
        made = [
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
        return (
            [withdrawal for withdrawal in made if withdrawal.id not in self.raised],
            [alert for alert in restated if alert.id not in self.raised],
        )

    def raise_overdue(self, today: date, held: Collection[Position] | None = None) -> int:
        """Raise the time-driven alerts (reviews and plan actions now overdue, level 3 cases
        without a meeting) not raised before, for the cases of the partitions held (None:
        all); how many."""
        if not self.warm_over(held):
            return 0
        batch = AlertBatch(offsets=self.offsets, raised_upto=self.raised_upto)
        numbers = None if held is None else {partition for _, partition in held}
        merges = self.merges
        # A merged id is asked about through its group's kept id, once for the person.
        kept = [case_id for case_id in merges.groups() if case_id not in self.pictures]
        firings = [
            firing
            for case_id in [*self.pictures, *kept]
            if case_id not in merges.into
            and (numbers is None or self.homes.get(case_id) in numbers)
            and (picture := self.person(case_id, merges)) is not None
            for firing in calendar(picture, today, self.level_three_interval)
        ]
        self._raise(batch, firings)
        if batch.alerts:
            with self.engine.begin() as connection:
                record_raised(connection, batch.alerts.values())
            self.raised.update(batch.alerts)
        return len(batch.alerts)
