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
from mappa_bus.catalogue import Area, Envelope, EventData, ReportingYear, probation

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
    """`add_all`, and the keys the events changed (every key an event touches changes).

    The batch is summed first and each key's tally built once, from one copy of the counts:
    a tally an event would copy its histogram, and a consumer's batch costs about its keys."""
    delays: dict[PartnershipKey, dict[int, int]] = {}
    held: dict[PartnershipKey, int] = {}
    attended: dict[PartnershipKey, int] = {}
    for event, appended in shared:
        year_start = ReportingYear.holding(event.time).start
        key = PartnershipKey(event.mappaarea, year_start, event.publisher)
        histogram = delays.setdefault(key, {})
        index = bucket(appended - event.time)
        histogram[index] = histogram.get(index, 0) + 1
        if isinstance(event.data, probation.MappaMeetingHeld):
            held[key] = held.get(key, 0) + 1
            # A set: an agency named twice in one meeting attended it once.
            for agency in set(event.data.agencies_present):
                present = PartnershipKey(event.mappaarea, year_start, agency)
                attended[present] = attended.get(present, 0) + 1
    result = dict(counts)
    touched = delays.keys() | attended.keys()
    for key in touched:
        change = AgencyTally(delays.get(key, {}), held.get(key, 0), attended.get(key, 0))
        result[key] = _combine(result.get(key, AgencyTally()), change)
    return result, touched


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
