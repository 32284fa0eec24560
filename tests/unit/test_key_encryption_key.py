"""The key-encryption key of the case keys: a 0600 file of 64 hex digits (or a Kubernetes
Secret readable by the pod's group alone), refused otherwise, and never replaced by a new one
unless told."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mappa_bus.keystore import (
    KeyStoreError,
    key_file_exposure,
    read_key_encryption_key,
    write_key_encryption_key,
)

# The image's user and group (deploy/docker/Dockerfile), the pod's fsGroup in deploy/k8s/.
ME = 10001
ROOT = 0


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


@pytest.mark.parametrize("mode", [0o644, 0o640])
def test_a_key_encryption_key_others_may_read_is_refused(tmp_path: Path, mode: int) -> None:
    """World- or group-readable, its owner this process: KeyStoreError saying to chmod it (the
    file's own owner and mode decide)."""
    path = tmp_path / "kek"
    write_key_encryption_key(path)
    os.chmod(path, mode)
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


def test_a_key_encryption_key_is_replaced_only_when_told(tmp_path: Path) -> None:
    """`replace=True` puts a new key in its place, still 0600, and leaves no partial file."""
    path = tmp_path / "kek"
    write_key_encryption_key(path)
    before = path.read_text()
    write_key_encryption_key(path, replace=True)
    assert path.read_text() != before
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    read_key_encryption_key(path)
    assert [p.name for p in tmp_path.iterdir()] == ["kek"]


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_file_of_this_process_readable_by_it_alone_is_accepted(mode: int) -> None:
    """Its own file, 0600 or 0400: nobody else can read it."""
    assert key_file_exposure(mode, ME, ME, uid=ME, groups=frozenset({ME})) is None


@pytest.mark.parametrize("mode", [0o640, 0o440, 0o604, 0o660])
def test_a_file_of_this_process_open_to_its_group_is_refused(mode: int) -> None:
    """Strict for a file the process owns, its group too: it can always chmod 600 it."""
    assert "chmod 600" in str(key_file_exposure(mode, ME, ME, uid=ME, groups=frozenset({ME})))


def test_a_kubernetes_secret_for_the_pods_group_alone_is_accepted() -> None:
    """Root's, 0440, group the pod's fsGroup, which this process is in: what the kubelet
    makes of `defaultMode: 0440` (or 0400) with an fsGroup, and the one way a non-root
    container reads a Secret."""
    assert key_file_exposure(0o440, ROOT, ME, uid=ME, groups=frozenset({ME})) is None
    assert key_file_exposure(0o400, ROOT, ME, uid=ROOT, groups=frozenset({ROOT})) is None


@pytest.mark.parametrize(
    ("mode", "owner", "group", "says"),
    [
        (0o444, ROOT, ME, "others"),  # anyone may read it
        (0o460, ROOT, ME, "group"),  # the group may change it
        (0o450, ROOT, ME, "group"),
        (0o440, ROOT, 2000, "group 2000"),  # a group this process is not in
        (0o440, 2000, ME, "user 2000"),  # another user's: they may chmod it open
        (0o600, 2000, ME, "user 2000"),
    ],
)
def test_a_secret_mount_open_beyond_the_pods_group_is_refused(
    mode: int, owner: int, group: int, says: str
) -> None:
    """Not root's, or open to others, or writable by the group, or read by another group."""
    exposure = key_file_exposure(mode, owner, group, uid=ME, groups=frozenset({ME}))
    assert exposure is not None
    assert says in exposure
