"""The coordinators' live alerts page: alerts as they are raised, acknowledged from the page.

One background task follows the alerts and acknowledgements topics (as the `coordinator`
principal) into an `AlertBoard` (`board.py`), which keeps the recent alerts and fans every
change out to each open page over server-sent events. A page that connects is sent the board
first, so loading it shows the current state. "Acknowledge" publishes an `AlertAcknowledged`
event; the row changes only when that event comes back through the feed, so every open page
shows the same thing, and what it shows is what is on the topic.

The case pictures are served under `/api` (the case-picture API, whose reads are audited), and
`/cases/{id}` is a page that asks the reader why they read a case before fetching it.

People sign in at the OpenID Connect issuer (`mappa_bus.web.signin`); their session says who
they are everywhere on the app: the board shows them only the alerts of their areas meant for
their roles, an acknowledgement names them, and the case API reads the same session. A page
loaded without a session is sent to sign in; anything else without one is answered 401.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations at runtime.

import asyncio
import contextlib
import socket
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Annotated, Final

import structlog
import uvicorn
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from mappa_bus.access.identity import Reader
from mappa_bus.access.policy import MIN_REASON_LENGTH, ViewerRole
from mappa_bus.alerts.board import (
    DEFAULT_CAPS,
    AlertBoard,
    AlertRow,
    Feed,
    Refused,
    StreamCaps,
    StreamSlots,
    Viewer,
    pump,
    stream,
)
from mappa_bus.alerts.model import AlertAcknowledged, acknowledgement
from mappa_bus.alerts.subscription import ANY, AlertFilter, Recorded, follow
from mappa_bus.catalogue import CASE_ID_PATTERN, Area
from mappa_bus.catalogue.bus_event import BUS_EVENT_HEADERS
from mappa_bus.catalogue.vocabulary import HandlingMarking
from mappa_bus.connection import KafkaConnection
from mappa_bus.projection.sealed import SealedBusEvents
from mappa_bus.topics import acknowledgements_topic
from mappa_bus.web.hosts import LOOPBACK
from mappa_bus.web.identity import Authenticator, InsecureMarker
from mappa_bus.web.security import secure
from mappa_bus.web.signin import (
    LOGIN,
    WebClient,
    add_session,
    remember_destination,
    sign_in_for,
    signed_in,
)

log = structlog.get_logger(__name__)

Publish = Callable[[AlertAcknowledged], Awaitable[None]]
"""Puts an acknowledgement on the acknowledgements topic (or a test's stand-in for it)."""

# A request that changes something must carry this header: a page of another site cannot add it
# without the browser asking first (CORS), so it cannot acknowledge alerts in the user's name.
INTENT_HEADER: Final = "X-Requested-With"
INTENT: Final = "mappa-alerts"
RECENT: Final = timedelta(days=14)
"""How far back the page starts: a fortnight of alerts is the working set of a coordinator."""
_RETRY_STREAM_S: Final = 10
"""When a page refused a stream is told to try again (a page closing frees one)."""
_STATIC: Final = resources.files("mappa_bus.alerts") / "static"
_BANNER_SLOT: Final = "<!-- identity banner -->"
_BANNER: Final = (
    '<p class="insecure" id="insecure-identity" role="alert">INSECURE DEVELOPMENT IDENTITY: '
    "whoever signs in here is who they say they are. Never use it with real cases.</p>"
)
ACKNOWLEDGING_ROLE: Final = ViewerRole.COORDINATOR
"""Acknowledging an alert is the coordinator's work (the event's source says so)."""


CaseApi = Callable[[Authenticator, Sequence[str]], ASGIApp]
"""Makes the case API the page mounts at `/api`, for the page's sign-in and hosts. Whoever
wires the page gives it (the picture slice's `case_api_for`): alerts does not import picture."""


class CaseErasedError(LookupError):
    """An acknowledgement not sent: its case's key is destroyed (the case is erased), so
    nothing more is said of it on any topic."""


class Session(BaseModel):
    """Who is signed in, and what their case reads need."""

    user: str
    roles: list[ViewerRole]
    areas: list[Area] | None
    """None: every area (a national role)."""
    insecure: bool
    """Whether the identity is development mode's: whatever the person said."""
    min_reason_length: int
    marking: HandlingMarking


class Acknowledgement(BaseModel):
    """The acknowledgement sent (the row changes when it comes back through the feed)."""

    acknowledgement_id: str
    alert_id: str


@contextlib.asynccontextmanager
async def kafka_publisher(
    connection: KafkaConnection, namespace: str, keys: SealedBusEvents | None = None
) -> AsyncIterator[Publish]:
    """Publish acknowledgements to `namespace`'s topic, keyed by area as the alerts are; in
    sealed mode (`keys`) sealed under the case's key, as its alert is (decision 0002)."""
    producer = AIOKafkaProducer(
        client_id="mappa-coordinator-web",
        acks="all",
        enable_idempotence=True,
        **connection.aiokafka_options(),
    )
    await producer.start()

    async def publish(ack: AlertAcknowledged) -> None:
        value = ack.kafka_value() if keys is None else keys.seal(ack)
        if value is None:
            raise CaseErasedError(ack.subject)
        await producer.send_and_wait(
            acknowledgements_topic(namespace),
            value,
            key=ack.kafka_key,
            headers=[(name, value.encode()) for name, value in BUS_EVENT_HEADERS.items()],
        )

    try:
        yield publish
    finally:
        await producer.stop()


def create_web_app(
    connection: KafkaConnection | None,
    namespace: str,
    case_api: CaseApi,
    authenticator: Authenticator,
    *,
    client: WebClient | None = None,
    where: AlertFilter = ANY,
    hosts: Sequence[str] = LOOPBACK,
    caps: StreamCaps = DEFAULT_CAPS,
    recent: timedelta = RECENT,
    feed: Feed | None = None,
    publish: Publish | None = None,
    keys: SealedBusEvents | None = None,
) -> FastAPI:
    """The alerts page of the alerts `where` matches, answering `hosts`, with at most `caps`
    live pages; people sign in as `client` at the issuer of `authenticator` (from
    `http_authenticator`), or, in development mode, as who they say.

    By default the feed follows `namespace`'s topics from `recent` ago and acknowledgements are
    published there, both over `connection`; a test gives `feed` and `publish` instead (and
    then no connection). In sealed mode, `keys` (the case keys) open the alerts and seal the
    acknowledgements; an alert whose case's key is destroyed is not shown.
    """
    if connection is None and (feed is None or publish is None):
        raise ValueError("without a connection, give both `feed` and `publish`")
    board = AlertBoard()

    def followed() -> AsyncIterator[Recorded]:
        assert connection is not None  # checked above
        return follow(connection, namespace, where, since=datetime.now(UTC) - recent, keys=keys)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            if publish is None:
                assert connection is not None  # checked above
                app.state.publish = await stack.enter_async_context(
                    kafka_publisher(connection, namespace, keys)
                )
            else:
                app.state.publish = publish
            task = asyncio.create_task(pump(feed or followed, board))
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                board.close()

    sign_in = sign_in_for(authenticator, client or WebClient())
    app = FastAPI(title="MAPPA alerts", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.board = board
    sign_in.add_routes(app)
    _page_routes(app, insecure=sign_in.insecure)
    _alert_routes(app, board, caps)
    app.mount("/static", StaticFiles(packages=[("mappa_bus.alerts", "static")]), name="static")
    app.mount("/api", case_api(sign_in.authenticator, hosts))
    # The session is read inside the mounted API too, so it is added around everything; the
    # security policy goes around that.
    add_session(app, client or WebClient())
    secure(app, hosts)
    if sign_in.insecure:
        app.add_middleware(_MarkedBesideApi)
    return app


class _MarkedBesideApi:
    """Marks the responses of development mode, but those of the mounted API, which marks its
    own (once is enough)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.marked = InsecureMarker(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        inner = self.app if path == "/api" or path.startswith("/api/") else self.marked
        await inner(scope, receive, send)


def reader(request: Request) -> Reader:
    """The signed-in reader, or 401."""
    found = signed_in(request)
    if found is None:
        raise HTTPException(401, f"sign in first: {LOGIN}")
    return found


SignedIn = Annotated[Reader, Depends(reader)]


def _page_routes(app: FastAPI, *, insecure: bool) -> None:
    def page(request: Request, name: str) -> Response:
        if signed_in(request) is None:
            remember_destination(request)
            return RedirectResponse(LOGIN, status_code=303)
        html = (_STATIC / name).read_text(encoding="utf-8")
        return HTMLResponse(html.replace(_BANNER_SLOT, _BANNER if insecure else ""))

    @app.get("/", response_class=HTMLResponse, name="alerts_page")
    async def alerts_page(request: Request) -> Response:
        """The live alerts page (signed in), else off to sign in."""
        return page(request, "index.html")

    @app.get("/cases/{case_id}", response_class=HTMLResponse)
    async def case_page(
        request: Request,
        case_id: Annotated[str, Path(pattern=CASE_ID_PATTERN)],
    ) -> Response:
        """A page that asks why, then shows the case as the reader's role may see it."""
        return page(request, "case.html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        # Browsers ask for one on every page; no icon, rather than a 404 in the console.
        return Response(status_code=204)

    @app.get("/session", responses={401: {}})
    async def whoami(signed: SignedIn) -> Session:
        """Who is signed in: their name, roles and areas."""
        return Session(
            user=signed.user,
            roles=sorted(signed.roles),
            areas=None if signed.areas is None else sorted(signed.areas),
            insecure=insecure,
            min_reason_length=MIN_REASON_LENGTH,
            marking=HandlingMarking.OFFICIAL_SENSITIVE,
        )


class _EventStream(StreamingResponse):
    """A page's event stream, its slot given back however it ends (the page leaving included)."""

    def __init__(
        self, events: AsyncGenerator[str | bytes, None], release: Callable[[], None]
    ) -> None:
        super().__init__(
            events,
            media_type="text/event-stream",
            headers={"x-accel-buffering": "no"},  # a proxy must pass each event at once
        )
        self._events = events
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._events.aclose()
            self._release()


def _alert_routes(app: FastAPI, board: AlertBoard, caps: StreamCaps) -> None:
    slots = StreamSlots(caps)
    app.state.streams = slots

    @app.get("/events", responses={401: {}, 429: {}, 503: {}})
    async def events(signed: SignedIn) -> StreamingResponse:
        """The board as the reader sees it, then every change they see, as server-sent events
        (so many pages at once)."""
        user = signed.user
        try:
            slots.take(user)
        except Refused as refused:
            retry = {"Retry-After": str(int(_RETRY_STREAM_S))}
            raise HTTPException(refused.status, refused.detail, headers=retry) from refused
        return _EventStream(stream(board, Viewer.of(signed)), lambda: slots.give_back(user))

    @app.get("/alerts", responses={401: {}})
    async def alerts(
        signed: SignedIn,
        before: Annotated[
            datetime | None, Query(description="Only alerts raised before this time.")
        ] = None,
        limit: Annotated[int | None, Query(ge=1, description="At most this many.")] = None,
    ) -> list[AlertRow]:
        """The alerts now on the board that the reader sees, newest first; page back through
        them with `before` (the oldest time of the page before) and `limit`."""
        return board.rows(Viewer.of(signed), before=before, limit=limit)

    # `:path`: an alert id may hold any character, a slash too (sent as %2F).
    @app.post("/alerts/{alert_id:path}/acknowledge", status_code=202)
    async def acknowledge(
        alert_id: str,
        signed: SignedIn,
        intent: Annotated[str | None, Header(alias=INTENT_HEADER)] = None,
    ) -> Acknowledgement:
        """Acknowledge an alert as the signed-in coordinator, now."""
        if intent != INTENT:
            raise HTTPException(403, f"send {INTENT_HEADER}: {INTENT}")
        alert = board.alert(alert_id)
        row = board.row(alert_id)
        # An alert the reader may not see is, to them, not on the board.
        if alert is None or row is None or not Viewer.of(signed).sees(alert):
            raise HTTPException(404, "no such alert on this board")
        if ACKNOWLEDGING_ROLE not in signed.roles:
            raise HTTPException(403, f"acknowledging alerts is the {ACKNOWLEDGING_ROLE}'s work")
        if row.acknowledged_by is not None:
            raise HTTPException(409, f"already acknowledged by {row.acknowledged_by}")
        ack = acknowledgement(alert, by=signed.user, at=datetime.now(UTC))
        try:
            await app.state.publish(ack)
        except CaseErasedError as error:
            raise HTTPException(404, "no such alert on this board") from error
        except KafkaError as error:
            log.warning("could not publish an acknowledgement", error=type(error).__name__)
            raise HTTPException(503, "the acknowledgement could not be sent; try again") from error
        log.info("alert acknowledged", alert_id=alert_id, acknowledgement_id=ack.id)
        return Acknowledgement(acknowledgement_id=ack.id, alert_id=alert_id)


class _Server(uvicorn.Server):
    """uvicorn, ending the pages' event streams first when it stops: it waits for every open
    response to finish, and a page's stream never would."""

    def __init__(self, config: uvicorn.Config, board: AlertBoard) -> None:
        super().__init__(config)
        self.board = board

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.board.close()
        await super().shutdown(sockets)


def web_server(app: FastAPI, *, host: str = "127.0.0.1", port: int = 8001) -> uvicorn.Server:
    """A server of `app` (made by `create_web_app`) that stops promptly with pages open."""
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, lifespan="on", timeout_graceful_shutdown=5
    )
    board = app.state.board
    assert isinstance(board, AlertBoard)  # create_web_app puts it there
    return _Server(config, board)
