"""The alerts page for triage, in a real browser: unacknowledged urgent alerts pinned above a
burst of newer routine ones, counts per severity, filters, "N older not shown" with a way to
see them, both times; and a case opened as sections and a timeline rather than JSON.

Fed from the in-memory bus (the broker's part is test_alerts_browser.py's), signed in with
development identity; screenshots go to the test's tmp dir."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from playwright.async_api import Browser, expect

from mappa_bus.alerts.model import Severity
from mappa_bus.alerts.web import web_server
from tests.browsing import WAIT_MS, Problems
from tests.servers import serving
from tests.unit.test_alert_subscription import RAISED_AT, make_ack, make_alert
from tests.unit.test_alert_web import InMemoryBus, dev_app, one_case_store

ROUTINE = 130  # more than the page shows at first (100)
OVERDUE_ACTIONS = 13  # every tenth routine alert is an overdue plan action


async def test_urgent_alerts_stay_on_top_of_a_routine_burst_and_filter_and_page(
    browser: Browser, tmp_path: Path
) -> None:
    """An old unacknowledged urgent alert is the first row under 130 newer routine ones; the
    counts say so; filters narrow the rows (by rule, and to overdue plan actions); 30 older
    are "not shown" until asked for; the case opens as sections with a timeline."""
    bus = InMemoryBus()
    app = dev_app(one_case_store(tmp_path), bus)
    urgent = make_alert("urgent-1", case_id="case-1", at=RAISED_AT)
    done = make_alert("urgent-2", case_id="case-1", at=RAISED_AT + timedelta(minutes=1))
    routine = [
        make_alert(
            f"r-{i}",
            rule="action-overdue" if i % 10 == 0 else "review-overdue",
            severity=Severity.ROUTINE,
            case_id="case-1",
            at=RAISED_AT + timedelta(minutes=2 + i),
        )
        for i in range(ROUTINE)
    ]
    problems = Problems()
    with serving(lambda port: web_server(app, port=port)) as url:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(WAIT_MS)
        problems.watch(page)
        signing_in = urlencode({"user": "c.kent", "role": "coordinator", "area": "kent"})
        await page.goto(f"{url}/auth/login?{signing_in}")
        bus.put(urgent, done, make_ack(done), *routine)

        await expect(page.locator("#counts")).to_have_text(
            f"2 urgent (1 not acknowledged), 0 high, {ROUTINE} routine"
        )
        first = page.locator("tr[data-alert-id]").first
        await expect(first).to_have_attribute("data-alert-id", urgent.id)
        await expect(page.locator("tr[data-alert-id]:visible")).to_have_count(100)
        await expect(page.locator("#older-count")).to_have_text(
            f"{ROUTINE + 2 - 100} older not shown."
        )
        await page.screenshot(path=str(tmp_path / "alerts-triage.png"), full_page=False)

        await page.get_by_role("button", name="Show 100 older").click()
        await expect(page.locator("tr[data-alert-id]:visible")).to_have_count(ROUTINE + 2)
        await expect(page.locator("#older")).to_be_hidden()

        await page.get_by_label("Severity").select_option("urgent")
        await page.get_by_label("Acknowledged").select_option("yes")
        visible = page.locator("tr[data-alert-id]:visible")
        await expect(visible).to_have_count(1)
        await expect(visible).to_have_attribute("data-alert-id", done.id)

        await page.get_by_label("Acknowledged").select_option("")
        await page.get_by_label("Severity").select_option("")
        await page.get_by_label("Rule").select_option("review-overdue")
        await expect(page.locator("tr[data-alert-id]:visible")).to_have_count(
            ROUTINE - OVERDUE_ACTIONS
        )

        await page.get_by_label("Rule").select_option("")
        await page.get_by_label("Overdue actions only").check()
        overdue = page.locator("tr[data-alert-id]:visible")
        await expect(overdue).to_have_count(OVERDUE_ACTIONS)
        await expect(overdue.locator("td").nth(6)).to_have_text("action-overdue")
        await page.get_by_label("Overdue actions only").uncheck()
        await expect(page.locator("tr[data-alert-id]:visible")).to_have_count(ROUTINE + 2)
        await page.locator(f'tr[data-alert-id="{urgent.id}"]').get_by_role("link").click()
        await page.get_by_label("Why are you reading this case?").fill("urgent alert: triage")
        await page.get_by_role("button", name="Show the case").click()
        view = page.locator("#case-view")
        await expect(view.locator('dd[data-field="case_id"]')).to_have_text("case-1")
        await expect(view.get_by_role("heading", name="Timeline")).to_be_visible()
        await expect(view.locator("pre")).to_have_count(0)
        await page.screenshot(path=str(tmp_path / "case-page.png"), full_page=True)
        bus.end()
    assert problems == []
