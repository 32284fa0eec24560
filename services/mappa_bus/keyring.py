"""Keyring files: the signing keys (mappa_bus.signing) as a publisher or a consumer holds them.

A keyring file is JSON, mode 0600, kept outside the repository:

    {"keys": {"police/kent/1": "<64 hex digits>", "police/kent/2": "...", ...}}

`deploy/kafka/kafka-local` writes one with every agency's key for every area beside its
credentials (`keyring.json`); a deployment hands each publisher its own areas' keys and the
consumers every key, retired generations included.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mappa_bus.credentials import local_broker_credentials
from mappa_bus.signing import KeyId, Keyring


class KeyringError(ValueError):
    """A keyring file that is missing or not a keyring."""


def read_keyring(path: Path) -> Keyring:
    """The keyring in `path`; KeyringError naming the file and what is wrong."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise KeyringError(f"cannot read a keyring from {path}: {error}") from error
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, dict):
        raise KeyringError(f"{path} has no 'keys' object of key ids to hex secrets")
    try:
        return Keyring(
            {KeyId.parse(str(name)): bytes.fromhex(str(secret)) for name, secret in keys.items()}
        )
    except ValueError as error:
        raise KeyringError(f"{path}: {error}") from error


def keyring_document(keyring: Keyring) -> str:
    """`keyring` as a keyring file holds it."""
    keys = {str(key_id): keyring.keys[key_id].hex() for key_id in sorted(keyring.keys)}
    return json.dumps({"keys": keys}, indent=1) + "\n"


def write_keyring(path: Path, keyring: Keyring) -> None:
    """Write `keyring` to `path`, readable by its owner alone, replacing it whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.tmp")
    # Created 0600, never briefly readable by others.
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(keyring_document(keyring))
    os.replace(partial, path)


def local_broker_keyring(port: int) -> Path:
    """Where kafka-local keeps the keyring of its broker on `port`: beside its credentials."""
    return local_broker_credentials(port).with_name("keyring.json")
