"""Partnership indicators for the Strategic Management Board: how quickly and how much each
agency shares, and which agencies attend level 2 and 3 meetings. Pure: no I/O.

The fold keeps, per (area, reporting year, agency), a histogram of sharing delays (when an event
reached the bus, Kafka's log-append time, minus when it happened, its CloudEvents `time`) and
meeting counts. Area is the event's `mappaarea`; the year is the reporting year (1 April to 31
March) of the calendar date of `time`, as docs/statistics.md counts. A meeting counts in the
year of its event's `time`, like every other event.

Duplicates: the caller guarantees each event id is folded once. Unlike `tally`, this fold
cannot tell a duplicate: it keeps counts, not ids. Stored offsets stop a redelivered record being
folded twice; an event an agency sends again (same id, new offset) is for the caller to skip.

Withdrawals: each event's `Contribution` (its key, delay bucket, and for a meeting the meeting
held and the agencies present) is what it added; `subtract` takes it out again, leaving counts
equal to those it was never added to. The caller keeps each contribution until its event is
withdrawn (docs/partnership.md, "Withdrawn events").

Precision: delays from 1 second to 10**8.2 seconds (about 5 years) fall in log-spaced buckets,
20 to each factor of ten; a quantile is read back as the geometric middle of the bucket that
holds it (nearest rank), rounded to the millisecond, so it is within 6% of the true value
(10**(1/40) - 1 = 5.93%, and the rounding). A delay under 1 second reads back as half a second
(within half a second); one of 10**8.2 seconds or more reads back as `LONGEST_SECONDS`
exactly, meaning "at least that". An event stamped after it reached the bus (a negative delay:
the sender's clock is ahead, or the time is wrong) is counted in its own bucket, reported as
`stamped_in_future`, and left out of the quantiles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, computed_field

from mappa_bus.agencies import SHARING_AGENCIES, Agency
from mappa_bus.catalogue import (
    Area,
    Envelope,
    EventData,
    Rejection,
    ReportingYear,
    WireError,
    probation,
)

BUCKETS_PER_DECADE = 20
LAST_BUCKET = 164  # the bucket ending at 10**(164/20) = 10**8.2 seconds, about 5.02 years
OVERFLOW = LAST_BUCKET + 1  # 10**8.2 seconds or more
UNDER_A_SECOND = 0
FUTURE = -1  # stamped after it reached the bus
LONGEST_SECONDS = round(10 ** (LAST_BUCKET / BUCKETS_PER_DECADE), 3)
# The largest relative error of a quantile read back: 10**(1/40) - 1 = 0.0593, then rounding.
PRECISION = 0.06

MEDIAN = Fraction(1, 2)
P90 = Fraction(9, 10)


Histogram = Mapping[int, int]  # bucket -> number of events; absent buckets hold none


class PartnershipKey(NamedTuple):
    """What the counts are kept by."""

    area: Area
    year_start: date
    agency: Agency


@dataclass(frozen=True)
class AgencyTally:
    """One agency's sharing and meetings in one area-year.

    `meetings_held` counts meetings reported by this agency (probation publishes them);
    `meetings_attended` counts meetings at which this agency was present.
    """

    delays: Histogram = field(default_factory=dict)
    meetings_held: int = 0
    meetings_attended: int = 0

    @property
    def events_shared(self) -> int:
        """Every event the agency shared, stamped in the future or not."""
        return sum(self.delays.values())


PartnershipCounts = Mapping[PartnershipKey, AgencyTally]


def bucket(delay: timedelta) -> int:
    """The histogram bucket of a sharing delay (see the module's note on precision)."""
    seconds = delay.total_seconds()
    if seconds < 0:
        return FUTURE
    if seconds < 1:
        return UNDER_A_SECOND
    return min(math.floor(math.log10(seconds) * BUCKETS_PER_DECADE) + 1, OVERFLOW)


def bucket_seconds(index: int) -> float:
    """What a bucket reads back as: the geometric middle of its bounds (see the module note)."""
    if index == UNDER_A_SECOND:
        return 0.5
    if index >= OVERFLOW:
        return LONGEST_SECONDS
    # Rounded: more digits would claim a precision the buckets do not have.
    return round(10 ** ((index - 0.5) / BUCKETS_PER_DECADE), 3)


@dataclass(frozen=True)
class Contribution:
    """What one shared event added to the counts: its delay bucket under its own key, and for
    a meeting, the meeting held under that key and one attendance under each agency present.
    Kept so that the event can be taken out again when its agency withdraws it (`subtract`)."""

    key: PartnershipKey
    delay_bucket: int
    meeting_held: bool = False
    # A set: an agency named twice in one meeting attended it once.
    present: frozenset[Agency] = frozenset()

    def keys(self) -> set[PartnershipKey]:
        """Every key whose tally the event changes."""
        return {self.key} | {self.key._replace(agency=agency) for agency in self.present}


class Counted(NamedTuple):
    """A shared event's contribution as the store keeps it until the event is withdrawn or its
    case erased: with its case (a withdrawal names an event of its own case) and the partition
    whose counts hold it."""

    case_id: str
    partition: int
    contribution: Contribution


def contribution_of(event: Envelope[EventData], recorded_at: datetime) -> Contribution:
    """What `event` adds to the counts; `recorded_at` is when it reached the bus."""
    key = PartnershipKey(event.mappaarea, ReportingYear.holding(event.time).start, event.publisher)
    index = bucket(recorded_at - event.time)
    if isinstance(event.data, probation.MappaMeetingHeld):
        return Contribution(key, index, True, frozenset(event.data.agencies_present))
    return Contribution(key, index)


def add(
    counts: PartnershipCounts, event: Envelope[EventData], appended: datetime
) -> PartnershipCounts:
    """The counts with one event added; `appended` is when it reached the bus."""
    return add_all(counts, ((event, appended),))


def add_all(
    counts: PartnershipCounts, shared: Iterable[tuple[Envelope[EventData], datetime]]
) -> PartnershipCounts:
    """The counts with every (event, when it reached the bus) added; `counts` is not changed."""
    return add_batch(counts, shared)[0]


def add_batch(
    counts: PartnershipCounts, shared: Iterable[tuple[Envelope[EventData], datetime]]
) -> tuple[PartnershipCounts, set[PartnershipKey]]:
    """`add_all`, and the keys the events changed (every key an event touches changes)."""
    return add_contributions(counts, (contribution_of(e, at) for e, at in shared))


def add_contributions(
    counts: PartnershipCounts, contributions: Iterable[Contribution]
) -> tuple[PartnershipCounts, set[PartnershipKey]]:
    """The counts with every contribution added, and the keys they changed; `counts` is not
    changed.

    The batch is summed first and each key's tally built once, from one copy of the counts:
    a tally an event would copy its histogram, and a consumer's batch costs about its keys."""
    change = _summed(contributions, 1)
    result = dict(counts)
    for key, tally in change.items():
        result[key] = _combine(result.get(key, AgencyTally()), tally)
    return result, set(change)


def subtract(counts: PartnershipCounts, contribution: Contribution) -> PartnershipCounts:
    """The counts without `contribution`: as if its event had never been sent."""
    return subtract_all(counts, (contribution,))[0]


def subtract_all(
    counts: PartnershipCounts, contributions: Iterable[Contribution]
) -> tuple[PartnershipCounts, set[PartnershipKey]]:
    """The counts without every contribution, and the keys they changed; `counts` is not
    changed. A bucket or a tally left with nothing is dropped, so the counts are equal to those
    the events were never added to. Taking out what was never added is a bug, not bad input:
    ValueError, naming the key."""
    change = _summed(contributions, -1)
    result = dict(counts)
    for key, tally in change.items():
        left = _combine(result.get(key, AgencyTally()), tally)
        if (
            min(left.delays.values(), default=0) < 0
            or left.meetings_held < 0
            or left.meetings_attended < 0
        ):
            raise ValueError(f"subtracting from {key} more than was added")
        if left == AgencyTally():
            result.pop(key, None)
        else:
            result[key] = left
    return result, set(change)


def _summed(contributions: Iterable[Contribution], sign: int) -> dict[PartnershipKey, AgencyTally]:
    """The contributions as one change per key, each count times `sign`."""
    delays: dict[PartnershipKey, dict[int, int]] = {}
    held: dict[PartnershipKey, int] = {}
    attended: dict[PartnershipKey, int] = {}
    for contribution in contributions:
        key = contribution.key
        histogram = delays.setdefault(key, {})
        index = contribution.delay_bucket
        histogram[index] = histogram.get(index, 0) + sign
        if contribution.meeting_held:
            held[key] = held.get(key, 0) + sign
            for agency in contribution.present:
                present = key._replace(agency=agency)
                attended[present] = attended.get(present, 0) + sign
    return {
        key: AgencyTally(delays.get(key, {}), held.get(key, 0), attended.get(key, 0))
        for key in delays.keys() | attended.keys()
    }


def withdrawal_refusal(counted: Counted, case_id: str, publisher: Agency) -> WireError | None:
    """Why a withdrawal by `publisher` of case `case_id` may not take out the counted event it
    names, or None when it may: only the agency that shared an event withdraws it, and only
    from the event's own case (as every slice judges withdrawals)."""
    if counted.case_id != case_id:
        return WireError(
            Rejection.UNKNOWN_EVENT,
            "data.withdrawn_event_id",
            "no event of this case with this id has been applied",
        )
    agency = counted.contribution.key.agency
    if agency is not publisher:
        return WireError(
            Rejection.NOT_OWN_EVENT,
            "data.withdrawn_event_id",
            f"an event of {agency.value}: only its publisher may withdraw it",
        )
    return None


def combine(parts: Iterable[PartnershipCounts]) -> PartnershipCounts:
    """The counts of several parts together (the parts the members of a group keep apart)."""
    result: dict[PartnershipKey, AgencyTally] = {}
    for part in parts:
        for key, tally in part.items():
            result[key] = _combine(result.get(key, AgencyTally()), tally)
    return result


def changed_keys(before: PartnershipCounts, after: PartnershipCounts) -> set[PartnershipKey]:
    """The keys whose tallies differ between two counts (what a store must write)."""
    return {key for key, tally in after.items() if before.get(key) != tally}


def _combine(first: AgencyTally, second: AgencyTally) -> AgencyTally:
    delays = dict(first.delays)
    for index, number in second.delays.items():
        delays[index] = delays.get(index, 0) + number
        if delays[index] == 0:
            del delays[index]  # a withdrawn event's bucket, as if it had never held one
    return AgencyTally(
        delays=delays,
        meetings_held=first.meetings_held + second.meetings_held,
        meetings_attended=first.meetings_attended + second.meetings_attended,
    )


def quantile_seconds(delays: Histogram, quantile: Fraction) -> float | None:
    """The nearest-rank `quantile` of the delays that are not in the future, read back from
    their buckets (see the module's note on precision); None when there are none."""
    ranked = sorted((index, n) for index, n in delays.items() if index != FUTURE and n > 0)
    total = sum(n for _, n in ranked)
    if total == 0:
        return None
    rank = max(1, math.ceil(quantile * total))
    seen = 0
    for index, number in ranked:
        seen += number
        if seen >= rank:
            return bucket_seconds(index)
    raise AssertionError("unreachable: the rank is at most the total")


class AgencyIndicators(BaseModel):
    """One agency's indicators in one area-year (or England and Wales)."""

    model_config = ConfigDict(frozen=True)

    agency: Agency
    events_shared: int = Field(description="Every event the agency shared.")
    stamped_in_future: int = Field(
        description="Of those, events whose `time` was after they reached the bus."
    )
    median_delay_seconds: float | None = Field(
        description="Median time from happening to reaching the bus (within 6%)."
    )
    p90_delay_seconds: float | None = Field(
        description="90th percentile of the same delays (within 6%)."
    )
    meetings_attended: int = Field(description="Level 2 and 3 meetings the agency attended.")
    meetings_held: int = Field(description="Level 2 and 3 meetings held in the area-year.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def attendance(self) -> float | None:
        """Meetings attended as a share of meetings held; None when none were held."""
        return self.meetings_attended / self.meetings_held if self.meetings_held else None


class PartnershipIndicators(BaseModel):
    """Every agency's indicators for one area-year, or England and Wales (area None)."""

    model_config = ConfigDict(frozen=True)

    area: Area | None
    year_start: date
    meetings_held: int
    agencies: tuple[AgencyIndicators, ...] = Field(
        description="Every agency, in the order of `Agency`, those with nothing included: "
        "an agency that shares nothing is what the indicators are for."
    )

    @property
    def is_empty(self) -> bool:
        """True when nothing at all was shared or held in the area-year."""
        return self.meetings_held == 0 and not any(a.events_shared for a in self.agencies)


def indicators(
    counts: PartnershipCounts, area: Area | None, year_start: date
) -> PartnershipIndicators:
    """The indicators of one area (None: England and Wales, every area summed) in the
    reporting year opening on `year_start`."""
    by_agency: dict[Agency, AgencyTally] = {}
    for key, tally in counts.items():
        if key.year_start == year_start and area in (None, key.area):
            by_agency[key.agency] = _combine(by_agency.get(key.agency, AgencyTally()), tally)
    held = sum(tally.meetings_held for tally in by_agency.values())
    return PartnershipIndicators(
        area=area,
        year_start=year_start,
        meetings_held=held,
        agencies=tuple(
            _agency(agency, by_agency.get(agency, AgencyTally()), held)
            for agency in SHARING_AGENCIES
        ),
    )


def _agency(agency: Agency, tally: AgencyTally, held: int) -> AgencyIndicators:
    return AgencyIndicators(
        agency=agency,
        events_shared=tally.events_shared,
        stamped_in_future=tally.delays.get(FUTURE, 0),
        median_delay_seconds=quantile_seconds(tally.delays, MEDIAN),
        p90_delay_seconds=quantile_seconds(tally.delays, P90),
        meetings_attended=tally.meetings_attended,
        meetings_held=held,
    )
