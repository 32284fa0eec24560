"""The plan figures against the real broker: hand-made plan events published through the SDK
by each agency's own principal, counted by the reporting consumer to the hand-computed figures,
and the same after a restart with every event sent again."""

from collections.abc import Callable
from pathlib import Path

import pytest

from mappa_bus.adapters.publisher import publish_all
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area
from mappa_bus.connection import KafkaConnection
from mappa_bus.projection.database import open_engine
from mappa_bus.reporting.plan_actions import action_facts, step_of
from mappa_bus.reporting.plan_figures import PlanFigures, figures_from_actions
from mappa_bus.reporting.plan_store import load_plan_steps
from mappa_bus.reporting.service import catch_up, open_projection, rebuild
from tests import plan_events

pytestmark = pytest.mark.kafka


def _stored_figures(database: str) -> PlanFigures:
    """The figures as a fresh reader of the store folds them (what `report-partnership` does)."""
    with open_engine(database).connect() as connection:
        actions = action_facts(load_plan_steps(connection))
    return figures_from_actions(actions, Area.KENT, plan_events.YEAR)


async def test_the_consumer_counts_the_plan_figures_and_a_restart_counts_nothing_twice(
    kafka_as: Callable[[str], KafkaConnection], namespace: str, tmp_path: Path
) -> None:
    """The outcomes published and consumed first, then the agreements (and every outcome
    again) after a restart: the figures are the hand-computed ones, a third run, with
    everything sent once more, leaves them so, and a rebuild replaying it all gives them too."""
    database = f"sqlite:///{tmp_path / 'reporting.db'}"
    by_agency: Callable[[Agency], KafkaConnection] = lambda agency: kafka_as(agency.value)  # noqa: E731
    outcomes, agreements = plan_events.outcomes(), plan_events.agreements()

    await publish_all(by_agency, outcomes, namespace=namespace)
    first = await catch_up(kafka_as("reporting"), open_projection(database, namespace))
    held = _stored_figures(database)
    await publish_all(by_agency, agreements + outcomes, namespace=namespace)
    second = await catch_up(kafka_as("reporting"), open_projection(database, namespace))
    after_restart = _stored_figures(database)
    await publish_all(by_agency, agreements + outcomes, namespace=namespace)
    third = await catch_up(kafka_as("reporting"), open_projection(database, namespace))
    restarted = open_projection(database, namespace)
    rebuilt = open_projection(database, namespace)
    rebuild(rebuilt)
    replayed = await catch_up(kafka_as("reporting"), rebuilt)

    # The records each run had to read: the outcomes, then everything twice over.
    sent = len(outcomes) + len(agreements)
    expected = plan_events.expected()
    assert (len(outcomes), sent, sent, len(outcomes) + 2 * sent) == (
        first,
        second,
        third,
        replayed,
    )
    assert held.agencies == ()
    assert expected == after_restart
    assert expected == _stored_figures(database)
    assert expected == figures_from_actions(
        action_facts(restarted.plans), Area.KENT, plan_events.YEAR
    )
    assert expected == figures_from_actions(
        action_facts(rebuilt.plans), Area.KENT, plan_events.YEAR
    )
    # Each event's step kept once, though the outcomes were sent three times.
    plan_steps = [event for event in outcomes + agreements if step_of(event) is not None]
    assert len(plan_steps) == sum(len(steps) for steps in restarted.plans.values())
