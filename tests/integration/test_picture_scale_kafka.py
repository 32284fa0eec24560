"""Scaling out: two case-picture services in one consumer group split the partitions, whole
cases to each, and together leave the store one service leaves alone."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mappa_bus.adapters.publisher import publish_all
from mappa_bus.agencies import Agency
from mappa_bus.connection import KafkaConnection
from mappa_bus.picture.service import catch_up, open_projection
from mappa_bus.picture.store import PROJECTION, load_pictures
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.offsets import load_offsets
from tests.area_year import small_area_year
from tests.stores import applied

pytestmark = pytest.mark.kafka

MAPPA = Path(sys.executable).with_name("mappa")
# Each agency's topic and the erasures topic, six partitions each.
FOLDED_TOPICS = len(Agency) + 1


def _assigned(log: Path) -> tuple[set[int], int]:
    """The partition numbers a service was given last, and how many partitions, from its JSON
    log."""
    latest: tuple[set[int], int] = (set(), 0)
    for line in log.read_text().splitlines():
        with_fields = json.loads(line) if line.startswith("{") else {}
        if with_fields.get("event") == "partitions assigned":
            latest = (set(with_fields["partition_numbers"]), with_fields["partitions"])
    return latest


def _settled(assignments: list[tuple[set[int], int]]) -> bool:
    """Whether the members' latest assignments are the group's final one: each member has
    some, no partition number twice, every partition of every topic the service folds (each
    agency's and the erasures) between them (earlier logs may show a first member's all)."""
    numbers = [member for member, _ in assignments]
    together = set().union(*numbers)
    return (
        all(numbers)
        and len(together) == sum(map(len, numbers)) == 6
        and sum(count for _, count in assignments) == 6 * FOLDED_TOPICS
    )


def _run_untilapplied(
    command: list[str], env: dict[str, str], logs: list[Path], url: str, total: int
) -> None:
    """One service per log, all in one group, until the store has applied `total` records and
    the group has settled (every member's latest assignment, together, all partitions once);
    then killed: the store is complete, and nothing is left to test in a polite leave."""
    services: list[Any] = []
    for log in logs:
        with log.open("w") as sink:
            services.append(subprocess.Popen(command, env=env, stdout=sink, stderr=sink))
    try:
        deadline = time.monotonic() + 180
        while not (applied(url) == total and _settled([_assigned(log) for log in logs])):
            assert time.monotonic() < deadline, _tails(logs)
            for service, log in zip(services, logs, strict=True):
                assert service.poll() is None, (
                    f"{log.name} exited {service.returncode}: " + (log.read_text()[-4000:])
                )
            time.sleep(0.1)
    finally:
        for service in services:
            service.send_signal(signal.SIGKILL)
            service.wait()


def _tails(logs: list[Path]) -> str:
    return "\n".join(f"{log.name}: {log.read_text()[-2000:]}" for log in logs)


async def test_two_instances_split_the_partitions_and_make_the_same_store(
    service_env: dict[str, str],
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
) -> None:
    """Both members get partitions, none twice, each partition number of every topic to one
    member; the shared store ends equal to a single catch-up's."""
    stream = small_area_year()
    await publish_all(lambda agency: kafka_as(agency.value), stream, namespace=namespace)
    reference = open_projection(f"sqlite:///{tmp_path / 'one.db'}", namespace)
    await catch_up(kafka_as("picture"), reference)

    shared = f"sqlite:///{tmp_path / 'two.db'}"
    env = service_env
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    command = [str(MAPPA), "picture", "run", "--namespace", namespace, "--database", shared]
    _run_untilapplied(command, env, logs, shared, len(stream))

    (first, first_count), (second, second_count) = (_assigned(log) for log in logs)
    engine = open_engine(shared)
    with engine.connect() as connection:
        pictures, offsets = load_pictures(connection), load_offsets(connection, PROJECTION)
    assert first
    assert second
    assert not first & second  # whole cases: a partition number belongs to one member
    assert first | second == set(range(6))
    # Each partition number on every topic it folds, to one member.
    assert (first_count, second_count) == (
        FOLDED_TOPICS * len(first),
        FOLDED_TOPICS * len(second),
    )
    assert offsets == reference.offsets
    assert pictures == reference.stored_pictures()
    # Topics are `mappa topics create`'s to make: a member asking to create them was told, ten
    # times at every start on this secured broker, that it may not.
    assert [log.name for log in logs if "Failed to create topic" in log.read_text()] == []
