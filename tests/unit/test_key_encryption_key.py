"""The key-encryption key of the case keys: a 0600 file of 64 hex digits, refused otherwise,
and never replaced by a new one."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mappa_bus.keystore import KeyStoreError, read_key_encryption_key, write_key_encryption_key


def test_a_written_key_encryption_key_is_owner_only_and_reads_back(tmp_path: Path) -> None:
    """Written 0600, it reads back as a key."""
    path = tmp_path / "kek"
    write_key_encryption_key(path)
    read_key_encryption_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_existing_key_encryption_key_is_never_replaced(tmp_path: Path) -> None:
    """Writing over one would orphan every key it wrapped: refused."""
    path = tmp_path / "kek"
    write_key_encryption_key(path)
    before = path.read_text()
    with pytest.raises(FileExistsError):
        write_key_encryption_key(path)
    assert path.read_text() == before


def test_a_key_encryption_key_others_may_read_is_refused(tmp_path: Path) -> None:
    """Group- or world-readable: KeyStoreError saying to chmod it."""
    path = tmp_path / "kek"
    write_key_encryption_key(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        read_key_encryption_key(path)


@pytest.mark.parametrize(("text", "says"), [("zz" * 32, "hex"), ("ab" * 16, "16 bytes")])
def test_a_file_that_is_no_key_encryption_key_is_refused(
    tmp_path: Path, text: str, says: str
) -> None:
    """Not hex, or not 32 bytes: KeyStoreError naming what is wrong."""
    path = tmp_path / "kek"
    path.write_text(text)
    os.chmod(path, 0o600)
    with pytest.raises(KeyStoreError, match=says):
        read_key_encryption_key(path)
