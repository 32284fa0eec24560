"""Signing in to the alerts page through the real issuer, in a real browser.

Headless Chromium opens the page, is sent to the local Keycloak's own login form, signs in as
`coordinator-kent` and comes back signed in (authorization code with PKCE, the access token
verified by the page's own verifier). It is then shown Kent's alert and not Cumbria's,
acknowledges it in its own name, and reads a case as a coordinator, which the audit trail
records under that name. The alerts are fed from memory (the broker's part is
test_alerts_browser.py's); the issuer, browser and server are real.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi import FastAPI
from playwright.async_api import Browser, Page, expect
from sqlalchemy import Engine

from mappa_bus import audit
from mappa_bus.access.tokens import IssuerSettings, TokenVerifier
from mappa_bus.alerts.web import create_web_app, web_server
from mappa_bus.catalogue import Area
from mappa_bus.picture.api import case_api_for
from mappa_bus.web.identity import BearerTokens
from mappa_bus.web.signin import SESSION_COOKIE, WebClient
from tests.browsing import WAIT_MS, Problems
from tests.keycloak import AUDIENCE, WEB_CLIENT_ID, KeycloakUnderTest
from tests.servers import serving
from tests.unit.test_alert_subscription import make_alert
from tests.unit.test_alert_web import InMemoryBus, one_case_store

USER = "coordinator-kent"


def _page_app(
    keycloak: KeycloakUnderTest, bus: InMemoryBus, engine: Engine, audience: str = AUDIENCE
) -> FastAPI:
    """The page whose people sign in at `keycloak`, fed from `bus`, over `engine`'s cases,
    accepting access tokens for `audience`."""
    verifier = TokenVerifier(IssuerSettings(issuer=keycloak.issuer, audience=audience))
    return create_web_app(
        None,
        "test",
        case_api_for(engine),
        BearerTokens(verifier),
        # Served over loopback http, as `mappa alerts web` on 127.0.0.1 is.
        client=WebClient(client_id=WEB_CLIENT_ID, secure_cookie=False),
        feed=bus.feed,
        publish=bus.publish,
    )


async def _fill_the_issuers_form(page: Page, url: str, keycloak: KeycloakUnderTest) -> None:
    await page.goto(url)
    # Keycloak's own login form, on the issuer's origin.
    login_form = re.escape(f"{keycloak.issuer}/protocol/openid-connect/auth?")
    await expect(page).to_have_url(re.compile(login_form))
    await page.locator("#username").fill(USER)
    await page.locator("#password").fill(keycloak.password(USER))
    await page.locator("#kc-login").click()


async def _sign_in_at_the_issuer(page: Page, url: str, keycloak: KeycloakUnderTest) -> None:
    await _fill_the_issuers_form(page, url, keycloak)
    await expect(page).to_have_url(f"{url}/")
    await expect(page.locator("#user")).to_have_text(USER)


async def test_a_coordinator_signs_in_at_keycloak_sees_their_area_acknowledges_and_reads(
    browser: Browser, keycloak: KeycloakUnderTest, tmp_path: Path
) -> None:
    """The whole sign-in: Keycloak's form, then the page as coordinator-kent and only that."""
    bus = InMemoryBus()
    engine = one_case_store(tmp_path)
    app = _page_app(keycloak, bus, engine)
    kent = make_alert("kent-release", area=Area.KENT, case_id="case-1")
    cumbria = make_alert("cumbria-release", area=Area.CUMBRIA, case_id="case-cumbria")
    errors = Problems()

    with serving(lambda port: web_server(app, port=port)) as url:
        context = await browser.new_context()
        page = await context.new_page()
        page.set_default_timeout(WAIT_MS)
        errors.watch(page)
        await _sign_in_at_the_issuer(page, url, keycloak)
        await expect(page.locator("#feed-status")).to_have_attribute("data-feed", "live")
        await expect(page.locator("#areas")).to_have_text("kent")
        await expect(page.locator("#insecure-identity")).to_have_count(0)

        # Cumbria's first: once Kent's is shown, Cumbria's has been through the board too.
        bus.put(cumbria, kent)
        row = page.locator("tr[data-alert-id]", has_text="case-1")
        await expect(row).to_have_count(1)
        await expect(page.locator("tr[data-alert-id]")).to_have_count(1)
        await expect(page.locator("tr[data-alert-id]", has_text="case-cumbria")).to_have_count(0)

        await row.get_by_role("button", name="Acknowledge").click()
        await expect(row.locator("td.ack")).to_contain_text(f"Acknowledged by {USER} at")

        await row.get_by_role("link", name="case-1").click()
        await page.get_by_label("Why are you reading this case?").fill("urgent alert: released")
        await page.get_by_role("button", name="Show the case").click()
        await expect(page.locator('#case-view dd[data-field="case_id"]')).to_have_text("case-1")

        [cookie] = [c for c in await context.cookies() if c["name"] == SESSION_COOKIE]
        seen = await page.evaluate("fetch('/alerts').then((answer) => answer.json())")

        problems = list(errors)

        # Signed out here and at the issuer: the page leads to the issuer's form again.
        await page.goto(url)
        await page.get_by_role("link", name="Sign out").click()
        await expect(page.locator("#username")).to_be_visible()
        after = await page.goto(f"{url}/session")
        await context.close()
    assert problems == []
    assert after is not None
    assert after.status == 401
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Lax")
    assert [alert["id"] for alert in seen] == [kent.id]
    [ack] = bus.published
    assert (ack.data.alert_id, ack.data.acknowledged_by) == (kent.id, USER)
    with engine.connect() as connection:
        [read] = audit.reads(connection, case_id="case-1")
    assert (read.user, read.role, read.reason, read.outcome) == (
        USER,
        "coordinator",
        "urgent alert: released",
        "read",
    )


async def test_without_signing_in_the_page_goes_to_the_issuer_and_the_alerts_are_401(
    keycloak: KeycloakUnderTest, tmp_path: Path
) -> None:
    """A visitor with no session is sent to the issuer with a PKCE challenge; a script is
    refused the alerts."""
    app = _page_app(keycloak, InMemoryBus(), one_case_store(tmp_path))
    with serving(lambda port: web_server(app, port=port)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            alerts = await client.get("/alerts")
            page = await client.get("/")
            login = await client.get(page.headers["location"])
    assert alerts.status_code == 401
    assert (page.status_code, page.headers["location"]) == (303, "/auth/login")
    assert login.status_code == 302
    to_issuer = urlsplit(login.headers["location"])
    query = parse_qs(to_issuer.query)
    assert login.headers["location"].startswith(f"{keycloak.issuer}/protocol/openid-connect/auth")
    assert query["client_id"] == [WEB_CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == [f"{url}/auth/callback"]
    assert query["scope"] == ["openid profile"]


async def test_a_sign_in_whose_access_token_is_not_for_this_api_is_refused(
    browser: Browser, keycloak: KeycloakUnderTest, tmp_path: Path
) -> None:
    """The issuer vouching for the person is not enough: its access token must be for this
    service's audience, or no session is made."""
    app = _page_app(keycloak, InMemoryBus(), one_case_store(tmp_path), audience="another-api")
    with serving(lambda port: web_server(app, port=port)) as url:
        page = await browser.new_page()
        page.set_default_timeout(WAIT_MS)
        await _fill_the_issuers_form(page, url, keycloak)
        await expect(page.get_by_text("the issuer's token is not accepted here")).to_be_visible()
        session = await page.goto(f"{url}/session")
        await page.close()
    assert session is not None
    assert session.status == 401
