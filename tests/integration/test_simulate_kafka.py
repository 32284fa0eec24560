"""`mappa simulate --publish` against the real broker: every event lands on its agency topic,
and a simulated Kent year's plan figures, as the reporting consumer counts them, are the
simulator's truth."""

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mappa_bus.adapters.publisher import publish_all
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, parse_event
from mappa_bus.cli import app
from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import read_to_end
from mappa_bus.projection.database import open_engine
from mappa_bus.reporting.plan_actions import action_facts
from mappa_bus.reporting.plan_figures import (
    ActionFacts,
    PlanFigures,
    area_years,
    figures_from_actions,
)
from mappa_bus.reporting.plan_store import load_plan_steps
from mappa_bus.reporting.service import catch_up, open_projection
from mappa_bus.simulator.options import SimulationOptions
from mappa_bus.simulator.run import events, intended_plans, simulate
from mappa_bus.topics import agency_topic
from tests.area_year import KENT_YEAR, kent_year
from tests.conftest import BrokerUnderTest

pytestmark = pytest.mark.kafka


async def test_simulate_publishes_each_agencys_events_as_that_agency(
    kafka: KafkaConnection,
    kafka_broker: BrokerUnderTest,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A small Surrey year published into a namespace of its own comes back event for event,
    each on its publisher's topic."""
    for variable, value in kafka_broker.client_env().items():
        monkeypatch.setenv(variable, value)
    options = SimulationOptions(areas=(Area.SURREY,), scale=0.02)
    expected = [event for item in simulate(options) for event in events(item, options.seed)]

    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["simulate", "--area", "surrey", "--scale", "0.02", "--publish", "--namespace", namespace],
    )

    topics = {agency_topic(agency, namespace): agency for agency in Agency}
    got: Counter[str] = Counter()
    wrong_topic = 0
    async for batch in read_to_end(kafka, topics):
        for record in batch:
            event = parse_event(record.value)
            got[event.id] += 1
            wrong_topic += topics[record.topic] is not event.publisher
    assert result.exit_code == 0, result.output
    assert (sorted(got), set(got.values()), wrong_topic) == (
        sorted(event.id for event in expected),
        {1},
        0,
    )


def _by_area_year(facts: list[ActionFacts]) -> dict[tuple[Area | None, date], PlanFigures]:
    """Every area-year's figures, as the reporting slice computes them from action facts."""
    return {
        (area, year): figures_from_actions(facts, area, year) for area, year in area_years(facts)
    }


async def test_a_simulated_kent_years_plan_figures_are_the_simulators_truth(
    kafka_as: Callable[[str], KafkaConnection], namespace: str, tmp_path: Path
) -> None:
    """The Kent 2020-21 scenario published by each agency's own principal and counted by the
    reporting consumer gives, for every area-year and every agency, exactly the plan figures
    the simulator intended from its people; the store read afresh says the same."""
    published = kent_year()
    database = f"sqlite:///{tmp_path / 'reporting.db'}"

    await publish_all(lambda agency: kafka_as(agency.value), published, namespace=namespace)
    read = await catch_up(kafka_as("reporting"), open_projection(database, namespace))
    counted = action_facts(open_projection(database, namespace).plans)
    with open_engine(database).connect() as connection:
        stored = action_facts(load_plan_steps(connection))

    truth = {(item.area, item.year_start): item for item in intended_plans(KENT_YEAR)}
    year = truth[(Area.KENT, date(2020, 4, 1))]
    assert len(published) == read
    assert truth == _by_area_year(counted)
    assert truth == _by_area_year(stored)
    # No trivial match: in the simulated year, many agencies own actions and every kind of
    # outcome occurs.
    rows = year.agencies
    kinds = (
        sum(row.completed_on_time for row in rows),
        sum(row.completed_late for row in rows),
        sum(sum(row.closed_not_completed.values()) for row in rows),
        sum(row.open for row in rows),
        sum(row.redated for row in rows),
    )
    expected = (True, (True,) * 5)
    assert expected == (len(rows) >= 8, tuple(n > 0 for n in kinds))
