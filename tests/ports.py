"""Free TCP ports on loopback, chosen at run time so that no test collides with another process
(another engineer's broker, a second test session) over a fixed number."""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

# Linux's default range for the local end of outgoing connections: ports a client socket may
# take at any moment, so a server that stops and starts again (the broker restart and database
# outage tests do) could find its port gone. Servers here listen below it.
_EPHEMERAL_DEFAULT = (32768, 60999)
_LOWEST = 20000
_random = random.SystemRandom()


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _EPHEMERAL_DEFAULT[0]


def _free_run(length: int) -> list[int]:
    """`length` consecutive ports, all free now, below the ephemeral range (at random)."""
    highest = max(_ephemeral_start() - length, _LOWEST + 1)
    for _ in range(1000):
        first = _random.randrange(_LOWEST, highest)
        sockets = [socket.socket() for _ in range(length)]
        try:
            for offset, each in enumerate(sockets):
                each.bind(("127.0.0.1", first + offset))
        except OSError:
            continue
        finally:
            for each in sockets:
                each.close()
        return list(range(first, first + length))
    raise RuntimeError(f"no {length} adjacent free ports on 127.0.0.1 in 1000 tries")


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that are free now."""
    ports: list[int] = []
    while len(ports) < count:
        (port,) = _free_run(1)
        if port not in ports:
            ports.append(port)
    return ports


def free_port() -> int:
    """A port nothing listens on now."""
    (port,) = _free_run(1)
    return port


def free_port_pair() -> int:
    """A port P such that P and P + 1 are both free now (a local broker listens on P and runs
    its KRaft controller on P + 1)."""
    first, _ = _free_run(2)
    return first


def port_from(variable: str) -> int | None:
    """The port the environment variable `variable` names, or None when it is not set: a
    developer pins a port to reuse a running server across sessions. Under pytest-xdist each
    worker takes its own port above it (gw0 the port named, gw1 ten above, ...): a server one
    worker started and stops at its end is never one the other is still using."""
    configured = os.environ.get(variable)
    if not configured:
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    return int(configured) + PINNED_PORT_STRIDE * int(worker or 0)


# Ports between two workers' pinned servers: a broker takes two (its controller's the next).
PINNED_PORT_STRIDE = 10
