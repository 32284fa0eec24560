"""Runtime settings, read once from the environment (one place for every tunable)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mappa_bus.connection import KafkaConnection, Mechanism
from mappa_bus.credentials import (
    Credentials,
    local_broker_credentials,
    loopback_port,
    read_credentials,
)
from mappa_bus.keyring import KeyringError, local_broker_keyring, read_keyring
from mappa_bus.principals import ADMIN
from mappa_bus.signing import Keyring


class Settings(BaseSettings):
    """Where MAPPA Bus finds its broker and how it logs.

    Every field can be set by an environment variable of the same name with the `MAPPA_` prefix;
    the broker address also answers to the conventional `KAFKA_BOOTSTRAP_SERVERS`.
    """

    model_config = SettingsConfigDict(env_prefix="MAPPA_", frozen=True)

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "MAPPA_KAFKA_BOOTSTRAP_SERVERS"),
        description="Comma-separated host:port list of Kafka brokers.",
    )
    kafka_username: str | None = Field(
        default=None, description="SASL principal to connect as; unset for a plaintext broker."
    )
    kafka_password: SecretStr | None = Field(default=None, description="That principal's password.")
    kafka_sasl_mechanism: Mechanism = Field(default="SCRAM-SHA-256")
    kafka_credentials: str | None = Field(
        default=None,
        description="A kafka-local credentials.json to take the principal's password (and the "
        "mechanism) from. Unset: the local broker's file for the bootstrap port, when the "
        "bootstrap address is on this machine and that file exists. Empty: none.",
    )
    kafka_principal: str = Field(
        default=ADMIN,
        description="Which principal of the credentials file to connect as.",
    )
    signing_keys: str | None = Field(
        default=None,
        description="The keyring file a publisher signs its events with: its own areas' "
        "current keys (docs/decisions/0001-area-bound-publishers.md). Unset: the local "
        "broker's keyring.json beside its credentials, when the bootstrap address is on this "
        "machine and that file exists.",
    )
    verify_keys: str | None = Field(
        default=None,
        description="The keyring file consumers verify every agency record against: every "
        "agency's keys for every area, retired generations too. Unset: as signing_keys.",
    )
    client_id: str = Field(default="mappa-bus", description="Kafka client id prefix.")
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto",
        description="`json` for services, `console` for people; `auto` picks by whether stderr "
        "is a terminal.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO")
    demo_database_url: str = Field(
        default_factory=lambda: f"sqlite:///{_state_dir() / 'mappa-bus-demo.db'}",
        description="The demo's own store, so the sample year never mixes with real state.",
    )
    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{_state_dir() / 'mappa-bus.db'}",
        description="Where the projection services keep their state (SQLAlchemy URL): SQLite "
        "by default, `postgresql+psycopg://...` in production.",
    )

    retention_years: int = Field(
        default=6,
        ge=1,
        description="Years a case's details are kept after its MAPPA management ends, before "
        "`mappa picture erase-expired` erases them (set it from the retention schedule).",
    )
    api_tokens_file: str | None = Field(
        default=None,
        description="A JSON file of the case API's bearer tokens, `{token: {user, role}}`. "
        "Unset: callers name themselves in the X-Mappa-User and X-Mappa-Role headers, which "
        "is for development only.",
    )

    def connection(self) -> KafkaConnection:
        """The Kafka connection these settings describe.

        An explicit username (and password) wins; otherwise the principal's password comes from
        the credentials file, if there is one; otherwise the connection is unauthenticated.
        """
        return self.connection_as(self.kafka_principal)

    def connection_for_role(self, principal: str) -> KafkaConnection:
        """A connection as `principal` (an agency or service role), unless the user chose a
        principal or credentials explicitly, which then win."""
        if "kafka_principal" in self.model_fields_set:
            return self.connection()
        return self.connection_as(principal)

    def connection_as(self, principal: str) -> KafkaConnection:
        """As `connection`, for a given principal of the credentials file."""
        if self.kafka_username is None and (credentials := self.credentials()) is not None:
            bootstrap = self.kafka_bootstrap_servers
            if "kafka_bootstrap_servers" not in self.model_fields_set and credentials.bootstrap:
                bootstrap = credentials.bootstrap
            return KafkaConnection(
                bootstrap_servers=bootstrap,
                username=principal,
                password=credentials.password(principal),
                mechanism=credentials.mechanism,
            )
        return KafkaConnection(
            bootstrap_servers=self.kafka_bootstrap_servers,
            username=self.kafka_username,
            password=self.kafka_password.get_secret_value() if self.kafka_password else None,
            mechanism=self.kafka_sasl_mechanism,
        )

    def credentials(self) -> Credentials | None:
        """The credentials file these settings point at, read now; None when there is none."""
        if self.kafka_credentials == "":
            return None
        if self.kafka_credentials is not None:
            return read_credentials(Path(self.kafka_credentials).expanduser())
        port = loopback_port(self.kafka_bootstrap_servers)
        if port is None:
            return None
        default = local_broker_credentials(port)
        return read_credentials(default) if default.is_file() else None

    def signing_keyring(self) -> Keyring:
        """The keys publishers sign with (`MAPPA_SIGNING_KEYS`), read now."""
        return self._keyring(self.signing_keys, "MAPPA_SIGNING_KEYS", "sign events with")

    def verification_keyring(self) -> Keyring:
        """The keys consumers verify records against (`MAPPA_VERIFY_KEYS`), read now."""
        return self._keyring(self.verify_keys, "MAPPA_VERIFY_KEYS", "verify records against")

    def _keyring(self, given: str | None, setting: str, purpose: str) -> Keyring:
        if given:
            return read_keyring(Path(given).expanduser())
        port = loopback_port(self.kafka_bootstrap_servers)
        if port is not None and (default := local_broker_keyring(port)).is_file():
            return read_keyring(default)
        raise KeyringError(
            f"no keyring to {purpose}: set {setting} to a keyring file (kafka-local writes "
            "one beside its credentials; docs/decisions/0001-area-bound-publishers.md)"
        )


def _state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "mappa-bus"


def load_settings() -> Settings:
    """Read the settings from the environment now (never at import time)."""
    return Settings()
