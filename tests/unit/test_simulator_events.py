"""The simulator's events: valid on the wire, byte-identical for a seed, in time order, causally
ordered within each case, and saying (folded by docs/statistics.md) what the truth says."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise

import pytest

from mappa_bus.agencies import SHARING_AGENCIES, Agency
from mappa_bus.catalogue import CASE_EVENTS, Envelope, EventData, parse_event, to_wire
from mappa_bus.catalogue.areas import Area
from mappa_bus.catalogue.health import HospitalDetentionStarted, HospitalDischarged
from mappa_bus.catalogue.police import IndefiniteNotificationReviewed as Reviewed
from mappa_bus.catalogue.police import (
    NotificationBreachDisposed,
    NotificationOrderMade,
    RestrictiveOrderBreached,
    SexOffenderRegistered,
    ShpoMade,
    SroBreachedNotificationImposed,
    SroMade,
)
from mappa_bus.catalogue.prisons import (
    ReceivedIntoCustody,
    ReleasedFromCustody,
    ReturnedToCustody,
    TemporaryReleaseGranted,
)
from mappa_bus.catalogue.probation import (
    CaseTransferAccepted,
    CaseTransferRequested,
    LicenceBreached,
    MappaEligibilityIdentified,
    MappaLevelSet,
    MappaManagementEnded,
    MappaMeetingHeld,
    RecallIssued,
)
from mappa_bus.reporting.population import SHIPPED_POPULATIONS, per_100k
from mappa_bus.reporting.tables import MappaStatistics, empty_grid
from mappa_bus.simulator.options import ALL_AREAS, Scenario, SimulationOptions
from mappa_bus.simulator.run import all_events, intended

# Each test here simulates whole area-years: seconds, so `make unit` leaves them out.
pytestmark = pytest.mark.year

Event = Envelope[EventData]
KENT = SimulationOptions(scenario=Scenario.KENT_2020_21)
NATIONAL = SimulationOptions(areas=ALL_AREAS, scale=0.02, seed=4)


def _run(options: SimulationOptions) -> list[Event]:
    return list(all_events(options))


@pytest.fixture(scope="module")
def kent_events() -> list[Event]:
    return _run(KENT)


@pytest.fixture(scope="module")
def national_events() -> list[Event]:
    return _run(NATIONAL)


def test_events_round_trip_through_the_wire(kent_events: list[Event]) -> None:
    """Every 7th event, serialised and parsed back, is the same typed event."""
    sample = kent_events[::7]

    assert sample == [parse_event(to_wire(event)) for event in sample]


def test_same_seed_gives_byte_identical_events() -> None:
    """Two runs with one seed produce the same bytes; another seed produces other bytes."""
    options = SimulationOptions(scale=0.05, seed=8)
    first = [to_wire(event) for event in _run(options)]
    again = [to_wire(event) for event in _run(options)]
    other = [to_wire(event) for event in _run(SimulationOptions(scale=0.05, seed=9))]

    expected = (True, False)
    assert expected == (first == again, first == other)


def test_events_come_in_time_order_within_each_area(national_events: list[Event]) -> None:
    """Each area's stream is ordered by time (areas follow one another)."""
    runs: list[list[Event]] = []
    for event in national_events:
        if not runs or runs[-1][0].subject[:3] != event.subject[:3]:
            runs.append([])
        runs[-1].append(event)
    ordered = [all(a.time <= b.time for a, b in pairwise(run)) for run in runs]

    expected = [True] * len(runs)
    assert expected == ordered


def test_ids_are_unique_and_cases_are_pseudonymous(kent_events: list[Event]) -> None:
    """Event ids never repeat, and case ids look like KEN-2020-000123."""
    ids = {event.id for event in kent_events}
    cases = {event.subject for event in kent_events}

    assert (len(kent_events), True) == (
        len(ids),
        all(case.startswith("KEN-2020-") and len(case) == 15 for case in cases),
    )


def test_a_national_run_covers_every_area_and_agency(national_events: list[Event]) -> None:
    """A small all-areas run names all 42 areas and has events from all ten sharing agencies
    (the MAPPA unit's merges are not simulated)."""
    areas = {event.mappaarea for event in national_events}
    agencies = {event.publisher for event in national_events}

    assert (set(Area), set(SHARING_AGENCIES)) == (areas, agencies)


def test_every_event_type_appears_in_the_kent_scenario(kent_events: list[Event]) -> None:
    """Every event type of the catalogue but the withdrawals occurs in one Kent area-year (the
    simulator lives people's stories; it makes no mistakes to withdraw)."""
    assert {model.event_type() for model in CASE_EVENTS} == {e.type for e in kent_events}


def test_nothing_happens_after_the_reporting_year(national_events: list[Event]) -> None:
    """No event is dated after 31 March of the simulated year."""
    late = [event.id for event in national_events if event.time.date() > date(2021, 3, 31)]

    expected: list[str] = []
    assert expected == late


def test_each_case_follows_a_causal_order(
    kent_events: list[Event], national_events: list[Event]
) -> None:
    """Releases follow custody, returns follow recalls or order breaches, levels follow
    identification, transfers are asked for by the sending area before the receiving one."""
    problems = [
        problem
        for run in (kent_events, national_events)
        for case in _by_case(run).values()
        for problem in _causal_problems(case)
    ]

    expected: list[str] = []
    assert expected == problems[:10]


def test_category_3_cases_are_never_set_to_level_1(national_events: list[Event]) -> None:
    """Every category 3 case gets level 2 or 3 on the day it is identified, and never 1."""
    problems = [
        case
        for case, case_events in _by_case(national_events).items()
        if _category(case_events) == 3 and not _never_level_1_from_identification(case_events)
    ]

    expected: list[str] = []
    assert expected == problems


def test_kent_events_fold_to_the_intended_statistics(kent_events: list[Event]) -> None:
    """Folding the Kent scenario's events by docs/statistics.md gives the simulator's truth."""
    assert intended(KENT) == fold(kent_events, date(2020, 4, 1))


def test_national_events_fold_to_the_intended_statistics(national_events: list[Event]) -> None:
    """Folding a national run's events gives the truth for every one of the 42 areas."""
    assert intended(NATIONAL) == fold(national_events, date(2020, 4, 1))


# --- an independent reading of the events, by docs/statistics.md ------------------------------


@dataclass
class CaseState:
    """What the events say about a case so far."""

    managed: bool = False
    category: int = 0
    level: int = 1
    area: Area | None = None
    custody: bool = False
    hospital: bool = False


@dataclass
class Tables:
    """Counts per area while folding."""

    t1: dict[tuple[Area, int, int], int] = field(default_factory=lambda: defaultdict(int))
    t2: dict[tuple[Area, int, int], int] = field(default_factory=lambda: defaultdict(int))
    single: dict[tuple[Area, str], int] = field(default_factory=lambda: defaultdict(int))
    t7: dict[tuple[Area, str, int, int], int] = field(default_factory=lambda: defaultdict(int))
    areas: set[Area] = field(default_factory=set)


def fold(all_events: Iterable[Event], year_start: date) -> dict[Area, MappaStatistics]:
    """The statistics the events say, read the way a reporting consumer would."""
    year_end = date(year_start.year + 1, 3, 31)
    tables = Tables()
    unique = {event.id: event for event in all_events}.values()
    for case_events in _by_case(unique).values():
        _fold_case(case_events, year_start, year_end, tables)
    return {area: _statistics(tables, area, year_start) for area in Area if area in tables.areas}


def _fold_case(case: Sequence[Event], start: date, end: date, tables: Tables) -> None:
    state, peaks, returns = CaseState(), dict[Area, int](), set[tuple[str, Area]]()
    once: set[tuple[str, Area]] = set()
    in_year = False
    for event in case:
        tables.areas.add(event.mappaarea)
        day = event.time.date()
        if day >= start and not in_year:
            _peak(state, peaks)
            in_year = True
        if start <= day <= end:
            _count_year_event(event, state, tables, returns, once)
        _apply(state, event)
        if start <= day <= end:
            _peak(state, peaks)
    if not in_year:
        _peak(state, peaks)
    for area, level in peaks.items():
        tables.t2[(area, level, state.category)] += 1
    if state.managed and not state.custody and not state.hospital and state.area is not None:
        tables.t1[(state.area, state.level, state.category)] += 1


def _peak(state: CaseState, peaks: dict[Area, int]) -> None:
    if state.managed and state.level >= 2 and state.area is not None:
        peaks[state.area] = max(peaks.get(state.area, 0), state.level)


def _apply(state: CaseState, event: Event) -> None:
    data = event.data
    if isinstance(data, MappaEligibilityIdentified):
        state.managed, state.category, state.area = True, int(data.category), event.mappaarea
    elif isinstance(data, CaseTransferAccepted):
        state.area = event.mappaarea
    elif isinstance(data, MappaLevelSet):
        state.level = int(data.level)
    elif isinstance(data, MappaManagementEnded):
        state.managed = False
    elif isinstance(data, ReceivedIntoCustody | ReturnedToCustody):
        state.custody = True
    elif isinstance(data, ReleasedFromCustody):
        state.custody = False
    elif isinstance(data, HospitalDetentionStarted):
        state.hospital = True
    elif isinstance(data, HospitalDischarged):
        state.hospital = False


def _count_year_event(
    event: Event,
    state: CaseState,
    tables: Tables,
    returns: set[tuple[str, Area]],
    once: set[tuple[str, Area]],
) -> None:

    data, area = event.data, event.mappaarea
    distinct = None
    if isinstance(data, NotificationBreachDisposed):
        distinct = "t3"
    if isinstance(data, SroBreachedNotificationImposed):
        distinct = "t6"
    if isinstance(data, Reviewed) and data.decision == "revoked":
        distinct = "t4"
    if distinct and (distinct, area) not in once:
        once.add((distinct, area))
        tables.single[(area, distinct)] += 1
    if isinstance(data, ShpoMade) and not data.interim:
        tables.single[(area, "ftr" if data.foreign_travel_restriction else "shpo")] += 1
    if isinstance(data, NotificationOrderMade):
        tables.single[(area, "no")] += 1
    if isinstance(data, ReturnedToCustody) and state.level >= 2:
        counted = data.reason in ("licence-recall", "sopo-shpo-breach")
        if counted and (data.reason, area) not in returns:
            returns.add((data.reason, area))
            tables.t7[(area, data.reason, state.level, state.category)] += 1


def _statistics(tables: Tables, area: Area, year_start: date) -> MappaStatistics:
    t1 = empty_grid((1, 2, 3), (1, 2, 3))
    t2 = empty_grid((2, 3), (1, 2, 3))
    licence = empty_grid((2, 3), (1, 2, 3))
    for (where, level, cat), n in tables.t1.items():
        t1[level][cat] += n if where == area else 0
    for (where, level, cat), n in tables.t2.items():
        t2[level][cat] += n if where == area else 0
    sopo = {2: 0, 3: 0}
    for (where, reason, level, cat), n in tables.t7.items():
        if where == area and reason == "licence-recall":
            licence[level][cat] += n
        if where == area and reason == "sopo-shpo-breach" and cat == 1:
            sopo[level] += n
    return MappaStatistics(
        area=area,
        year_start=year_start,
        eligible_on_31_march=t1,
        levels_2_and_3_in_year=t2,
        notification_breaches=tables.single[(area, "t3")],
        lifetime_notification_revoked=tables.single[(area, "t4")],
        shpos=tables.single[(area, "shpo")],
        shpos_with_foreign_travel_restriction=tables.single[(area, "ftr")],
        notification_orders=tables.single[(area, "no")],
        sro_breach_notifications=tables.single[(area, "t6")],
        returned_for_breach_of_licence=licence,
        returned_for_breach_of_sopo=sopo,
        rsos_per_100k=per_100k(sum(t1[level][1] for level in t1), SHIPPED_POPULATIONS.get(area)),
    )


def _category(case: list[Event]) -> int | None:
    found = [e.data.category for e in case if isinstance(e.data, MappaEligibilityIdentified)]
    return int(found[0]) if found else None


def _never_level_1_from_identification(case: list[Event]) -> bool:
    identified = [e.time.date() for e in case if isinstance(e.data, MappaEligibilityIdentified)]
    levels = [(e.time.date(), e.data.level) for e in case if isinstance(e.data, MappaLevelSet)]
    return levels[0][0] == identified[0] and all(level != 1 for _, level in levels)


def _by_case(all_events: Iterable[Event]) -> dict[str, list[Event]]:
    cases: dict[str, list[Event]] = defaultdict(list)
    for event in all_events:
        cases[event.subject].append(event)
    return {case: sorted(found, key=lambda e: e.time) for case, found in cases.items()}


# --- causal order within a case ---------------------------------------------------------------


@dataclass
class Causes:
    """What has happened to a case so far, as far as causal order cares."""

    identified: bool = False
    ended: bool = False
    custody: bool = False
    hospital: bool = False
    licence_breached: bool = False
    recalled: bool = False
    order_breached: set[str] = field(default_factory=set)
    orders: set[str] = field(default_factory=set)
    sro_notification: bool = False
    asked_to: Area | None = None
    area: Area | None = None


def _causal_problems(case: list[Event]) -> list[str]:
    causes, problems = Causes(), []
    for event in case:
        problem = _causal_problem(causes, event)
        if problem:
            problems.append(f"{event.subject} {event.type}: {problem}")
    return problems


def _causal_problem(causes: Causes, event: Event) -> str | None:
    data = event.data
    previous_area = causes.area or event.mappaarea
    causes.area = causes.area or event.mappaarea
    if causes.ended and event.publisher is Agency.PROBATION:
        return "probation record after management ended"
    if isinstance(data, ReceivedIntoCustody | ReturnedToCustody | HospitalDetentionStarted):
        return _entered(causes, data)
    if isinstance(data, ReleasedFromCustody):
        return _left(causes, "custody")
    if isinstance(data, HospitalDischarged):
        return _left(causes, "hospital")
    if isinstance(data, TemporaryReleaseGranted) and not causes.custody:
        return "temporary release while not in custody"
    if isinstance(data, LicenceBreached):
        causes.licence_breached = True
    if isinstance(data, RecallIssued):
        causes.recalled = True
        return None if causes.licence_breached else "recall without a licence breach"
    if isinstance(data, RestrictiveOrderBreached):
        causes.order_breached.add(data.order)
        return None if data.order in causes.orders else "breach of an order never made"
    if isinstance(data, ShpoMade | SroMade | NotificationOrderMade):
        causes.orders.add({ShpoMade: "shpo", SroMade: "sro"}.get(type(data), "no"))
    if isinstance(data, SroBreachedNotificationImposed):
        causes.sro_notification = True
        return None if "sro" in causes.order_breached else "notification without an SRO breach"
    if isinstance(data, SexOffenderRegistered):
        return _registered(causes, data)
    if isinstance(data, MappaEligibilityIdentified):
        causes.identified = True
    if isinstance(data, MappaLevelSet | MappaMeetingHeld) and not causes.identified:
        return "level or meeting before identification"
    if isinstance(data, MappaManagementEnded):
        causes.ended = True
    if isinstance(data, CaseTransferRequested):
        causes.asked_to = data.to_area
        return None if event.mappaarea == previous_area else "request not by the sending area"
    if isinstance(data, CaseTransferAccepted):
        causes.area = event.mappaarea
        fine = causes.asked_to == event.mappaarea and data.from_area == previous_area
        return None if fine else "acceptance not by the area asked, or from another area"
    return None


def _entered(causes: Causes, data: EventData) -> str | None:
    if isinstance(data, HospitalDetentionStarted):
        causes.hospital = True
        return None
    if causes.custody:
        return "into custody while in custody"
    causes.custody = True
    if isinstance(data, ReturnedToCustody):
        return _return_cause(causes, data.reason)
    return None


def _return_cause(causes: Causes, reason: str) -> str | None:
    if reason == "licence-recall" and not causes.recalled:
        return "return for recall without a recall"
    if reason == "sopo-shpo-breach" and "shpo" not in causes.order_breached:
        return "return for a SHPO breach without one"
    causes.recalled = causes.licence_breached = False
    return None


def _left(causes: Causes, place: str) -> str | None:
    held = causes.custody if place == "custody" else causes.hospital
    if place == "custody":
        causes.custody = False
    else:
        causes.hospital = False
    return None if held else f"left {place} without being there"


def _registered(causes: Causes, data: SexOffenderRegistered) -> str | None:
    if data.trigger == "notification-order" and "no" not in causes.orders:
        return "registered under a notification order never made"
    if data.trigger == "sro-breach" and not causes.sro_notification:
        return "registered for an SRO breach without the notification"
    return None
