"""Signing in to the alerts page at an OpenID Connect issuer, in-process, against the small real
issuer of tests/oidc.py (the test plays the browser; Keycloak's own form is
tests/integration/test_alerts_login_browser.py's): the code flow with PKCE, and the session made
only from an access token the page's own verifier accepts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from mappa_bus.access.tokens import IssuerSettings, TokenVerifier
from mappa_bus.alerts.web import create_web_app
from mappa_bus.picture.api import case_api_for
from mappa_bus.web.identity import BearerTokens
from mappa_bus.web.signin import WebClient
from tests.oidc import AUDIENCE, LocalIssuer, serve_issuer
from tests.ports import free_port
from tests.unit.test_alert_web import InMemoryBus, one_case_store

CLIENT_ID = "mappa-web"


def page_app(issuer_url: str, tmp_path: Path, discovery_url: str | None = None) -> FastAPI:
    """The alerts page whose people sign in at `issuer_url` (whose metadata it reads at
    `discovery_url`, when given)."""
    bus = InMemoryBus()
    settings = IssuerSettings(issuer=issuer_url, audience=AUDIENCE, discovery_url=discovery_url)
    verifier = TokenVerifier(settings)
    return create_web_app(
        None,
        "test",
        case_api_for(one_case_store(tmp_path)),
        BearerTokens(verifier),
        client=WebClient(client_id=CLIENT_ID, secure_cookie=False),
        feed=bus.feed,
        publish=bus.publish,
    )


@pytest.fixture
async def browser(oidc_issuer: LocalIssuer, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the page (keeping its cookies, as a browser does)."""
    transport = httpx.ASGITransport(app=page_app(oidc_issuer.url, tmp_path))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def to_the_issuer(browser: httpx.AsyncClient) -> dict[str, str]:
    """Start signing in; the parameters the page sends the person to the issuer with."""
    login = await browser.get("/auth/login")
    assert login.status_code == 302
    assert login.headers["location"].startswith("http://127.0.0.1:")
    return {
        name: values[0]
        for name, values in parse_qs(urlsplit(login.headers["location"]).query).items()
    }


async def come_back(
    browser: httpx.AsyncClient, issuer: LocalIssuer, sent: dict[str, str], **claims: Any
) -> httpx.Response:
    """The issuer's redirect back with a code for `claims`, granted to the challenge sent."""
    code = issuer.grant_code(sent["code_challenge"], sent["nonce"], CLIENT_ID, **claims)
    return await browser.get("/auth/callback", params={"code": code, "state": sent["state"]})


async def test_the_code_flow_with_pkce_signs_the_person_in_as_their_access_token_says(
    browser: httpx.AsyncClient, oidc_issuer: LocalIssuer
) -> None:
    """The page asks for a code with an S256 challenge, redeems it with the verifier, and the
    session is the access token's reader."""
    sent = await to_the_issuer(browser)
    back = await come_back(
        browser, oidc_issuer, sent, user="c.kent", roles="coordinator", areas=["kent"]
    )
    session = await browser.get("/session")
    assert (sent["code_challenge_method"], sent["response_type"]) == ("S256", "code")
    assert sent["redirect_uri"] == "http://127.0.0.1/auth/callback"
    assert sent["scope"] == "openid profile"
    assert (back.status_code, back.headers["location"]) == (303, "/")
    assert session.status_code == 200
    assert session.json() == {
        "user": "c.kent",
        "roles": ["coordinator"],
        "areas": ["kent"],
        "insecure": False,
        "min_reason_length": 10,
        "marking": "OFFICIAL-SENSITIVE",
    }


async def test_an_access_token_for_another_audience_makes_no_session(
    browser: httpx.AsyncClient, oidc_issuer: LocalIssuer
) -> None:
    """The issuer's word about the person is not enough: its token must be for this API."""
    sent = await to_the_issuer(browser)
    back = await come_back(browser, oidc_issuer, sent, user="c.kent", aud="another-api")
    assert back.status_code == 400
    assert "not accepted" in back.text
    assert (await browser.get("/session")).status_code == 401


async def test_a_code_redeemed_without_the_pages_verifier_makes_no_session(
    browser: httpx.AsyncClient, oidc_issuer: LocalIssuer
) -> None:
    """A code granted to another challenge (one intercepted, say) is refused by the issuer."""
    sent = await to_the_issuer(browser)
    back = await come_back(browser, oidc_issuer, sent | {"code_challenge": "not-the-pages"})
    assert back.status_code == 400
    assert (await browser.get("/session")).status_code == 401


async def test_a_callback_the_page_did_not_start_is_refused(
    browser: httpx.AsyncClient, oidc_issuer: LocalIssuer
) -> None:
    """Without the state the page's own redirect put in the session, no code is redeemed."""
    sent = await to_the_issuer(browser)
    code = oidc_issuer.grant_code(sent["code_challenge"], sent["nonce"], CLIENT_ID)
    back = await browser.get("/auth/callback", params={"code": code, "state": "forged"})
    assert back.status_code == 400
    assert "mismatching_state" in back.text
    assert code in oidc_issuer.codes  # never redeemed
    assert (await browser.get("/session")).status_code == 401


async def test_signing_out_ends_the_session_here(
    browser: httpx.AsyncClient, oidc_issuer: LocalIssuer
) -> None:
    """An issuer that publishes no end-session endpoint: signed out here, back to the page."""
    sent = await to_the_issuer(browser)
    await come_back(browser, oidc_issuer, sent, user="c.kent", roles="coordinator")
    out = await browser.get("/auth/logout")
    assert (out.status_code, out.headers["location"]) == (303, "/")
    assert (await browser.get("/session")).status_code == 401


async def test_an_issuer_that_does_not_answer_is_a_503_to_try_again(tmp_path: Path) -> None:
    """Sign-in waits for the issuer; the page says so rather than failing."""
    app = page_app(f"http://127.0.0.1:{free_port()}/realms/gone", tmp_path)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        login = await client.get("/auth/login")
    assert login.status_code == 503
    assert "try again" in login.text


@pytest.fixture
def issuer_behind_compose() -> Iterator[LocalIssuer]:
    """An issuer of its own (the session's is shared) whose public address, named in its
    tokens, does not answer: services reach it at another, as containers reach docker
    compose's Keycloak (localhost:8180 to the browser, keycloak:8180 to them)."""
    for issuer in serve_issuer():  # stops serving when the loop asks for another
        issuer.url, issuer.backchannel = f"http://localhost:{free_port()}/realms/test", issuer.url
        yield issuer


async def test_behind_compose_the_code_is_redeemed_where_the_service_reaches_the_issuer(
    issuer_behind_compose: LocalIssuer, tmp_path: Path
) -> None:
    """The page reads the issuer's metadata at MAPPA_OIDC_DISCOVERY_URL: the person is sent to
    the public address, and the code is redeemed and the tokens checked at the reachable one."""
    issuer = issuer_behind_compose
    discovery = f"{issuer.backchannel}/.well-known/openid-configuration"
    transport = httpx.ASGITransport(app=page_app(issuer.url, tmp_path, discovery))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as browser:
        login = await browser.get("/auth/login")
        assert login.headers["location"].startswith(f"{issuer.url}/auth?")
        query = parse_qs(urlsplit(login.headers["location"]).query)
        sent = {name: values[0] for name, values in query.items()}
        back = await come_back(browser, issuer, sent, user="c.kent", roles="coordinator")
        session = await browser.get("/session")

    assert (back.status_code, session.status_code) == (303, 200)
    assert session.json()["user"] == "c.kent"
