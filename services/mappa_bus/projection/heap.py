"""Keeping Python's cyclic garbage collector off a service's long-lived state.

A projection holds every case in memory; each full collection walks all of it, and a service
folding a growing caseload runs one every time the heap has grown by a quarter, stalling its
event loop for tens to hundreds of milliseconds (measured: alert latency p99 about 100 ms from
this alone at 1,000 events/s). After each batch the survivors are moved out of the collector's
view (`gc.freeze`); the rare cyclic garbage frozen with them is reclaimed by an unfreeze and full
collection once an hour, a pause the service chooses rather than one that falls at random. A
catch-up sweeps every minute instead (`catching_up`): nobody waits on its pauses, and it makes
that garbage far faster than a live service does. It also leaves the collector's older
generations alone: a batch of 2,000 events leaves some 100,000 objects alive until its commit,
and every collection of the older generations walked those made since the one before, 10-20% of
a catch-up's CPU on Kent's four years (docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

FULL_SWEEP_SECONDS = 3600.0
# The cyclic garbage a batch leaves in the oldest generation (the store's per-batch SQL
# expressions live through the batch's young collections, then die: some 40 KB a batch) is
# frozen with the survivors and held until a sweep. A catch-up shorter than the hour never swept,
# and the national year's alerts catch-up grew from 300 to 421 MiB. Collecting every generation
# at each settle instead frees it, but walks all the batch made: 10% more CPU for Kent's alerts
# catch-up. A sweep walks the whole heap (80-150 ms on four areas' cases): once a minute.
CATCH_UP_SWEEP_SECONDS = 60.0
# A collection of the older generations after this many of the youngest: never, in a catch-up.
_NEVER = 1_000_000


@dataclass
class HeapKeeper:
    """Freezes what a service keeps, and sweeps the frozen heap on a schedule."""

    full_sweep_seconds: float = FULL_SWEEP_SECONDS
    clock: Callable[[], float] = time.monotonic
    _last_sweep: float = field(default=0.0, init=False)
    _catching_up: bool = field(default=False, init=False)

    def settle(self) -> None:
        """After a batch: collect the young generations, and freeze their survivors. In a
        catch-up, only freeze them: its cyclic garbage waits for the next sweep, a minute at
        most, rather than every batch paying for a walk of all it made."""
        if not self._catching_up:
            gc.collect(1)
        gc.freeze()
        if self._last_sweep == 0.0:
            self._last_sweep = self.clock()

    def sweep_if_due(self) -> bool:
        """Once per `full_sweep_seconds`: unfreeze, collect everything, freeze again."""
        if self._last_sweep == 0.0 or self.clock() - self._last_sweep < self.full_sweep_seconds:
            return False
        self._sweep()
        return True

    @contextlib.contextmanager
    def catching_up(self) -> Iterator[None]:
        """While in it, sweep at least every `CATCH_UP_SWEEP_SECONDS`, collect only the youngest
        generation between sweeps, and settle without collecting; then as before (what it froze
        of its garbage, a minute's at most, waits for the next sweep: a rebuild ends first)."""
        period, thresholds = self.full_sweep_seconds, gc.get_threshold()
        self.full_sweep_seconds = min(period, CATCH_UP_SWEEP_SECONDS)
        self._catching_up = True
        gc.set_threshold(thresholds[0], _NEVER, _NEVER)
        try:
            yield
        finally:
            gc.set_threshold(*thresholds)
            self._catching_up = False
            self.full_sweep_seconds = period

    def _sweep(self) -> None:
        """Unfreeze, collect everything, freeze again."""
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self._last_sweep = self.clock()

    def after_batch(self) -> None:
        """What a projection does once a batch is committed: settle, and sweep when due."""
        self.settle()
        self.sweep_if_due()
