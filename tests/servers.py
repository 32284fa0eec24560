"""Apps served for real by uvicorn on a free port, in a thread with its own event loop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from tests.ports import free_port


def plain_server(app: ASGIApp, port: int) -> uvicorn.Server:
    """uvicorn serving `app` on loopback `port`, as `mappa picture serve` does."""
    return uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))


@contextmanager
def serving(server_on: Callable[[int], uvicorn.Server]) -> Iterator[str]:
    """The server `server_on(port)` makes, running until the end of the block; its address."""
    port = free_port()
    server = server_on(port)
    thread = threading.Thread(target=server.run, name=f"server-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "the server did not start"
            assert time.monotonic() < deadline, "the server took too long to start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
