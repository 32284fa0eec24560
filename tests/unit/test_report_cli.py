"""`mappa report`: the statistics from the store, in the format asked for."""

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mappa_bus.audit import reads
from mappa_bus.catalogue import Area
from mappa_bus.cli import app
from mappa_bus.projection.database import open_engine
from mappa_bus.reporting.queries import parse_area
from mappa_bus.reporting.render import render_text
from mappa_bus.reporting.schema import create_schema
from mappa_bus.reporting.store import save_cases
from mappa_bus.reporting.tables import MappaStatistics, kent_2020_21
from mappa_bus.simulator.options import Scenario, SimulationOptions
from mappa_bus.simulator.run import events, simulate
from tests.facts import case_facts


@pytest.fixture(scope="module")
def kent_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store holding the simulated Kent 2020-21 year, as the consumer would leave it."""
    options = SimulationOptions(scenario=Scenario.KENT_2020_21)
    cases = case_facts(event for item in simulate(options) for event in events(item, options.seed))
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'reporting.db'}"
    engine = open_engine(url)
    create_schema(engine)
    with engine.begin() as connection:
        save_cases(connection, cases, cases.keys())
    return url


def _report(url: str, *arguments: str) -> str:
    result = CliRunner().invoke(app, ["report", "--database", url, *arguments])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_from_the_store_is_the_seed_reports_statistics(kent_store: str) -> None:
    """The JSON report for Kent 2020-21 parses back to Kent's published figures."""
    text = _report(kent_store, "--area", "Kent", "--year", "2020-21", "--format", "json")

    assert MappaStatistics.model_validate_json(text) == kent_2020_21()


def test_the_table_format_prints_the_seed_layout(kent_store: str) -> None:
    """The terminal format has the seed's first table row for row."""
    text = _report(kent_store, "--area", "kent", "--year", "2020")

    assert "Level 1                         1882           632             -          2514" in text


def test_html_is_written_to_a_file(kent_store: str, tmp_path: Path) -> None:
    """`--out` writes the page there; it carries the chart and the OFFICIAL marking."""
    page = tmp_path / "kent.html"

    _report(
        kent_store, "--area", "kent", "--year", "2020-21", "--format", "html", "--out", str(page)
    )

    text = page.read_text()
    assert ("<svg" in text, "OFFICIAL" in text) == (True, True)


def test_an_unknown_area_or_format_is_a_usage_error(kent_store: str) -> None:
    """Bad arguments exit 2 with the reason, before any store is opened."""
    runner = CliRunner()
    area = runner.invoke(
        app, ["report", "--database", kent_store, "--area", "atlantis", "--year", "2020"]
    )
    form = runner.invoke(
        app,
        ["report", "--database", kent_store, "--area", "kent", "--year", "2020", "--format", "pdf"],
    )

    assert (area.exit_code, form.exit_code) == (2, 2)


def test_a_year_without_figures_exits_1(kent_store: str) -> None:
    """A year the store knows nothing of is said so, not printed as zeros."""
    result = CliRunner().invoke(
        app, ["report", "--database", kent_store, "--area", "kent", "--year", "1990"]
    )

    assert result.exit_code == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [("kent", Area.KENT), ("Devon and Cornwall", Area.DEVON_AND_CORNWALL), ("national", None)],
)
def test_areas_are_found_by_slug_or_name(text: str, expected: Area | None) -> None:
    """Areas read as people write them; `national` is England and Wales."""
    assert parse_area(text) == expected


def test_the_store_round_trips_case_facts(kent_store: str) -> None:
    """What the store gives back counts the same as what went in (timestamps, ids, kinds)."""
    from mappa_bus.reporting.count import count_year
    from mappa_bus.reporting.population import SHIPPED_POPULATIONS
    from mappa_bus.reporting.service import open_projection

    cases = open_projection(kent_store).cases

    assert count_year(cases, date(2020, 4, 1), SHIPPED_POPULATIONS)[Area.KENT] == kent_2020_21()


def _open(url: str, *arguments: str) -> Any:
    base = ["report-open", "--database", url, "--area", "kent", "--year", "2020-21"]
    base.append("--insecure-dev-identity")
    return CliRunner().invoke(app, [*base, *arguments])


def test_a_figure_opens_to_exactly_the_cases_that_make_it_up(kent_store: str) -> None:
    """Kent's one level 3 category 3 case on 31 March is listed, and the count matches."""
    result = _open(
        kent_store,
        "--table",
        "1",
        "--row",
        "Level 3",
        "--column",
        "Category 3",
        "--as",
        "lay-adviser",
        "--user",
        "kh",
        "--reason",
        "checking the SMB figure",
    )

    lines = result.stdout.splitlines()
    assert result.exit_code == 0, result.output
    assert (lines[0].endswith(": 1"), len(lines)) == (True, 2)
    assert lines[1].startswith("KEN-2020-")


def test_every_opening_and_every_refusal_is_audited(kent_store: str) -> None:
    """A housing officer is refused (exit 3) and a lay adviser served; both are on the trail
    with who, role, figure and reason."""
    refused = _open(
        kent_store,
        "--table",
        "5",
        "--row",
        "SHPO",
        "--as",
        "housing",
        "--user",
        "hx",
        "--reason",
        "curious about orders",
    )
    served = _open(
        kent_store,
        "--table",
        "5",
        "--row",
        "SHPO",
        "--as",
        "analyst",
        "--user",
        "an",
        "--reason",
        "board asked for the SHPO list",
    )

    with open_engine(kent_store).connect() as connection:
        trail = [
            (r.user, r.role, r.outcome) for r in reads(connection, subject_prefix="figure kent")
        ]
    assert (refused.exit_code, served.exit_code) == (3, 0)
    assert served.stdout.splitlines()[0].endswith(": 139")
    assert trail[-2:] == [("hx", "housing", "refused"), ("an", "analyst", "read")]


def test_a_figure_of_another_area_is_refused_and_audited(kent_store: str) -> None:
    """A Cumbria analyst opens Cumbria's figures, not Kent's; the attempt is on the trail."""
    result = _open(
        kent_store,
        "--table",
        "3",
        "--as",
        "analyst",
        "--user",
        "an-cumbria",
        "--dev-area",
        "cumbria",
        "--reason",
        "comparing our SHPO counts",
    )

    with open_engine(kent_store).connect() as connection:
        [record] = reads(connection, user="an-cumbria")
    assert result.exit_code == 3
    assert "kent" in result.output
    assert (record.outcome, record.cases) == ("refused", ())


def test_a_figure_without_a_reason_is_refused(kent_store: str) -> None:
    """A reason too short to say why is no reason."""
    result = _open(kent_store, "--table", "3", "--as", "probation", "--user", "p1", "--reason", "x")

    assert result.exit_code == 3


def test_the_other_reading_of_table_2_is_available_and_says_so(kent_store: str) -> None:
    """`--each-level` counts table 2 the other way, and the report's notes name that reading."""
    default = _report(kent_store, "--area", "kent", "--year", "2020-21", "--format", "markdown")
    other = _report(
        kent_store, "--area", "kent", "--year", "2020-21", "--format", "markdown", "--each-level"
    )

    assert ("counts each person once" in default, "at every level" in other) == (True, True)


def test_the_json_carries_each_tables_total(kent_store: str) -> None:
    """The JSON adds `totals`: each table given by level and category, summed."""
    text = _report(kent_store, "--area", "kent", "--year", "2020-21", "--format", "json")

    totals = json.loads(text)["totals"]
    kent = kent_2020_21()
    assert totals["eligible_on_31_march"] == sum(
        count for row in kent.eligible_on_31_march.values() for count in row.values()
    )
    assert totals["levels_2_and_3_in_year"] == sum(
        count for row in kent.levels_2_and_3_in_year.values() for count in row.values()
    )


def test_table_8_says_why_it_is_missing_for_an_area_without_a_population() -> None:
    """An area with no population known prints table 8 with the reason and the option to
    give one, not a bare `-`."""
    text = render_text(kent_2020_21().model_copy(update={"rsos_per_100k": None}))

    [line] = [line for line in text.splitlines() if "per 100,000 population" in line]
    assert line.endswith(
        "- (no population known for this area: pass --population FILE, a CSV of "
        "area,population_aged_10_plus)"
    )


def test_without_options_an_empty_store_points_at_the_demos(
    kent_store: str, tmp_path: Path
) -> None:
    """`mappa report` on the default store, empty, when the demo's store has the year: says
    so and gives the command that prints it."""
    env = {
        "MAPPA_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
        "MAPPA_DEMO_DATABASE_URL": kent_store,
    }
    result = CliRunner().invoke(app, ["report", "--area", "kent", "--year", "2020-21"], env=env)

    assert result.exit_code == 1
    flowing = " ".join(result.output.split())
    assert "the store has no figures for kent 2020-21" in flowing
    assert (
        f"the demo's store has them: mappa report --namespace demo --database {kent_store} "
        "--area kent --year 2020-21"
    ) in flowing


FORMATS_SHOWING_A_CAVEAT = ("table", "markdown", "csv", "json", "html")
NOT_HELD = "Not held in full: 2019-20 predates the first year the store holds in full for Kent"


@pytest.mark.parametrize("output_format", FORMATS_SHOWING_A_CAVEAT)
def test_a_year_of_the_simulators_run_up_says_it_is_not_held_in_full(
    kent_store: str, output_format: str
) -> None:
    """Kent 2019-20, built from the run-up of the simulated 2020-21, says in every format that
    it predates 2020-21, the first year held in full, because it holds no management ending."""
    text = _report(kent_store, "--area", "kent", "--year", "2019-20", "--format", output_format)

    flowing = " ".join(text.split())
    assert NOT_HELD in flowing
    assert "2020-21, the first in which it holds an end of MAPPA management" in flowing


@pytest.mark.parametrize("output_format", FORMATS_SHOWING_A_CAVEAT)
def test_the_simulated_year_itself_carries_no_caveat(kent_store: str, output_format: str) -> None:
    """Kent 2020-21, the simulated year, is held in full: no format carries the caveat."""
    text = _report(kent_store, "--area", "kent", "--year", "2020-21", "--format", output_format)

    assert "Not held in full" not in text


def test_the_caveat_is_a_json_field_and_a_csv_note_row(kent_store: str) -> None:
    """JSON lists the caveat under `caveats` (empty for a year held in full); CSV puts it in the
    note of a `caveat` row before the tables."""
    run_up = json.loads(_report(kent_store, "--area", "kent", "--year", "2019", "--format", "json"))
    full = json.loads(_report(kent_store, "--area", "kent", "--year", "2020", "--format", "json"))
    csv_rows = _report(kent_store, "--area", "kent", "--year", "2019", "--format", "csv")

    [caveat] = run_up["caveats"]
    assert (caveat.startswith(NOT_HELD), full["caveats"]) == (True, [])
    assert csv_rows.splitlines()[1].startswith("kent,2019-20,caveat,,,,")


def test_the_year_on_year_table_leaves_out_years_not_held_in_full(
    kent_store: str, tmp_path: Path
) -> None:
    """The 2020-21 page compares with no run-up year: those would show falls that never were."""
    page = tmp_path / "kent.html"

    _report(
        kent_store, "--area", "kent", "--year", "2020-21", "--format", "html", "--out", str(page)
    )

    assert "Year on year" not in page.read_text()
