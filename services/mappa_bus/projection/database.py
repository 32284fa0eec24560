"""One code path for SQLite (the embedded default) and PostgreSQL: engines and portable upserts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def open_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets write-ahead logging and real foreign keys."""
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers (the report command) never block the consumer's writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def upsert(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert `rows`, replacing the non-key columns of rows whose `keys` already exist."""
    if not rows:
        return
    dialect = connection.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    updates = {
        column.name: statement.excluded[column.name]
        for column in table.columns
        if column.name not in keys
    }
    connection.execute(statement.on_conflict_do_update(index_elements=keys, set_=updates), rows)
