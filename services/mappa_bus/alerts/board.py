"""The alerts board: the recent alerts and their acknowledgements, kept from the feed, and the
server-sent event streams that show it to each open page, first whole, then change by change."""

# No `from __future__ import annotations`: FastAPI reads `AlertRow`'s annotations at runtime.

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Final

import structlog
from pydantic import BaseModel, ConfigDict

from mappa_bus.alerts.model import AlertAcknowledged, AlertRaised, Severity
from mappa_bus.alerts.subscription import Followed
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.areas import AREA_NAMES

log = structlog.get_logger(__name__)

Feed = Callable[[], AsyncIterator[Followed]]
"""Called, yields alerts and acknowledgements: `follow` on the broker, or a test's own."""

_KEEP: Final = 1_000
_QUEUE: Final = 1_000
_KEEP_ALIVE_S: Final = 15.0
_RETRY_S: Final = 5.0


class AlertRow(BaseModel):
    """One alert as the page shows it, with its acknowledgement once there is one."""

    model_config = ConfigDict(frozen=True)

    id: str
    time: datetime
    severity: Severity
    area: Area
    area_name: str
    level: int | None
    category: int | None
    rule: str
    case_id: str
    summary: str
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None


class AlertBoard:
    """The recent alerts and their acknowledgements, and the pages listening for changes."""

    def __init__(self, keep: int = _KEEP) -> None:
        self._alerts: dict[str, AlertRaised] = {}
        # The first acknowledgement of each alert, kept even before its alert is read: the two
        # topics are read side by side, so it may come first.
        self._acks: dict[str, AlertAcknowledged] = {}
        self._keep = keep
        self._listeners: set[asyncio.Queue[str | None]] = set()
        self.feed = "starting"
        self.closed = False

    def take(self, item: Followed) -> None:
        """Apply an alert or acknowledgement, and tell every page of the row it changed."""
        if isinstance(item, AlertRaised):
            self._alerts[item.id] = item
            self._forget_oldest()
            changed = item.id
        else:
            changed = item.data.alert_id
            first = self._acks.get(changed)
            if first is not None and first.time <= item.time:
                return
            self._acks[changed] = item
            while len(self._acks) > 4 * self._keep:
                self._acks.pop(next(iter(self._acks)))
        row = self.row(changed)
        if row is not None:
            self._broadcast(sse("alert", row.model_dump_json()))

    def _forget_oldest(self) -> None:
        while len(self._alerts) > self._keep:
            oldest = min(self._alerts.values(), key=lambda alert: alert.time)
            del self._alerts[oldest.id]

    def alert(self, alert_id: str) -> AlertRaised | None:
        """The alert `alert_id`, if the board holds it."""
        return self._alerts.get(alert_id)

    def row(self, alert_id: str) -> AlertRow | None:
        """The row of alert `alert_id`, if the board holds it."""
        alert = self._alerts.get(alert_id)
        return None if alert is None else _row(alert, self._acks.get(alert_id))

    def rows(self) -> list[AlertRow]:
        """Every row, newest first."""
        rows = (_row(alert, self._acks.get(alert.id)) for alert in self._alerts.values())
        return sorted(rows, key=lambda row: row.time, reverse=True)

    def set_feed(self, state: str) -> None:
        """Tell the pages whether alerts are arriving ("live") or not ("interrupted")."""
        self.feed = state
        self._broadcast(self.status())

    def status(self) -> str:
        """The feed's state as an event."""
        return sse("status", f'{{"feed": "{self.feed}"}}')

    @contextlib.contextmanager
    def listener(self) -> Iterator["asyncio.Queue[str | None]"]:
        """A queue of the events for one page, from now until the context ends."""
        queue: asyncio.Queue[str | None] = asyncio.Queue(_QUEUE)
        self._listeners.add(queue)
        if self.closed:
            queue.put_nowait(None)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)

    @property
    def listening(self) -> int:
        """How many pages are listening now."""
        return len(self._listeners)

    def _broadcast(self, event: str) -> None:
        for queue in list(self._listeners):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # A page that cannot keep up is ended rather than left behind; the browser
                # reconnects and is sent the board afresh.
                _end(queue)

    def close(self) -> None:
        """End every page's stream (the feed has ended)."""
        self.closed = True
        for queue in list(self._listeners):
            _end(queue)


def _end(queue: "asyncio.Queue[str | None]") -> None:
    while not queue.empty():
        queue.get_nowait()
    queue.put_nowait(None)


def _row(alert: AlertRaised, ack: AlertAcknowledged | None) -> AlertRow:
    data = alert.data
    return AlertRow(
        id=alert.id,
        time=alert.time,
        severity=data.severity,
        area=data.area,
        area_name=AREA_NAMES[data.area],
        level=data.level,
        category=data.category,
        rule=data.rule,
        case_id=data.case_id,
        summary=data.summary,
        acknowledged_by=None if ack is None else ack.data.acknowledged_by,
        acknowledged_at=None if ack is None else ack.time,
    )


def sse(event: str, data: str) -> str:
    """One server-sent event (`data` is one line of JSON)."""
    return f"event: {event}\ndata: {data}\n\n"


async def pump(feed: Feed, board: AlertBoard, retry_after: float = _RETRY_S) -> None:
    """Feed `board` until cancelled; a failing feed is started again (re-reading is harmless:
    the board keeps each alert once). A feed that ends ends the pages' streams."""
    while True:
        board.set_feed("live")
        try:
            async for item in feed():
                board.take(item)
        except Exception as error:  # the broker gone, a refused fetch: the page stays up
            log.warning("the alerts feed failed; starting it again", error=type(error).__name__)
            board.set_feed("interrupted")
            await asyncio.sleep(retry_after)
            continue
        board.close()
        return


async def stream(board: AlertBoard) -> AsyncIterator[str]:
    with board.listener() as queue:
        # Registered before the board is read: a change meanwhile is sent twice, never lost,
        # and the page applies a row twice to the same effect.
        yield "retry: 3000\n\n"
        for row in reversed(board.rows()):
            yield sse("alert", row.model_dump_json())
        yield board.status()
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), _KEEP_ALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"  # proxies close a connection that says nothing
                continue
            if event is None:
                return
            yield event
