"""Partnership indicators: sharing delays, events shared and meeting attendance per agency."""

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from mappa_bus.agencies import SHARING_AGENCIES, Agency
from mappa_bus.catalogue import Area, Envelope, EventData, housing, make_event, police, probation
from mappa_bus.cli import app
from mappa_bus.kafka_codec import appended_at
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.offsets import metadata
from mappa_bus.reporting.partnership import (
    LONGEST_SECONDS,
    PRECISION,
    AgencyIndicators,
    PartnershipCounts,
    PartnershipIndicators,
    PartnershipKey,
    add,
    add_all,
    bucket,
    bucket_seconds,
    changed_keys,
    combine,
    indicators,
)
from mappa_bus.reporting.partnership_render import (
    PartnershipReport,
    duration,
    render_partnership_markdown,
    render_partnership_text,
)
from mappa_bus.reporting.partnership_store import (
    load_partnership,
    load_partnership_parts,
    save_partnership,
)
from mappa_bus.reporting.plan_figures import PlanFigures
from mappa_bus.simulator.options import Scenario, SimulationOptions
from mappa_bus.simulator.run import events, simulate

YEAR = date(2020, 4, 1)
NOON = datetime(2020, 7, 1, 12, 0, tzinfo=UTC)


def _police(time: datetime, area: Area = Area.KENT) -> Envelope[EventData]:
    data = police.NotificationBreachDisposed(disposed_on=time.date(), outcome="caution")
    return make_event(data, case_id="KEN-2020-000001", area=area, time=time, system="visor")


def _housing(time: datetime, area: Area = Area.KENT) -> Envelope[EventData]:
    data = housing.HousingNeedRaised(raised_on=time.date(), need="homeless")
    return make_event(data, case_id="KEN-2020-000001", area=area, time=time, system="housing")


def _meeting(time: datetime, present: list[Agency]) -> Envelope[EventData]:
    data = probation.MappaMeetingHeld(
        held_on=time.date(), level=2, agencies_present=present, next_review_on=time.date()
    )
    return make_event(data, case_id="KEN-2020-000001", area=Area.KENT, time=time, system="ndelius")


def _fold(shared: list[tuple[Envelope[EventData], timedelta]]) -> PartnershipCounts:
    """Fold each event as reaching the bus `delay` after it happened."""
    return add_all({}, ((event, event.time + delay) for event, delay in shared))


def _agency(partnership: PartnershipIndicators, agency: Agency) -> AgencyIndicators:
    return next(item for item in partnership.agencies if item.agency is agency)


def _within(read: float | None, true: float) -> bool:
    return read is not None and abs(read / true - 1) <= PRECISION


def test_the_fold_counts_each_agencys_events_and_delays() -> None:
    """Police sharing after an hour and housing after three days read back as such."""
    hour, days = timedelta(hours=1), timedelta(days=3)
    counts = _fold([(_police(NOON), hour)] * 3 + [(_housing(NOON), days)] * 2)

    partnership = indicators(counts, Area.KENT, YEAR)
    police_row, housing_row = (_agency(partnership, a) for a in (Agency.POLICE, Agency.HOUSING))

    assert (police_row.events_shared, housing_row.events_shared) == (3, 2)
    assert (
        _within(police_row.median_delay_seconds, 3600),
        _within(housing_row.median_delay_seconds, 259200),
    ) == (True, True)


def test_the_median_and_90th_percentile_are_read_back_within_the_precision() -> None:
    """Delays of 1 to 100 minutes give a median of 50 and a 90th percentile of 90 minutes."""
    counts = _fold([(_police(NOON), timedelta(minutes=m)) for m in range(1, 101)])

    row = _agency(indicators(counts, Area.KENT, YEAR), Agency.POLICE)

    assert (_within(row.median_delay_seconds, 3000), _within(row.p90_delay_seconds, 5400)) == (
        True,
        True,
    )


@given(st.floats(min_value=1, max_value=LONGEST_SECONDS, exclude_max=True))
def test_every_delay_in_range_reads_back_within_the_precision(seconds: float) -> None:
    """From 1 second to about 5 years, a bucket reads back within 6% of any delay in it."""
    read = bucket_seconds(bucket(timedelta(seconds=seconds)))

    assert abs(read / seconds - 1) <= PRECISION


def test_meetings_held_and_attended_per_agency() -> None:
    """Attendance counts each meeting an agency was present at, out of the area's meetings."""
    counts = _fold(
        [
            (_meeting(NOON, [Agency.PROBATION, Agency.POLICE, Agency.HEALTH]), timedelta(hours=2)),
            (_meeting(NOON, [Agency.PROBATION, Agency.POLICE]), timedelta(hours=2)),
        ]
    )

    partnership = indicators(counts, Area.KENT, YEAR)
    attended = {row.agency: row.meetings_attended for row in partnership.agencies}

    assert (partnership.meetings_held, attended[Agency.POLICE], attended[Agency.HEALTH]) == (
        2,
        2,
        1,
    )
    assert (attended[Agency.HOUSING], _agency(partnership, Agency.HEALTH).attendance) == (0, 0.5)


def test_the_national_view_sums_the_areas() -> None:
    """England and Wales counts Kent's and Surrey's police events together."""
    counts = _fold(
        [(_police(NOON, Area.KENT), timedelta(hours=1))] * 2
        + [(_police(NOON, Area.SURREY), timedelta(hours=1))] * 3
    )

    row = _agency(indicators(counts, None, YEAR), Agency.POLICE)

    assert (row.events_shared, row.median_delay_seconds) == (
        5,
        bucket_seconds(bucket(timedelta(hours=1))),
    )


def test_events_outside_the_year_are_not_counted_in_it() -> None:
    """An event of 31 March 2021 is in 2020-21; one of 1 April 2021 is in 2021-22."""
    last_day = datetime(2021, 3, 31, 23, 0, tzinfo=UTC)
    next_year = datetime(2021, 4, 1, 9, 0, tzinfo=UTC)
    counts = _fold(
        [(_police(last_day), timedelta(hours=1)), (_police(next_year), timedelta(hours=1))]
    )

    shared = [
        _agency(indicators(counts, Area.KENT, start), Agency.POLICE).events_shared
        for start in (YEAR, date(2021, 4, 1), date(2019, 4, 1))
    ]

    assert shared == [1, 1, 0]


def test_an_event_stamped_in_the_future_is_reported_and_left_out_of_the_delays() -> None:
    """An event that reached the bus an hour before its own time is counted as such."""
    counts = _fold([(_police(NOON), -timedelta(hours=1)), (_police(NOON), timedelta(hours=5))])

    row = _agency(indicators(counts, Area.KENT, YEAR), Agency.POLICE)

    assert (row.events_shared, row.stamped_in_future, row.median_delay_seconds) == (
        2,
        1,
        bucket_seconds(bucket(timedelta(hours=5))),
    )


def test_add_leaves_the_counts_it_was_given_alone() -> None:
    """The fold is pure: adding to counts returns new counts and changes only one key."""
    before = _fold([(_police(NOON), timedelta(hours=1))])
    after = add(before, _housing(NOON), NOON + timedelta(days=1))

    assert (len(before), sorted(key.agency for key in changed_keys(before, after))) == (
        1,
        [Agency.HOUSING],
    )


def test_a_kafka_timestamp_is_read_as_an_aware_datetime() -> None:
    """Milliseconds since the epoch keep their milliseconds."""
    assert appended_at(1_593_604_800_123) == datetime(2020, 7, 1, 12, 0, 0, 123_000, tzinfo=UTC)


def test_the_store_round_trips_the_state(tmp_path: Path) -> None:
    """Saved in two transactions, the counts load back equal on SQLite, by partition and, added
    up, as one."""
    first = _fold([(_police(NOON), timedelta(hours=1)), (_police(NOON), -timedelta(seconds=5))])
    second = add(first, _meeting(NOON, [Agency.POLICE, Agency.PROBATION]), NOON)
    other = _fold([(_police(NOON), timedelta(minutes=3))])
    engine = open_engine(f"sqlite:///{tmp_path / 'partnership.db'}")
    metadata.create_all(engine)

    with engine.begin() as connection:
        save_partnership(connection, 0, first, first.keys())
        save_partnership(connection, 4, other, other.keys())
    with engine.begin() as connection:
        save_partnership(connection, 0, second, changed_keys(first, second))
    with engine.connect() as connection:
        parts, together = load_partnership_parts(connection), load_partnership(connection)

    assert parts == {0: second, 4: other}
    assert together == combine([second, other])
    police = PartnershipKey(Area.KENT, date(2020, 4, 1), Agency.POLICE)
    assert together[police].events_shared == 3


def test_durations_read_as_a_person_would_say_them() -> None:
    """Seconds become the largest sensible unit, to two figures at most."""
    shown = [duration(s) for s in (None, 0.5, 45, 3000, 3 * 3600, 2.5 * 86400, LONGEST_SECONDS)]

    assert shown == ["-", "under 1 s", "45 s", "50 min", "3 h", "2.5 d", "5 y or more"]


def test_the_text_and_markdown_tables_show_each_agency() -> None:
    """Both formats carry the police row: events, delays and meetings attended."""
    counts = _fold(
        [(_police(NOON), timedelta(hours=3)), (_meeting(NOON, [Agency.POLICE]), timedelta(days=2))]
    )
    partnership = indicators(counts, Area.KENT, YEAR)

    report = PartnershipReport(
        partnership, PlanFigures(area=Area.KENT, year_start=YEAR, agencies=())
    )
    text = render_partnership_text(report).splitlines()
    markdown = render_partnership_markdown(report).splitlines()

    assert [line.split() for line in text if line.startswith("Police")] == [
        ["Police", "1", "2.9", "h", "2.9", "h", "0", "1", "/", "1", "(100%)"]
    ]
    assert [line for line in markdown if line.startswith("| Police")] == [
        "| Police | 1 | 2.9 h | 2.9 h | 0 | 1 / 1 (100%) |"
    ]


@cache
def _kent_events() -> list[Envelope[EventData]]:
    """The simulated Kent 2020-21 scenario's events (made once: they take seconds)."""
    options = SimulationOptions(scenario=Scenario.KENT_2020_21)
    return [event for item in simulate(options) for event in events(item, options.seed)]


# Each agency's sharing delay in the simulated year: different for each, so a mix-up shows.
DELAYS = {agency: timedelta(minutes=7) * 3**number for number, agency in enumerate(Agency)}


@pytest.mark.year
def test_a_simulated_kent_year_reads_back_each_agencys_delay() -> None:
    """Folding the Kent 2020-21 scenario with a fixed delay per agency reads each one back."""
    simulated = _kent_events()
    counts = add_all({}, ((event, event.time + DELAYS[event.publisher]) for event in simulated))

    partnership = indicators(counts, Area.KENT, YEAR)
    in_year = [
        e
        for e in simulated
        if e.mappaarea is Area.KENT and YEAR <= e.time.date() < date(2021, 4, 1)
    ]
    sharing = {row.agency: row for row in partnership.agencies if row.events_shared}

    assert {a: r.events_shared for a, r in sharing.items()} == dict(
        Counter(e.publisher for e in in_year)
    )
    assert {
        a: _within(r.median_delay_seconds, DELAYS[a].total_seconds()) for a, r in sharing.items()
    } == {a: True for a in sharing}


def test_a_simulated_kent_year_counts_each_agencys_meetings() -> None:
    """Each agency's meetings attended in the Kent scenario are those naming it present."""
    simulated = _kent_events()
    counts = add_all({}, ((event, event.time + timedelta(hours=1)) for event in simulated))

    partnership = indicators(counts, Area.KENT, YEAR)
    meetings = [
        e.data
        for e in simulated
        if isinstance(e.data, probation.MappaMeetingHeld)
        and e.mappaarea is Area.KENT
        and YEAR <= e.time.date() < date(2021, 4, 1)
    ]
    present = Counter(agency for meeting in meetings for agency in set(meeting.agencies_present))

    assert (
        partnership.meetings_held,
        {r.agency: r.meetings_attended for r in partnership.agencies},
    ) == (
        len(meetings),
        {agency: present[agency] for agency in SHARING_AGENCIES},
    )


def test_the_report_partnership_command_prints_json_from_the_store(tmp_path: Path) -> None:
    """`mappa report-partnership --format json` gives the indicators the store's counts hold."""
    counts = _fold(
        [(_police(NOON), timedelta(hours=1)), (_meeting(NOON, [Agency.POLICE]), timedelta(days=1))]
    )
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = open_engine(url)
    metadata.create_all(engine)
    with engine.begin() as connection:
        save_partnership(connection, 3, counts, counts.keys())

    result = CliRunner().invoke(
        app,
        [
            "report-partnership",
            "--database",
            url,
            "--area",
            "kent",
            "--year",
            "2020-21",
            "--format",
            "json",
        ],
    )

    assert PartnershipIndicators.model_validate(json.loads(result.stdout)) == indicators(
        counts, Area.KENT, YEAR
    )


def test_the_report_partnership_command_says_when_the_store_has_nothing(tmp_path: Path) -> None:
    """An area-year with no figures exits 1 rather than print a table of zeros."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"

    result = CliRunner().invoke(
        app, ["report-partnership", "--database", url, "--area", "kent", "--year", "2020"]
    )

    assert result.exit_code == 1
