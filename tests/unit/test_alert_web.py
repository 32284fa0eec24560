"""The live alerts page in-process, fed from memory instead of Kafka: signing in (development
mode's sign-in; the issuer's is tested against Keycloak in tests/integration), the board each
reader sees, the event stream, acknowledging, and the case API mounted beside them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError
from fastapi import FastAPI
from sqlalchemy import Engine
from structlog.testing import capture_logs

from mappa_bus import audit
from mappa_bus.access.admission import REASON_HEADER
from mappa_bus.access.policy import ViewerRole
from mappa_bus.alerts.board import DEFAULT_CAPS, AlertBoard, StreamCaps, Viewer, pump
from mappa_bus.alerts.model import AlertAcknowledged, AlertRaised, AlertWithdrawn, Severity
from mappa_bus.alerts.rules import ACTION_OVERDUE
from mappa_bus.alerts.subscription import Recorded
from mappa_bus.alerts.web import (
    INTENT,
    INTENT_HEADER,
    CaseErasedError,
    Publish,
    create_web_app,
)
from mappa_bus.catalogue import Area
from mappa_bus.catalogue.erasure import CaseErased, ErasureData, ErasureGround, case_erased
from mappa_bus.picture.api import case_api_for
from mappa_bus.picture.schema import create_schema
from mappa_bus.picture.store import save_pictures
from mappa_bus.projection.database import open_engine
from mappa_bus.web.identity import IDENTITY_MODE_HEADER, INSECURE, DevelopmentHeaders
from mappa_bus.web.signin import SESSION_COOKIE, WebClient
from tests.unit.test_alert_subscription import RAISED_AT, make_ack, make_alert
from tests.unit.test_picture_views import full_picture

USER = "c.kent"
ACK = {INTENT_HEADER: INTENT}
KENT_COORDINATOR = {"user": USER, "role": "coordinator", "area": "kent"}
# Served over plain http in-process, so the cookie may not insist on https.
LOOPBACK_CLIENT = WebClient(secure_cookie=False)


# What the feed carries that has a time of its own (an erased alert has none left).
Timed = AlertRaised | AlertWithdrawn | AlertAcknowledged | CaseErased


def recorded(event: Timed, at: datetime | None = None) -> Recorded:
    """`event` as the feed hands it over, recorded by the bus at `at` (default: its own time)."""
    return Recorded(event, event.time if at is None else at)


class InMemoryBus:
    """Stands in for the two topics: what is put in comes out of the feed, acknowledgements
    published come back through it as they would through Kafka, stamped with the bus's time."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Recorded | None] = asyncio.Queue()
        self.published: list[AlertAcknowledged] = []
        self.loop: asyncio.AbstractEventLoop | None = None

    async def feed(self) -> AsyncIterator[Recorded]:
        # The app may run in a server's thread: `put` then hands items to that thread's loop.
        self.loop = asyncio.get_running_loop()
        while (item := await self.queue.get()) is not None:
            yield item

    async def publish(self, ack: AlertAcknowledged) -> None:
        self.published.append(ack)
        self.queue.put_nowait(Recorded(ack, datetime.now(UTC)))

    def put(self, *events: Timed | Recorded | None) -> None:
        for event in events:
            item = (
                recorded(event)
                if isinstance(event, AlertRaised | AlertWithdrawn | AlertAcknowledged | CaseErased)
                else event
            )
            if self.loop is None:
                self.queue.put_nowait(item)
            else:
                self.loop.call_soon_threadsafe(self.queue.put_nowait, item)

    def end(self) -> None:
        """The feed ends, and with it every page's stream."""
        self.put(None)


def one_case_store(directory: Path) -> Engine:
    """A picture store in `directory` holding one Kent case, `case-1`."""
    engine = open_engine(f"sqlite:///{directory}/pictures.db")
    create_schema(engine)
    with engine.begin() as connection:
        save_pictures(connection, [full_picture("case-1")])
    return engine


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A picture store holding one Kent case."""
    return one_case_store(tmp_path)


@pytest.fixture
def bus() -> InMemoryBus:
    return InMemoryBus()


@pytest.fixture
def app(bus: InMemoryBus, engine: Engine) -> FastAPI:
    return dev_app(engine, bus)


def dev_app(
    engine: Engine,
    bus: InMemoryBus,
    *,
    publish: Publish | None = None,
    caps: StreamCaps = DEFAULT_CAPS,
) -> FastAPI:
    """The page in development identity mode, fed by `bus` and publishing to it (or to
    `publish`), with at most `caps` live pages."""
    return create_web_app(
        None,
        "test",
        case_api_for(engine),
        DevelopmentHeaders(),
        client=LOOPBACK_CLIENT,
        feed=bus.feed,
        publish=publish or bus.publish,
        caps=caps,
    )


@asynccontextmanager
async def running(
    app: FastAPI, signed_in: dict[str, str] | None = KENT_COORDINATOR
) -> AsyncIterator[httpx.AsyncClient]:
    """The app started (its lifespan, so its feed runs), and a client of it, signed in (with
    development mode's sign-in) as `signed_in` unless None."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            if signed_in is not None:
                answer = await client.get("/auth/login", params=signed_in)
                assert answer.status_code == 303, answer.text
            yield client


async def until(condition: Callable[[], bool]) -> None:
    """Wait (briefly) for the feed task to have done something."""
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the app did not get there")


def board(app: FastAPI) -> AlertBoard:
    found = app.state.board
    assert isinstance(found, AlertBoard)
    return found


def events(body: str) -> list[tuple[str, dict[str, object]]]:
    """The named events of a server-sent event stream, with their data decoded."""
    found = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            found.append((fields["event"], json.loads(fields["data"])))
    return found


async def test_the_page_is_marked_and_hardened(app: FastAPI) -> None:
    """OFFICIAL-SENSITIVE top and bottom, its script its own file, nothing cached or framed."""
    async with running(app) as client:
        page = await client.get("/")
        script = await client.get("/static/alerts.js")
    assert page.status_code == 200
    assert page.text.count("OFFICIAL-SENSITIVE") >= 2
    assert '<script src="/static/alerts.js" defer>' in page.text
    assert '<html lang="en-GB">' in page.text
    assert "<caption>" in page.text
    assert script.status_code == 200
    assert "innerHTML" not in script.text.replace("never innerHTML", "")
    for response in (page, script):
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "unsafe-inline" not in response.headers["content-security-policy"]


async def test_the_overdue_actions_filter_is_the_action_overdue_rule(app: FastAPI) -> None:
    """The page's "Overdue actions only" box filters to the rule the alerts service raises."""
    async with running(app) as client:
        page = await client.get("/")
    box = '<input type="checkbox" id="filter-overdue-actions" value="{}">'
    assert box.format(ACTION_OVERDUE.name) in page.text


async def test_the_session_says_who_and_in_which_role(app: FastAPI) -> None:
    """`/session` is the signed-in reader: name, roles, areas, and that the identity is
    development mode's."""
    async with running(app) as client:
        session = (await client.get("/session")).json()
    assert session == {
        "user": USER,
        "roles": ["coordinator"],
        "areas": ["kent"],
        "insecure": True,
        "min_reason_length": 10,
        "marking": "OFFICIAL-SENSITIVE",
    }


async def test_the_board_keeps_each_alert_once_newest_first(app: FastAPI, bus: InMemoryBus) -> None:
    older, newer = make_alert("e-1"), make_alert("e-2", at=RAISED_AT + timedelta(hours=1))
    async with running(app) as client:
        bus.put(older, newer, older)
        await until(lambda: board(app).row(newer.id) is not None)
        rows = (await client.get("/alerts")).json()
    assert [row["id"] for row in rows] == [newer.id, older.id]
    assert rows[0]["area_name"] == "Kent"
    assert rows[0]["acknowledged_by"] is None


async def test_a_page_connecting_is_sent_the_board_then_the_feed_state(
    app: FastAPI, bus: InMemoryBus
) -> None:
    """So that loading the page shows the current state, acknowledgements included."""
    older, newer = make_alert("e-1"), make_alert("e-2", at=RAISED_AT + timedelta(hours=1))
    async with running(app) as client:
        # The acknowledgement first: the two topics are read side by side.
        bus.put(make_ack(older), older, newer)
        await until(lambda: len(board(app).rows()) == 2)
        stream = asyncio.create_task(client.get("/events"))
        await until(lambda: board(app).listening == 1)
        bus.end()
        response = await stream
    assert response.headers["content-type"].startswith("text/event-stream")
    sent = events(response.text)
    assert [(name, data.get("id")) for name, data in sent] == [
        ("alert", older.id),
        ("alert", newer.id),
        ("status", None),
    ]
    assert sent[0][1]["acknowledged_by"] == "c.kent"
    assert sent[2][1] == {"feed": "live", "kept": 1000, "forgotten": 0}


async def test_every_open_page_is_sent_each_change_as_it_happens(
    app: FastAPI, bus: InMemoryBus
) -> None:
    alert = make_alert()
    async with running(app) as client:
        pages = [asyncio.create_task(client.get("/events")) for _ in range(2)]
        await until(lambda: board(app).listening == 2)
        bus.put(alert, make_ack(alert, by="someone.else"))
        await until(lambda: board(app).row(alert.id) is not None)
        bus.end()
        bodies = [(await page).text for page in pages]
    for body in bodies:
        alerts = [data for name, data in events(body) if name == "alert"]
        assert [row["acknowledged_by"] for row in alerts] == [None, "someone.else"]


async def test_acknowledging_publishes_and_the_row_changes_when_it_comes_back(
    app: FastAPI, bus: InMemoryBus
) -> None:
    alert = make_alert()
    async with running(app) as client:
        bus.put(alert)
        await until(lambda: board(app).row(alert.id) is not None)
        answer = await client.post(f"/alerts/{alert.id}/acknowledge", headers=ACK)
        await until(lambda: board(app).rows()[0].acknowledged_by is not None)
        again = await client.post(f"/alerts/{alert.id}/acknowledge", headers=ACK)
    [ack] = bus.published
    assert answer.status_code == 202
    assert answer.json() == {"acknowledgement_id": ack.id, "alert_id": alert.id}
    assert (ack.data.alert_id, ack.data.acknowledged_by) == (alert.id, USER)
    assert (ack.subject, ack.mappaarea) == (alert.subject, alert.mappaarea)
    assert ack.source == "/mappa/coordinator/web"
    acknowledged_at = board(app).rows()[0].acknowledged_at
    assert acknowledged_at is not None
    assert acknowledged_at >= ack.time  # when the bus recorded it
    assert again.status_code == 409
    assert USER in again.json()["detail"]


@pytest.mark.parametrize(
    ("headers", "alert_id", "status"),
    [({}, "known", 403), ({INTENT_HEADER: "other"}, "known", 403), (ACK, "unknown", 404)],
    ids=["no-intent-header", "wrong-intent", "unknown-alert"],
)
async def test_an_acknowledgement_is_refused_without_intent_or_alert(
    app: FastAPI, bus: InMemoryBus, headers: dict[str, str], alert_id: str, status: int
) -> None:
    """Another site's form cannot send the header; an alert not on the board cannot be named."""
    alert = make_alert()
    async with running(app) as client:
        bus.put(alert)
        await until(lambda: board(app).row(alert.id) is not None)
        target = alert.id if alert_id == "known" else "no-such-alert"
        answer = await client.post(f"/alerts/{target}/acknowledge", headers=headers)
    assert answer.status_code == status
    assert bus.published == []


@pytest.mark.parametrize(
    ("refusal", "status", "detail"),
    [
        # The broker cannot take it: try again.
        (
            KafkaConnectionError("no broker"),
            503,
            "the acknowledgement could not be sent; try again",
        ),
        # The case's key destroyed between the page showing the alert and the click (sealed
        # mode): to the coordinator the alert is no longer there.
        (CaseErasedError("case-1"), 404, "no such alert on this board"),
    ],
)
async def test_an_acknowledgement_the_bus_refuses_is_not_recorded(
    engine: Engine, refusal: Exception, status: int, detail: str
) -> None:
    bus = InMemoryBus()

    async def refused(_ack: AlertAcknowledged) -> None:
        raise refusal

    app = dev_app(engine, bus, publish=refused)
    alert = make_alert()
    async with running(app) as client:
        bus.put(alert)
        await until(lambda: board(app).row(alert.id) is not None)
        answer = await client.post(f"/alerts/{alert.id}/acknowledge", headers=ACK)
    assert (answer.status_code, answer.json()) == (status, {"detail": detail})
    assert board(app).rows()[0].acknowledged_by is None


async def test_an_alert_of_a_case_the_feed_erased_is_gone_and_cannot_be_acknowledged(
    app: FastAPI, bus: InMemoryBus
) -> None:
    """The erasure read from `mappa.erasures` drops the case's alerts from the board at once:
    acknowledging one answers as for an alert never raised, and nothing is published."""
    alert = make_alert()
    other = make_alert("event-2", case_id="case-2")
    data = ErasureData(
        case_id="case-1",
        area=Area.KENT,
        ground=ErasureGround.DECISION,
        decision="DPO-2026-0042",
        erased_on=RAISED_AT.date(),
    )
    async with running(app) as client:
        bus.put(alert, other)
        await until(lambda: len(board(app).rows()) == 2)
        bus.put(case_erased(data, RAISED_AT + timedelta(minutes=1)))
        await until(lambda: board(app).row(alert.id) is None)
        answer = await client.post(f"/alerts/{alert.id}/acknowledge", headers=ACK)
        kept = await client.post(f"/alerts/{other.id}/acknowledge", headers=ACK)
    assert answer.status_code == 404
    assert kept.status_code == 202
    assert [ack.data.alert_id for ack in bus.published] == [other.id]


async def test_a_failing_feed_is_started_again_and_the_pages_told(engine: Engine) -> None:
    alert = make_alert()
    calls: list[int] = []

    async def flaky() -> AsyncIterator[Recorded]:
        calls.append(1)
        if len(calls) == 1:
            raise KafkaConnectionError("the broker went away")
        yield recorded(alert)

    states: list[str] = []
    watched = AlertBoard()
    watched.set_feed = lambda state: states.append(state)  # type: ignore[method-assign]
    await asyncio.wait_for(pump(flaky, watched, retry_after=0), timeout=5)
    assert states == ["live", "interrupted", "live"]
    assert watched.row(alert.id) is not None
    assert watched.closed  # the feed ended after its one alert


@pytest.mark.parametrize(
    ("caps", "status"),
    [(StreamCaps(total=10, per_user=2), 429), (StreamCaps(total=2, per_user=10), 503)],
    ids=["per-user", "in-all"],
)
async def test_streams_beyond_a_cap_are_refused_with_retry_after_until_one_ends(
    engine: Engine, caps: StreamCaps, status: int
) -> None:
    """Two pages are served; a third is told to come back later, and is served once they end."""
    bus = InMemoryBus()
    app = dev_app(engine, bus, caps=caps)
    async with running(app) as client:
        pages = [asyncio.create_task(client.get("/events")) for _ in range(2)]
        await until(lambda: board(app).listening == 2)
        refused = await client.get("/events")
        bus.end()
        served = [await page for page in pages]
        await until(lambda: app.state.streams.open == 0)
        again = await client.get("/events")  # the feed has ended: the stream ends at once
    assert [page.status_code for page in served] == [200, 200]
    assert refused.status_code == status
    assert int(refused.headers["retry-after"]) > 0
    assert again.status_code == 200


async def test_a_page_connecting_is_sent_the_whole_board_in_pages(
    app: FastAPI, bus: InMemoryBus
) -> None:
    """A board larger than a page is sent whole, oldest first, then the feed's state."""
    alerts = [make_alert(f"e-{i}", at=RAISED_AT + timedelta(minutes=i)) for i in range(120)]
    async with running(app) as client:
        bus.put(*alerts)
        await until(lambda: len(board(app).rows()) == 120)
        stream = asyncio.create_task(client.get("/events"))
        await until(lambda: board(app).listening == 1)
        bus.end()
        sent = events((await stream).text)
    assert len(board(app).pages(Viewer(frozenset({ViewerRole.COORDINATOR}), None))) > 1
    assert [data.get("id") for _, data in sent] == [alert.id for alert in alerts] + [None]


async def test_a_page_that_does_not_keep_up_is_ended() -> None:
    """Its queue full, the page's stream is ended (the browser reconnects) and nothing blocks."""
    shown = AlertBoard()
    with shown.listener(Viewer(frozenset({ViewerRole.COORDINATOR}), None)) as queue:
        for i in range(1_001):
            shown.take(recorded(make_alert(f"e-{i}")))
        assert queue.get_nowait() is None
        assert queue.empty()


def test_the_board_forgets_the_oldest_alerts_beyond_what_it_keeps() -> None:
    kept = AlertBoard(keep=2)
    alerts = [make_alert(f"e-{i}", at=RAISED_AT + timedelta(minutes=i)) for i in range(3)]
    for alert in reversed(alerts):
        kept.take(recorded(alert))
    assert [row.id for row in kept.rows()] == [alerts[2].id, alerts[1].id]


def test_a_burst_of_routine_alerts_never_pushes_out_an_unacknowledged_urgent_one() -> None:
    """Past what the board keeps, the oldest routine or acknowledged alerts go first; an
    unacknowledged urgent alert stays however old, and the board counts what it let go."""
    kept = AlertBoard(keep=3)
    urgent = make_alert("urgent", at=RAISED_AT)
    routine = [
        make_alert(
            f"r-{i}",
            rule="review-overdue",
            severity=Severity.ROUTINE,
            at=RAISED_AT + timedelta(minutes=1 + i),
        )
        for i in range(5)
    ]
    for alert in (urgent, *routine):
        kept.take(recorded(alert))

    assert [row.id for row in kept.rows()] == [routine[4].id, routine[3].id, urgent.id]
    assert kept.forgotten == 3


def test_older_alerts_are_paged_through_with_before_and_limit() -> None:
    """`rows(before=, limit=)` gives the next page of older alerts, newest first."""
    board = AlertBoard()
    alerts = [make_alert(f"e-{i}", at=RAISED_AT + timedelta(minutes=i)) for i in range(5)]
    for alert in alerts:
        board.take(recorded(alert))

    page = board.rows(before=alerts[3].time, limit=2)

    assert [row.id for row in page] == [alerts[2].id, alerts[1].id]


async def test_the_alerts_endpoint_pages_back_and_gives_when_the_event_happened(
    app: FastAPI, bus: InMemoryBus
) -> None:
    """GET /alerts?before=...&limit=... pages back; each row has both times: when the event
    happened and when the alert was raised."""
    happened = RAISED_AT - timedelta(days=14)
    alerts = [
        _happened(make_alert(f"p-{i}", at=RAISED_AT + timedelta(minutes=i)), happened)
        for i in range(3)
    ]
    async with running(app) as client:
        bus.put(*alerts)
        await until(lambda: len(board(app).rows()) == 3)
        answer = await client.get(
            "/alerts", params={"before": alerts[2].time.isoformat(), "limit": 1}
        )

    [row] = answer.json()
    assert row["id"] == alerts[1].id
    assert datetime.fromisoformat(row["happened_at"]) == happened
    assert datetime.fromisoformat(row["time"]) == alerts[1].time


def _happened(alert: AlertRaised, at: datetime) -> AlertRaised:
    return alert.model_copy(update={"data": alert.data.model_copy(update={"happened_at": at})})


def test_the_first_acknowledgement_is_the_one_shown() -> None:
    alert = make_alert()
    first, later = make_ack(alert, by="first", minutes=1), make_ack(alert, by="later", minutes=9)
    shown = AlertBoard()
    for item in (alert, later, first, later):
        shown.take(recorded(item))
    row = shown.row(alert.id)
    assert row is not None
    assert row.acknowledged_by == "first"


def test_the_first_acknowledgement_by_the_bus_time_is_shown_whatever_the_publisher_claims() -> None:
    """A later acknowledgement claiming an earlier time does not replace the one recorded first."""
    alert = make_alert()
    genuine, claims_earlier = make_ack(alert, by="genuine", minutes=5), make_ack(alert, minutes=1)
    shown = AlertBoard()
    shown.take(recorded(alert))
    shown.take(recorded(genuine, at=RAISED_AT + timedelta(minutes=5)))
    shown.take(recorded(claims_earlier, at=RAISED_AT + timedelta(minutes=30)))
    row = shown.row(alert.id)
    assert row is not None
    assert (row.acknowledged_by, row.acknowledged_at) == (
        "genuine",
        RAISED_AT + timedelta(minutes=5),
    )


@pytest.mark.parametrize("ack_first", [False, True], ids=["alert-first", "ack-first"])
def test_an_acknowledgement_dated_before_its_alert_is_ignored_and_logged_by_ids(
    ack_first: bool,
) -> None:
    """Backdated (by its claim or by the bus) it never shows, even recorded first; the genuine
    one does, and the log line names only ids."""
    alert = make_alert()
    backdated = recorded(make_ack(alert, by="backdated", minutes=-60), at=RAISED_AT)
    before_alert = recorded(make_ack(alert, by="early"), at=RAISED_AT - timedelta(seconds=1))
    genuine = recorded(make_ack(alert, by="genuine"), at=RAISED_AT + timedelta(minutes=9))
    items = [backdated, before_alert, recorded(alert), genuine]
    if not ack_first:
        items = [items[2], items[0], items[1], items[3]]
    shown = AlertBoard()
    with capture_logs() as logs:
        for item in items:
            shown.take(item)
    row = shown.row(alert.id)
    assert row is not None
    assert row.acknowledged_by == "genuine"
    ignored = [entry for entry in logs if "dated before its alert" in entry["event"]]
    assert {entry["acknowledgement_id"] for entry in ignored} == {
        backdated.event.id,
        before_alert.event.id,
    }
    for entry in ignored:
        assert set(entry) == {"event", "log_level", "alert_id", "acknowledgement_id"}


async def test_an_alert_id_as_long_as_the_schema_allows_is_acknowledged(
    app: FastAPI, bus: InMemoryBus
) -> None:
    """An id of 256 characters, slashes and all, is acknowledged, and comes back on its row."""
    alert = make_alert().model_copy(update={"id": "a/" + "x" * 254})
    async with running(app) as client:
        bus.put(alert)
        await until(lambda: board(app).row(alert.id) is not None)
        answer = await client.post(f"/alerts/{quote(alert.id, safe='')}/acknowledge", headers=ACK)
        await until(lambda: board(app).rows()[0].acknowledged_by is not None)
    assert answer.status_code == 202
    assert answer.json()["alert_id"] == alert.id
    assert bus.published[0].data.alert_id == alert.id


async def test_the_case_page_asks_why_and_the_api_under_it_audits(
    app: FastAPI, engine: Engine
) -> None:
    """The page is static; the read it makes goes to the mounted case API as the signed-in
    reader (the session, no identity headers), and the trail names them."""
    async with running(app) as client:
        page = await client.get("/cases/case-1")
        bad_id = await client.get("/cases/no%20such")
        no_reason = await client.get("/api/cases/case-1")
        read = await client.get("/api/cases/case-1", headers={REASON_HEADER: "alert: released"})
    assert page.status_code == 200
    assert 'for="reason"' in page.text
    assert "OFFICIAL-SENSITIVE" in page.text
    assert bad_id.status_code == 422
    assert no_reason.status_code == 400
    assert read.status_code == 200
    assert read.json()["case_id"] == "case-1"
    with engine.connect() as connection:
        reads = audit.reads(connection, case_id="case-1")
    assert [(r.user, r.role, r.outcome) for r in reads if r.outcome == "read"] == [
        (USER, "coordinator", "read")
    ]


def test_without_a_connection_both_feed_and_publish_are_needed(engine: Engine) -> None:
    """A page with neither a broker nor a test's feed and publisher is refused at once."""
    with pytest.raises(ValueError, match="connection"):
        create_web_app(None, "test", case_api_for(engine), DevelopmentHeaders())


def test_an_alert_raised_is_what_the_board_shows(bus: InMemoryBus) -> None:
    """A row carries what a coordinator acts on, in the alert's own words."""
    alert: AlertRaised = make_alert()
    shown = AlertBoard()
    shown.take(recorded(alert))
    row = shown.row(alert.id)
    assert row is not None
    assert (row.rule, row.case_id, row.severity, row.level) == (
        "released-from-custody",
        "case-1",
        "urgent",
        3,
    )
    assert row.summary == alert.data.summary


def alert_for(
    trigger: str, area: Area, audience: tuple[ViewerRole, ...] = (ViewerRole.COORDINATOR,)
) -> AlertRaised:
    """An alert of `area` meant for `audience`."""
    alert = make_alert(trigger, area=area, case_id=f"case-{area.value}")
    return alert.model_copy(update={"data": alert.data.model_copy(update={"audience": audience})})


async def test_without_signing_in_pages_go_to_sign_in_and_the_rest_is_401(
    app: FastAPI, bus: InMemoryBus
) -> None:
    """Nothing is shown, streamed, acknowledged or read before the person signs in."""
    alert = make_alert()
    async with running(app, signed_in=None) as client:
        bus.put(alert)
        await until(lambda: board(app).row(alert.id) is not None)
        pages = [await client.get(path) for path in ("/", "/cases/case-1")]
        refused = [
            await client.get("/alerts"),
            await client.get("/events"),
            await client.get("/session"),
            await client.post(f"/alerts/{alert.id}/acknowledge", headers=ACK),
            await client.get("/api/cases/case-1", headers={REASON_HEADER: "alert: released"}),
        ]
    assert [(page.status_code, page.headers["location"]) for page in pages] == [
        (303, "/auth/login"),
        (303, "/auth/login"),
    ]
    assert [answer.status_code for answer in refused] == [401] * 5
    assert bus.published == []


async def test_signing_in_leads_back_to_the_page_asked_for(app: FastAPI) -> None:
    """A case link opened before signing in is where the sign-in ends."""
    async with running(app, signed_in=None) as client:
        await client.get("/cases/case-1")
        signed = await client.get("/auth/login", params=KENT_COORDINATOR)
        page = await client.get(signed.headers["location"])
    assert signed.headers["location"] == "/cases/case-1"
    assert page.status_code == 200
    assert 'for="reason"' in page.text


async def test_the_session_cookie_is_httponly_samesite_and_secure_off_loopback(
    engine: Engine,
) -> None:
    """The cookie scripts cannot read, other sites' requests do not carry, and (unless served
    over loopback http) only https carries."""
    app = create_web_app(
        None,
        "test",
        case_api_for(engine),
        DevelopmentHeaders(),
        feed=InMemoryBus().feed,
        publish=_no_publish,
    )
    async with running(app, signed_in=None) as client:
        signed = await client.get("/auth/login", params=KENT_COORDINATOR)
    name, *attributes = (part.strip().lower() for part in signed.headers["set-cookie"].split(";"))
    assert name.startswith(f"{SESSION_COOKIE}=")
    assert {"httponly", "samesite=lax", "secure", "max-age=28800"} <= set(attributes)


async def _no_publish(_ack: AlertAcknowledged) -> None:
    raise AssertionError("nothing is acknowledged here")


async def test_a_reader_sees_only_alerts_of_their_areas_meant_for_their_roles(
    app: FastAPI, bus: InMemoryBus
) -> None:
    """Kent's coordinator sees Kent's alert, not Cumbria's nor one not meant for coordinators;
    a national coordinator sees every area's; police see only what is meant for police."""
    kent, cumbria = alert_for("e-k", Area.KENT), alert_for("e-c", Area.CUMBRIA)
    not_ours = alert_for("e-h", Area.KENT, audience=(ViewerRole.HOUSING,))
    police = {"user": "p.kent", "role": "police", "area": "kent"}
    national = {"user": "c.all", "role": "coordinator", "area": "national"}
    seen: dict[str, set[str]] = {}
    bus.put(kent, cumbria, not_ours)
    for name, who in (("kent", KENT_COORDINATOR), ("police", police), ("national", national)):
        async with running(app, signed_in=who) as client:
            await until(lambda: len(board(app).rows()) == 3)
            seen[name] = {row["id"] for row in (await client.get("/alerts")).json()}
    assert seen == {"kent": {kent.id}, "police": set(), "national": {kent.id, cumbria.id}}


async def test_a_page_is_streamed_only_the_alerts_its_reader_sees(
    app: FastAPI, bus: InMemoryBus
) -> None:
    """Kent's page is sent Kent's alert, on connecting and as it happens, never Cumbria's."""
    before, after = alert_for("e-1", Area.KENT), alert_for("e-2", Area.KENT)
    elsewhere = [alert_for("e-3", Area.CUMBRIA), alert_for("e-4", Area.CUMBRIA)]
    async with running(app) as client:
        bus.put(before, elsewhere[0])
        await until(lambda: len(board(app).rows()) == 2)
        stream = asyncio.create_task(client.get("/events"))
        await until(lambda: board(app).listening == 1)
        bus.put(elsewhere[1], after)
        await until(lambda: len(board(app).rows()) == 4)
        bus.end()
        sent = events((await stream).text)
    assert [data["id"] for name, data in sent if name == "alert"] == [before.id, after.id]


async def test_an_alert_the_reader_may_not_see_or_act_on_is_not_acknowledged(
    app: FastAPI, bus: InMemoryBus
) -> None:
    """Another area's alert is not on their board (404); a reader who sees an alert but is no
    coordinator may not acknowledge it (403)."""
    cumbria = alert_for("e-c", Area.CUMBRIA)
    for_police = alert_for("e-p", Area.KENT, audience=(ViewerRole.COORDINATOR, ViewerRole.POLICE))
    police = {"user": "p.kent", "role": "police", "area": "kent"}
    bus.put(cumbria, for_police)
    async with running(app) as client:
        await until(lambda: len(board(app).rows()) == 2)
        elsewhere = await client.post(f"/alerts/{cumbria.id}/acknowledge", headers=ACK)
    async with running(app, signed_in=police) as client:
        not_theirs = await client.post(f"/alerts/{for_police.id}/acknowledge", headers=ACK)
    assert (elsewhere.status_code, not_theirs.status_code) == (404, 403)
    assert bus.published == []


async def test_development_sign_in_says_so_everywhere_and_serves_this_machine_only(
    app: FastAPI,
) -> None:
    """Every page carries the banner and every answer the header; from another machine the
    development sign-in is refused."""
    async with running(app) as client:
        page, session = await client.get("/"), await client.get("/session")
        form = await client.get("/auth/login")
        api = await client.get("/api/cases/case-1", headers={REASON_HEADER: "alert: released"})
    assert "INSECURE DEVELOPMENT IDENTITY" in page.text
    assert "INSECURE DEVELOPMENT IDENTITY" in form.text
    for answer in (page, session, form, api):
        assert answer.headers.get_list(IDENTITY_MODE_HEADER) == [INSECURE]
    async with app.router.lifespan_context(app):
        remote = httpx.ASGITransport(app=app, client=("192.0.2.7", 40000))
        async with httpx.AsyncClient(transport=remote, base_url="http://localhost") as client:
            refused = await client.get("/auth/login", params=KENT_COORDINATOR)
    assert refused.status_code == 403
    assert "set-cookie" not in refused.headers


async def test_signing_out_ends_the_session(app: FastAPI) -> None:
    """After signing out, the same browser is nobody again."""
    async with running(app) as client:
        before = await client.get("/session")
        out = await client.get("/auth/logout")
        after = await client.get("/session")
    assert (before.status_code, out.status_code, after.status_code) == (200, 303, 401)
