"""Scale-out: the case-picture service as one and as two instances of its consumer group
(`mappa picture run`, each its own process, sharing one store as deployed: a fresh PostgreSQL
database, or one SQLite file when there is no PostgreSQL), throughput until the group has
applied every record on the agency topics.

    .venv/bin/python -m benchmarks.scale_out [--events 200000]

Each configuration reads its own namespace holding the same events (a consumer group per
namespace, so no instance ever waits for a dead member of another run). The clock starts at the
first commit any instance makes (start-up and the group's first join are outside it) and stops
when, for every partition, some instance has stored its end; the records applied before the
clock started do not count. The instances are killed afterwards (SIGKILL: a member leaving by
SIGTERM takes FastStream about 30 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from benchmarks.common import (
    delete_namespaces,
    fresh_database,
    mappa_command,
    postgres_url,
    quiet_environment,
)
from benchmarks.consume import agency_topics, publish_simulated
from mappa_bus.cli_common import command_settings
from mappa_bus.picture.store import PROJECTION
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.offsets import Position, load_offsets
from mappa_bus.projection.progress import end_offsets
from mappa_bus.settings import Settings

POLL_SECONDS = 0.05
TIMEOUT_SECONDS = 600


@contextlib.contextmanager
def instances(
    namespace: str, url: str, count: int, log: Path
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`mappa picture run` `count` times on one store, for the duration of the block, then
    killed; what they say goes to `log`."""
    command = mappa_command(
        "picture", "run", "--namespace", namespace, "--database", url, "--metrics-port", "0"
    )
    with log.open("ab") as output:
        processes = [
            subprocess.Popen(
                command, env=quiet_environment(), stdout=output, stderr=subprocess.STDOUT
            )
            for _ in range(count)
        ]
        try:
            yield processes
        finally:
            for process in processes:
                process.kill()
            for process in processes:
                process.wait()


def stored_offsets(engine: Engine) -> dict[Position, int]:
    try:
        with engine.connect() as connection:
            return load_offsets(connection, PROJECTION)
    except (OperationalError, ProgrammingError):  # no instance has made the schema yet
        return {}


def applied(ends: Mapping[Position, int], store: dict[Position, int]) -> int:
    """Records the group has applied, as the shared store has them."""
    return sum(min(end, store.get(position, 0)) for position, end in ends.items())


async def rate(settings: Settings, namespace: str, count: int, url: str, folder: Path) -> float:
    """Records per second that `count` instances sharing the store at `url` apply together,
    to lag 0."""
    ends = await end_offsets(settings.connection(), agency_topics(namespace))
    total = sum(ends.values())
    log = folder / f"{namespace}.log"
    engine = open_engine(url)
    try:
        with instances(namespace, url, count, log) as processes:
            started: tuple[float, int] | None = None
            deadline = time.perf_counter() + TIMEOUT_SECONDS
            while time.perf_counter() < deadline:
                if failed := [p.args for p in processes if p.poll() is not None]:
                    said = log.read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"an instance stopped: {failed}\n{said}")
                done = applied(ends, stored_offsets(engine))
                now = time.perf_counter()
                if started is None and done > 0:
                    started = (now, done)
                if started is not None and done >= total:
                    return (total - started[1]) / (now - started[0])
                await asyncio.sleep(POLL_SECONDS)
    finally:
        engine.dispose()
    raise TimeoutError(f"{count} instances did not catch up in {TIMEOUT_SECONDS} s")


@contextlib.contextmanager
def shared_store(folder: Path, name: str) -> Iterator[str]:
    """A fresh store the instances share: PostgreSQL when there is one, else a SQLite file."""
    server = postgres_url()
    if server is None:
        yield f"sqlite:///{folder / name}.db"
        return
    with fresh_database(server) as url:
        yield url


@dataclass(frozen=True)
class ScaleOut:
    """Records per second of one instance and of two, and the store they shared."""

    single: float
    double: float
    store: str


async def measure(settings: Settings, one: str, two: str) -> ScaleOut:
    """One instance on namespace `one` and two on `two` (which hold the same events)."""
    with tempfile.TemporaryDirectory() as folder:
        with shared_store(Path(folder), one) as url:
            single = await rate(settings, one, 1, url, Path(folder))
        with shared_store(Path(folder), two) as url:
            double = await rate(settings, two, 2, url, Path(folder))
            store = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    return ScaleOut(single, double, store)


async def main(events: int) -> None:
    settings = command_settings()
    one = await publish_simulated(settings, events)
    two = await publish_simulated(settings, events)
    try:
        result = await measure(settings, one, two)
    finally:
        await delete_namespaces(settings.connection(), [one, two])
    print(
        f"{events:,} events, one shared {result.store} store: one instance "
        f"{result.single:,.0f} records/s, two {result.double:,.0f} records/s "
        f"({result.double / result.single:.2f}x)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events))
