"""The main job on the embedded default: a sample area-year through the real broker, counted.

The simulator's Kent 2020-21 scenario is published, each agency as its own principal; the
agency topics are then read back from the beginning as the reporting role, every record parsed
and folded, and the year's MAPPA statistics counted from what came back.

The sample year lives in topics of its own (namespace `demo`, e.g. `demo.police.events`), with
the same ACLs as the real ones: simulated people must never mix with real agency records, and
real records never with a demonstration.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from mappa_bus.adapters.publisher import PublishSummary, publish_all
from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Area, Rejection, WireError, parse_event
from mappa_bus.kafka_admin import AuthorizerDisabledError, ensure_acls, ensure_topics
from mappa_bus.log_reader import read_to_end
from mappa_bus.principals import acl_bindings
from mappa_bus.reporting.count import count_year
from mappa_bus.reporting.facts import CaseFacts, tally
from mappa_bus.reporting.tables import MappaStatistics
from mappa_bus.settings import Settings
from mappa_bus.simulator.options import SCENARIO_AREA_YEAR, Scenario, SimulationOptions
from mappa_bus.simulator.run import events, intended, simulate
from mappa_bus.topics import agency_topic, bus_topic_specs

SCENARIO = Scenario.KENT_2020_21
DEMO_NAMESPACE = "demo"


@dataclass
class DemoResult:
    """What the demo published, what it read back, and what it counted."""

    published: PublishSummary
    records_read: int = 0
    rejected: Counter[Rejection] = field(default_factory=Counter)
    counted: MappaStatistics | None = None
    intended: MappaStatistics | None = None
    acls_enforced: bool = True
    seconds: float = 0.0


async def run_demo(settings: Settings) -> DemoResult:
    """Set up the bus, publish the sample area-year, read it back and count its statistics."""
    started = time.perf_counter()
    admin = settings.connection()
    await ensure_topics(admin, bus_topic_specs(DEMO_NAMESPACE))
    try:
        await ensure_acls(admin, acl_bindings(DEMO_NAMESPACE))
        acls = True
    except AuthorizerDisabledError:
        acls = False
    area, year = SCENARIO_AREA_YEAR[SCENARIO]
    options = SimulationOptions(areas=(area,), year=year, scenario=SCENARIO)
    stream = (event for area_year in simulate(options) for event in events(area_year, options.seed))
    published = await publish_all(
        lambda agency: settings.connection_for_role(agency.value),
        stream,
        namespace=DEMO_NAMESPACE,
        system="simulator",
    )
    result = DemoResult(published=published, acls_enforced=acls)
    cases = await _read_back(settings, result)
    result.counted = count_year(cases, date(year, 4, 1), options.populations).get(area)
    result.intended = intended(options)[area]
    result.seconds = time.perf_counter() - started
    return result


async def _read_back(settings: Settings, result: DemoResult) -> dict[str, CaseFacts]:
    """Every agency topic from the beginning, parsed and folded (duplicates fold to nothing,
    so a second run of the demo counts the same)."""
    cases: dict[str, CaseFacts] = {}
    topics = [agency_topic(agency, DEMO_NAMESPACE) for agency in Agency]
    async for batch in read_to_end(settings.connection_for_role("reporting"), topics):
        for record in batch:
            result.records_read += 1
            try:
                event = parse_event(record.value)
            except WireError as error:
                result.rejected[error.kind] += 1
                continue
            cases[event.case_id] = tally(cases.get(event.case_id, ()), event)
    return cases


def scenario_area() -> Area:
    """The area whose year the demo publishes."""
    return SCENARIO_AREA_YEAR[SCENARIO][0]
