"""Where a Kafka client connects and as whom: the one place clients get their options from.

Every client the bus builds (FastStream brokers, aiokafka producers, consumers and admin clients)
takes its options from a `KafkaConnection`, so that turning on authentication is a change of
settings, not of code. Making one installs the bus's zstd decoder into aiokafka
(`kafka_zstd`): its own makes a decompression context for every record batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from faststream.kafka import KafkaBroker
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from mappa_bus import kafka_zstd

Mechanism = Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]


@dataclass(frozen=True)
class KafkaConnection:
    """A broker address and, when the broker requires it, a SASL principal and password."""

    bootstrap_servers: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    mechanism: Mechanism = "SCRAM-SHA-256"

    def as_principal(self, username: str, password: str) -> KafkaConnection:
        """The same broker, as another principal."""
        return replace(self, username=username, password=password)

    def security(self) -> BaseSecurity | None:
        """FastStream's description of the authentication, or None for a plaintext broker."""
        if self.username is None or self.password is None:
            return None
        if self.mechanism == "PLAIN":
            return SASLPlaintext(self.username, self.password)
        if self.mechanism == "SCRAM-SHA-512":
            return SASLScram512(self.username, self.password)
        return SASLScram256(self.username, self.password)

    def aiokafka_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client."""
        kafka_zstd.install()
        options = {"bootstrap_servers": self.bootstrap_servers}
        options.update(parse_security(self.security()))
        return {key: value for key, value in options.items() if value is not None}

    def broker(self, **options: Any) -> KafkaBroker:
        """A FastStream broker on this connection (not yet connected)."""
        kafka_zstd.install()
        return KafkaBroker(self.bootstrap_servers, security=self.security(), **options)
