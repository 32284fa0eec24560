"""What writing a catch-up's per-event rows costs, per row, three ways (issue 17): the sqlite3
module's `executemany` of the same SQL and values (the ceiling: the database's own work),
`insert_rows` (the stores' path: the statement compiled once, the values handed over as the
driver takes them), and SQLAlchemy's executemany of the same insert (the stores' path before).

The rows are Kent's simulated 2020-21: every event's applied id (three columns, no conversion)
and its timeline row (four, of which the time goes through SQLite's datetime conversion),
written 2,000 a transaction into a fresh file with the store's pragmas; the ways take turns.

    .venv/bin/python -m benchmarks.store_writes [--events 40000] [--runs 5]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable
from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection

from benchmarks.common import machine, median
from mappa_bus.case.fold import entry_of
from mappa_bus.picture.schema import timeline_table
from mappa_bus.projection.database import create_tables, insert_rows, open_engine
from mappa_bus.projection.offsets import metadata
from mappa_bus.projection.seen import applied_table, time_key
from mappa_bus.projection.timelines import timeline_row
from mappa_bus.simulator.options import SimulationOptions
from mappa_bus.simulator.run import all_events

BATCH = 2_000

Rows = list[dict[str, Any]]
Write = Callable[[Connection, Table, Rows], None]


def kent_rows(events: int) -> dict[str, Rows]:
    """The applied-id and timeline rows of Kent's first `events` events."""
    applied: Rows = []
    timeline: Rows = []
    for event in itertools.islice(all_events(SimulationOptions()), events):
        applied.append(
            {"projection": "picture", "event_id": event.id, "time": time_key(event.time)}
        )
        timeline.append(timeline_row(event.case_id, entry_of(event, event.time)))
    return {"applied ids": applied, "timeline rows": timeline}


def with_sqlite3(connection: Connection, table: Table, rows: Rows) -> None:
    """The ceiling: sqlite3's own executemany, the values already as SQLite stores them."""
    names = list(rows[0])
    statement = sqlite.insert(table).values({name: bindparam(name) for name in names})
    sql = str(statement.compile(dialect=connection.dialect))
    converted = [tuple(_as_stored(row[name]) for name in names) for row in rows]
    cursor = connection.connection.driver_connection
    assert cursor is not None
    started = time.perf_counter()
    cursor.executemany(sql, converted)
    _elapsed.append(time.perf_counter() - started)


def with_insert_rows(connection: Connection, table: Table, rows: Rows) -> None:
    started = time.perf_counter()
    insert_rows(connection, table, rows)
    _elapsed.append(time.perf_counter() - started)


def with_sqlalchemy(connection: Connection, table: Table, rows: Rows) -> None:
    started = time.perf_counter()
    connection.execute(table.insert(), rows)
    _elapsed.append(time.perf_counter() - started)


# The seconds each write took (the ceiling's conversion of its values is not counted).
_elapsed: list[float] = []


def _as_stored(value: object) -> object:
    # SQLAlchemy's SQLite DateTime stores naive UTC text; the ceiling is handed it ready.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if hasattr(value, "strftime") else value


WAYS: Mapping[str, Write] = {
    "sqlite3 executemany (ceiling)": with_sqlite3,
    "insert_rows": with_insert_rows,
    "SQLAlchemy executemany": with_sqlalchemy,
}


def batches(rows: Rows) -> Iterator[Rows]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def one_run(folder: Path, table: Table, rows: Rows, write: Write) -> float:
    """Microseconds a row, the rows written a batch a transaction into a fresh store."""
    engine = open_engine(f"sqlite:///{folder / f'{time.monotonic_ns()}.db'}")
    create_tables(engine, metadata, [table])
    _elapsed.clear()
    for batch in batches(rows):
        with engine.begin() as connection:
            write(connection, table, batch)
    engine.dispose()
    return sum(_elapsed) / len(rows) * 1_000_000


def measure(rows: Mapping[str, Rows], runs: int) -> dict[tuple[str, str], float]:
    """The median microseconds a row of each (table, way), the ways taking turns."""
    tables = {"applied ids": applied_table, "timeline rows": timeline_table}
    times: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(runs):
            for what, table in tables.items():
                for way, write in WAYS.items():
                    micros = one_run(Path(folder), table, rows[what], write)
                    times.setdefault((what, way), []).append(micros)
    return {key: median(values) for key, values in times.items()}


def main(events: int, runs: int) -> None:
    rows = kent_rows(events)
    figures = measure(rows, runs)
    table = RichTable(title=f"Store writes, us a row (median of {runs}; {machine()})")
    for column in ("rows", "way", "us a row", "ratio to the ceiling"):
        table.add_column(column, justify="right" if column.startswith(("us", "ratio")) else "left")
    for what in rows:
        ceiling = figures[(what, next(iter(WAYS)))]
        for way in WAYS:
            micros = figures[(what, way)]
            table.add_row(
                f"{what} ({len(rows[what]):,})", way, f"{micros:.2f}", f"{micros / ceiling:.2f}"
            )
    Console().print(table)


def _arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=5)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = _arguments()
    main(arguments.events, arguments.runs)
