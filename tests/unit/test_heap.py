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


@pytest.fixture
def _no_automatic_collections() -> Iterator[None]:
    # Only the keeper's own collections run, so what it frees or leaves is its doing.
    enabled = gc.isenabled()
    gc.disable()
    yield
    if enabled:
        gc.enable()


@pytest.mark.usefixtures("_no_automatic_collections")
def test_a_catch_up_settles_without_collecting_and_its_garbage_waits_for_a_sweep() -> None:
    """A batch's cycle that died before the batch settled is freed by that settle in a live
    service, but in a catch-up only by the next due sweep; the older generations are left alone
    meanwhile, and the collector is as it was after it."""
    now = [100.0]
    keeper = HeapKeeper(clock=lambda: now[0])
    before = gc.get_threshold()

    live = Cycle()
    live_alive = weakref.ref(live)
    del live
    keeper.settle()
    freed_live = live_alive() is None

    with keeper.catching_up():
        during = gc.get_threshold()
        caught = Cycle()
        caught_alive = weakref.ref(caught)
        del caught
        keeper.settle()
        kept_in_catch_up = caught_alive() is not None
    kept_after = caught_alive() is not None
    now[0] += 3601
    keeper.sweep_if_due()

    assert freed_live
    assert kept_in_catch_up
    assert kept_after
    assert caught_alive() is None
    assert during[0] == before[0]
    assert min(during[1:]) > 1000
    assert gc.get_threshold() == before
