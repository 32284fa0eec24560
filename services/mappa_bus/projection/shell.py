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
from mappa_bus.operations.http import Check, attach_consumer
from mappa_bus.principals import Role, group_prefix
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.offsets import Position
from mappa_bus.projection.subscriber import Projection, register_projection
from mappa_bus.settings import load_settings
from mappa_bus.signing import Keyring

log = structlog.get_logger(__name__)

P = TypeVar("P", bound=Projection[Any])
P_co = TypeVar("P_co", bound=Projection[Any], covariant=True)


class ProjectionKind(Protocol[P_co]):
    """A slice's projection class: made over a store's engine, for a namespace, with the keys
    records are checked against."""

    def __call__(self, engine: Engine, namespace: str, *, keyring: Keyring) -> P_co: ...


def open_projection(
    kind: ProjectionKind[P], database_url: str, namespace: str, *, keyring: Keyring | None = None
) -> P:
    """A `kind` projection on the store at `database_url`, loaded; checking records against
    `keyring` (by default the settings' verification keyring)."""
    keys = keyring if keyring is not None else load_settings().verification_keyring()
    projection = kind(open_engine(database_url), namespace, keyring=keys)
    projection.load()
    return projection


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
) -> Service:
    """`projection` as one member of `role`'s consumer group (more instances share the
    partitions), with its operations endpoints on `metrics_port` (ready also on `checks`);
    `after_commit` runs after each batch's commit."""
    broker = connection.broker(client_id=f"mappa-{role.value}", logger=log)
    subscriber = register_projection(
        broker,
        projection,
        group_id=group_id or group_prefix(role, projection.namespace),
        after_commit=after_commit,
    )
    app = FastStream(broker, logger=log)
    attach_consumer(app, metrics_port, engine=projection.engine, more=checks)
    return Service(app, subscriber)
