"""Every route of the case API, found from the app itself (so a new route is covered the day it
is added), refuses a caller with no token, with forged identity headers, and with a token of a
role it does not know; only the liveness probe answers anyone."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from mappa_bus.access.tokens import IssuerSettings, TokenVerifier
from mappa_bus.picture.api import create_app
from mappa_bus.picture.schema import create_schema
from mappa_bus.projection.database import open_engine
from mappa_bus.web.identity import BearerTokens
from tests.oidc import LocalIssuer

OPEN = {"/healthz"}
ARGUMENTS = {"case_id": "KEN-2021-000001"}
QUERY = {
    "/cases/{case_id}/as-known-at": "?at=2021-01-01T00:00:00%2B00:00",
    "/changes": "?since=2021-01-01T00:00:00%2B00:00",
}


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = open_engine(f"sqlite:///{tmp_path / 'api.db'}")
    create_schema(engine)
    return engine


def _app(engine: Engine, issuer: LocalIssuer) -> FastAPI:
    verifier = TokenVerifier(IssuerSettings(issuer=issuer.url, audience="mappa-api"))
    return create_app(engine, BearerTokens(verifier))


@pytest.fixture
async def client(engine: Engine, oidc_issuer: LocalIssuer) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(engine, oidc_issuer))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


def _data_routes(engine: Engine, issuer: LocalIssuer) -> list[str]:
    routes = [r for r in _app(engine, issuer).routes if isinstance(r, APIRoute)]
    paths = {r.path for r in routes if "GET" in (r.methods or set()) and r.path not in OPEN}
    return sorted(
        re.sub(r"{(\w+)}", lambda m: ARGUMENTS[m.group(1)], path) + QUERY.get(path, "")
        for path in paths
    )


async def test_every_data_route_refuses_a_caller_without_a_known_role(
    client: httpx.AsyncClient, engine: Engine, oidc_issuer: LocalIssuer
) -> None:
    """No token, forged headers, or a token whose only role the bus does not know: no data."""
    routes = _data_routes(engine, oidc_issuer)
    reason = {"X-Mappa-Reason": "checking tenancy"}
    forged = {"X-Mappa-User": "pat", "X-Mappa-Role": "police", **reason}
    landlord = {"Authorization": f"Bearer {oidc_issuer.token('pat', 'landlord')}", **reason}
    anonymous = {route: (await client.get(route)).status_code for route in routes}
    claimed = {route: (await client.get(route, headers=forged)).status_code for route in routes}
    unknown = {route: (await client.get(route, headers=landlord)).status_code for route in routes}
    assert len(routes) >= 6  # cases, a case, its timeline, as known at, changes, the audit trail
    assert set(anonymous.values()) == {401}, anonymous
    assert set(claimed.values()) == {401}, claimed
    assert set(unknown.values()) == {403}, unknown


async def test_only_liveness_answers_anyone(client: httpx.AsyncClient) -> None:
    """The liveness probe needs no identity."""
    assert (await client.get("/healthz")).status_code == 200
