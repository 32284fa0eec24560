"""An SQLite store's engine (`open_engine`): what SQLite itself holds does not grow with the
number of different statements a long run makes (a batch's `IN` list of case ids is a new
statement for each length)."""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import pytest
import sqlalchemy as sa

from mappa_bus.projection.database import open_engine

MiB = 2**20


def _sqlite_heap() -> ctypes.CDLL:
    # Python's sqlite3 module links the system's library, so its allocations are counted here.
    name = ctypes.util.find_library("sqlite3")
    if name is None:
        pytest.skip("no shared SQLite library to read the heap of")
    library = ctypes.CDLL(name)
    library.sqlite3_memory_used.restype = ctypes.c_int64
    return library


def test_statements_of_every_length_leave_sqlites_heap_as_it_was(tmp_path: Path) -> None:
    library = _sqlite_heap()
    metadata = sa.MetaData()
    table = sa.Table("cases", metadata, sa.Column("case_id", sa.String, primary_key=True))
    engine = open_engine(f"sqlite:///{tmp_path / 'store.db'}")
    metadata.create_all(engine)
    with engine.connect() as connection:
        connection.execute(sa.select(table).where(table.c.case_id.in_(["C-0"]))).all()
        before = library.sqlite3_memory_used()
        for length in range(1, 301):
            ids = [f"C-{n}" for n in range(length)]
            connection.execute(sa.select(table).where(table.c.case_id.in_(ids))).all()
        grown = library.sqlite3_memory_used() - before
    engine.dispose()
    # Python's default cache (128 statements) holds about 6 MiB of these programs.
    assert grown < 2 * MiB, f"SQLite's heap grew by {grown / MiB:.1f} MiB"


def test_a_postgresql_url_gets_no_sqlite_arguments() -> None:
    engine = open_engine("postgresql+psycopg://reader@localhost:1/store")
    assert engine.dialect.name == "postgresql"
