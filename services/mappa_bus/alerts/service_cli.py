"""`mappa alerts run` and `mappa alerts catch-up`: the alerts service's commands, made by the
projection shell's factory; they take the review clock's `--today`, and the level 3 review
interval from the settings (`MAPPA_LEVEL_THREE_REVIEW_WEEKS`)."""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import timedelta
from typing import Any

from faststream import FastStream

from mappa_bus.alerts.consumer import AlertProjection
from mappa_bus.alerts.service import alerts_app, catch_up
from mappa_bus.cli_common import OnProgress
from mappa_bus.connection import KafkaConnection
from mappa_bus.operations.ports import ALERTS_PORT
from mappa_bus.principals import Role
from mappa_bus.projection.commands import Clock, ServiceCommands
from mappa_bus.settings import load_settings


def _configured(projection: AlertProjection) -> AlertProjection:
    """`projection` with the settings' level 3 review interval."""
    weeks = load_settings().level_three_review_weeks
    projection.level_three_interval = timedelta(weeks=weeks)
    return projection


def _app(
    connection: KafkaConnection, projection: AlertProjection, metrics_port: int, today: Clock
) -> FastStream:
    return alerts_app(connection, _configured(projection), today=today, metrics_port=metrics_port)


def _catch_up(
    connection: KafkaConnection, projection: AlertProjection, progress: OnProgress, today: Clock
) -> Coroutine[Any, Any, int]:
    return catch_up(connection, _configured(projection), today=today, on_progress=progress)


ALERTS_SERVICE = ServiceCommands(
    role=Role.ALERTS,
    kind=AlertProjection,
    port=ALERTS_PORT,
    run_help="Run the alerts service as one member of its consumer group until stopped "
    "(Ctrl-C, SIGTERM: the batch in hand is committed first).",
    catch_up_help="Raise and publish the alerts for every record now on the agency topics, then "
    "stop.",
    verb="folding",
    summary=lambda projection, applied: (
        f"{applied:,} records folded; {projection.raised_count():,} alerts raised in all"
    ),
    app=_app,
    catch_up=_catch_up,
    clock=True,
)
