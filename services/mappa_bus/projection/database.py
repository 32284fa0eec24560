"""One code path for SQLite (the embedded default) and PostgreSQL: engines and portable upserts."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson
from sqlalchemy import (
    BindParameter,
    Column,
    ColumnElement,
    Engine,
    FromClause,
    MetaData,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.exc import DatabaseError

# Attempts at creating a schema that another process is creating at the same moment.
CREATE_ATTEMPTS = 5

# Python's sqlite3 keeps 128 prepared statements a connection by default. A batch's lookups
# (`IN` lists of its case ids) are a new statement for every length, so a long catch-up fills
# all 128 with statements used once, each its own SQLite program: 10-17 MiB held in SQLite's
# heap by the end of Kent's four-year rebuilds, and more the longer the run. Sixteen hold the
# few statements a batch repeats (offsets, upserts); preparing the rest again costs no CPU a
# rebuild can measure (docs/benchmarks.md).
SQLITE_CACHED_STATEMENTS = 16


def open_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets write-ahead logging, deletes that overwrite and a small
    statement cache."""
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, future=True)
    engine = create_engine(
        url, future=True, connect_args={"cached_statements": SQLITE_CACHED_STATEMENTS}
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_tables(engine: Engine, metadata: MetaData, tables: Sequence[Table]) -> None:
    """Create `tables` where missing, also when another process creates them at the same time
    (two members of a group starting together on a new store): SQLAlchemy checks for each table
    and then creates it, so the other may create it in between and this CREATE fails. Tried
    again, the check finds the table."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            metadata.create_all(engine, tables=list(tables))
            break
        except DatabaseError:
            # SQLite says OperationalError, PostgreSQL ProgrammingError or IntegrityError
            # (its catalogue's unique index), all DatabaseErrors; a store that is really out
            # fails every attempt and the last error is raised as it was.
            if attempt == CREATE_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)
    _check_columns(engine, tables)


class StoreOutOfDateError(RuntimeError):
    """A table of the store lacks columns this version writes: an earlier version made it."""


def _check_columns(engine: Engine, tables: Sequence[Table]) -> None:
    """Refuse a store whose tables an earlier version created without columns this one needs
    (`create_all` leaves an existing table as it is), naming them and the way out; better than
    the first write failing half way through a batch."""
    inspector = inspect(engine)
    for table in tables:
        present = {column["name"] for column in inspector.get_columns(table.name)}
        missing = sorted(column.name for column in table.columns if column.name not in present)
        if missing:
            raise StoreOutOfDateError(
                f"table {table.name} of the store has no column {', '.join(missing)}: an "
                "earlier version made it. Build a new store from the log (--database at a new "
                "one; docs/runbook.md, Replay and rebuild) or drop the table."
            )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers (the report command) never block the consumer's writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # A deleted or rewritten row is overwritten with zeros, not left in a free page of the
    # file: an erased case's details must not be found in the store's bytes (docs/retention.md).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def let_go_of_deleted(engine: Engine) -> None:
    """After rows were deleted for good (an erasure, docs/retention.md): SQLite's write-ahead
    log still holds the pages as they were before; copy it into the file (where deleted rows
    are zeros, `secure_delete`) and truncate it to nothing. A reader in the middle of a read
    can keep the log from being truncated: the next erasure, or the last connection's close,
    does it. PostgreSQL keeps deleted rows' old versions until VACUUM (the operator's, on its
    own schedule): no query, dump or replica shows them."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


class Conflict(Enum):
    """What an insert does with a row whose primary key is there already."""

    FAIL = "fail"
    SKIP = "skip"
    REPLACE = "replace"
    """Replace the row's other columns (an upsert)."""


def insert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    conflict: Conflict = Conflict.FAIL,
    keys: Sequence[str] = (),
) -> None:
    """Insert `rows` into `table` (inside the caller's transaction), every row with the same
    columns; a row whose key (`keys`, or the primary key) is there already fails the insert,
    is skipped or replaces the other columns, as `conflict` says.

    SQLAlchemy's own executemany builds a dictionary of parameters a row and runs each value
    through its processing in Python, which costs about as much as the database's insert of
    it (`python -m benchmarks.store_writes`), and a catch-up writes several rows an event. Here
    the statement is compiled once a (dialect, table, columns, conflict) and each row goes to
    the driver as the values it takes, through the columns' own bind processors where they
    have one (SQLite's dates and times)."""
    if not rows:
        return
    statement = _compiled(connection.dialect, table, tuple(rows[0]), conflict, tuple(keys))
    connection.exec_driver_sql(statement.sql, statement.parameters(rows))


def upsert(
    connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> None:
    """Insert `rows`, replacing the non-key columns of rows whose `keys` already exist."""
    insert_rows(connection, table, rows, Conflict.REPLACE, keys)


def insert_missing(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert `rows`, leaving alone any whose primary key is there already."""
    insert_rows(connection, table, rows, Conflict.SKIP)


Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    """An insert as its driver takes it: its SQL, and which of a row's values go where."""

    sql: str
    names: tuple[str, ...]
    """The row's keys, in the order of the statement's positional parameters."""
    processors: tuple[tuple[int, Processor], ...]
    """The place and the bind processor of each value that has one."""
    positional: bool
    """Whether the driver takes a row as a sequence (SQLite's `?`) or by name (psycopg's)."""

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        names = self.names
        if not self.positional and not self.processors:
            return list(rows)
        values = [[row[name] for name in names] for row in rows]
        for place, process in self.processors:
            for row_values in values:
                row_values[place] = process(row_values[place])
        if self.positional:
            return [tuple(row_values) for row_values in values]
        return [dict(zip(names, row_values, strict=True)) for row_values in values]


# A few statements a table at most (its inserts and upserts): the cache stays small.
@functools.lru_cache(maxsize=256)
def _compiled(
    dialect: Dialect,
    table: Table,
    columns: tuple[str, ...],
    conflict: Conflict,
    keys: tuple[str, ...],
) -> _Compiled:
    omitted = [c.name for c in table.columns if c.name not in columns and c.default is not None]
    if omitted:
        # SQLAlchemy fills such defaults in its own executemany; this one would leave them
        # NULL, so a row must give every column that has one.
        raise ValueError(f"rows for {table.name} lack {', '.join(omitted)}, which have defaults")
    insert = _insert(dialect, table).values({name: bindparam(name) for name in columns})
    if conflict is Conflict.SKIP:
        insert = insert.on_conflict_do_nothing()
    elif conflict is Conflict.REPLACE:
        replaced = {c.name: insert.excluded[c.name] for c in table.columns if c.name not in keys}
        insert = insert.on_conflict_do_update(index_elements=list(keys), set_=replaced)
    compiled = insert.compile(dialect=dialect)
    names = tuple(compiled.positiontup or columns) if compiled.positional else columns
    processors = tuple(
        (place, process)
        for place, name in enumerate(names)
        if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    )
    return _Compiled(compiled.string, names, processors, compiled.positional)


def copy_missing(
    connection: Connection, table: Table, columns: Sequence[str], query: Select[Any]
) -> None:
    """Insert the rows `query` selects, as `table`'s `columns`, leaving alone any whose primary
    key is there already (another member upgrading the same store at once may have put them
    there): in the database, however many (an upgrade's millions need not pass through
    memory). `query` must have a WHERE clause: SQLite reads an upsert's ON otherwise as a
    join's."""
    statement = _insert(connection.dialect, table).from_select(columns, query)
    connection.execute(statement.on_conflict_do_nothing())


def _insert(dialect: Dialect, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into `table` in `dialect` (each has its own ON CONFLICT)."""
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@contextlib.contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see the store as it was at one moment. A projection reads
    its state and its offsets through one: read apart, another member's commit in between
    would give offsets past what the state holds, and those records would never be folded."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        else:
            # The sqlite3 module opens a transaction only before a write; reads each see the
            # latest commit. An explicit one holds one snapshot until the connection closes.
            connection.exec_driver_sql("BEGIN")
        yield connection


def each_row(
    connection: Connection, key: Column[Any], value: Column[Any], page: int
) -> Iterator[tuple[Any, Any]]:
    """Every (`key`, `value`) of their table, in key order, read `page` rows at a time by keyset
    (each page starts after the last key of the one before): no more than a page is held."""
    after: Any = None
    while True:
        query = select(key, value).order_by(key).limit(page)
        if after is not None:
            query = query.where(key > after)
        rows = connection.execute(query).all()
        for found, held in rows:
            after = found
            yield found, held
        if len(rows) < page:
            return


# Values per `IN` list: a whole batch's (the subscriber's 2,000 records) in one statement, well
# below the bound parameters SQLite (32,766 since 3.32) and PostgreSQL allow.
IN_PAGE = 2_000


def in_pages(values: Collection[str], size: int = IN_PAGE) -> Iterator[list[str]]:
    """`values`, each once and sorted, a list of at most `size` at a time: one `IN` list each."""
    wanted = sorted(set(values))
    for start in range(0, len(wanted), size):
        yield wanted[start : start + size]


def wanted_rows(
    connection: Connection, key: Sequence[Column[Any]], wanted: Collection[tuple[Any, ...]]
) -> tuple[FromClause, ColumnElement[bool]]:
    """The `wanted` values of a table's `key` columns (pairs, say) as a table of their own, with
    the condition joining it to the key: each value one probe of the key. SQLite answers
    `(a, b) IN (VALUES ...)` by scanning the whole key instead (a read that grew with the store
    made a national rebuild quadratic), and a `VALUES` of bound parameters is a new statement
    for SQLAlchemy to compile every time: 10% of a picture catch-up's CPU went on compiling
    them (docs/benchmarks.md). Here the values travel as one parameter (a JSON array for
    SQLite's `json_each`, an array a column for PostgreSQL's `unnest`), so the statement is
    the same each time and compiled once. Sorted, for the probes' locality. The values are
    strings or integers (JSON's)."""
    ordered = sorted(wanted)
    names = [c.name for c in key]
    if connection.dialect.name == "postgresql":
        arrays = [
            bindparam(
                f"wanted_{c.name}", [row[i] for row in ordered], type_=postgresql.ARRAY(c.type)
            )
            for i, c in enumerate(key)
        ]
        rows = func.unnest(*arrays).table_valued(*names).render_derived(name="wanted")
        return rows, and_(*(c == rows.c[c.name] for c in key))
    document = bindparam("wanted", orjson.dumps(ordered).decode(), type_=Text)
    each = func.json_each(document).table_valued("value").alias("wanted")
    return each, and_(*(c == each.c.value.op("->>")(i) for i, c in enumerate(key)))


def rows_among(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    key: str,
    values: Collection[str],
) -> Iterator[tuple[Any, ...]]:
    """`columns` of the rows of `table` whose `key` is one of `values`, a page of them a query,
    through a statement built once a (table, columns, key). A statement built per query is a
    cycle of objects holding its values until the collector's next full walk, which a catch-up
    makes once a minute: a national catch-up's batches of 2,000 cases kept 13-16 MiB of them
    (docs/benchmarks.md)."""
    statement = _among(table, tuple(columns), key)
    for page in in_pages(values):
        yield from (tuple(row) for row in connection.execute(statement, {"among": page}))


@functools.lru_cache(maxsize=64)
def _among(table: Table, columns: tuple[str, ...], key: str) -> Select[Any]:
    among: BindParameter[Any] = bindparam("among", expanding=True)
    return select(*(table.c[name] for name in columns)).where(table.c[key].in_(among))


def delete_in(
    connection: Connection, table: Table, column: Column[str], values: Collection[str]
) -> None:
    """Delete the rows of `table` whose `column` is one of `values` (inside the caller's
    transaction), a page of them a statement."""
    for page in in_pages(values):
        connection.execute(delete(table).where(column.in_(page)))
