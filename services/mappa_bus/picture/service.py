"""Running the case-picture service: for ever in a consumer group, until it has caught up (a
batch job, the tests), or as a rebuild from the start of the topics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import structlog
from faststream import FastStream

from mappa_bus.connection import KafkaConnection
from mappa_bus.operations.http import attach_consumer
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.picture.retention import due, erase, erased_cases
from mappa_bus.picture.store import clear, save_pictures
from mappa_bus.principals import Role, group_prefix
from mappa_bus.projection.database import open_engine
from mappa_bus.projection.subscriber import consume_until_caught_up, register_projection
from mappa_bus.settings import load_settings
from mappa_bus.signing import Keyring
from mappa_bus.topics import NAMESPACE

log = structlog.get_logger(__name__)


def open_projection(
    database_url: str, namespace: str = NAMESPACE, *, keyring: Keyring | None = None
) -> PictureProjection:
    """The picture projection on its store, loaded."""
    keys = keyring if keyring is not None else load_settings().verification_keyring()
    projection = PictureProjection(open_engine(database_url), namespace, keyring=keys)
    projection.load()
    return projection


def rebuild(projection: PictureProjection) -> None:
    """Empty the store, so that the next catch-up replays every topic from its start; erased
    cases stay erased (their stubs are written back, and their events are not folded)."""
    with projection.engine.begin() as connection:
        clear(connection)
        save_pictures(connection, erased_cases(connection).values())
    projection.load()


def erase_expired(projection: PictureProjection, today: date, years: int) -> list[str]:
    """Erase every case whose retention has passed by `today`; the case ids erased."""
    with projection.engine.begin() as connection:
        erased = erase(connection, due(projection.pictures.values(), today, years), today)
    projection.load()
    return erased


async def catch_up(
    connection: KafkaConnection,
    projection: PictureProjection,
    *,
    on_progress: Callable[[int, int], None] | None = None,
) -> int:
    """Apply every record now on the agency topics that the store has not; return how many."""
    return await consume_until_caught_up(connection, projection, on_progress=on_progress)


def picture_app(
    connection: KafkaConnection,
    projection: PictureProjection,
    *,
    group_id: str | None = None,
    metrics_port: int = 0,
) -> FastStream:
    """The service as a FastStream application: one member of the picture consumer group, so
    more instances share the partitions; with its operations endpoints on `metrics_port`."""
    broker = connection.broker(client_id="mappa-picture", logger=log)
    group = group_id or group_prefix(Role.PICTURE, projection.namespace)
    register_projection(broker, projection, group_id=group)
    app = FastStream(broker, logger=log)
    attach_consumer(app, metrics_port, engine=projection.engine)
    return app
