"""The heap keeper: a service's survivors leave the collector's view, and come back once a sweep
is due, so frozen cyclic garbage is reclaimed on schedule."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from mappa_bus.projection.heap import HeapKeeper


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    yield
    gc.unfreeze()


class Cycle:
    """An object in a reference cycle: only the cyclic collector can free it."""

    def __init__(self) -> None:
        self.me = self


def test_settle_freezes_what_survives_and_a_due_sweep_frees_frozen_cycles() -> None:
    """A cycle that dies after being frozen is freed by the next due sweep, not before."""
    now = [100.0]
    keeper = HeapKeeper(full_sweep_seconds=60, clock=lambda: now[0])
    cycle = Cycle()
    alive = weakref.ref(cycle)
    keeper.settle()
    frozen = gc.get_freeze_count()
    del cycle

    gc.collect()
    survived = alive() is not None
    early = keeper.sweep_if_due()
    now[0] += 61
    swept = keeper.sweep_if_due()

    assert frozen > 0
    assert survived  # frozen: an ordinary full collection leaves it alone
    assert (early, swept) == (False, True)
    assert alive() is None


def test_a_catch_up_sweeps_every_minute_and_the_hour_comes_back_after_it() -> None:
    """Inside `catching_up` a sweep falls due a minute after the last; outside, an hour."""
    now = [100.0]
    keeper = HeapKeeper(clock=lambda: now[0])
    keeper.settle()

    with keeper.catching_up():
        now[0] += 61
        during = keeper.sweep_if_due()
    now[0] += 61
    after = keeper.sweep_if_due()

    assert (during, after) == (True, False)
    assert keeper.full_sweep_seconds == 3600
