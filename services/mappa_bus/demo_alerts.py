"""The demo's alerts: the sample year's, counted by rule, then one case that happens now, whose
alerts a coordinator's subscription receives as they are raised.

The live case has a fresh id every run, so every run shows alerts arriving (the year's events
are the same ids each run and raise nothing new the second time).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from mappa_bus.adapters.publisher import publish_all
from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.alerts.model import AlertRaised
from mappa_bus.alerts.rules import evaluate
from mappa_bus.alerts.service import catch_up, open_projection, running
from mappa_bus.alerts.store import all_raised
from mappa_bus.alerts.subscription import AlertFilter, subscribe
from mappa_bus.case.fold import apply
from mappa_bus.case.model import CasePicture
from mappa_bus.catalogue import Area, Envelope, EventData, make_event, prisons, probation
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.settings import Settings

# Each live event goes out on its own, this far apart, so that the alerts visibly follow them.
PAUSE_SECONDS = 0.4
# The coordinator's subscription connects meanwhile, so the first alert's latency is the
# service's, not the time a new reader takes to join.
SETTLE_SECONDS = 1.0
# However slow the machine, the demo goes on after this long without the last alert.
WAIT_SECONDS = 20.0


@dataclass(frozen=True)
class LiveAlert:
    """An alert as the coordinator received it, and how long after its event reached the bus."""

    alert: AlertRaised
    latency_ms: float


async def year_alerts(
    settings: Settings, namespace: str, database_url: str, year_end: date
) -> tuple[AlertProjection, Counter[str]]:
    """Raise the sample year's alerts (reviews overdue as at `year_end`); every alert on
    record, by rule."""
    projection = open_projection(database_url, namespace, keyring=settings.verification_keyring())
    await catch_up(settings.connection_for_role("alerts"), projection, today=lambda: year_end)
    with projection.engine.connect() as connection:
        return projection, Counter(alert.data.rule for alert in all_raised(connection))


def live_events(case_id: str, now: datetime) -> list[Envelope[EventData]]:
    """A level 3 violent offender's release on licence today, a breach and a recall."""
    today = now.date()

    def event(data: EventData, days_ago: int, n: int) -> Envelope[EventData]:
        return make_event(
            data,
            case_id=case_id,
            area=Area.KENT,
            time=now - timedelta(days=days_ago, minutes=10 - n),
            system="demo-live",
        )

    return [
        event(
            probation.MappaEligibilityIdentified(
                identified_on=today - timedelta(days=400),
                category=Category.VIOLENT_OFFENDER,
                lead_agency=probation.LeadAgency.PROBATION,
            ),
            400,
            0,
        ),
        event(
            prisons.ReceivedIntoCustody(
                received_on=today - timedelta(days=390), custody="sentenced"
            ),
            390,
            1,
        ),
        event(
            probation.MappaLevelSet(
                set_on=today - timedelta(days=30),
                level=Level.THREE,
                reason=probation.LevelReason.RELEASE_PLANNING,
                review_due_on=today + timedelta(days=30),
            ),
            30,
            2,
        ),
        event(prisons.ReleaseDateConfirmed(release_on=today, release="on-licence"), 14, 3),
        event(
            prisons.ReleasedFromCustody(
                released_on=today, release="on-licence", licence_ends_on=today + timedelta(days=730)
            ),
            0,
            4,
        ),
        event(probation.LicenceBreached(breached_on=today, breach="condition-breach"), 0, 5),
        event(probation.RecallIssued(issued_on=today, recall_type="emergency"), 0, 6),
    ]


def expected_alerts(events: list[Envelope[EventData]]) -> int:
    """How many alerts the rules raise for `events`, applied in order (no broker involved)."""
    picture: CasePicture | None = None
    count = 0
    for event in events:
        after = apply(picture, event, event.time)
        count += len(evaluate(picture, after, event, event.time))
        picture = after
    return count


async def live_case(
    settings: Settings,
    namespace: str,
    projection: AlertProjection,
    on_alert: Callable[[LiveAlert], None],
) -> list[LiveAlert]:
    """Publish the live case event by event while the alerts service runs, and hand each
    alert the coordinator's subscription receives to `on_alert`."""
    now = datetime.now(UTC)
    events = live_events(f"KEN-LIVE-{now:%Y%m%d%H%M%S}", now)
    listener = _Listener(events[0].case_id, now - timedelta(seconds=1), expected_alerts(events))
    listening = asyncio.create_task(listener.listen(settings, namespace, on_alert))
    async with running(settings.connection_for_role("alerts"), projection):
        await asyncio.sleep(SETTLE_SECONDS)
        for event in events:
            await publish_all(
                lambda agency: settings.connection_for_role(agency.value),
                [event],
                namespace=namespace,
                system="demo-live",
                keyring=settings.signing_keyring(),
            )
            await asyncio.sleep(PAUSE_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(listening, WAIT_SECONDS)
    listening.cancel()
    return listener.received


@dataclass
class _Listener:
    """A coordinator's subscription, kept until the live case's alerts have all come."""

    case_id: str
    since: datetime
    wanted: int
    received: list[LiveAlert] = field(default_factory=list)

    async def listen(
        self, settings: Settings, namespace: str, on_alert: Callable[[LiveAlert], None]
    ) -> None:
        coordinator = settings.connection_for_role("coordinator")
        where = AlertFilter(areas=frozenset({Area.KENT}))
        alerts = subscribe(coordinator, namespace, where, since=self.since)
        async with contextlib.aclosing(alerts):
            async for alert in alerts:
                if not isinstance(alert, AlertRaised) or alert.subject != self.case_id:
                    continue
                recorded = alert.data.recorded_at or alert.time
                live = LiveAlert(alert, (time.time() - recorded.timestamp()) * 1000)
                self.received.append(live)
                on_alert(live)
                if len(self.received) >= self.wanted:
                    return
