"""The stores' databases: `database_url` gives each test a working database of its own, on SQLite
and on a real PostgreSQL, through the one code path the stores use (SQLAlchemy Core)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

METADATA = sa.MetaData()
NOTES = sa.Table(
    "notes",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("text", sa.String(200), nullable=False),
)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_each_parametrisation_is_its_own_engine(
    engine: sa.Engine, request: pytest.FixtureRequest
) -> None:
    expected = request.node.callspec.params["database_url"]
    assert expected in ("sqlite", "postgresql")
    assert engine.dialect.name == expected
    if expected == "postgresql":
        assert engine.dialect.driver == "psycopg"
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.literal(1))).scalar_one() == 1


def test_committed_rows_are_seen_and_rolled_back_ones_are_not(engine: sa.Engine) -> None:
    METADATA.create_all(engine)
    with engine.begin() as connection:
        connection.execute(sa.insert(NOTES), [{"text": "first"}, {"text": "second"}])

    with engine.connect() as connection:
        texts = connection.execute(sa.select(NOTES.c.text).order_by(NOTES.c.id)).scalars().all()
    assert texts == ["first", "second"]

    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(sa.insert(NOTES), {"text": "never kept"})
        inside = connection.execute(sa.select(sa.func.count()).select_from(NOTES)).scalar_one()
        assert inside == 3
        transaction.rollback()

    with engine.connect() as connection:
        after = connection.execute(sa.select(sa.func.count()).select_from(NOTES)).scalar_one()
    assert after == 2


def test_the_database_starts_empty(engine: sa.Engine) -> None:
    # The table the test above created is not here: each test has a database of its own.
    assert sa.inspect(engine).get_table_names() == []
