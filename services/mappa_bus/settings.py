"""Runtime settings, read once from the environment (one place for every tunable)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mappa_bus.access.identity import ClaimNames
from mappa_bus.access.tokens import IssuerSettings
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
from mappa_bus.web.hosts import LOOPBACK, allowed_hosts


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
        default_factory=lambda: f"sqlite:///{state_dir() / 'mappa-bus-demo.db'}",
        description="The demo's own store, so the sample year never mixes with real state.",
    )
    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{state_dir() / 'mappa-bus.db'}",
        description="Where the projection services keep their state (SQLAlchemy URL): SQLite "
        "by default, `postgresql+psycopg://...` in production.",
    )
    record: Literal["ingress", "sealed"] = Field(
        default="ingress",
        description="Where the projections read the record: `ingress`, the agency topics "
        "themselves (kept for ever); `sealed`, `mappa.record`, which the intake fills with each "
        "checked record sealed under its case's key, the agency topics becoming a 7-day ingress "
        "(docs/decisions/0002-erasure-reaching-the-log.md).",
    )
    key_store_url: str = Field(
        default_factory=lambda: f"sqlite:///{state_dir() / 'mappa-keys.db'}",
        description="Where the case keys of the sealed record are kept (SQLAlchemy URL), apart "
        "from every projection's store: SQLite by default, PostgreSQL in production.",
    )
    key_encryption_key: str = Field(
        default_factory=lambda: str(state_dir() / "key-encryption-key"),
        description="The file (0600, 64 hex digits) holding the key that wraps every case key "
        "in the key store; in production a KMS key does this. Read in `sealed` mode; `mappa up` "
        "writes one at the default place on its first sealed run.",
    )

    retention_years: int = Field(
        default=6,
        ge=1,
        description="Years a case's details are kept after its MAPPA management ends, before "
        "`mappa erase-expired` erases them from every store (set it from the retention "
        "schedule; docs/retention.md).",
    )
    level_three_review_weeks: int = Field(
        default=8,
        ge=1,
        description="The longest a level 3 case may go without a MAPPA meeting, in weeks, "
        "before the alerts service raises `level-three-unmet` (counted from the later of its "
        "last meeting and its reaching level 3).",
    )
    oidc_issuer: str | None = Field(
        default=None,
        description="The OpenID Connect issuer whose access tokens identify readers (e.g. "
        "http://127.0.0.1:8180/realms/mappa for deploy/keycloak/keycloak-local, an Entra ID "
        "tenant's https://login.microsoftonline.com/<tenant>/v2.0). Unset: the HTTP services "
        "refuse to start unless --insecure-dev-identity is given.",
    )
    oidc_discovery_url: str | None = Field(
        default=None,
        description="Where to read the issuer's discovery document when this service reaches "
        "the issuer by another address than its public URL (docker compose: the container "
        "name). Unset: under MAPPA_OIDC_ISSUER.",
    )
    oidc_audience: str = Field(
        default="mappa-api", description="The `aud` every accepted access token must carry."
    )
    oidc_client_id: str = Field(
        default="mappa-web", description="The client the alerts page signs people in as."
    )
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="That client's secret, if the issuer made it confidential."
    )
    oidc_user_claim: str = Field(
        default="preferred_username", description="The claim naming the reader (else `sub`)."
    )
    oidc_roles_claim: str = Field(
        default="mappa_roles",
        description="The claim listing the reader's roles (dotted path; e.g. `roles` for Entra "
        "ID app roles, `authorities` for HMPPS Auth).",
    )
    oidc_areas_claim: str = Field(
        default="mappa_areas",
        description="The claim listing the reader's MAPPA areas (`national` for every area).",
    )
    oidc_claim_prefix: str = Field(
        default="",
        description="A prefix the issuer puts on role and area values, taken off before they "
        "are read (e.g. `ROLE_MAPPA_` for HMPPS Auth authorities).",
    )
    oidc_leeway_seconds: float = Field(
        default=30.0, ge=0, description="Clock skew tolerated on a token's `exp` and `nbf`."
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Signs the alerts page's session cookies; unset: a new random secret per "
        "process (people sign in again after a restart). Share one across replicas.",
    )

    def issuer(self) -> IssuerSettings | None:
        """The issuer to verify access tokens against, if one is configured."""
        if not self.oidc_issuer:
            return None
        return IssuerSettings(
            issuer=self.oidc_issuer,
            audience=self.oidc_audience,
            claims=ClaimNames(
                user=self.oidc_user_claim,
                roles=self.oidc_roles_claim,
                areas=self.oidc_areas_claim,
                prefix=self.oidc_claim_prefix,
            ),
            leeway_s=self.oidc_leeway_seconds,
            discovery_url=self.oidc_discovery_url,
        )

    allowed_hosts: str = Field(
        default=",".join(LOOPBACK),
        description="Comma-separated host names the HTTP apps (case API, alerts page) answer, "
        "on any port: `mappa.example.org`, `*.example.org` for its subdomains, IPv6 in "
        "brackets. A request naming another host in `Host` is refused with 400, and a "
        "state-changing one whose `Origin` is a page of another host with 403.",
    )
    picture_cache_cases: int = Field(
        default=5_000,
        ge=1,
        description="Most case pictures the picture service keeps in memory between batches "
        "(the most recently used; the rest are read from its store as their events arrive). "
        "It keeps current pictures without their timelines, 5-13 KiB each in memory (the "
        "national year's averaged 13.4 KiB), so the default holds up to about 65 MiB however "
        "large the caseload or long the history. An area's caseload fits; a national one's "
        "batches miss it either way (20,000 cost 193 MiB more for 5% less CPU on the national "
        "year: docs/benchmarks.md).",
    )
    picture_cache_row_kib: int = Field(
        default=12_288,
        ge=1,
        description="Most KiB of current rows (each picture's JSON, as stored) the picture "
        "service's cache holds, besides `picture_cache_cases`: a picture grows with its case's "
        "history, so a number of cases alone lets the cache grow with the years. In memory a "
        "cached picture takes about 7 times its row. At the default the number binds first for an "
        "area over a few years (Kent's four years: 5,000 pictures) and for a national year, "
        "and these bytes as the histories lengthen (about 85 MiB in memory).",
    )
    alerts_cache_cases: int = Field(
        default=2_000,
        ge=1,
        description="Most case pictures the alerts service keeps in memory between batches "
        "(the most recently used; the rest are read from its store as their events arrive, "
        "and the clock reads only the cases due). Sized as `picture_cache_cases`: about "
        "100-150 MiB at the default however large the caseload.",
    )
    alerts_cache_row_kib: int = Field(
        default=4_096,
        ge=1,
        description="Most KiB of current rows (each picture's JSON, as stored) the alerts "
        "service's cache holds, besides `alerts_cache_cases`: a picture grows with its case's "
        "history (Kent's rows averaged 1.7 KiB at one year, 2.2 KiB at four), so a number of "
        "cases alone lets the cache grow with the years. At the default the number binds "
        "first for a year's history and these bytes as the histories lengthen.",
    )
    reporting_cache_cases: int = Field(
        default=10_000,
        ge=1,
        description="Most cases whose plan steps the reporting consumer keeps in memory "
        "between batches (the most recently used; the rest are read from its store as their "
        "events arrive). A case's steps are a few KiB, so the default holds some tens of MiB "
        "however large the caseload.",
    )
    reporting_cache_plan_steps: int = Field(
        default=20_000,
        ge=1,
        description="Most plan steps, over all the cases cached, that the reporting consumer "
        "keeps in memory, besides `reporting_cache_cases`: a case's plan gains steps as its "
        "history lengthens, so a number of cases alone let the cache grow with the years "
        "(London's four years: 78,535 steps against one year's 32,852). A step takes about "
        "300 bytes, so the default holds about 6 MiB.",
    )
    alerts_streams: int = Field(
        default=100,
        ge=1,
        description="Most live-update streams (`/events`) the alerts page serves at once; "
        "more are refused with 503 and Retry-After.",
    )
    alerts_streams_per_user: int = Field(
        default=10,
        ge=1,
        description="Most live-update streams one user holds at once (a page per browser "
        "tab); more are refused with 429 and Retry-After.",
    )

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: str) -> str:
        allowed_hosts(value)  # raises naming the entry that is no host name
        return value

    def hosts(self) -> tuple[str, ...]:
        """The allowed hosts, one per entry."""
        return allowed_hosts(self.allowed_hosts)

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

    def sealed(self) -> bool:
        """Whether the projections read the sealed record (`MAPPA_RECORD=sealed`)."""
        return self.record == "sealed"

    def key_encryption_key_path(self) -> Path:
        """The key-encryption key's file (`MAPPA_KEY_ENCRYPTION_KEY`)."""
        return Path(self.key_encryption_key).expanduser()


def state_dir() -> Path:
    """Where local state lives: $XDG_STATE_HOME/mappa-bus, else ~/.local/state/mappa-bus."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "mappa-bus"


def load_settings() -> Settings:
    """Read the settings from the environment now (never at import time)."""
    return Settings()
