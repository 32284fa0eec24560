"""`mappa alerts run` and `mappa alerts catch-up`: the alerts service's commands, made by the
projection shell's factory; they take the review clock's `--today`, and the level 3 review
interval from the settings (`MAPPA_LEVEL_THREE_REVIEW_WEEKS`)."""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from mappa_bus.cli_common import OnProgress
from mappa_bus.operations.ports import ALERTS_PORT
from mappa_bus.projection.commands import Clock, ServiceCommands, ServiceOptions

if TYPE_CHECKING:
    from faststream import FastStream

    from mappa_bus.alerts.consumer import AlertProjection
    from mappa_bus.connection import KafkaConnection

# Every `mappa` process makes these commands: the alerts service itself is imported only when
# one runs.

ALERTS_OPTIONS = ServiceOptions(
    port=ALERTS_PORT,
    run_help="Run the alerts service as one member of its consumer group until stopped "
    "(Ctrl-C, SIGTERM: the batch in hand is committed first).",
    catch_up_help="Raise and publish the alerts for every record now on the agency topics, then "
    "stop.",
    clock=True,
)


def _configured(projection: AlertProjection) -> AlertProjection:
    """`projection` with the settings' level 3 review interval."""
    from mappa_bus.settings import load_settings

    weeks = load_settings().level_three_review_weeks
    projection.level_three_interval = timedelta(weeks=weeks)
    return projection


def _app(
    connection: KafkaConnection, projection: AlertProjection, metrics_port: int, today: Clock
) -> FastStream:
    from mappa_bus.alerts.service import alerts_app

    return alerts_app(connection, _configured(projection), today=today, metrics_port=metrics_port)


def _catch_up(
    connection: KafkaConnection, projection: AlertProjection, progress: OnProgress, today: Clock
) -> Coroutine[Any, Any, int]:
    from mappa_bus.alerts.service import catch_up

    return catch_up(connection, _configured(projection), today=today, on_progress=progress)


def alerts_service() -> ServiceCommands[AlertProjection]:
    """The alerts slice, for its `run` and `catch-up`."""
    from mappa_bus.alerts.consumer import AlertProjection
    from mappa_bus.principals import Role

    return ServiceCommands(
        role=Role.ALERTS,
        kind=AlertProjection,
        verb="folding",
        summary=lambda projection, applied: (
            f"{applied:,} records folded; {projection.raised_count():,} alerts raised in all"
        ),
        app=_app,
        catch_up=_catch_up,
    )
