"""Connecting as a principal: its password from the local broker's credentials file."""

import json
from pathlib import Path

import pytest

from mappa_bus.credentials import (
    CredentialsError,
    local_broker_credentials,
    loopback_port,
    read_credentials,
)
from mappa_bus.settings import Settings

_ENV = (
    "KAFKA_BOOTSTRAP_SERVERS",
    "MAPPA_KAFKA_BOOTSTRAP_SERVERS",
    "MAPPA_KAFKA_USERNAME",
    "MAPPA_KAFKA_PASSWORD",
    "MAPPA_KAFKA_CREDENTIALS",
    "MAPPA_KAFKA_PRINCIPAL",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean environment whose local-broker state lives under tmp_path."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return monkeypatch


def _write(path: Path, bootstrap: str = "127.0.0.1:9092") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "mechanism": "SCRAM-SHA-256",
        "bootstrap": bootstrap,
        "principals": {"admin": "admin-secret", "police": "police-secret"},
    }
    path.write_text(json.dumps(document))
    return path


def test_the_local_brokers_file_is_found_for_its_port(env: pytest.MonkeyPatch) -> None:
    """With nothing set, the demo broker's own file makes the client its admin."""
    _write(local_broker_credentials(9092))

    connection = Settings().connection()

    assert (connection.bootstrap_servers, connection.username, connection.password) == (
        "127.0.0.1:9092",
        "admin",
        "admin-secret",
    )


def test_a_principal_is_picked_from_a_named_file(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """MAPPA_KAFKA_CREDENTIALS and MAPPA_KAFKA_PRINCIPAL: connect as police, at the file's
    broker when no bootstrap address is set."""
    path = _write(tmp_path / "creds.json", bootstrap="127.0.0.1:19092")
    env.setenv("MAPPA_KAFKA_CREDENTIALS", str(path))
    env.setenv("MAPPA_KAFKA_PRINCIPAL", "police")

    connection = Settings().connection()

    assert (connection.bootstrap_servers, connection.username, connection.password) == (
        "127.0.0.1:19092",
        "police",
        "police-secret",
    )


def test_an_explicit_username_and_password_win(env: pytest.MonkeyPatch) -> None:
    """MAPPA_KAFKA_USERNAME/PASSWORD override any credentials file."""
    _write(local_broker_credentials(9092))
    env.setenv("MAPPA_KAFKA_USERNAME", "probation")
    env.setenv("MAPPA_KAFKA_PASSWORD", "given")

    connection = Settings().connection()

    assert (connection.username, connection.password) == ("probation", "given")


def test_an_empty_credentials_setting_means_an_unauthenticated_client(
    env: pytest.MonkeyPatch,
) -> None:
    """MAPPA_KAFKA_CREDENTIALS='' ignores the local file (for a KAFKA_SECURITY=plaintext broker)."""
    _write(local_broker_credentials(9092))
    env.setenv("MAPPA_KAFKA_CREDENTIALS", "")

    assert Settings().connection().username is None


def test_no_file_means_an_unauthenticated_client(env: pytest.MonkeyPatch) -> None:
    """Without a credentials file a broker elsewhere is reached as before."""
    env.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka:29092")

    assert Settings().connection().username is None


def test_an_unknown_principal_names_the_file_and_those_it_has(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Asking for a principal the file lacks says which file and who is in it."""
    path = _write(tmp_path / "creds.json")
    env.setenv("MAPPA_KAFKA_CREDENTIALS", str(path))
    env.setenv("MAPPA_KAFKA_PRINCIPAL", "dwp")

    with pytest.raises(CredentialsError, match=r"has no password for principal 'dwp'.*admin"):
        Settings().connection()


def test_a_malformed_file_is_refused_clearly(tmp_path: Path) -> None:
    """A file that is not a credentials file is reported as such, not as a KeyError."""
    path = tmp_path / "creds.json"
    path.write_text(json.dumps({"principals": ["admin"]}))

    with pytest.raises(CredentialsError, match="no 'principals' object"):
        read_credentials(path)


def test_only_one_broker_on_this_machine_has_a_local_file() -> None:
    """The local file is looked for only for a single loopback address."""
    assert [
        loopback_port(address)
        for address in ("127.0.0.1:9092", "localhost:19092", "kafka:29092", "a:1,b:2")
    ] == [9092, 19092, None, None]
