"""`mappa alerts web`: who may sign in is the issuer's to say, or, asked for explicitly and only
on loopback, whoever the development sign-in is told."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from mappa_bus.alerts import web
from mappa_bus.cli import app as mappa
from tests.oidc import LocalIssuer


class Served:
    """Stands in for the server: keeps the app and host it was asked to serve."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None

    def __call__(self, app: FastAPI, *, host: str, port: int) -> Served:
        self.app = app
        return self

    def run(self) -> None:
        return


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Served:
    """The command runs without serving; its database is a file of the test's own."""
    stand_in = Served()
    monkeypatch.setattr(web, "web_server", stand_in)
    monkeypatch.setenv("MAPPA_DATABASE_URL", f"sqlite:///{tmp_path}/pictures.db")
    monkeypatch.delenv("MAPPA_OIDC_ISSUER", raising=False)
    return stand_in


def test_without_an_issuer_or_the_flag_it_refuses_to_start(served: Served) -> None:
    """No issuer configured, no development flag: it says how to configure one, and exits."""
    result = CliRunner().invoke(mappa, ["alerts", "web"])
    assert result.exit_code == 4
    assert "MAPPA_OIDC_ISSUER" in result.output
    assert served.app is None


def test_development_identity_serves_loopback_only(served: Served) -> None:
    """--insecure-dev-identity on an address others can reach is refused."""
    result = CliRunner().invoke(
        mappa, ["alerts", "web", "--insecure-dev-identity", "--host", "192.0.2.10"]
    )
    assert result.exit_code == 4
    assert "loopback" in result.output
    assert served.app is None


async def test_with_an_issuer_the_page_sends_people_there_and_says_where_it_is(
    served: Served, oidc_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It prints its address, and a visitor is sent to sign in (there is no --user)."""
    monkeypatch.setenv("MAPPA_OIDC_ISSUER", oidc_issuer.url)
    result = CliRunner().invoke(mappa, ["alerts", "web", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/" in result.output
    assert served.app is not None
    transport = httpx.ASGITransport(app=served.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        page = await client.get("/")
        alerts = await client.get("/alerts")
    assert (page.status_code, page.headers["location"]) == (303, "/auth/login")
    assert alerts.status_code == 401
    assert "x-mappa-identity" not in page.headers
    unknown = CliRunner().invoke(mappa, ["alerts", "web", "--user", "someone"])
    assert unknown.exit_code == 2
