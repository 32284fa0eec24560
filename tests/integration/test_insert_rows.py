"""`insert_rows`, the stores' inserts and upserts: on each database it writes what SQLAlchemy's
own executemany of the same insert writes (the same stored values, dates and times included),
and does what its conflict rule says with a key that is there already."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mappa_bus.projection.database import Conflict, insert_rows, open_engine

metadata = sa.MetaData()


def _table(name: str) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_on", sa.Date, nullable=True),
        sa.Column("level", sa.Integer, nullable=True),
        sa.Column("text", sa.Text, nullable=False),
    )


ours, theirs = _table("written_by_insert_rows"), _table("written_by_sqlalchemy")
defaulted = sa.Table(
    "defaulted",
    metadata,
    sa.Column("case_id", sa.String(64), primary_key=True),
    sa.Column("published", sa.Boolean, nullable=False, default=False),
)

MOMENTS = [
    datetime(2021, 3, 1, 12, 0, tzinfo=UTC),
    datetime(2021, 3, 1, 12, 0, 0, 1, tzinfo=UTC),
    datetime(1, 1, 1, 0, 0, tzinfo=UTC),
    datetime(999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
    datetime(2020, 6, 30, 23, 30, 15, 250_000, tzinfo=timezone(timedelta(hours=1))),
    datetime(2024, 2, 29, 8, 5, 7, 42),
]


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = open_engine(database_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def _rows() -> list[dict[str, Any]]:
    return [
        {
            "case_id": f"C-{n}",
            "at": moment,
            "due_on": date(2021, 4, 1) + timedelta(days=n),
            "level": n % 4 or None,
            "text": f'{{"n": {n}, "note": "50% and \'quoted\'"}}',
        }
        for n, moment in enumerate([*MOMENTS, None])
    ]


def _stored(connection: sa.Connection, table: sa.Table) -> list[tuple[Any, ...]]:
    # Read as the database holds them (SQLite's text, PostgreSQL's values), not through the
    # columns' types, so that a difference in what was written shows.
    columns: list[sa.ColumnClause[Any]] = [
        sa.column(name) for name in ("case_id", "at", "due_on", "level", "text")
    ]
    query = sa.select(*columns).select_from(sa.table(table.name)).order_by(columns[0])
    return [tuple(row) for row in connection.execute(query)]


def test_the_rows_are_stored_as_sqlalchemys_executemany_stores_them(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        insert_rows(connection, ours, _rows())
        connection.execute(theirs.insert(), _rows())
    with engine.connect() as connection:
        assert _stored(connection, ours) == _stored(connection, theirs)
        assert len(_stored(connection, ours)) == len(MOMENTS) + 1
        read = connection.execute(sa.select(ours.c.case_id, ours.c.at).order_by("case_id"))
        moments = {case_id: at for case_id, at in read}
    # Read back through the column's type, each is the moment written (SQLite keeps no zone:
    # its moments come back as the UTC-less fields written, as with SQLAlchemy's own writes).
    for n, moment in enumerate(MOMENTS):
        assert moments[f"C-{n}"] is not None
        assert moments[f"C-{n}"].replace(tzinfo=None) == _fields(moment, engine)


def _fields(moment: datetime, engine: sa.Engine) -> datetime:
    if engine.dialect.name == "postgresql" and moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None)


def test_a_key_there_already_fails_is_skipped_or_replaced_as_told(engine: sa.Engine) -> None:
    first = {"case_id": "C-1", "at": MOMENTS[0], "due_on": None, "level": 1, "text": "first"}
    second = {**first, "level": 3, "text": "second"}
    with engine.begin() as connection:
        insert_rows(connection, ours, [first])
    with pytest.raises(IntegrityError), engine.begin() as connection:
        insert_rows(connection, ours, [second])
    with engine.begin() as connection:
        insert_rows(connection, ours, [second], Conflict.SKIP)
        assert connection.execute(sa.select(ours.c.level, ours.c.text)).one() == (1, "first")
        insert_rows(connection, ours, [second], Conflict.REPLACE, keys=["case_id"])
        assert connection.execute(sa.select(ours.c.level, ours.c.text)).one() == (3, "second")


def test_rows_without_a_column_that_has_a_default_are_refused(engine: sa.Engine) -> None:
    with engine.begin() as connection, pytest.raises(ValueError, match="lack published"):
        insert_rows(connection, defaulted, [{"case_id": "C-1"}])
    with engine.begin() as connection:
        insert_rows(connection, defaulted, [{"case_id": "C-1", "published": True}])
        assert connection.execute(sa.select(defaulted.c.published)).scalar_one() is True


def test_no_rows_write_nothing(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        insert_rows(connection, ours, [])
        assert connection.execute(sa.select(sa.func.count()).select_from(ours)).scalar() == 0
