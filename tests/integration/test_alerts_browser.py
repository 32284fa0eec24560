"""The alerts page end to end, in a real browser against the real broker.

Probation sets a Kent case at level 3 and prisons release the person; the picture and alerts
services catch up, so the alert is raised for real. Two pages open before that both show it
arrive; one acknowledges it, both then show who did, and the acknowledgements topic names the
coordinator. Finally the case link, with a reason given, shows the case and the read is audited.

The pages sign in with development identity (the issuer's sign-in is
test_alerts_login_browser.py's); the browser is Debian's Chromium (tests/browsing.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from playwright.async_api import Browser, Page, expect

from mappa_bus import audit
from mappa_bus.adapters.publisher import publish_all
from mappa_bus.alerts import service as alerts_service
from mappa_bus.alerts.model import AlertAcknowledged
from mappa_bus.alerts.subscription import AlertFilter
from mappa_bus.alerts.web import create_web_app, web_server
from mappa_bus.catalogue import Area, Envelope, EventData, prisons, probation
from mappa_bus.catalogue.envelope import make_event
from mappa_bus.catalogue.vocabulary import Level
from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import read_to_end
from mappa_bus.picture import service as picture_service
from mappa_bus.picture.api import case_api_for
from mappa_bus.topics import acknowledgements_topic
from mappa_bus.web.identity import DevelopmentHeaders
from mappa_bus.web.signin import WebClient
from tests.browsing import WAIT_MS, Problems
from tests.servers import serving

pytestmark = pytest.mark.kafka

USER = "coordinator.kent"


def _release_of_a_level_3_case(case_id: str) -> list[Envelope[EventData]]:
    """Probation sets the case at level 3; then prisons release the person today."""
    now, today = datetime.now(UTC), date.today()
    earlier = now - timedelta(hours=1)  # the fold orders a case's events by when they happened
    level = probation.MappaLevelSet(
        set_on=today, level=Level.THREE, reason=probation.LevelReason.RELEASE_PLANNING
    )
    release = prisons.ReleasedFromCustody(
        released_on=today, release="on-licence", licence_ends_on=date(today.year + 2, 1, 1)
    )
    return [
        make_event(level, case_id=case_id, area=Area.KENT, time=earlier, system="ndelius"),
        make_event(release, case_id=case_id, area=Area.KENT, time=now, system="nomis"),
    ]


async def _open(browser: Browser, url: str, errors: Problems) -> Page:
    page = await browser.new_page()
    page.set_default_timeout(WAIT_MS)
    errors.watch(page)
    signing_in = urlencode({"user": USER, "role": "coordinator", "area": "kent"})
    await page.goto(f"{url}/auth/login?{signing_in}")
    await expect(page.locator("#feed-status")).to_have_attribute("data-feed", "live")
    await expect(page.locator("#user")).to_have_text(USER)
    return page


async def test_an_alert_arrives_live_is_acknowledged_and_leads_to_the_case(
    browser: Browser,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
) -> None:
    case_id = f"case-{namespace[-12:]}"
    pictures = picture_service.open_projection(f"sqlite:///{tmp_path / 'pictures.db'}", namespace)
    alerts = alerts_service.open_projection(f"sqlite:///{tmp_path / 'alerts.db'}", namespace)
    where = AlertFilter(areas=frozenset({Area.KENT}), min_level=Level.TWO)
    app = create_web_app(
        kafka_as("coordinator"),
        namespace,
        case_api_for(pictures.engine),
        DevelopmentHeaders(),
        client=WebClient(secure_cookie=False),
        where=where,
    )
    errors = Problems()

    with serving(lambda port: web_server(app, port=port)) as url:
        first, second = await _open(browser, url, errors), await _open(browser, url, errors)
        await expect(first.locator("#no-alerts")).to_be_visible()

        await publish_all(
            lambda agency: kafka_as(agency.value),
            _release_of_a_level_3_case(case_id),
            namespace=namespace,
        )
        await picture_service.catch_up(kafka_as("picture"), pictures)
        await alerts_service.catch_up(kafka_as("alerts"), alerts, today=None)

        rows = [page.locator("tr[data-alert-id]", has_text=case_id) for page in (first, second)]
        for row in rows:
            await expect(row).to_have_count(1)
            await expect(row).to_contain_text("released-from-custody")
            await expect(row).to_contain_text("urgent")
        await expect(first.locator("#no-alerts")).to_be_hidden()

        await rows[0].get_by_role("button", name="Acknowledge").click()
        for row in rows:
            await expect(row.locator("td.ack")).to_contain_text(f"Acknowledged by {USER} at")
        alert_id = await rows[0].get_attribute("data-alert-id")

        await rows[0].get_by_role("link", name=case_id).click()
        await first.get_by_label("Why are you reading this case?").fill("urgent alert: released")
        await first.get_by_role("button", name="Show the case").click()
        view = first.locator("#case-view")
        await expect(view.locator('dd[data-field="case_id"]')).to_have_text(case_id)
        await expect(view.locator('dd[data-field="level"]')).to_have_text("3")
        await expect(view.locator("table")).to_contain_text("released-from-custody")
        await first.screenshot(path=str(tmp_path / "case-page.png"), full_page=True)
        assert errors == []

    [ack] = await _acknowledgements(kafka_as("coordinator"), namespace)
    assert (ack.data.alert_id, ack.data.acknowledged_by) == (alert_id, USER)
    assert ack.subject == case_id
    with pictures.engine.connect() as connection:
        [read] = audit.reads(connection, case_id=case_id)
    assert (read.user, read.role, read.reason, read.outcome) == (
        USER,
        "coordinator",
        "urgent alert: released",
        "read",
    )


async def _acknowledgements(connection: KafkaConnection, namespace: str) -> list[AlertAcknowledged]:
    return [
        AlertAcknowledged.model_validate_json(record.value)
        async for batch in read_to_end(connection, [acknowledgements_topic(namespace)])
        for record in batch
    ]
