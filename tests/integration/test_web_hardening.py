"""The HTTP apps against a running server, as a hostile page or client would try them: foreign
hosts and origins refused (also where a slash redirect would echo the host), the security
headers on every answer, errors included, and acknowledgements that are backdated or name a
long alert id."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from mappa_bus.alerts.board import StreamCaps
from mappa_bus.alerts.subscription import Recorded
from mappa_bus.alerts.web import web_server
from mappa_bus.picture.api import create_app
from mappa_bus.web.identity import DevelopmentHeaders
from mappa_bus.web.security import HEADERS
from tests.servers import plain_server, serving
from tests.unit.test_alert_subscription import RAISED_AT, make_ack, make_alert
from tests.unit.test_alert_web import ACK, USER, InMemoryBus, dev_app, one_case_store

FOREIGN = "attacker.example"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A picture store holding one case."""
    return one_case_store(tmp_path)


def _with_a_failing_route(app: FastAPI) -> FastAPI:
    @app.get("/fails")
    async def fails() -> None:
        raise RuntimeError("a bug")

    return app


@pytest.fixture
def bus() -> InMemoryBus:
    return InMemoryBus()


@pytest.fixture
def alerts_url(engine: Engine, bus: InMemoryBus) -> Iterator[str]:
    """`mappa alerts web` running, with one alert on its board."""
    app = dev_app(engine, bus)
    with serving(lambda port: web_server(_with_a_failing_route(app), port=port)) as url:
        bus.put(make_alert())
        yield url


@pytest.fixture
def picture_url(engine: Engine) -> Iterator[str]:
    """`mappa picture serve` running."""
    app = _with_a_failing_route(create_app(engine, DevelopmentHeaders()))
    with serving(lambda port: plain_server(app, port)) as url:
        yield url


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def _session(url: str) -> httpx.Cookies:
    """The cookies of a coordinator signed in (development identity) to the page at `url`
    (signed in afresh each time: a later test's server may have this one's port, and it would
    not know an earlier server's session)."""
    answer = httpx.get(
        f"{url}/auth/login", params={"user": USER, "role": "coordinator", "area": "kent"}
    )
    assert answer.status_code in (302, 303), answer.text
    return answer.cookies


def _get(
    url: str, path: str, host: str | None = None, cookies: httpx.Cookies | None = None
) -> httpx.Response:
    headers = {} if host is None else {"Host": host}
    return httpx.get(f"{url}{path}", headers=headers, cookies=cookies, follow_redirects=False)


@pytest.mark.parametrize(
    "path", ["/", "/session", "/alerts", "/events", "/api/cases/case-1", "/api/cases/"]
)
def test_the_alerts_page_refuses_a_foreign_host_on_every_route(alerts_url: str, path: str) -> None:
    """A page rebound to 127.0.0.1 under another name is refused, redirects included."""
    answer = _get(alerts_url, path, host=f"{FOREIGN}:{_port(alerts_url)}")
    assert answer.status_code == 400
    assert "location" not in answer.headers


@pytest.mark.parametrize("path", ["/cases/case-1", "/cases/", "/openapi.json", "/healthz"])
def test_the_case_api_refuses_a_foreign_host_on_every_route(picture_url: str, path: str) -> None:
    """The case API alone is refused under another name too, its slash redirect included."""
    answer = _get(picture_url, path, host=FOREIGN)
    assert answer.status_code == 400
    assert "location" not in answer.headers


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "[::1]"])
def test_loopback_names_are_answered_on_any_port(alerts_url: str, name: str) -> None:
    """The default hosts: this machine's loopback names, with or without a port."""
    cookies = _session(alerts_url)
    assert _get(alerts_url, "/session", host=name, cookies=cookies).status_code == 200
    with_port = f"{name}:{_port(alerts_url)}"
    assert _get(alerts_url, "/session", host=with_port, cookies=cookies).status_code == 200


def test_a_slash_redirect_names_only_an_allowed_host(alerts_url: str) -> None:
    """A redirect is still made for an allowed host, to that host."""
    answer = _get(alerts_url, "/api/cases/", host=f"localhost:{_port(alerts_url)}")
    assert answer.status_code == 307
    assert answer.headers["location"].startswith(f"http://localhost:{_port(alerts_url)}/")


def _acknowledge(url: str, alert_id: str, origin: str | None) -> httpx.Response:
    headers = ACK if origin is None else {**ACK, "Origin": origin}
    return httpx.post(
        f"{url}/alerts/{alert_id}/acknowledge", headers=headers, cookies=_session(url)
    )


def _until_on_board(url: str, alert_id: str) -> None:
    for _ in range(200):
        if any(
            row["id"] == alert_id
            for row in httpx.get(f"{url}/alerts", cookies=_session(url)).json()
        ):
            return
        time.sleep(0.01)
    raise AssertionError(f"alert {alert_id} never reached the board")


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        (f"http://{FOREIGN}", 403),
        ("null", 403),
        ("http://127.0.0.1:{port}", 202),
        (None, 202),  # not a browser page: the intent header is what is asked
    ],
    ids=["foreign", "opaque", "same-origin", "no-origin"],
)
def test_an_acknowledgement_from_a_foreign_origin_is_refused(
    alerts_url: str, bus: InMemoryBus, origin: str | None, status: int
) -> None:
    """Only a page of an allowed host (or a client that is no page) may acknowledge."""
    alert = make_alert()
    _until_on_board(alerts_url, alert.id)
    sent = None if origin is None else origin.format(port=_port(alerts_url))
    answer = _acknowledge(alerts_url, alert.id, sent)
    assert answer.status_code == status
    assert len(bus.published) == (1 if status == 202 else 0)


def _row(url: str, alert_id: str) -> dict[str, object]:
    [row] = [
        row
        for row in httpx.get(f"{url}/alerts", cookies=_session(url)).json()
        if row["id"] == alert_id
    ]
    return dict(row)


def _until_acknowledged(url: str, alert_id: str) -> dict[str, object]:
    for _ in range(200):
        if (row := _row(url, alert_id))["acknowledged_by"] is not None:
            return row
        time.sleep(0.01)
    raise AssertionError(f"alert {alert_id} was never shown acknowledged")


def test_a_backdated_acknowledgement_is_ignored_and_the_genuine_one_shown(
    alerts_url: str, bus: InMemoryBus
) -> None:
    """An acknowledgement dated before its alert does not mark it; acknowledging still can."""
    alert = make_alert()
    _until_on_board(alerts_url, alert.id)
    backdated = make_ack(alert, by="forger", minutes=-60)
    bus.put(Recorded(backdated, datetime.now(UTC)))
    answer = _acknowledge(alerts_url, alert.id, None)
    assert answer.status_code == 202
    assert _until_acknowledged(alerts_url, alert.id)["acknowledged_by"] == USER


def test_a_200_character_alert_id_is_acknowledged(alerts_url: str, bus: InMemoryBus) -> None:
    """An id the alert event allows, however long, is acknowledged (it once failed with 500)."""
    alert = make_alert().model_copy(update={"id": "x" * 200})
    bus.put(alert)
    _until_on_board(alerts_url, alert.id)
    answer = _acknowledge(alerts_url, alert.id, None)
    assert answer.status_code == 202
    assert _until_acknowledged(alerts_url, alert.id)["acknowledged_by"] == USER
    assert bus.published[0].data.alert_id == alert.id


async def test_200_concurrent_streams_leave_requests_answered_and_the_excess_refused(
    engine: Engine,
) -> None:
    """With 200 pages connecting at once to a server capped at 150 streams, 150 are served the
    board, 50 are refused with 503 and Retry-After, and a normal request is still answered."""
    bus = InMemoryBus()
    caps = StreamCaps(total=150, per_user=200)
    app = dev_app(engine, bus, caps=caps)
    alerts = [make_alert(f"e-{i}", at=RAISED_AT + timedelta(seconds=i)) for i in range(300)]
    with serving(lambda port: web_server(app, port=port)) as url:
        bus.put(*alerts)
        _until_on_board(url, alerts[-1].id)
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        async with (
            httpx.AsyncClient(
                base_url=url, limits=limits, timeout=60, cookies=_session(url)
            ) as client,
            AsyncExitStack() as streams,
        ):

            async def connect() -> httpx.Response:
                return await streams.enter_async_context(client.stream("GET", "/events"))

            pages = await asyncio.gather(*(connect() for _ in range(200)))
            session = await client.get("/session")
            served = [page for page in pages if page.status_code == 200]
            first = await anext(served[0].aiter_text())
        refused = [page for page in pages if page.status_code == 503]
        assert (len(served), len(refused)) == (150, 50)
        assert all(int(page.headers["retry-after"]) > 0 for page in refused)
        assert session.status_code == 200
        assert first.startswith("retry:")
        for _ in range(500):  # the pages have gone: their slots are given back
            if app.state.streams.open == 0:
                break
            await asyncio.sleep(0.01)
        assert app.state.streams.open == 0


def _assert_hardened(answer: httpx.Response) -> None:
    for name, value in HEADERS:
        assert answer.headers.get(name.decode()) == value.decode(), name


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/no-such-page", 404),
        ("/cases/no%20such", 422),
        ("/fails", 500),
        ("/api/no-such-route", 404),
        ("/api/cases/x", 422),
        ("/api/cases/case-1", 401),
    ],
)
def test_the_alerts_page_sends_the_security_headers_on_errors_too(
    alerts_url: str, path: str, status: int
) -> None:
    """Not found, invalid, refused or failed: every answer is hardened."""
    answer = _get(alerts_url, path)
    assert answer.status_code == status
    _assert_hardened(answer)


@pytest.mark.parametrize(
    ("path", "status"),
    [("/no-such-route", 404), ("/cases/x", 422), ("/fails", 500), ("/healthz", 200)],
)
def test_the_case_api_sends_the_security_headers_on_errors_too(
    picture_url: str, path: str, status: int
) -> None:
    """The case API on its own: the same headers, whatever the outcome."""
    answer = _get(picture_url, path)
    assert answer.status_code == status
    _assert_hardened(answer)


def test_a_refused_host_is_answered_with_the_headers(picture_url: str) -> None:
    """Even the refusal of a foreign host is hardened."""
    _assert_hardened(_get(picture_url, "/healthz", host=FOREIGN))


def test_the_case_api_serves_no_docs_page_but_its_openapi_document(picture_url: str) -> None:
    """No Swagger UI from a public CDN on the origin of case data; the document stays."""
    assert _get(picture_url, "/docs").status_code == 404
    assert _get(picture_url, "/redoc").status_code == 404
    assert _get(picture_url, "/openapi.json").json()["info"]["title"].startswith("MAPPA")
