"""`mappa keys encryption-key`: a fresh key-encryption key, 0600, that the key store reads;
an existing one refused, kept, or replaced only when told."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from mappa_bus.cli import app
from mappa_bus.keystore import read_key_encryption_key

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
