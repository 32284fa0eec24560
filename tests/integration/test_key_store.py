"""The case keys of the sealed record (decision 0002) on SQLite and PostgreSQL: made on first
use, the same for every asker, wrapped at rest, and gone for good once destroyed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mappa_bus.keystore import (
    KeyDestroyed,
    KeyMissing,
    KeyStore,
    KeyStoreError,
    case_keys_table,
    open_key_store_engine,
    read_key_encryption_key,
    write_key_encryption_key,
)

CASE = "KEN-2024-000901"
NONCE = bytes(12)


@pytest.fixture
def kek(tmp_path: Path) -> AESGCM:
    path = tmp_path / "kek"
    write_key_encryption_key(path)
    return read_key_encryption_key(path)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    engine = open_key_store_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _store(engine: sa.Engine, kek: AESGCM) -> KeyStore:
    store = KeyStore(engine, kek)
    store.create_schema()
    return store


def _roundtrip(sealer: AESGCM, opener: AESGCM) -> bytes:
    return opener.decrypt(NONCE, sealer.encrypt(NONCE, b"details", None), None)


def test_a_case_key_is_made_once_and_opens_for_every_store_on_the_database(
    engine: sa.Engine, kek: AESGCM
) -> None:
    """Two key stores (two processes) on one database get the same key for a case."""
    sealer = _store(engine, kek).key_for(CASE)
    opener = _store(engine, kek).opener_for(CASE)
    assert opener is not None
    assert _roundtrip(sealer, opener) == b"details"


def test_a_case_key_is_wrapped_at_rest(engine: sa.Engine, kek: AESGCM) -> None:
    """The stored bytes are not the key: they unwrap only under the key-encryption key."""
    _store(engine, kek).key_for(CASE)
    with engine.connect() as connection:
        wrapped = connection.execute(sa.select(case_keys_table.c.key)).scalar_one()
    other = AESGCM(bytes(range(32)))
    with pytest.raises(KeyStoreError, match="does not unwrap"):
        KeyStore(engine, other).opener_for(CASE)
    assert len(wrapped) == 12 + 32 + 16


def test_a_destroyed_key_opens_nothing_and_is_never_made_again(
    engine: sa.Engine, kek: AESGCM
) -> None:
    """After destroy_key the case has no key for anyone, and asking to seal raises."""
    first = _store(engine, kek)
    first.key_for(CASE)
    other = _store(engine, kek)
    assert other.opener_for(CASE) is not None
    assert first.destroy_key(CASE, "DPA-47/2026/12", "dpo@example.org") is True
    with pytest.raises(KeyDestroyed):
        first.key_for(CASE)
    assert (first.opener_for(CASE), KeyStore(engine, kek).opener_for(CASE)) == (None, None)
    assert first.destroyed(CASE) is True


def test_destruction_is_recorded_and_leaves_no_key_bytes(engine: sa.Engine, kek: AESGCM) -> None:
    """The row keeps when, on what decision and by whom; the key column is empty."""
    store = _store(engine, kek)
    store.key_for(CASE)
    store.destroy_key(CASE, "DPA-47/2026/12", "dpo@example.org")
    with engine.connect() as connection:
        row = connection.execute(sa.select(case_keys_table)).one()
    assert (row.key, row.decision, row.destroyed_by, row.destroyed_at is not None) == (
        None,
        "DPA-47/2026/12",
        "dpo@example.org",
        True,
    )
    assert store.destroy_key(CASE, "again", "dpo@example.org") is False


def test_a_case_erased_before_it_had_a_key_never_gets_one(engine: sa.Engine, kek: AESGCM) -> None:
    """Destroying an unknown case's key marks it: no key is made for it afterwards."""
    store = _store(engine, kek)
    assert store.destroy_key(CASE, "DPA-47/2026/13", "dpo@example.org") is True
    with pytest.raises(KeyDestroyed):
        store.key_for(CASE)


def test_a_case_never_given_a_key_is_missing_not_erased(engine: sa.Engine, kek: AESGCM) -> None:
    """Opening a case the store never made a key for is an error, not an erasure."""
    with pytest.raises(KeyMissing):
        _store(engine, kek).opener_for(CASE)


def test_a_cached_key_expires_so_another_process_destroying_it_is_heard(
    engine: sa.Engine, kek: AESGCM
) -> None:
    """A key cached by one process stops opening once its entry is older than the ttl."""
    now = [0.0]
    reader = KeyStore(engine, kek, ttl=60.0, clock=lambda: now[0])
    reader.create_schema()
    _store(engine, kek).key_for(CASE)
    assert reader.opener_for(CASE) is not None
    _store(engine, kek).destroy_key(CASE, "DPA-47/2026/14", "dpo@example.org")
    now[0] = 30.0
    still = reader.opener_for(CASE) is not None
    now[0] = 61.0
    assert (still, reader.opener_for(CASE)) == (True, None)
