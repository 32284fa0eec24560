"""Runtime settings, read once from the environment (one place for every tunable)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mappa_bus.connection import KafkaConnection, Mechanism


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
    client_id: str = Field(default="mappa-bus", description="Kafka client id prefix.")
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto",
        description="`json` for services, `console` for people; `auto` picks by whether stderr "
        "is a terminal.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO")

    def connection(self) -> KafkaConnection:
        """The Kafka connection these settings describe."""
        return KafkaConnection(
            bootstrap_servers=self.kafka_bootstrap_servers,
            username=self.kafka_username,
            password=self.kafka_password.get_secret_value() if self.kafka_password else None,
            mechanism=self.kafka_sasl_mechanism,
        )


def load_settings() -> Settings:
    """Read the settings from the environment now (never at import time)."""
    return Settings()
