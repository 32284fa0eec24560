"""`mappa simulate --publish` against the real broker: every event lands on its agency topic."""

import asyncio
from collections import Counter

import pytest
from typer.testing import CliRunner

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, parse_event
from mappa_bus.cli import app
from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import read_to_end
from mappa_bus.simulator.options import SimulationOptions
from mappa_bus.simulator.run import events, simulate
from mappa_bus.topics import agency_topic
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
