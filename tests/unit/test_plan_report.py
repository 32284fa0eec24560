"""The plan figures through the reporting consumer's store (no broker): kept with the offsets,
the same after a restart, a re-send and a rebuild; and `mappa report-partnership` (every
format) and `mappa report-partnership-open` (audited) reading them."""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mappa_bus.agencies import Agency
from mappa_bus.audit import reads
from mappa_bus.catalogue import Area, Envelope, EventData
from mappa_bus.cli import app
from mappa_bus.projection.database import open_engine
from mappa_bus.reporting.consumer import ReportingProjection
from mappa_bus.reporting.plan_actions import action_facts
from mappa_bus.reporting.plan_figures import PlanFigures, figures_from_actions
from mappa_bus.reporting.service import rebuild
from mappa_bus.topics import NAMESPACE, agency_topic
from tests import plan_events
from tests.keys import KEYRING
from tests.records import Record, record_of


def _records(events: Sequence[Envelope[EventData]], offsets: dict[str, int]) -> list[Record]:
    """Each event on its agency's topic, at the next offset `offsets` holds for it."""
    records = []
    for event in events:
        topic = agency_topic(event.publisher, NAMESPACE)
        offset = offsets.get(topic, 0)
        offsets[topic] = offset + 1
        stamp = int(event.time.timestamp() * 1000) + 60_000
        records.append(record_of(event, offset, stamp, NAMESPACE))
    return records


def _projection(url: str) -> ReportingProjection:
    projection = ReportingProjection(open_engine(url), keyring=KEYRING)
    projection.load()
    return projection


def _figures(projection: ReportingProjection) -> PlanFigures:
    return figures_from_actions(action_facts(projection.plans), Area.KENT, plan_events.YEAR)


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A store holding the hand-made plan events: the outcomes folded first, in one batch,
    then the agreements in another (the agreements' topics lag)."""
    url = f"sqlite:///{tmp_path / 'reporting.db'}"
    projection = _projection(url)
    offsets: dict[str, int] = {}
    outcomes = _records(plan_events.outcomes(), offsets)
    agreements = _records(plan_events.agreements(), offsets)
    projection.commit(projection.fold(outcomes))
    projection.commit(projection.fold(agreements))
    return url


def test_outcomes_before_their_agreements_count_once_the_agreements_arrive(
    tmp_path: Path,
) -> None:
    """Outcomes alone give no figures; with the agreements folded after them, the figures are
    the hand-computed ones."""
    projection = _projection(f"sqlite:///{tmp_path / 'reporting.db'}")
    offsets: dict[str, int] = {}
    outcomes = _records(plan_events.outcomes(), offsets)
    agreements = _records(plan_events.agreements(), offsets)

    projection.commit(projection.fold(outcomes))
    before = _figures(projection)
    projection.commit(projection.fold(agreements))

    assert before.agencies == ()
    assert plan_events.expected() == _figures(projection)


def test_the_figures_survive_a_restart_a_resend_and_a_rebuild(store: str) -> None:
    """Read back from the store, after every event sent again at new offsets, and after a
    rebuild that folds them all once more, the figures stay the hand-computed ones."""
    restarted = _projection(store)
    after_restart = _figures(restarted)
    offsets = {topic: offset + 100 for (topic, _), offset in restarted.offsets.items()}
    again = plan_events.agreements() + plan_events.outcomes()
    restarted.commit(restarted.fold(_records(again, offsets)))
    after_resend = _figures(_projection(store))
    rebuilt = _projection(store)
    rebuild(rebuilt)
    emptied = _figures(rebuilt)
    rebuilt.commit(rebuilt.fold(_records(again, {})))
    after_rebuild = _figures(_projection(store))

    expected = plan_events.expected()
    assert (expected, expected, (), expected) == (
        after_restart,
        after_resend,
        emptied.agencies,
        after_rebuild,
    )


def _report(store: str, output_format: str) -> Any:
    arguments = ["report-partnership", "--database", store, "--area", "kent", "--year", "2020-21"]
    return CliRunner().invoke(app, [*arguments, "--format", output_format])


def test_the_json_report_holds_the_plan_figures(store: str) -> None:
    """`--format json` carries the plan figures, equal to the hand-computed ones."""
    result = _report(store, "json")

    assert result.exit_code == 0, result.output
    plain = json.loads(result.stdout)["plan_figures"]
    assert plan_events.expected() == PlanFigures.model_validate(plain)


def test_the_national_report_holds_every_areas_plan_figures(store: str) -> None:
    """`--area national` gives the same figures (Kent's are all there are), for no one area."""
    arguments = ["report-partnership", "--database", store, "--area", "national"]
    result = CliRunner().invoke(app, [*arguments, "--year", "2020-21", "--format", "json"])

    plain = json.loads(result.stdout)["plan_figures"]
    assert plan_events.expected().model_copy(update={"area": None}) == PlanFigures.model_validate(
        plain
    )


def test_the_csv_report_has_one_row_per_plan_figure(store: str) -> None:
    """The CSV names each figure as the open command does; housing's median is 7.5 days."""
    result = _report(store, "csv")

    lines = result.stdout.splitlines()
    housing = [line for line in lines if ",plan-actions,housing," in line]
    expected = [
        "kent,2020-21,plan-actions,housing,owned,,4",
        "kent,2020-21,plan-actions,housing,completed-on-time,,1",
        "kent,2020-21,plan-actions,housing,completed-late,,2",
        "kent,2020-21,plan-actions,housing,median-days-late,,7.5",
        "kent,2020-21,plan-actions,housing,closed-not-completed,no-longer-needed,0",
        "kent,2020-21,plan-actions,housing,closed-not-completed,person-in-custody,0",
        "kent,2020-21,plan-actions,housing,closed-not-completed,case-transferred,0",
        "kent,2020-21,plan-actions,housing,closed-not-completed,not-possible,0",
        "kent,2020-21,plan-actions,housing,closed-not-completed,superseded-by-new-action,0",
        "kent,2020-21,plan-actions,housing,open,,1",
        "kent,2020-21,plan-actions,housing,redated,,1",
    ]
    assert expected == housing
    header = "area,year,table,agency,figure,reason,value"
    assert header == lines[0]


@pytest.mark.parametrize(
    ("output_format", "housing_row"),
    [
        ("table", ["Housing", "4", "1", "2", "7.5", "0", "1", "1", "2", "/", "2", "(100%)"]),
        ("markdown", ["|", "Housing", "|", "4", "|", "1", "|", "2", "|", "7.5", "|", "0", "|"]),
    ],
)
def test_the_text_formats_show_the_action_record_beside_attendance(
    store: str, output_format: str, housing_row: list[str]
) -> None:
    """Housing's row of the plan table: 4 owned, 1 on time, 2 late (median 7.5 days), none
    closed, 1 open, 1 re-dated, and both meetings attended."""
    result = _report(store, output_format)

    lines = result.stdout.splitlines()
    heading = next(n for n, line in enumerate(lines) if "Plan actions" in line)
    row = next(line for line in lines[heading:] if "Housing" in line).split()
    assert housing_row == row[: len(housing_row)]


def test_the_html_report_is_one_page_with_the_plan_tables(store: str) -> None:
    """`--format html` is a whole page holding the plan table and the closures by reason."""
    result = _report(store, "html")

    page = result.stdout
    expected = (True, True, True, True)
    assert expected == (
        page.startswith("<!DOCTYPE html>"),
        "<caption>Plan actions</caption>" in page,
        "<caption>Plan actions closed not completed, by reason</caption>" in page,
        '<th scope="col">Person in custody</th>' in page,
    )


def _open(store: str, *arguments: str) -> Any:
    base = ["report-partnership-open", "--database", store, "--area", "kent"]
    base += ["--year", "2020-21", "--insecure-dev-identity"]
    return CliRunner().invoke(app, [*base, *arguments])


def test_a_plan_figure_opens_to_its_actions_and_is_audited(store: str) -> None:
    """Housing's late figure lists its two actions; the analyst's reading is on the trail with
    the two cases."""
    result = _open(
        store,
        "--agency",
        "housing",
        "--figure",
        "completed-late",
        "--as",
        "analyst",
        "--user",
        "an",
        "--reason",
        "board asked about housing's late actions",
    )

    assert result.exit_code == 0, result.output
    expected = [
        "plan figure kent 2020 housing completed-late: 2",
        f"{plan_events.FIRST} ACT-2",
        f"{plan_events.SECOND} ACT-1",
    ]
    assert expected == result.stdout.splitlines()
    with open_engine(store).connect() as connection:
        [record] = reads(connection, user="an")
    expected_record = ("analyst", "read", (plan_events.FIRST, plan_events.SECOND))
    assert expected_record == (
        record.role,
        record.outcome,
        record.cases,
    )


def test_a_closure_reason_narrows_the_closed_figure(store: str) -> None:
    """Police's closures for custody open to the one action closed for it."""
    result = _open(
        store,
        "--agency",
        "police",
        "--figure",
        "closed-not-completed",
        "--closure-reason",
        "person-in-custody",
        "--as",
        "coordinator",
        "--user",
        "co",
        "--reason",
        "checking closures",
    )

    expected = [
        "plan figure kent 2020 police closed-not-completed person-in-custody: 1",
        f"{plan_events.FIRST} ACT-3",
    ]
    assert expected == result.stdout.splitlines()


@pytest.mark.parametrize(
    ("role", "area"),
    [("housing", "kent"), ("analyst", "cumbria")],
)
def test_a_role_or_area_not_entitled_is_refused_and_audited(
    store: str, role: str, area: str
) -> None:
    """A housing officer (no figure reader) and a Cumbria analyst are refused with exit 3,
    and each refusal is on the trail."""
    result = _open(
        store,
        "--agency",
        Agency.HOUSING.value,
        "--figure",
        "open",
        "--as",
        role,
        "--user",
        "someone",
        "--dev-area",
        area,
        "--reason",
        "curious",
    )

    with open_engine(store).connect() as connection:
        [record] = reads(connection, user="someone")
    expected = (3, "refused", ())
    assert expected == (result.exit_code, record.outcome, record.cases)
