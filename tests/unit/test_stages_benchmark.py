"""The stages benchmark's arithmetic, without a broker: a stage's function timed where its
callers look it up, and each stage's own time what the stages inside it leave."""

from __future__ import annotations

import sys
import time

from benchmarks.stages import STAGES, START_UP, WHOLE, Stage, rows, time_stage


def spin(seconds: float) -> str:
    started = time.process_time()
    while time.process_time() - started < seconds:
        pass
    return "spun"


def test_a_stage_is_timed_where_its_callers_look_it_up() -> None:
    seconds: dict[str, float] = {}
    module = sys.modules[__name__]
    original = module.spin
    try:
        time_stage(Stage("spinning", __name__, "spin"), seconds)
        assert module.spin(0.05) == "spun"  # the wrapper hands back the result
        module.spin(0.05)
    finally:
        module.spin = original  # type: ignore[attr-defined]
    assert 0.1 <= seconds["spinning"] < 0.5


def test_each_stage_shows_what_the_stages_inside_it_leave() -> None:
    labels = [stage.label for stage in STAGES["reporting"]]
    catch_up, fold, read, commit = labels
    seconds = {catch_up: 10.0, fold: 6.0, read: 2.5, commit: 3.0, WHOLE: 11.5}

    shown = rows("reporting", seconds)

    assert shown == [
        (catch_up, 1.0),
        ("  " + fold, 3.5),
        ("    " + read, 2.5),
        ("  " + commit, 3.0),
        (START_UP, 1.5),
        (WHOLE, 11.5),
    ]
    # The stages shown, start-up included, add up to the whole process.
    assert sum(figure for label, figure in shown if label != WHOLE) == seconds[WHOLE]
