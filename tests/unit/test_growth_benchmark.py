"""The growth benchmark's arithmetic, without a broker: a child process measured for its own
CPU time, and the suite's rows and memory target from measured histories."""

from __future__ import annotations

import sys
from datetime import date

from benchmarks.common import ChildRun, run_measured
from benchmarks.growth import SERVICES, History, unit_merges
from benchmarks.suite import growth_figures

from mappa_bus.agencies import Agency
from mappa_bus.case.merges import link_of, merges_of
from mappa_bus.catalogue import Area

MiB = 2**20


def test_a_child_is_measured_for_its_own_cpu_time_and_peak() -> None:
    """A child that spins for 0.3 s of CPU while holding 64 MiB reports at least both, and
    not the benchmark's own CPU."""
    spin = (
        "import time; held = bytearray(64 * 2**20); held[::4096] = b'x' * len(held[::4096]); "
        "start = time.process_time()\nwhile time.process_time() - start < 0.3: pass"
    )

    child = run_measured([sys.executable, "-c", spin])

    expected = (True, True, True)
    assert expected == (
        child.cpu_seconds >= 0.3,
        child.cpu_seconds <= child.seconds + 0.1,
        child.peak_rss_bytes >= 64 * MiB,
    )


def _history(years: int, peak_mib: int) -> History:
    history = History("bench-x", years, 1, people=100 * years, events=1000 * years)
    history.raw_seconds = 0.1 * years
    history.rebuilds = {
        service: ChildRun(2.0 * years, peak_mib * MiB, "", cpu_seconds=1.0 * years)
        for service in SERVICES
    }
    return history


def test_memory_flat_within_10_percent_meets_the_target_and_more_does_not() -> None:
    """Each service's peak RSS 5% higher at 4x the history meets the target; 20% higher does
    not; every history has a raw row and one row per service."""
    met_rows, met = growth_figures([_history(1, 100), _history(2, 102), _history(4, 105)], "kent")
    _, missed = growth_figures([_history(1, 100), _history(4, 120)], "kent")

    expected = (12, [True] * 3, [False] * 3)
    assert expected == (len(met_rows), [ok for *_, ok in met], [ok for *_, ok in missed])
    first_figures = ("100, 102, 105 MiB, +5%", "500 events/s", "0.05")
    assert first_figures == (
        met[0][1],
        met_rows[1].figure.split("(")[1].split(",")[0],
        met_rows[1].ratio,
    )


def test_the_units_merges_spread_over_the_history_three_ids_into_each_kept_one() -> None:
    """Nine merges over four years: in time order within them, by the MAPPA unit, folding into
    three groups of a kept id and three merged ones."""
    first, last = date(2020, 4, 1), date(2024, 3, 31)

    merges = unit_merges(Area.KENT, 9, first, last)

    links = [link for event in merges if (link := link_of(event, event.time)) is not None]
    times = [event.time for event in merges]
    assert times == sorted(times)
    assert first <= times[0].date()
    assert times[-1].date() <= last
    assert {event.publisher for event in merges} == {Agency.MAPPA_UNIT}
    assert merges_of(links).groups() == {
        f"KEPT-{n:06}": (f"KEPT-{n:06}", *(f"MERGED-{3 * n + i:06}" for i in range(3)))
        for n in range(3)
    }
