"""The main job on the embedded default: a sample area-year through the real broker, counted.

The simulator's Kent 2020-21 scenario is published, each agency as its own principal; the
reporting consumer, as the reporting role, then catches up with the agency topics into its
store (exactly once: a second run of the demo republishes the same event ids, which change
nothing), and the year's MAPPA statistics are counted from the store.

The sample year lives in topics of its own (namespace `demo`, e.g. `demo.police.events`), with
the same ACLs as the real ones: simulated people must never mix with real agency records, and
real records never with a demonstration.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from mappa_bus.adapters.publisher import PublishSummary, publish_all
from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.catalogue import Rejection, ReportingYear
from mappa_bus.demo_alerts import LiveAlert, live_case, year_alerts
from mappa_bus.kafka_admin import AuthorizerDisabledError, ensure_acls, ensure_topics
from mappa_bus.log_reader import read_to_end
from mappa_bus.principals import acl_bindings
from mappa_bus.reporting.consumer import ReportingProjection
from mappa_bus.reporting.queries import statistics_for
from mappa_bus.reporting.service import catch_up, open_projection
from mappa_bus.reporting.tables import MappaStatistics
from mappa_bus.settings import Settings
from mappa_bus.simulator.options import SCENARIO_AREA_YEAR, Scenario, SimulationOptions
from mappa_bus.simulator.run import events, intended, simulate
from mappa_bus.topics import bus_topic_specs, dead_letter_topic

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
    database: str = ""
    seconds: float = 0.0
    # Every alert on record for the demo's topics, by rule, and the service that raised them
    # (its pictures current, ready for the live case).
    alerts_by_rule: Counter[str] = field(default_factory=Counter)
    alerts: AlertProjection | None = None


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
        # The demo publishes its area as every agency: it holds each agency's keys.
        keyring=settings.signing_keyring(),
    )
    result = DemoResult(published=published, acls_enforced=acls)
    projection = open_projection(
        settings.demo_database_url, DEMO_NAMESPACE, keyring=settings.verification_keyring()
    )
    result.database = settings.demo_database_url
    result.records_read = await catch_up(settings.connection_for_role("reporting"), projection)
    result.rejected = await _dead_letters(settings, projection)
    result.counted = statistics_for(projection.counted, area, year, options.populations)
    result.intended = intended(options)[area]
    result.alerts, result.alerts_by_rule = await year_alerts(
        settings, DEMO_NAMESPACE, settings.demo_database_url, ReportingYear(year).end
    )
    result.seconds = time.perf_counter() - started
    return result


async def run_live(
    settings: Settings, result: DemoResult, on_alert: Callable[[LiveAlert], None]
) -> list[LiveAlert]:
    """After the year: one case that happens now, its alerts handed to `on_alert` as they come."""
    if result.alerts is None:
        raise ValueError("run the demo's year first")
    return await live_case(settings, DEMO_NAMESPACE, result.alerts, on_alert)


async def _dead_letters(settings: Settings, projection: ReportingProjection) -> Counter[Rejection]:
    """What the consumer refused, by kind, from the demo's dead-letter topic."""
    rejected: Counter[Rejection] = Counter()
    admin = settings.connection()
    async for batch in read_to_end(admin, [dead_letter_topic(projection.namespace)]):
        for record in batch:
            rejected[Rejection(dict(record.headers)["mappa-rejection"].decode())] += 1
    return rejected
