"""Inserts into the reporting store's two per-event tables under each key considered (issue 17,
2026-12-06): the applied ids and the partnership contributions, a batch of 2,000 events a
transaction, as plain SQLite with the store's pragmas, without the rest of the fold.

    .venv/bin/python -m benchmarks.insert_keys [--events 500000] [--cases 20000]

The events come in about the order of their time (as a log is read), each of a case drawn at
random, with a random (uuid) id. Each key's tables are written into a fresh file; the CPU seconds
of the inserts and the file's size are printed. What the keys are:

- `id`: both by event id (the store before);
- `case`: both by (case, event id);
- `time`: both by (time, event id): every insert near the end, but nothing finds a row from an
  id alone (what a withdrawal names);
- `time + case index`: `time`, with an index by (case, event id) on the contributions;
- `id + time` (kept): the applied ids by id with the event's time beside it, the contributions
  by (time, event id), WITHOUT ROWID;
- `id + time, rowid`: the same, the contributions in a table with rowids.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

BATCH = 2_000
# The same contribution for every event, as bound values (beside each key's own).
CONTRIBUTION: dict[str, str | int] = {
    "partition": 0,
    "area": "kent",
    "year": "2024-04-01",
    "agency": "probation",
    "bucket": 3,
    "held": 0,
    "present": "",
}
CONTRIBUTION_COLUMNS = (
    "partition int, area text, year text, agency text, bucket int, held int, present text"
)

# Each key: the tables' definitions, and the applied row and contribution row of an event
# (id, case, time) as the inserts' parameters.
Event = tuple[str, str, int]
KEYS: dict[str, tuple[list[str], str, str]] = {
    "id": (
        [
            "create table a (projection text, event_id text, primary key (projection, event_id))"
            " without rowid",
            f"create table k (event_id text primary key, case_id text, {CONTRIBUTION_COLUMNS})"
            " without rowid",
        ],
        "insert into a values ('reporting', :id)",
        "insert into k values (:id, :case,"
        " :partition, :area, :year, :agency, :bucket, :held, :present)",
    ),
    "case": (
        [
            "create table a (projection text, case_id text, event_id text,"
            " primary key (projection, case_id, event_id)) without rowid",
            f"create table k (case_id text, event_id text, {CONTRIBUTION_COLUMNS},"
            " primary key (case_id, event_id)) without rowid",
        ],
        "insert into a values ('reporting', :case, :id)",
        "insert into k values (:case, :id,"
        " :partition, :area, :year, :agency, :bucket, :held, :present)",
    ),
    "time": (
        [
            "create table a (projection text, time int, event_id text,"
            " primary key (projection, time, event_id)) without rowid",
            f"create table k (time int, event_id text, case_id text, {CONTRIBUTION_COLUMNS},"
            " primary key (time, event_id)) without rowid",
        ],
        "insert into a values ('reporting', :time, :id)",
        "insert into k values (:time, :id, :case,"
        " :partition, :area, :year, :agency, :bucket, :held, :present)",
    ),
}
KEYS["time + case index"] = (
    [*KEYS["time"][0], "create index k_case on k (case_id, event_id)"],
    *KEYS["time"][1:],
)
_APPLIED_BY_ID = (
    "create table a (projection text, event_id text, time int,"
    " primary key (projection, event_id)) without rowid"
)
_FILED = (
    f"create table k (time int, event_id text, case_id text, {CONTRIBUTION_COLUMNS},"
    " primary key (time, event_id))"
)
KEYS["id + time (kept)"] = (
    [_APPLIED_BY_ID, f"{_FILED} without rowid"],
    "insert into a values ('reporting', :id, :time)",
    KEYS["time"][2],
)
KEYS["id + time, rowid"] = ([_APPLIED_BY_ID, _FILED], *KEYS["id + time (kept)"][1:])


def events(count: int, cases: int) -> list[Event]:
    """`count` events of `cases` cases in about the order of time (within an hour of a minute
    apart), the same on every call."""
    draw = random.Random(1)  # noqa: S311 (the same history every run, not a secret)
    case_ids = [f"KEN-2024-{n:06d}" for n in range(cases)]
    start = 1_700_000_000_000_000
    return [
        (str(uuid.UUID(int=draw.getrandbits(128), version=4)), draw.choice(case_ids), moment)
        for n in range(count)
        for moment in [start + n * 60_000_000 + draw.randrange(3_600_000_000)]
    ]


def measure(key: str, history: list[Event], folder: Path) -> tuple[float, int]:
    """The CPU seconds of inserting `history` under `key`, a batch a transaction, and the
    file's size in bytes after."""
    tables, applied, contribution = KEYS[key]
    path = folder / f"{key}.db"
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "secure_delete=ON"):
        connection.execute(f"PRAGMA {pragma}")
    for table in tables:
        connection.execute(table)
    rows: list[dict[str, str | int]] = [
        {"id": event_id, "case": case, "time": at, **CONTRIBUTION} for event_id, case, at in history
    ]
    started = time.process_time()
    for first in range(0, len(rows), BATCH):
        batch = rows[first : first + BATCH]
        connection.execute("BEGIN")
        by_id: list[dict[str, str | int]] = sorted(batch, key=lambda row: str(row["id"]))
        by_time: list[dict[str, str | int]] = sorted(batch, key=lambda row: int(row["time"]))
        connection.executemany(applied, by_id)
        connection.executemany(contribution, by_time)
        connection.execute("COMMIT")
    spent = time.process_time() - started
    connection.close()
    return spent, path.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--cases", type=int, default=20_000)
    arguments = parser.parse_args()
    history = events(arguments.events, arguments.cases)
    print(f"{arguments.events:,} events of {arguments.cases:,} cases, {BATCH:,} a transaction")
    print("| key | CPU s | file MiB |")
    print("| --- | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        for key in KEYS:
            spent, size = measure(key, history, Path(folder))
            print(f"| {key} | {spent:.1f} | {size / 2**20:.0f} |")


if __name__ == "__main__":
    main()
