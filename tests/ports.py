"""Free TCP ports on loopback, chosen at run time so that no test collides with another process
(another engineer's broker, a second test session) over a fixed number."""

from __future__ import annotations

import os
import socket


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that are free now (the OS's choice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for each in sockets:
            each.bind(("127.0.0.1", 0))
        return [each.getsockname()[1] for each in sockets]
    finally:
        for each in sockets:
            each.close()


def free_port() -> int:
    """A port nothing listens on now."""
    (port,) = free_ports(1)
    return port


def free_port_pair() -> int:
    """A port P such that P and P + 1 are both free now (a local broker listens on P and runs
    its KRaft controller on P + 1)."""
    for _ in range(100):
        (port,) = free_ports(1)
        with socket.socket() as first, socket.socket() as second:
            try:
                first.bind(("127.0.0.1", port))
                second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no two adjacent free ports on 127.0.0.1 in 100 tries")


def port_from(variable: str) -> int | None:
    """The port the environment variable `variable` names, or None when it is not set: a
    developer pins a port to reuse a running server across sessions."""
    configured = os.environ.get(variable)
    return int(configured) if configured else None
