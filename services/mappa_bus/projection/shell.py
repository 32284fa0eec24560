"""A projection at work, whichever slice's: opened on its store and loaded, then run as one
member of its consumer group (with its operations endpoints) or until it has caught up
(`subscriber.consume_until_caught_up`). A slice gives its projection (fold, schema, commit)
and its hooks; the shell does the rest the same way for each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import structlog
from faststream import FastStream
from faststream.kafka import KafkaBroker
from sqlalchemy import Engine

from mappa_bus.connection import KafkaConnection
from mappa_bus.keystore import open_key_store
from mappa_bus.operations.http import Check, attach_consumer
from mappa_bus.principals import Role, group_prefix
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.offsets import Position
from mappa_bus.projection.sealed import RecordKeys, SealedRecords
from mappa_bus.projection.subscriber import Projection, register_projection
from mappa_bus.settings import Settings, load_settings

log = structlog.get_logger(__name__)

P = TypeVar("P", bound=Projection[Any])
P_co = TypeVar("P_co", bound=Projection[Any], covariant=True)


class ProjectionKind(Protocol[P_co]):
    """A slice's projection class: made over a store's engine, for a namespace, with the keys
    records are checked against."""

    def __call__(self, engine: Engine, namespace: str, *, keyring: RecordKeys) -> P_co: ...


def open_projection(
    kind: ProjectionKind[P],
    database_url: str,
    namespace: str,
    *,
    keyring: RecordKeys | None = None,
) -> P:
    """A `kind` projection on the store at `database_url`, loaded; checking records against
    `keyring` (by default the settings' verification keyring), or opening them with the case
    keys (`SealedRecords`: it reads the sealed record)."""
    keys = keyring if keyring is not None else load_settings().verification_keyring()
    projection = kind(open_engine(database_url), namespace, keyring=keys)
    projection.load()
    return projection


def record_keys(settings: Settings) -> RecordKeys:
    """What a projection reads its records with under `settings`: the agencies' keys (the
    agency topics), or in sealed mode the case keys (the sealed record). KeyringError or
    KeyStoreError when they cannot be had."""
    if not settings.sealed():
        return settings.verification_keyring()
    return SealedRecords(open_key_store(settings.key_store_url, settings.key_encryption_key_path()))


@dataclass
class Service:
    """A projection running as a FastStream application, and its subscriber."""

    app: FastStream
    subscriber: Any

    def held(self) -> list[Position]:
        """The partitions this member of the group holds now."""
        consumer = self.subscriber.consumer
        assigned = [] if consumer is None else consumer.assignment()
        return [(tp.topic, tp.partition) for tp in assigned]


def projection_service(
    connection: KafkaConnection,
    projection: Projection[Any],
    role: Role,
    *,
    group_id: str | None = None,
    metrics_port: int = 0,
    after_commit: Callable[[KafkaBroker], Awaitable[object]] | None = None,
    checks: Mapping[str, Check] | None = None,
    before_commit: Callable[[KafkaBroker, Any], Awaitable[object]] | None = None,
    producer_options: Mapping[str, Any] | None = None,
) -> Service:
    """`projection` as one member of `role`'s consumer group (more instances share the
    partitions), with its operations endpoints on `metrics_port` (ready also on `checks`);
    `before_commit` runs with each folded batch before its commit, `after_commit` after it;
    `producer_options` configure the broker's producer."""
    broker = connection.broker(
        client_id=f"mappa-{role.value}", logger=log, **(producer_options or {})
    )
    subscriber = register_projection(
        broker,
        projection,
        group_id=group_id or group_prefix(role, projection.namespace),
        after_commit=after_commit,
        before_commit=before_commit,
    )
    app = FastStream(broker, logger=log)
    attach_consumer(app, metrics_port, engine=projection.engine, more=checks)
    return Service(app, subscriber)
