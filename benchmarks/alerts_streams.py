"""How long a normal request to the alerts page takes while many pages stream from it.

    .venv/bin/python -m benchmarks.alerts_streams [--streams 200] [--alerts 1000]

The page (`mappa alerts web`, as served) runs in a process of its own, its board holding
`--alerts` alerts (about 390 bytes each as an event), fed from memory: no broker is needed.
This process measures `GET /session` alone, then while `--streams` pages connect at once (each
is sent the whole board, then waits for changes), then with them all open and idle.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from benchmarks.common import machine
from mappa_bus.access.policy import ViewerRole
from mappa_bus.alerts.board import StreamCaps
from mappa_bus.alerts.model import AlertAcknowledged, AlertData, Severity, raised
from mappa_bus.alerts.subscription import Recorded
from mappa_bus.alerts.web import create_web_app, web_server
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.vocabulary import Level
from mappa_bus.picture.api import case_api_for
from mappa_bus.picture.schema import create_schema
from mappa_bus.projection.database import open_engine
from mappa_bus.web.identity import DevelopmentHeaders
from mappa_bus.web.signin import WebClient

SAMPLES = 20


def _alerts(count: int) -> list[Recorded]:
    start = datetime.now(UTC) - timedelta(days=1)
    found = []
    for i in range(count):
        data = AlertData(
            rule="released-from-custody",
            severity=Severity.URGENT,
            audience=(ViewerRole.COORDINATOR,),
            case_id=f"case-{i:05d}",
            area=Area.KENT,
            level=Level.THREE,
            summary="Released from custody today; licence conditions apply." * 2,
            trigger_event_id=f"event-{i}",
        )
        alert = raised(data, f"event-{i}", start + timedelta(seconds=i))
        found.append(Recorded(alert, alert.time))
    return found


def _serve(port: int, alerts: int, streams: int, database: str) -> None:
    items = _alerts(alerts)

    async def feed() -> AsyncIterator[Recorded]:
        for item in items:
            yield item
        await asyncio.Event().wait()  # then no more, as a quiet topic

    async def publish(_ack: AlertAcknowledged) -> None:
        return None

    engine = open_engine(database)
    create_schema(engine)
    app = create_web_app(
        None,
        "bench",
        case_api_for(engine),
        DevelopmentHeaders(),
        client=WebClient(secure_cookie=False),
        feed=feed,
        publish=publish,
        caps=StreamCaps(total=streams, per_user=streams),
    )
    web_server(app, port=port).run()


async def _timed(client: httpx.AsyncClient) -> float:
    started = time.perf_counter()
    answer = await client.get("/session")
    answer.raise_for_status()
    return (time.perf_counter() - started) * 1000


async def _samples(client: httpx.AsyncClient) -> list[float]:
    return [await _timed(client) for _ in range(SAMPLES)]


async def _page(client: httpx.AsyncClient, opened: asyncio.Event, done: asyncio.Event) -> int:
    """One page: connect, read the board to the feed's state, then stay until `done`."""
    async with client.stream("GET", "/events") as response:
        received = 0
        async for chunk in response.aiter_bytes():
            received += len(chunk)
            if b"event: status" in chunk:
                break
        opened.set()
        await done.wait()
        return received


async def _signed_in(url: str) -> httpx.Cookies:
    """A coordinator's session (development identity) on the page at `url`."""
    async with httpx.AsyncClient(base_url=url) as client:
        answer = await client.get(
            "/auth/login", params={"user": "bench", "role": "coordinator", "area": "national"}
        )
        return answer.cookies


async def _measure(url: str, streams: int, alerts: int) -> dict[str, list[float]]:
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    cookies = await _signed_in(url)
    async with (
        httpx.AsyncClient(base_url=url, timeout=120, cookies=cookies) as probe,
        httpx.AsyncClient(base_url=url, limits=limits, timeout=120, cookies=cookies) as pages,
    ):
        figures = {"no stream open": await _samples(probe)}
        done = asyncio.Event()
        opened = [asyncio.Event() for _ in range(streams)]
        tasks = [asyncio.create_task(_page(pages, opened[i], done)) for i in range(streams)]
        connecting = []
        while not all(event.is_set() for event in opened):
            connecting.append(await _timed(probe))
        figures[f"{streams} pages connecting at once"] = connecting
        figures[f"{streams} pages open, idle"] = await _samples(probe)
        done.set()
        received = await asyncio.gather(*tasks)
        assert min(received) > alerts * 300, "a page was not sent the whole board"
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--alerts", type=int, default=1000)
    options = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    with tempfile.TemporaryDirectory() as directory:
        database = f"sqlite:///{Path(directory) / 'pictures.db'}"
        server = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(port, options.alerts, options.streams, database), daemon=True
        )
        server.start()
        try:
            url = f"http://127.0.0.1:{port}"
            asyncio.run(_until_up(url, options.alerts))
            figures = asyncio.run(_measure(url, options.streams, options.alerts))
        finally:
            server.terminate()
            server.join(10)
    table = Table(
        title=f"GET /session with a board of {options.alerts:,} alerts", caption=machine()
    )
    for column in ("while", "requests", "median ms", "max ms"):
        table.add_column(column)
    for what, samples in figures.items():
        median = statistics.median(samples)
        table.add_row(what, str(len(samples)), f"{median:.1f}", f"{max(samples):.1f}")
    Console().print(table)


async def _until_up(url: str, alerts: int) -> None:
    """Until the page answers with its whole board."""
    async with httpx.AsyncClient(base_url=url) as client:
        for _ in range(1200):
            try:
                if not client.cookies:
                    client.cookies = await _signed_in(url)
                if len((await client.get("/alerts")).json()) >= alerts:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit("the alerts page did not start")


if __name__ == "__main__":
    main()
