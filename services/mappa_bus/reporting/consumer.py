"""The reporting consumer: folds every agency event into its case's facts and keeps them, with
the offsets they came from, in one transaction (the Kafka side is `projection.subscriber`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import Connection, Engine, inspect

from mappa_bus.case.merges import Link, Merges, link_of, merges_of
from mappa_bus.case.merges import refusal as merge_refusal
from mappa_bus.catalogue import Envelope, EventData, ReportingYear, WireError
from mappa_bus.catalogue.withdrawal import EventWithdrawn
from mappa_bus.kafka_codec import appended_at
from mappa_bus.projection.batch import Batch
from mappa_bus.projection.cache import LeastRecentlyUsed
from mappa_bus.projection.database import let_go_of_deleted, snapshot
from mappa_bus.projection.erasures import load_erasures, record_erasures
from mappa_bus.projection.heap import HeapKeeper
from mappa_bus.projection.merges import load_links, save_links
from mappa_bus.projection.offsets import Position, advance_offsets, load_offsets
from mappa_bus.projection.sealed import RecordKeys
from mappa_bus.projection.seen import (
    applied_among,
    load_seen,
    save_seen,
    time_key,
    upgrade_seen,
)
from mappa_bus.reporting.count import contribution, merged_cases
from mappa_bus.reporting.erased_store import Kept, add_kept, delete_cases, load_kept, merge_kept
from mappa_bus.reporting.facts import CaseFacts, Fact, fact_of, insert, withdrawn_fact, without
from mappa_bus.reporting.partnership import (
    Contribution,
    Counted,
    PartnershipCounts,
    PartnershipKey,
    add_contributions,
    contribution_of,
    subtract_all,
    withdrawal_refusal,
)
from mappa_bus.reporting.partnership_store import (
    delete_contributions,
    load_contributions,
    load_partnership_parts,
    save_contributions,
    save_partnership,
    upgrade_contributions,
)
from mappa_bus.reporting.plan_actions import (
    STEP_EVENTS,
    ActionKey,
    ActionSteps,
    CasePlans,
    PlanStep,
    insert_step,
    step_of,
    withdrawn_step,
)
from mappa_bus.reporting.plan_store import (
    append_plan_steps,
    load_plan_steps,
    plans_of,
    upgrade_plan_steps,
    withdraw_steps,
)
from mappa_bus.reporting.publication import (
    FIRST_MAPPA_YEAR,
    closed_years_of,
    load_revised,
    load_unpublished,
    mark_revised,
    mark_unpublished,
)
from mappa_bus.reporting.schema import create_schema, unpublished_table
from mappa_bus.reporting.store import (
    append_facts,
    count_cases,
    fact_years,
    facts_of,
    has_cases,
    load_cases,
    upgrade_facts,
    withdraw_facts,
)
from mappa_bus.settings import load_settings
from mappa_bus.topics import NAMESPACE

PROJECTION = "reporting"


@dataclass
class ReportingBatch(Batch):
    """What a batch of records would change: cases, shared events and years, besides offsets
    and refusals."""

    # The facts of the cases the batch touches as the store has them, read once (through the
    # cache); and the cases the batch changed, with their facts after it.
    known: dict[str, CaseFacts] = field(default_factory=dict)
    changed: dict[str, CaseFacts] = field(default_factory=dict)
    # The facts new to their cases, with the case: what the store appends.
    added: list[tuple[str, Fact]] = field(default_factory=list)
    # What each event applied for the first time adds to the partnership counts, by event id
    # (in order); one withdrawn later in the batch is taken out again before it is added.
    counted: dict[str, Counted] = field(default_factory=dict)
    # Counted events of earlier batches that the batch's withdrawals take out, by event id.
    uncounted: dict[str, Counted] = field(default_factory=dict)
    new_ids: set[str] = field(default_factory=set)
    # Each of the batch's events' time, by event id (`projection.seen.time_key`): the applied
    # ids and contributions are filed under it.
    times: dict[str, int] = field(default_factory=dict)
    # Of the batch's event ids and the ids its withdrawals name, those applied before it, each
    # with the time it is filed under (read from the store once a batch).
    applied: dict[str, int] = field(default_factory=dict)
    # The reporting years of the facts the batch added: their figures (and later years') may
    # have changed.
    years: set[int] = field(default_factory=set)
    # The facts withdrawn by their agency, with the case and the reason; and why each year's
    # figures changed (year, reason), for the next revision to say.
    withdrawn: list[tuple[str, Fact, str]] = field(default_factory=list)
    revised: set[tuple[int, str]] = field(default_factory=set)
    # The plan steps of the cases the batch's plan events and withdrawals are of, by case (each
    # a copy, changed as the batch folds: the cache takes them once the store has them); and
    # the steps new to their actions, which the store appends.
    case_plans: dict[str, CasePlans] = field(default_factory=dict)
    plan_steps: list[tuple[ActionKey, PlanStep]] = field(default_factory=list)
    # Plan steps withdrawn by their agency: (case id, event id, reason).
    withdrawn_steps: list[tuple[str, str, str]] = field(default_factory=list)
    # The MAPPA unit's merges and unmerges the batch applied.
    links: list[Link] = field(default_factory=list)
    # Cases the batch erases, and what they contributed to closed years' cells.
    erased_cases: set[str] = field(default_factory=set)
    kept: Kept = field(default_factory=dict)


def _cache_size() -> int:
    return load_settings().reporting_cache_cases


def _cache_plan_steps() -> int:
    return load_settings().reporting_cache_plan_steps


def steps_in(plans: CasePlans) -> int:
    """How many steps a case's plans hold: what the plan cache weighs."""
    return sum(len(steps) for steps in plans.values())


@dataclass
class ReportingProjection:
    """The consumer's state: every case's facts and the next offset of every partition, as the
    store has them (memory changes only after the store has committed)."""

    # It keeps cases: the shell subscribes it to the erasures too (docs/decisions/0002).
    folds_erasures: ClassVar[bool] = True

    engine: Engine
    namespace: str = NAMESPACE
    # Every agency's keys, retired ones too: each record is checked against them.
    keyring: RecordKeys = field(kw_only=True, repr=False)
    name: str = PROJECTION
    offsets: dict[Position, int] = field(default_factory=dict)
    # By partition number: a member adds only to its own partitions' counts (see the store).
    partnership: dict[int, PartnershipCounts] = field(default_factory=dict)
    # Years changed since their statistics were last published (see publication.py), and why,
    # where withdrawals changed them.
    unpublished: set[int] = field(default_factory=set)
    revised: set[tuple[int, str]] = field(default_factory=set)
    # The facts and plan steps of the cases used most recently, as the store has them (each
    # batch reads those of its cases that are not here, in one query): the memory stays at
    # `reporting_cache_cases` cases however large the caseload or long the history (issue 17).
    cache_size: int = field(default_factory=_cache_size, kw_only=True)
    # And at most so many plan steps: a case's plan gains steps with its history, so a number
    # of cases alone let the plans cached grow with the years.
    cache_plan_steps: int = field(default_factory=_cache_plan_steps, kw_only=True)
    fact_cache: LeastRecentlyUsed[str, CaseFacts] = field(init=False, repr=False)
    plan_cache: LeastRecentlyUsed[str, CasePlans] = field(init=False, repr=False)
    # What stays between batches (the caches above all) leaves the cyclic collector's view
    # after each batch, as the picture's does: each full collection otherwise walked every
    # cached case again (1.6 of 9.2 CPU seconds of Kent's rebuild).
    heap: HeapKeeper = field(default_factory=HeapKeeper, repr=False)
    # The MAPPA unit's merges and unmerges applied (case/merges.py): the counts take each
    # group of ids as one person.
    links: list[Link] = field(default_factory=list)
    # Erased cases (their events are not folded), and what they contributed to closed years.
    erased: set[str] = field(default_factory=set)
    kept: Kept = field(default_factory=dict)

    @property
    def counted(self) -> dict[str, CaseFacts]:
        """Every person's facts as the tables count them: a merged group's under its kept id."""
        return merged_cases(self.cases, self.merges)

    def __post_init__(self) -> None:
        self.fact_cache = LeastRecentlyUsed(self.cache_size)
        self.plan_cache = LeastRecentlyUsed(
            self.cache_size, budget=self.cache_plan_steps, weigh=steps_in
        )

    @property
    def cases(self) -> dict[str, CaseFacts]:
        """Every case's facts, read from the store at once: for publication, reports and
        tests (the fold reads a batch's cases only)."""
        with snapshot(self.engine) as connection:
            return load_cases(connection)

    def case_count(self) -> int:
        """How many cases the store holds a fact of."""
        with snapshot(self.engine) as connection:
            return count_cases(connection)

    @property
    def plans(self) -> dict[ActionKey, ActionSteps]:
        """Every plan action's steps, read from the store at once: for tests and small stores
        (the fold reads a batch's cases only)."""
        with snapshot(self.engine) as connection:
            return load_plan_steps(connection)

    @property
    def seen(self) -> set[str]:
        """Every event id applied, read from the store at once: for tests and small stores
        (the fold asks the store for a batch's ids only)."""
        with snapshot(self.engine) as connection:
            return load_seen(connection, PROJECTION)

    @property
    def merges(self) -> Merges:
        """The merges in force."""
        return merges_of(self.links)

    def load(self, *, for_consuming: bool = True) -> None:
        """Create the schema if need be and read back what the store holds: everything when
        about to consume, only the cases when about to report (the applied ids are by far the
        largest part, and a report never needs them)."""
        # A store from before the changed years were kept: whatever it has not published is
        # unknown, so every year is taken as changed once (publication compares digests).
        upgraded = not inspect(self.engine).has_table(unpublished_table.name)
        create_schema(self.engine)
        with self.engine.begin() as connection:
            if upgraded and has_cases(connection):
                mark_unpublished(connection, [FIRST_MAPPA_YEAR])
            upgrade_seen(connection, PROJECTION)
            upgrade_contributions(connection)
            upgrade_plan_steps(connection)
            upgrade_facts(connection)
        # After a rebalance another member may have changed what the caches held.
        self.fact_cache.clear()
        self.plan_cache.clear()
        with snapshot(self.engine) as connection:
            self.offsets = load_offsets(connection, PROJECTION)
            self.links = [Link.from_row(row) for row in load_links(connection, PROJECTION)]
            self.erased = set(load_erasures(connection, PROJECTION))
            self.kept = load_kept(connection)
            if for_consuming:
                self.partnership = load_partnership_parts(connection)
                self.unpublished = load_unpublished(connection)
                self.revised = load_revised(connection)

    def fold(self, records: Sequence[Any]) -> ReportingBatch:
        """Fold a batch of records into the cases they change, without committing anything."""
        batch = ReportingBatch(offsets=dict(self.offsets), namespace=self.namespace)
        events = list(batch.events(records, self.namespace, self.keyring))
        # The kept partnership contributions of the events the batch's withdrawals name, and
        # which of the batch's ids (and those named) were applied before, read once a batch:
        # all of them would grow with the log (issue 17).
        named = {e.data.withdrawn_event_id for _, e in events if isinstance(e.data, EventWithdrawn)}
        links = {
            event.id: link_of(event, appended_at(record.timestamp)) for record, event in events
        }
        batch.times = {event.id: time_key(event.time) for _, event in events}
        stored: dict[str, Counted] = {}
        if events or batch.erasures:
            with snapshot(self.engine) as connection:
                batch.applied = applied_among(connection, PROJECTION, named | batch.times.keys())
                filed = {
                    event_id: batch.applied[event_id] for event_id in named & batch.applied.keys()
                }
                if filed:
                    stored = load_contributions(connection, filed)
                planned = [
                    event.case_id
                    for _, event in events
                    if isinstance(event.data, (*STEP_EVENTS, EventWithdrawn))
                ]
                batch.case_plans = self._plans_of(connection, planned)
                touched = [event.case_id for _, event in events]
                touched += [c for link in links.values() if link for c in (link.kept, link.merged)]
                batch.known = self._facts_of(connection, [*touched, *batch.erasures])
        for record, event in events:
            if event.id in batch.applied or event.id in batch.new_ids:
                continue  # the same event sent again: it has been applied once
            if event.case_id in self.erased:
                continue  # erased: its events, still on the log, are not folded back in
            if isinstance(event.data, EventWithdrawn):
                self._withdraw(batch, record, event, event.data, stored)
                continue
            link = links[event.id]
            if link is not None:
                self._link(batch, record, link)
                continue
            batch.new_ids.add(event.id)
            contribution = contribution_of(event, appended_at(record.timestamp))
            batch.counted[event.id] = Counted(event.case_id, record.partition, contribution)
            self._plan_step(batch, event)
            fact = fact_of(event)
            if fact is None:
                continue  # shared, but nothing the statistics count
            known = batch.changed.get(event.case_id) or batch.known.get(event.case_id, ())
            facts = insert(known, fact)
            if facts is not known:
                batch.changed[event.case_id] = facts
                batch.added.append((event.case_id, fact))
                batch.years.add(ReportingYear.holding(fact.day).opens)
        for case_id, erasure in batch.erasures.items():
            if case_id not in self.erased:
                self._erase(batch, case_id, erasure.erased_on)
        return batch

    def _facts_of(self, connection: Connection, case_ids: Iterable[str]) -> dict[str, CaseFacts]:
        """The facts of each of `case_ids`: those cached, the rest in one read."""
        return self.fact_cache.through(case_ids, lambda misses: facts_of(connection, misses))

    def _plans_of(self, connection: Connection, case_ids: Iterable[str]) -> dict[str, CasePlans]:
        """A copy of the plan steps of each of `case_ids`: those cached, the rest in one read."""
        found = self.plan_cache.through(case_ids, lambda misses: plans_of(connection, misses))
        return {case_id: dict(actions) for case_id, actions in found.items()}

    def _erase(self, batch: ReportingBatch, case_id: str, on: date) -> None:
        """Take an erased case out of the batch and the store, keeping what it contributed to
        the years closed by `on` (without its id), so their figures stay as published."""
        facts = batch.changed.get(case_id) or batch.known.get(case_id, ())
        # The closed years the store would publish as it stands: no year it knows nothing of.
        # Erasures are rare: the store's years are asked for each.
        with snapshot(self.engine) as connection:
            years = fact_years(connection, leaving_out=batch.changed.keys())
        years |= {ReportingYear.holding(f.day).opens for c in batch.changed.values() for f in c}
        closed = closed_years_of(years, on, self.kept)
        batch.changed.pop(case_id, None)
        kept = contribution(facts, closed)
        merge_kept(batch.kept, kept)
        batch.erased_cases.add(case_id)
        # Every year it was in is counted again: the open ones change, the closed ones (kept)
        # come out as published, and so publish nothing.
        batch.years |= {ReportingYear.holding(fact.day).opens for fact in facts}
        batch.added = [(case, fact) for case, fact in batch.added if case != case_id]
        batch.withdrawn = [item for item in batch.withdrawn if item[0] != case_id]
        batch.withdrawn_steps = [item for item in batch.withdrawn_steps if item[0] != case_id]
        batch.plan_steps = [(key, step) for key, step in batch.plan_steps if key[0] != case_id]
        batch.case_plans[case_id] = {}  # the store deletes them all

    def _withdraw(
        self,
        batch: ReportingBatch,
        record: Any,
        event: Envelope[EventData],
        withdrawal: EventWithdrawn,
        stored: dict[str, Counted],
    ) -> None:
        """Take the withdrawn event's fact (or plan step) out of its case and its contribution
        out of the partnership counts, or refuse the withdrawal. `stored`: the kept
        contributions of the events the batch's withdrawals name."""
        target = withdrawal.withdrawn_event_id
        counted = None
        if target not in batch.uncounted:  # a second withdrawal finds it already out
            counted = batch.counted.get(target) or stored.get(target)
        error = None
        if counted is not None:
            error = withdrawal_refusal(counted, event.case_id, withdrawal.PUBLISHER)
        if error is None:
            actions = batch.case_plans[event.case_id]
            step = withdrawn_step(event.case_id, actions, withdrawal)
            if step is None:
                error = self._withdraw_fact(batch, withdrawal, event.case_id)
            elif isinstance(step, WireError):
                error = step
            else:
                actions[step[0][1]] = step[1]
                batch.withdrawn_steps.append((event.case_id, target, withdrawal.reason.value))
        if error is not None:
            batch.refuse(record, error)
            return
        # Applied, even when it withdraws nothing counted: a redelivery is then skipped.
        batch.new_ids.add(event.id)
        if counted is None:
            # Counted nowhere: a withdrawal or merge, or folded before contributions were kept.
            return
        if batch.counted.pop(target, None) is None:
            batch.uncounted[target] = counted

    def _withdraw_fact(
        self, batch: ReportingBatch, withdrawal: EventWithdrawn, case_id: str
    ) -> WireError | None:
        """Take the withdrawn event's fact out of its case, if it has one; or why not."""
        known = batch.changed.get(case_id) or batch.known.get(case_id, ())
        target = withdrawal.withdrawn_event_id
        applied = target in batch.applied or target in batch.new_ids
        outcome = withdrawn_fact(known, withdrawal, applied=applied)
        if outcome is None or isinstance(outcome, WireError):
            return outcome
        batch.changed[case_id] = without(known, outcome)
        year = ReportingYear.holding(outcome.day).opens
        batch.withdrawn.append((case_id, outcome, withdrawal.reason.value))
        batch.years.add(year)
        batch.revised.add((year, withdrawal.reason.value))
        return None

    def _link(self, batch: ReportingBatch, record: Any, link: Link) -> None:
        """Apply a merge or unmerge, or refuse it; the years the two ids' facts reach are
        counted again, and their next revision names why."""
        error = merge_refusal([*self.links, *batch.links], link)
        if error is not None:
            batch.refuse(record, error)
            return
        batch.new_ids.add(link.event_id)
        batch.links.append(link)
        facts = [
            fact
            for case_id in (link.kept, link.merged)
            for fact in batch.changed.get(case_id) or batch.known.get(case_id, ())
        ]
        # A fact changes its own year and every later one: from the earliest either id has.
        year = min((ReportingYear.holding(f.day).opens for f in facts), default=None)
        if year is None:
            year = ReportingYear.holding(link.on).opens
        batch.years.add(year)
        batch.revised.add((year, "cases-merged" if link.joined else "cases-unmerged"))

    def _plan_step(self, batch: ReportingBatch, event: Envelope[EventData]) -> None:
        """Keep a plan event's step with its action's, in the batch."""
        planned = step_of(event)
        if planned is None:
            return
        key, step = planned
        actions = batch.case_plans[key[0]]
        known = actions.get(key[1], ())
        steps = insert_step(known, step)
        if steps is not known:
            actions[key[1]] = steps
            batch.plan_steps.append((key, step))

    def commit(self, batch: ReportingBatch) -> None:
        """Store the batch's cases and offsets in one transaction, then make them current."""
        partnership = self._partnership(batch)
        with self.engine.begin() as connection:
            advance_offsets(connection, PROJECTION, self.offsets, batch.offsets)
            append_facts(connection, batch.added)
            append_plan_steps(connection, batch.plan_steps)
            save_seen(connection, PROJECTION, {i: batch.times[i] for i in batch.new_ids})
            for part, (counts, touched) in partnership.items():
                save_partnership(connection, part, counts, touched)
            save_contributions(connection, batch.counted, batch.times)
            # Each withdrawn one was found through the applied ids, which keep its time.
            delete_contributions(connection, {i: batch.applied[i] for i in batch.uncounted})
            withdraw_facts(connection, batch.withdrawn)
            withdraw_steps(connection, batch.withdrawn_steps)
            save_links(connection, PROJECTION, (link.as_row() for link in batch.links))
            mark_unpublished(connection, batch.years - self.unpublished)
            mark_revised(connection, batch.revised - self.revised)
            delete_cases(connection, batch.erased_cases)
            add_kept(connection, batch.kept)
            record_erasures(connection, PROJECTION, batch.erasures.values())
        if batch.erased_cases:
            let_go_of_deleted(self.engine)
        self.fact_cache.put(batch.changed)
        self.fact_cache.put(dict.fromkeys(batch.erased_cases, ()))
        self.plan_cache.put(batch.case_plans)
        self.links.extend(batch.links)
        self.erased |= batch.erasures.keys()
        merge_kept(self.kept, batch.kept)
        self.offsets = batch.offsets
        self.partnership.update({part: counts for part, (counts, _) in partnership.items()})
        self.unpublished |= batch.years
        self.revised |= batch.revised
        self.heap.after_batch()

    def _partnership(
        self, batch: ReportingBatch
    ) -> dict[int, tuple[PartnershipCounts, set[PartnershipKey]]]:
        """Each partition's counts after the batch, and the keys it changed: its new events
        added, the contributions its withdrawals name taken out."""
        added: dict[int, list[Contribution]] = {}
        for item in batch.counted.values():
            added.setdefault(item.partition, []).append(item.contribution)
        taken: dict[int, list[Contribution]] = {}
        for item in batch.uncounted.values():
            taken.setdefault(item.partition, []).append(item.contribution)
        result = {}
        for part in added.keys() | taken.keys():
            counts, touched = add_contributions(self.partnership.get(part, {}), added.get(part, ()))
            counts, untouched = subtract_all(counts, taken.get(part, ()))
            result[part] = (counts, touched | untouched)
        return result
