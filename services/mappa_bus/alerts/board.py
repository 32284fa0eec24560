"""The alerts board: the recent alerts and their acknowledgements, kept from the feed, and the
server-sent event streams that show it to each open page, first whole, then change by change.

Each page sees only the alerts its reader may (`Viewer`): of their areas, and meant for one of
their roles (an alert's audience is the roles its summary may be shown to)."""

# No `from __future__ import annotations`: FastAPI reads `AlertRow`'s annotations at runtime.

import asyncio
import contextlib
import itertools
import json
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final, NamedTuple

import structlog
from pydantic import BaseModel, ConfigDict

from mappa_bus.access.identity import Reader
from mappa_bus.access.policy import ViewerRole
from mappa_bus.alerts.model import AlertAcknowledged, AlertRaised, AlertWithdrawn, Severity
from mappa_bus.alerts.subscription import Recorded
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.areas import AREA_NAMES
from mappa_bus.catalogue.erasure import CaseErased
from mappa_bus.projection.sealed import ErasedEvent

log = structlog.get_logger(__name__)

Feed = Callable[[], AsyncIterator[Recorded]]
"""Called, yields alerts and acknowledgements: `follow` on the broker, or a test's own."""

_KEEP: Final = 1_000
_QUEUE: Final = 1_000
_KEEP_ALIVE_S: Final = 15.0
_RETRY_S: Final = 5.0
_PAGE: Final = 50
"""Rows sent at once to a page connecting (about 20 KB), the event loop free in between."""
_WAITING: Final = 4
"""Acknowledgements kept of an alert not read yet: the earliest few, in case some are refused."""


class AlertRow(BaseModel):
    """One alert as the page shows it, with its acknowledgement once there is one."""

    model_config = ConfigDict(frozen=True)

    id: str
    time: datetime
    """When the alert was raised."""
    happened_at: datetime | None = None
    """When the event that raised it happened (as its agency says)."""
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


@dataclass(frozen=True)
class Viewer:
    """Whose alerts a page shows: a reader's roles and areas (None: every area)."""

    roles: frozenset[ViewerRole]
    areas: frozenset[Area] | None

    @classmethod
    def of(cls, reader: Reader) -> "Viewer":
        """The view of `reader`."""
        return cls(reader.roles, reader.areas)

    def sees(self, alert: AlertRaised) -> bool:
        """Whether `alert` is for one of the viewer's roles, in one of their areas."""
        data = alert.data
        in_area = self.areas is None or data.area in self.areas
        return in_area and not self.roles.isdisjoint(data.audience)


class _Alert(NamedTuple):
    event: AlertRaised
    recorded_at: datetime


class _Ack(NamedTuple):
    event: AlertAcknowledged
    recorded_at: datetime


class AlertBoard:
    """The recent alerts and their acknowledgements, and the pages listening for changes.

    An alert's acknowledgement is the first the bus recorded (by its record time, not the time
    its publisher claims), among those not dated before the alert: a backdated or replayed one
    cannot take the place of the genuine first.
    """

    def __init__(self, keep: int = _KEEP) -> None:
        self._alerts: dict[str, _Alert] = {}
        # Per alert, its acknowledgement; until the alert is read (the two topics are read side
        # by side, so an acknowledgement may come first), the earliest few, to judge then.
        self._acks: dict[str, list[_Ack]] = {}
        self._keep = keep
        self._listeners: dict[asyncio.Queue[str | None], Viewer] = {}
        # Made once per change and shared by every request (of one view), not once per page
        # connecting.
        self._rows: list[AlertRow] | None = None
        self._pages: dict[Viewer, tuple[bytes, ...]] = {}
        self.feed = "starting"
        self.closed = False
        self.forgotten = 0
        """How many alerts the board has let go of to keep `keep` (older ones, on the topic)."""
        # Alerts withdrawn (their triggering event withdrawn by its agency), remembered so that
        # one read after its withdrawal (the topics' partitions are read side by side) is not
        # shown; the most recent few thousand suffice, as for acknowledgements.
        self._withdrawn: dict[str, None] = {}
        # Erased cases (docs/decisions/0002): their alerts, still on the alerts topic for its
        # year, are not shown, whichever of the topics is read first.
        self._erased: set[str] = set()

    def take(self, item: Recorded) -> None:
        """Apply an alert, acknowledgement or erasure, and tell every page of the row it
        changed."""
        event = item.event
        if isinstance(event, AlertWithdrawn):
            self._withdraw(event)
            return
        if isinstance(event, CaseErased):
            self._erase(event.subject)
            return
        if isinstance(event, ErasedEvent):
            # Sealed under a case's key now destroyed (sealed mode): the case is erased, though
            # its erasure may not have been read yet.
            self._erase(event.case_id)
            return
        if isinstance(event, AlertRaised):
            if event.id in self._alerts or event.id in self._withdrawn:
                return  # read again (a restarted feed, a second copy), or withdrawn already
            if event.data.case_id in self._erased:
                return
            self._alerts[event.id] = _Alert(event, item.recorded_at)
            self._judge_waiting(event.id)
            self._forget_oldest()
            changed = event.id
        else:
            changed = event.data.alert_id
            if not self._offer(_Ack(event, item.recorded_at)):
                return
        self._rows = None
        self._pages.clear()
        held = self._alerts.get(changed)
        if held is not None:
            self._broadcast(sse("alert", self._row(held.event).model_dump_json()), held.event)

    def _withdraw(self, withdrawal: AlertWithdrawn) -> None:
        """Drop the withdrawn alert, and tell the pages that showed it."""
        alert_id = withdrawal.data.alert_id
        self._withdrawn[alert_id] = None
        while len(self._withdrawn) > 4 * self._keep:
            self._withdrawn.pop(next(iter(self._withdrawn)))
        held = self._alerts.pop(alert_id, None)
        self._acks.pop(alert_id, None)
        if held is None:
            return
        self._rows = None
        self._pages.clear()
        gone = {"id": alert_id, "reason": withdrawal.data.reason.value}
        self._broadcast(sse("withdrawn", json.dumps(gone)), held.event)

    def _erase(self, case_id: str) -> None:
        """Drop every alert of an erased case, and tell the pages that showed them."""
        self._erased.add(case_id)
        gone = [held for held in self._alerts.values() if held.event.data.case_id == case_id]
        for held in gone:
            del self._alerts[held.event.id]
            self._acks.pop(held.event.id, None)
        if not gone:
            return
        self._rows = None
        self._pages.clear()
        for held in gone:
            erased = {"id": held.event.id, "reason": "erased"}
            self._broadcast(sse("withdrawn", json.dumps(erased)), held.event)

    def _offer(self, ack: _Ack) -> bool:
        """Keep `ack` if it is now its alert's first; whether it is."""
        alert_id = ack.event.data.alert_id
        alert = self._alerts.get(alert_id)
        held = self._acks.get(alert_id, [])
        if alert is None:
            self._acks[alert_id] = sorted([*held, ack], key=lambda a: a.recorded_at)[:_WAITING]
            while len(self._acks) > 4 * self._keep:
                self._acks.pop(next(iter(self._acks)))
            return False
        if _backdated(ack, alert):
            return False
        if held and held[0].recorded_at <= ack.recorded_at:
            return False
        self._acks[alert_id] = [ack]
        return True

    def _judge_waiting(self, alert_id: str) -> None:
        alert = self._alerts[alert_id]
        valid = [ack for ack in self._acks.pop(alert_id, []) if not _backdated(ack, alert)]
        if valid:
            self._acks[alert_id] = valid[:1]

    def _forget_oldest(self) -> None:
        """Keep the newest `keep` alerts, forgetting the oldest of those nobody must act on
        first: a burst of routine alerts never pushes out an unacknowledged urgent one."""
        while len(self._alerts) > self._keep:
            oldest = min(self._alerts.values(), key=self._forgettable).event.id
            del self._alerts[oldest]
            self._acks.pop(oldest, None)
            self.forgotten += 1

    def _forgettable(self, alert: _Alert) -> tuple[bool, datetime]:
        pending = alert.event.data.severity is Severity.URGENT and alert.event.id not in self._acks
        return (pending, alert.event.time)

    def alert(self, alert_id: str) -> AlertRaised | None:
        """The alert `alert_id`, if the board holds it."""
        held = self._alerts.get(alert_id)
        return None if held is None else held.event

    def row(self, alert_id: str) -> AlertRow | None:
        """The row of alert `alert_id`, if the board holds it."""
        held = self._alerts.get(alert_id)
        return None if held is None else self._row(held.event)

    def rows(
        self,
        viewer: Viewer | None = None,
        *,
        before: datetime | None = None,
        limit: int | None = None,
    ) -> list[AlertRow]:
        """Every row (that `viewer` sees), newest first; only those raised `before` a time,
        and at most `limit` of them, when given (a page of older alerts)."""
        if self._rows is None:
            rows = (self._row(held.event) for held in self._alerts.values())
            self._rows = sorted(rows, key=lambda row: row.time, reverse=True)
        chosen = (
            row
            for row in self._rows
            if (viewer is None or viewer.sees(self._alerts[row.id].event))
            and (before is None or row.time < before)
        )
        return list(chosen if limit is None else itertools.islice(chosen, limit))

    def pages(self, viewer: Viewer) -> tuple[bytes, ...]:
        """Every row `viewer` sees as an event, oldest first, in pages of a few dozen rows,
        encoded."""
        if viewer not in self._pages:
            events = [sse("alert", row.model_dump_json()) for row in reversed(self.rows(viewer))]
            self._pages[viewer] = tuple(
                "".join(events[start : start + _PAGE]).encode()
                for start in range(0, len(events), _PAGE)
            )
        return self._pages[viewer]

    def _row(self, alert: AlertRaised) -> AlertRow:
        acks = self._acks.get(alert.id)
        return _row(alert, acks[0] if acks else None)

    def set_feed(self, state: str) -> None:
        """Tell the pages whether alerts are arriving ("live") or not ("interrupted")."""
        self.feed = state
        self._broadcast(self.status())

    def status(self) -> str:
        """The feed's state as an event."""
        state = {"feed": self.feed, "kept": self._keep, "forgotten": self.forgotten}
        return sse("status", json.dumps(state))

    @contextlib.contextmanager
    def listener(self, viewer: Viewer) -> Iterator["asyncio.Queue[str | None]"]:
        """A queue of the events for one page of `viewer`, from now until the context ends."""
        queue: asyncio.Queue[str | None] = asyncio.Queue(_QUEUE)
        self._listeners[queue] = viewer
        if self.closed:
            queue.put_nowait(None)
        try:
            yield queue
        finally:
            self._listeners.pop(queue, None)

    @property
    def listening(self) -> int:
        """How many pages are listening now."""
        return len(self._listeners)

    def _broadcast(self, event: str, about: AlertRaised | None = None) -> None:
        """Send `event` to every page, or, if it is `about` an alert, to those that see it."""
        for queue, viewer in list(self._listeners.items()):
            if about is not None and not viewer.sees(about):
                continue
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


def _backdated(ack: _Ack, alert: _Alert) -> bool:
    """An acknowledgement dated, or recorded, before its alert: refused, and logged by ids."""
    if ack.event.time >= alert.event.time and ack.recorded_at >= alert.recorded_at:
        return False
    log.warning(
        "ignored an acknowledgement dated before its alert",
        alert_id=alert.event.id,
        acknowledgement_id=ack.event.id,
    )
    return True


def _row(alert: AlertRaised, ack: _Ack | None) -> AlertRow:
    data = alert.data
    return AlertRow(
        id=alert.id,
        time=alert.time,
        happened_at=data.happened_at,
        severity=data.severity,
        area=data.area,
        area_name=AREA_NAMES[data.area],
        level=data.level,
        category=data.category,
        rule=data.rule,
        case_id=data.case_id,
        summary=data.summary,
        acknowledged_by=None if ack is None else ack.event.data.acknowledged_by,
        acknowledged_at=None if ack is None else ack.recorded_at,
    )


@dataclass(frozen=True)
class StreamCaps:
    """The most event streams served at once: in all, and to one user."""

    total: int = 100
    per_user: int = 10


DEFAULT_CAPS: Final = StreamCaps()


class Refused(Exception):
    """A stream not served: too many open (in all: 503; of this user: 429)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class StreamSlots:
    """The streams open, per user, held to `caps`."""

    def __init__(self, caps: StreamCaps) -> None:
        self.caps = caps
        self._open: Counter[str] = Counter()

    def take(self, user: str) -> None:
        """Count a stream of `user` open, or raise `Refused` when a cap is reached."""
        if self._open[user] >= self.caps.per_user:
            raise Refused(429, f"at most {self.caps.per_user} live pages per user")
        if self._open.total() >= self.caps.total:
            raise Refused(503, f"at most {self.caps.total} live pages at once")
        self._open[user] += 1

    def give_back(self, user: str) -> None:
        """Count a stream of `user` closed."""
        self._open[user] -= 1
        if self._open[user] <= 0:
            del self._open[user]

    @property
    def open(self) -> int:
        """How many streams are open now."""
        return self._open.total()


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


async def stream(board: AlertBoard, viewer: Viewer) -> AsyncGenerator[str | bytes, None]:
    """The events of one page of `viewer`: the board as they see it, its feed's state, then
    every change they see, until the board closes (or the page leaves)."""
    with board.listener(viewer) as queue:
        # Registered before the board is read: a change meanwhile is sent twice, never lost,
        # and the page applies a row twice to the same effect.
        yield "retry: 3000\n\n"
        for page in board.pages(viewer):
            yield page
            await asyncio.sleep(0)  # let other requests in between pages
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
