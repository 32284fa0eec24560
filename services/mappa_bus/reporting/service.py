"""The reporting consumer on the projection shell: its projection opened (to consume, or only
to report), its rebuild, and the statistics it publishes once caught up."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

import structlog
from faststream.kafka import KafkaBroker

from mappa_bus.catalogue import Area, ReportingYear
from mappa_bus.connection import KafkaConnection
from mappa_bus.projection import shell
from mappa_bus.projection.database import open_engine, snapshot
from mappa_bus.projection.merges import clear_links
from mappa_bus.projection.publish import publish_event
from mappa_bus.projection.sealed import RecordKeys
from mappa_bus.projection.seen import clear_seen
from mappa_bus.projection.subscriber import consume_until_caught_up
from mappa_bus.reporting.consumer import PROJECTION, ReportingProjection
from mappa_bus.reporting.count import merged_people
from mappa_bus.reporting.partnership_store import clear_partnership
from mappa_bus.reporting.plan_store import clear_plan_steps
from mappa_bus.reporting.population import SHIPPED_POPULATIONS
from mappa_bus.reporting.publication import (
    clear_unpublished,
    due,
    load_published,
    record_published,
    revised_because,
    statistics_event,
)
from mappa_bus.reporting.store import clear, each_case, fact_years
from mappa_bus.signing import Keyring
from mappa_bus.topics import NAMESPACE, statistics_topic

log = structlog.get_logger(__name__)


def open_projection(
    database_url: str,
    namespace: str = NAMESPACE,
    *,
    for_consuming: bool = True,
    keyring: RecordKeys | None = None,
) -> ReportingProjection:
    """The reporting projection on its store, loaded (for reporting: its cases only, and no
    keys, since it reads no record)."""
    if for_consuming:
        return shell.open_projection(ReportingProjection, database_url, namespace, keyring=keyring)
    projection = ReportingProjection(
        open_engine(database_url),
        namespace,
        keyring=keyring if keyring is not None else Keyring({}),
    )
    projection.load(for_consuming=False)
    return projection


def rebuild(projection: ReportingProjection) -> None:
    """Empty the store, so that the next catch-up replays every topic from its start."""
    with projection.engine.begin() as connection:
        clear(connection, PROJECTION)
        clear_seen(connection, PROJECTION)
        clear_partnership(connection)
        clear_plan_steps(connection)
        clear_links(connection, PROJECTION)
    projection.load()


async def catch_up(
    connection: KafkaConnection,
    projection: ReportingProjection,
    *,
    on_progress: Callable[[int, int], None] | None = None,
    poll_seconds: float = 0.2,
    publish: bool = True,
) -> int:
    """Consume until every record now on the agency topics is applied, then publish the
    closed years' statistics that changed (unless told not to); return how many records."""

    async def publish_changed(broker: KafkaBroker) -> None:
        await publish_statistics(broker, projection, SHIPPED_POPULATIONS, date.today())

    return await consume_until_caught_up(
        connection,
        projection,
        on_progress=on_progress,
        poll_seconds=poll_seconds,
        then=publish_changed if publish else None,
    )


async def publish_statistics(
    broker: KafkaBroker,
    projection: ReportingProjection,
    populations: Mapping[Area, int],
    today: date,
) -> int:
    """Publish every closed year's statistics not yet published as they stand; return how
    many events went out. Only years from the earliest one a fact was applied to since the
    last publication are counted again: the others cannot have changed."""
    last_closed = ReportingYear.last_closed(today).opens
    since = min(projection.unpublished, default=None)
    if since is None or since > last_closed:
        log.info("statistics published", events=0)
        return 0
    with projection.engine.connect() as connection:
        published = load_published(connection)
    digests = {key: digest for key, (digest, _) in published.items()}
    merges = projection.merges
    # The cases are read as one stream and counted as they come: the store's every fact at
    # once was most of a national rebuild's peak (docs/benchmarks.md).
    with snapshot(projection.engine) as connection:
        changed = due(
            merged_people(each_case(connection), merges),
            fact_years(connection),
            populations,
            today,
            digests,
            since=since,
            kept=projection.kept,
        )
    sent = 0
    for subject, statistics, digest in changed:
        revision = published.get((subject, statistics.year_start), ("", 0))[1] + 1
        because = revised_because(projection.revised, statistics.year_start.year)
        event = statistics_event(subject, statistics, revision, because)
        await publish_event(broker, event, statistics_topic(projection.namespace))
        with projection.engine.begin() as connection:
            record_published(connection, subject, statistics.year_start, digest, revision)
        sent += 1
    # Only now: a crash before this counts the years again, and re-sends at most what was not
    # recorded (under the same event id).
    with projection.engine.begin() as connection:
        clear_unpublished(connection, up_to=last_closed)
    projection.unpublished = {year for year in projection.unpublished if year > last_closed}
    projection.revised = {(year, why) for year, why in projection.revised if year > last_closed}
    log.info("statistics published", events=sent)
    return sent
