"""The principals' passwords as the local broker keeps them, and where that file lives.

`deploy/kafka/kafka-local` generates one random password per principal at the first start of a
data dir and writes them, outside the repository, to `<data dir>/credentials.json` (mode 0600):

    {"mechanism": "SCRAM-SHA-256", "bootstrap": "127.0.0.1:9092",
     "principals": {"admin": "...", "police": "...", ...}}

A client connects as one principal by reading that principal's password from the file
(`Settings.connection` does, from `MAPPA_KAFKA_CREDENTIALS` and `MAPPA_KAFKA_PRINCIPAL`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

from mappa_bus.connection import Mechanism

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


class CredentialsError(ValueError):
    """The credentials file is missing, malformed, or has no password for that principal."""


@dataclass(frozen=True)
class Credentials:
    """The contents of a credentials file: one password per principal."""

    path: Path
    mechanism: Mechanism
    bootstrap: str | None
    passwords: Mapping[str, str] = field(repr=False)

    def password(self, principal: str) -> str:
        """`principal`'s password; a CredentialsError names the file when it has none."""
        try:
            return self.passwords[principal]
        except KeyError:
            known = ", ".join(sorted(self.passwords))
            raise CredentialsError(
                f"{self.path} has no password for principal {principal!r} (it has: {known})"
            ) from None


def read_credentials(path: Path) -> Credentials:
    """Read a credentials file written by kafka-local."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CredentialsError(f"cannot read credentials from {path}: {error}") from error
    if not isinstance(document, dict):
        raise CredentialsError(f"{path} is not a credentials file (no JSON object)")
    principals = document.get("principals")
    mechanism = document.get("mechanism", "SCRAM-SHA-256")
    bootstrap = document.get("bootstrap")
    if not isinstance(principals, dict) or not all(
        isinstance(name, str) and isinstance(password, str) for name, password in principals.items()
    ):
        raise CredentialsError(f"{path} has no 'principals' object of names to passwords")
    if mechanism not in get_args(Mechanism):
        raise CredentialsError(f"{path} names an unknown SASL mechanism {mechanism!r}")
    if bootstrap is not None and not isinstance(bootstrap, str):
        raise CredentialsError(f"{path} has a 'bootstrap' that is not a string")
    return Credentials(path, mechanism, bootstrap, dict(principals))


def local_broker_credentials(port: int, environ: Mapping[str, str] | None = None) -> Path:
    """Where kafka-local keeps the credentials of its broker on `port` (default data dir)."""
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".local/state")
    return Path(state) / "mappa-bus" / f"kafka-{port}" / "credentials.json"


def loopback_port(bootstrap_servers: str) -> int | None:
    """The port when `bootstrap_servers` is one broker on this machine, else None."""
    host, _, port = bootstrap_servers.strip().rpartition(":")
    if host in _LOOPBACK_HOSTS and port.isdigit():
        return int(port)
    return None
