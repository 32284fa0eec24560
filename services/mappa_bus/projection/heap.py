"""Keeping Python's cyclic garbage collector off a service's long-lived state.

A projection holds every case in memory; each full collection walks all of it, and a service
folding a growing caseload runs one every time the heap has grown by a quarter, stalling its
event loop for tens to hundreds of milliseconds (measured: alert latency p99 about 100 ms from
this alone at 1,000 events/s). After each batch the survivors are moved out of the collector's
view (`gc.freeze`); the rare cyclic garbage frozen with them is reclaimed by an unfreeze and full
collection once an hour, a pause the service chooses rather than one that falls at random.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field

FULL_SWEEP_SECONDS = 3600.0


@dataclass
class HeapKeeper:
    """Freezes what a service keeps, and sweeps the frozen heap on a schedule."""

    full_sweep_seconds: float = FULL_SWEEP_SECONDS
    clock: Callable[[], float] = time.monotonic
    _last_sweep: float = field(default=0.0, init=False)

    def settle(self) -> None:
        """After a batch: collect the young generations, and freeze their survivors."""
        gc.collect(1)
        gc.freeze()
        if self._last_sweep == 0.0:
            self._last_sweep = self.clock()

    def sweep_if_due(self) -> bool:
        """Once per `full_sweep_seconds`: unfreeze, collect everything, freeze again."""
        if self._last_sweep == 0.0 or self.clock() - self._last_sweep < self.full_sweep_seconds:
            return False
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self._last_sweep = self.clock()
        return True
