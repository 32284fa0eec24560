"""The operations port of a service process: `/healthz`, `/readyz` and `/metrics`, served by
uvicorn inside the service's own event loop.

Inside the loop on purpose: a liveness probe answered by that loop proves the loop turns (a
fold that never returns, or a blocked loop, fails it), which a thread of its own would not.
The price is that a request waits for the batch being folded, a fraction of a second: give
the probes a timeout of a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
import uvicorn
from faststream import FastStream
from faststream.kafka import KafkaBroker
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from mappa_bus.operations.metrics import CONTENT_TYPE, exposition
from mappa_bus.web.security import SecurityHeaders

log = structlog.get_logger(__name__)

# Every interface: the kubelet's probes and Prometheus's scrapes come to the pod's address.
# The endpoints say nothing about anyone (docs/operations.md), so nothing needs keeping in.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104

CHECK_SECONDS = 3.0

# A readiness check: None when ready, else why not (no URL or password: the answer is public).
Check = Callable[[], Awaitable[str | None]]

# ASGI's own types (as asgiref spells them), without a dependency for three aliases.
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"


def operations_app(checks: Mapping[str, Check]) -> AsgiApp:
    """The ASGI application: `checks` by name decide readiness, all of them at once. Every
    answer carries the bus's security headers; any Host is answered (the probes and scrapes
    come to the pod's address, and the answers say nothing about anyone)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; websockets are not served
        response = await _route(str(scope["method"]), str(scope["path"]), checks)
        headers = [(b"content-type", response.content_type.encode())]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})

    return SecurityHeaders(app)


async def _route(method: str, path: str, checks: Mapping[str, Check]) -> Response:
    if method != "GET":
        return Response(405, b'{"status":"method not allowed"}')
    if path == "/healthz":
        return Response(200, b'{"status":"ok"}')
    if path == "/readyz":
        failing = await _failing(checks)
        body = orjson.dumps({"status": "not ready" if failing else "ready", "failing": failing})
        return Response(503 if failing else 200, body)
    if path == "/metrics":
        return Response(200, exposition(), CONTENT_TYPE)
    return Response(404, b'{"status":"not found"}')


async def _failing(checks: Mapping[str, Check]) -> dict[str, str]:
    names = list(checks)
    answers = await asyncio.gather(*(_bounded(checks[name]) for name in names))
    return {name: answer for name, answer in zip(names, answers, strict=True) if answer}


async def _bounded(check: Check) -> str | None:
    try:
        return await asyncio.wait_for(check(), CHECK_SECONDS)
    except TimeoutError:
        return f"no answer within {CHECK_SECONDS:g} s"


def broker_check(broker: KafkaBroker) -> Check:
    """Ready while the broker's subscribers consume (not before they start nor once they are
    stopping) and the broker answers a metadata request."""

    async def check() -> str | None:
        if not broker.subscribers or not all(s.running for s in broker.subscribers):
            return "not consuming"
        if not await broker.ping(timeout=CHECK_SECONDS - 0.5):
            return "the broker does not answer"
        return None

    return check


def store_check(engine: Engine) -> Check:
    """Ready while the store answers `SELECT 1` (in a thread: a store that hangs must not
    hang the loop with it)."""

    def select_one() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    async def check() -> str | None:
        try:
            await asyncio.to_thread(select_one)
        except SQLAlchemyError as error:
            cause = getattr(error, "orig", None) or error
            return f"the store does not answer: {type(cause).__name__}"
        return None

    return check


def flag_check(ready: Callable[[], bool], reason: str) -> Check:
    """Ready while `ready()` is true."""

    async def check() -> str | None:
        return None if ready() else reason

    return check


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: SIGTERM belongs to the FastStream app, which
    drains the batch in hand and then stops this server last."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serving(
    port: int, checks: Mapping[str, Check], host: str = ALL_INTERFACES
) -> AsyncIterator[int]:
    """Serve the endpoints on `host`:`port` (0: any free port) while the block runs; yield the
    port. The socket is bound here, so that a port in use raises OSError at once."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    config = uvicorn.Config(
        operations_app(checks),
        interface="asgi3",
        lifespan="off",
        # Probes every few seconds would drown the service's own log.
        access_log=False,
        log_config=None,
        # A scraper's idle keep-alive connection must not hold the process's exit up.
        timeout_graceful_shutdown=2,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    bound = int(sock.getsockname()[1])
    log.info(
        "operations endpoints served",
        port=bound,
        url=f"http://127.0.0.1:{bound}/readyz",
        paths=["/healthz", "/readyz", "/metrics"],
    )
    try:
        yield bound
    finally:
        server.should_exit = True
        await task
        sock.close()


def attach(
    app: FastStream, port: int, checks: Mapping[str, Check], host: str = ALL_INTERFACES
) -> None:
    """Serve the endpoints from before the broker starts (liveness answers during start-up)
    until after it has stopped (it answers while the last batch drains); port 0 serves none."""
    if not port:
        return
    stack = contextlib.AsyncExitStack()

    @app.on_startup
    async def start_serving() -> None:
        await serve_if_free(stack, port, checks, host)

    @app.after_shutdown
    async def stop_serving() -> None:
        await stack.aclose()


async def serve_if_free(
    stack: contextlib.AsyncExitStack, port: int, checks: Mapping[str, Check], host: str
) -> int | None:
    """Serve the endpoints on `stack` and return the port, or warn and return None when the
    port is taken: then another member on this machine has it (`mappa picture run` started
    twice, as the runbook scales out on one machine), and this one had better consume without
    endpoints than not at all. In a pod the port is the container's own."""
    try:
        return await stack.enter_async_context(serving(port, checks, host))
    except OSError as error:
        log.warning("operations port unavailable; no endpoints", port=port, error=str(error))
        return None


def attach_consumer(
    app: FastStream, port: int, *, engine: Engine, more: Mapping[str, Check] | None = None
) -> None:
    """The endpoints of a consumer service: ready while it consumes, its broker answers and
    its store answers (and whatever `more` asks)."""
    broker = app.broker
    if not isinstance(broker, KafkaBroker):
        raise TypeError("a consumer service runs on one Kafka broker")
    checks = {"broker": broker_check(broker), "store": store_check(engine)}
    attach(app, port, {**checks, **(more or {})})
