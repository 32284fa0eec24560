"""Every route of the case API, found from the app itself (so a new route is covered the day it
is added), refuses a caller who names no role, and one whose role is unknown; only the liveness
probe and the API's own description answer anyone."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import Engine

from mappa_bus.picture.api import create_app
from mappa_bus.picture.store import create_schema
from mappa_bus.projection.database import open_engine

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


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


def _data_routes(engine: Engine) -> list[str]:
    routes = [r for r in create_app(engine).routes if isinstance(r, APIRoute)]
    paths = {r.path for r in routes if "GET" in (r.methods or set()) and r.path not in OPEN}
    return sorted(
        re.sub(r"{(\w+)}", lambda m: ARGUMENTS[m.group(1)], path) + QUERY.get(path, "")
        for path in paths
    )


async def test_every_data_route_refuses_a_caller_without_a_role(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    routes = _data_routes(engine)
    anonymous = {route: (await client.get(route)).status_code for route in routes}
    unknown = {
        route: (
            await client.get(
                route,
                headers={
                    "X-Mappa-User": "pat",
                    "X-Mappa-Role": "landlord",
                    "X-Mappa-Reason": "checking tenancy",
                },
            )
        ).status_code
        for route in routes
    }
    assert len(routes) >= 6  # cases, a case, its timeline, as known at, changes, the audit trail
    assert set(anonymous.values()) == {401}, anonymous
    assert set(unknown.values()) <= {401, 403}, unknown


async def test_only_liveness_answers_anyone(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
