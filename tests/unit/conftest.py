"""Fixtures the unit tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mappa_bus.keystore import (
    KeyStore,
    open_key_store_engine,
    read_key_encryption_key,
    write_key_encryption_key,
)


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[KeyStore]:
    """A case key store of the test's own (SQLite), with a key-encryption key made for it."""
    write_key_encryption_key(tmp_path / "kek")
    engine = open_key_store_engine(f"sqlite:///{tmp_path / 'keys.db'}")
    store = KeyStore(engine, read_key_encryption_key(tmp_path / "kek"))
    store.create_schema()
    yield store
    engine.dispose()
