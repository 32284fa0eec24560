"""`mappa keys encryption-key`: a fresh key-encryption key, 0600, that the key store reads;
an existing one refused, kept, or replaced only when told. `mappa keys destroy-erased`: the
keys a restored key store brought back destroyed again."""

from __future__ import annotations

import stat
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mappa_bus.catalogue import Area
from mappa_bus.catalogue.erasure import ErasureData, ErasureGround
from mappa_bus.cli import app
from mappa_bus.keystore import open_key_store, read_key_encryption_key, write_key_encryption_key
from mappa_bus.picture.schema import create_schema
from mappa_bus.picture.store import PROJECTION
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.erasures import record_erasures

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["keys", "encryption-key", *args])
    # Rich wraps long lines: compare words, not line breaks.
    return result.exit_code, " ".join(result.output.split())


def test_it_writes_a_key_readable_by_its_owner_alone(tmp_path: Path) -> None:
    """Written 0600 (its directory made), and the key store reads it as a key."""
    path = tmp_path / "keys" / "key-encryption-key"
    assert _run("--output", str(path))[0] == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) == 64
    read_key_encryption_key(path)


def test_it_refuses_to_overwrite_an_existing_key(tmp_path: Path) -> None:
    """By default a key already there stands, and the command fails saying so."""
    path = tmp_path / "kek"
    _run("--output", str(path))
    before = path.read_text()
    code, output = _run("--output", str(path))
    assert code == 1
    assert "not replaced" in output
    assert path.read_text() == before


def test_it_keeps_an_existing_key_when_told(tmp_path: Path) -> None:
    """`--existing keep`: exit 0 and the key as it was (the compose set-up job at each start)."""
    path = tmp_path / "kek"
    _run("--output", str(path))
    before = path.read_text()
    assert _run("--output", str(path), "--existing", "keep")[0] == 0
    assert path.read_text() == before


def test_it_keeps_nothing_it_was_not_given(tmp_path: Path) -> None:
    """`--existing keep` with no key there writes one."""
    path = tmp_path / "kek"
    assert _run("--output", str(path), "--existing", "keep")[0] == 0
    read_key_encryption_key(path)


def test_it_replaces_an_existing_key_only_when_told(tmp_path: Path) -> None:
    """`--existing replace`: a new key, still 0600."""
    path = tmp_path / "kek"
    _run("--output", str(path))
    before = path.read_text()
    code, output = _run("--output", str(path), "--existing", "replace")
    assert code == 0, output
    assert path.read_text() != before
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_destroy_erased_destroys_the_keys_a_restored_key_store_brought_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key store restored from a backup older than an erasure holds the erased case's key
    again: `destroy-erased` destroys it on the erasure's decision, leaves a case not erased
    alone, and a second run finds nothing left to do."""
    erased, kept = "KEN-2020-000001", "KEN-2020-000002"
    kek = tmp_path / "kek"
    write_key_encryption_key(kek)
    keys_url = f"sqlite:///{tmp_path / 'keys.db'}"
    restored = open_key_store(keys_url, kek)
    restored.keys_for([erased, kept])
    store = f"sqlite:///{tmp_path / 'pictures.db'}"
    engine = open_engine(store)
    create_schema(engine)
    decision = ErasureData(
        case_id=erased,
        area=Area.KENT,
        ground=ErasureGround.DECISION,
        decision="DPO/2026/0042",
        erased_on=date(2026, 1, 5),
    )
    with engine.begin() as connection:
        record_erasures(connection, PROJECTION, [decision])
    monkeypatch.setenv("MAPPA_KEY_STORE_URL", keys_url)
    monkeypatch.setenv("MAPPA_KEY_ENCRYPTION_KEY", str(kek))

    def destroy() -> tuple[int, str]:
        result = runner.invoke(
            app, ["keys", "destroy-erased", "--by", "a.admin", "--database", store]
        )
        return result.exit_code, " ".join(result.output.split())

    first, again = destroy(), destroy()

    after = open_key_store(keys_url, kek)
    assert (after.opener_for(erased), after.opener_for(kept) is not None) == (None, True)
    assert first == (0, "1 of the 1 erased cases still had a key: destroyed")
    assert again == (0, "0 of the 1 erased cases still had a key: destroyed")
