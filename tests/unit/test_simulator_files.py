"""The simulator's files: one time-ordered JSON Lines file per agency that parses back, a
truth.json and a plan-truth.json that read back; and `mappa simulate` writing them."""

from itertools import pairwise
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mappa_bus.agencies import SHARING_AGENCIES
from mappa_bus.catalogue.areas import Area
from mappa_bus.cli import app
from mappa_bus.reporting.tables import kent_2020_21
from mappa_bus.simulator.files import (
    events_file,
    read_events,
    read_plan_truth,
    read_truth,
    write_events,
    write_plan_truth,
    write_truth,
)
from mappa_bus.simulator.options import Scenario, SimulationOptions
from mappa_bus.simulator.run import events, intended, intended_plans, simulate

OPTIONS = SimulationOptions(areas=(Area.CUMBRIA, Area.KENT, Area.SURREY), scale=0.03, seed=6)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("simulated")
    write_events(directory, (events(item, OPTIONS.seed) for item in simulate(OPTIONS)))
    write_truth(directory, intended(OPTIONS))
    write_plan_truth(directory, intended_plans(OPTIONS))
    return directory


def test_each_agency_file_parses_back_to_the_run_events(written: Path) -> None:
    """Read back and pooled, the agency files hold exactly the run's events."""
    expected = sorted(
        (event for item in simulate(OPTIONS) for event in events(item, OPTIONS.seed)),
        key=lambda event: event.id,
    )
    read = sorted(
        (
            event
            for agency in SHARING_AGENCIES
            for event in read_events(events_file(written, agency))
        ),
        key=lambda event: event.id,
    )

    assert expected == read


def test_each_agency_file_holds_only_its_agency_in_time_order(written: Path) -> None:
    """Every line of `<agency>.jsonl` is that agency's, and times never go backwards across
    the areas merged into it."""
    checks = {}
    for agency in SHARING_AGENCIES:
        found = list(read_events(events_file(written, agency)))
        ordered = all(a.time <= b.time for a, b in pairwise(found))
        checks[agency] = (ordered, {event.publisher for event in found} <= {agency})

    assert dict.fromkeys(SHARING_AGENCIES, (True, True)) == checks


def test_truth_file_reads_back(written: Path) -> None:
    """truth.json holds one MappaStatistics per area, equal to the run's truth."""
    assert intended(OPTIONS) == read_truth(written / "truth.json")


def test_plan_truth_file_reads_back(written: Path) -> None:
    """plan-truth.json holds the run's intended plan figures, one per area-year, in order."""
    assert intended_plans(OPTIONS) == read_plan_truth(written / "plan-truth.json")


@pytest.mark.year
def test_simulate_command_writes_files_and_the_kent_truth(tmp_path: Path) -> None:
    """`mappa simulate --scenario kent-2020-21 --out DIR` writes every agency's file, a truth
    whose Kent entry is the seed report's tables, and the plan truth of the same run."""
    result = CliRunner().invoke(
        app, ["simulate", "--area", "kent", "--scenario", "kent-2020-21", "--out", str(tmp_path)]
    )
    files = sorted(path.name for path in tmp_path.iterdir())
    expected_files = sorted(
        [f"{agency.value}.jsonl" for agency in SHARING_AGENCIES] + ["plan-truth.json", "truth.json"]
    )
    kent = SimulationOptions(scenario=Scenario.KENT_2020_21)

    assert (0, expected_files, kent_2020_21(), intended_plans(kent)) == (
        result.exit_code,
        files,
        read_truth(tmp_path / "truth.json")[Area.KENT],
        read_plan_truth(tmp_path / "plan-truth.json"),
    )


def test_simulate_command_needs_exactly_one_destination(tmp_path: Path) -> None:
    """Neither or both of --out and --publish is a usage error (exit 2)."""
    neither = CliRunner().invoke(app, ["simulate", "--scale", "0.01"])
    both = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path), "--publish"])

    expected = (2, 2)
    assert expected == (neither.exit_code, both.exit_code)
