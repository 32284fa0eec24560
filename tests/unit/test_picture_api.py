"""The case-picture API in-process: each role's view, refusals, and the audit trail of it all."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from mappa_bus.audit import AuditRecord, reads
from mappa_bus.catalogue import Area, Envelope, EventData, housing, probation, victim_contact
from mappa_bus.catalogue.envelope import make_event
from mappa_bus.catalogue.examples import AGENCY_SYSTEMS, EXAMPLES
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.picture.api import (
    REASON_HEADER,
    ROLE_HEADER,
    USER_HEADER,
    Caller,
    create_app,
)
from mappa_bus.picture.fold import apply
from mappa_bus.picture.model import CasePicture, Management, Status
from mappa_bus.picture.openapi import case_api_json
from mappa_bus.picture.store import create_schema, save_pictures
from mappa_bus.picture.views import CASE_VIEWS, FieldGroup, ViewerRole, view_of
from mappa_bus.projection.database import open_engine
from tests.unit.test_picture_views import full_picture

REASON = "planning the level 2 meeting on Tuesday"


def _pictures() -> list[CasePicture]:
    return [
        full_picture("case-1"),
        full_picture(
            "case-2",
            area=Area.LANCASHIRE,
            level=Level.ONE,
            status=Status.CUSTODY,
            management=Management(category=Category.REGISTERED_SEX_OFFENDER),
            last_recorded_at=datetime(2024, 6, 1, tzinfo=UTC),
        ),
        full_picture(
            "case-3",
            level=Level.THREE,
            management=None,
            last_recorded_at=datetime(2024, 1, 1, tzinfo=UTC),
        ),
    ]


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """A store holding three cases, as the picture consumer would leave it."""
    engine = open_engine(f"sqlite:///{tmp_path}/p.db")
    create_schema(engine)
    with engine.begin() as connection:
        save_pictures(connection, _pictures())
    return engine


TOKENS = {"t-housing-1": Caller("hal", ViewerRole.HOUSING)}


@pytest.fixture
async def client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """The app in development mode (identity from headers), called in-process."""
    transport = httpx.ASGITransport(app=create_app(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


@pytest.fixture
async def token_client(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """The app with bearer tokens."""
    transport = httpx.ASGITransport(app=create_app(engine, tokens=TOKENS))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


def who(role: str, user: str = "pat", reason: str | None = REASON) -> dict[str, str]:
    """Development identity headers."""
    headers = {USER_HEADER: user, ROLE_HEADER: role}
    return headers if reason is None else {**headers, REASON_HEADER: reason}


def trail(engine: Engine, **where: Any) -> list[AuditRecord]:
    with engine.connect() as connection:
        return reads(connection, **where)


# ---- views --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role",
    [
        ViewerRole.POLICE,
        ViewerRole.HOUSING,
        ViewerRole.VICTIM_LIAISON,
        ViewerRole.HEALTH,
        ViewerRole.DWP,
    ],
)
async def test_each_role_gets_its_view(client: httpx.AsyncClient, role: ViewerRole) -> None:
    """The API answers with exactly the table's view for the role."""
    response = await client.get("/cases/case-1", headers=who(role))

    assert response.status_code == 200
    body = response.json()
    assert body == view_of(full_picture("case-1"), role).model_dump(mode="json")
    for group in FieldGroup:
        assert (body[group.value] is not None) is (group in CASE_VIEWS[role])
    assert body["withheld"] == [g.value for g in FieldGroup if g not in CASE_VIEWS[role]]
    assert response.headers["cache-control"] == "no-store"


async def test_the_timeline_route_withholds_what_the_view_does(client: httpx.AsyncClient) -> None:
    """Housing reads only housing's events."""
    response = await client.get("/cases/case-1/timeline", headers=who("housing"))

    assert response.status_code == 200
    agencies = {entry["agency"] for entry in response.json()["timeline"]}
    assert agencies == {"housing"}
    assert "victims" in response.json()["withheld"]


async def test_an_unknown_case_is_404_and_audited(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    """Looking for a case the bus does not know is an attempt worth recording."""
    response = await client.get("/cases/case-9", headers=who("police"))

    assert response.status_code == 404
    assert [(r.subject, r.outcome) for r in trail(engine)] == [("case:case-9", "not-found")]


# ---- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "header"),
    [
        ({USER_HEADER: "pat", REASON_HEADER: REASON}, 401, ROLE_HEADER),
        ({ROLE_HEADER: "police", REASON_HEADER: REASON}, 401, USER_HEADER),
        (who("chief-constable"), 403, ROLE_HEADER),
        (who("lay-adviser"), 403, ROLE_HEADER),
        (who("police", reason=None), 400, REASON_HEADER),
        (who("police", reason="because"), 400, REASON_HEADER),
    ],
)
async def test_refusals_name_the_header_and_are_audited(
    client: httpx.AsyncClient,
    engine: Engine,
    headers: dict[str, str],
    status: int,
    header: str,
) -> None:
    """No data without a known role and a reason; the refusal says which header, and the
    attempt is on the trail."""
    response = await client.get("/cases/case-1", headers=headers)

    assert response.status_code == status
    assert response.json()["header"] == header
    assert "case_id" not in response.json()
    [record] = trail(engine)
    assert (record.subject, record.outcome) == ("case:case-1", "refused")
    assert record.role == headers.get(ROLE_HEADER, "(unidentified)")


async def test_a_refused_list_is_audited(client: httpx.AsyncClient, engine: Engine) -> None:
    """Lists are refused and recorded just as single cases are."""
    response = await client.get("/cases?area=kent", headers=who("analyst"))

    assert response.status_code == 403
    assert [(r.subject, r.outcome) for r in trail(engine)] == [
        ("cases?area=kent&limit=100&offset=0", "refused")
    ]


# ---- the audit trail ----------------------------------------------------------------------


async def test_every_read_is_audited_with_its_reason(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    """One record a case read, with who, role and reason; lists record the query and each case."""
    await client.get("/cases/case-1", headers=who("police", "pc1"))
    await client.get("/cases/case-1/timeline", headers=who("health", "dr1"))
    await client.get("/cases?level=3", headers=who("housing", "h1"))

    assert [(r.user, r.role, r.subject, r.reason, r.outcome) for r in trail(engine)] == [
        ("pc1", "police", "case:case-1", REASON, "read"),
        ("dr1", "health", "case:case-1:timeline", REASON, "read"),
        ("h1", "housing", "cases?level=3&limit=100&offset=0", REASON, "read"),
        ("h1", "housing", "case:case-3:listed", REASON, "read"),
    ]


async def test_the_trail_is_queryable_by_case_and_by_user(client: httpx.AsyncClient) -> None:
    """Auditors ask who read a case, or what one user read; the asking is recorded too."""
    await client.get("/cases/case-1", headers=who("police", "pc1"))
    await client.get("/cases/case-2", headers=who("police", "pc1"))
    await client.get("/cases/case-1", headers=who("probation", "po1"))
    auditor = who("auditor", "aud1")

    by_case = (await client.get("/audit?case_id=case-1", headers=auditor)).json()["records"]
    by_user = (await client.get("/audit?user=pc1", headers=auditor)).json()["records"]

    assert [(r["user"], r["subject"]) for r in by_case] == [
        ("pc1", "case:case-1"),
        ("po1", "case:case-1"),
    ]
    assert [r["subject"] for r in by_user] == ["case:case-1", "case:case-2"]
    own = (await client.get("/audit?user=aud1", headers=auditor)).json()["records"]
    assert [r["subject"] for r in own] == ["audit?case_id=case-1", "audit?user=pc1"]
    assert all(datetime.fromisoformat(r["at"]).tzinfo is not None for r in own)


async def test_only_audit_readers_read_the_trail(client: httpx.AsyncClient, engine: Engine) -> None:
    """Police may read cases but not who else did; the attempt is itself recorded."""
    response = await client.get("/audit?case_id=case-1", headers=who("police"))

    assert response.status_code == 403
    assert [(r.subject, r.outcome) for r in trail(engine)] == [("audit?case_id=case-1", "refused")]
    coordinator = await client.get("/audit", headers=who("coordinator"))
    assert coordinator.status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_the_trail_cannot_be_altered(
    client: httpx.AsyncClient, engine: Engine, method: str
) -> None:
    """No route writes or removes audit records, whoever asks."""
    await client.get("/cases/case-1", headers=who("police"))
    before = trail(engine)

    response = await client.request(method, "/audit", headers=who("auditor"), json={})

    assert response.status_code == 405
    assert trail(engine) == before


# ---- lists --------------------------------------------------------------------------------


async def _listed(client: httpx.AsyncClient, query: str, role: str = "police") -> list[str]:
    response = await client.get(f"/cases?{query}", headers=who(role))
    assert response.status_code == 200, response.text
    return [case["case_id"] for case in response.json()["cases"]]


async def test_list_filters(client: httpx.AsyncClient) -> None:
    """Each filter narrows; the page is in case-id order."""
    assert await _listed(client, "") == ["case-1", "case-2", "case-3"]
    assert await _listed(client, "area=kent") == ["case-1", "case-3"]
    assert await _listed(client, "area=kent&level=3") == ["case-3"]
    assert await _listed(client, "category=1") == ["case-2"]
    assert await _listed(client, "status=custody") == ["case-2"]
    assert await _listed(client, "limit=1&offset=1") == ["case-2"]


async def test_list_entries_are_summaries(client: httpx.AsyncClient) -> None:
    """A list shows the core only, whoever asks."""
    response = await client.get("/cases?area=lancashire", headers=who("police"))

    [summary] = response.json()["cases"]
    assert summary["level"] == 1
    assert "custody" not in summary
    assert "timeline" not in summary


async def test_a_role_that_cannot_see_categories_cannot_filter_by_them(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    """Filtering by category would tell housing what the view withholds."""
    response = await client.get("/cases?category=1", headers=who("housing"))

    assert response.status_code == 403
    assert response.json()["parameter"] == "category"
    assert [r.outcome for r in trail(engine)] == ["refused"]
    assert await _listed(client, "level=1", "housing") == ["case-2"]


async def test_changes_since(client: httpx.AsyncClient) -> None:
    """Cases with an event recorded after the moment (11:59 UTC here: the offset counts)."""
    response = await client.get(
        "/changes", params={"since": "2024-05-01T12:59:00+01:00"}, headers=who("probation")
    )

    assert response.status_code == 200
    assert [case["case_id"] for case in response.json()["cases"]] == ["case-1", "case-2"]


async def test_moments_at_the_ends_of_time_are_taken_as_those_ends(
    client: httpx.AsyncClient,
) -> None:
    """A valid RFC 3339 moment with no UTC form (year 1 east of Greenwich) is no error."""
    response = await client.get(
        "/changes", params={"since": "0001-01-01T00:00:00+01:00"}, headers=who("probation")
    )

    assert response.status_code == 200
    assert len(response.json()["cases"]) == 3


async def test_changes_want_an_offset(client: httpx.AsyncClient) -> None:
    """A moment without its offset is ambiguous, so it is refused."""
    response = await client.get(
        "/changes", params={"since": "2024-05-01T12:00:00"}, headers=who("probation")
    )

    assert response.status_code == 422


# ---- as known at a moment ----------------------------------------------------------------

T = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _event(
    model: type[EventData], event_id: str, happened: datetime, **changes: object
) -> Envelope[EventData]:
    return make_event(
        EXAMPLES[model].model_copy(update=changes),
        case_id="case-late",
        area=Area.KENT,
        time=happened,
        system=AGENCY_SYSTEMS[model.PUBLISHER],
        event_id=event_id,
    )


def _late_case() -> CasePicture:
    """A case whose last event happened before T but reached the bus only after it."""
    arrivals = [
        (_event(probation.MappaEligibilityIdentified, "e1", T - 10 * DAY), T - 9 * DAY),
        (_event(probation.MappaLevelSet, "e2", T - 8 * DAY, level=Level.TWO), T - 8 * DAY),
        (_event(housing.HousingNeedRaised, "e3", T - 5 * DAY), T - 5 * DAY),
        (_event(victim_contact.VictimOptedIn, "e4", T - 4 * DAY), T - 4 * DAY),
        (_event(probation.MappaLevelSet, "e5", T - 2 * DAY, level=Level.THREE), T + DAY),
    ]
    picture: CasePicture | None = None
    for event, recorded_at in arrivals:
        picture = apply(picture, event, recorded_at)
    assert picture is not None
    return picture


@pytest.fixture
def late_case(engine: Engine) -> CasePicture:
    picture = _late_case()
    with engine.begin() as connection:
        save_pictures(connection, [picture])
    return picture


async def _known_at(client: httpx.AsyncClient, role: str, at: datetime = T) -> httpx.Response:
    return await client.get(
        "/cases/case-late/as-known-at", params={"at": at.isoformat()}, headers=who(role)
    )


def _ids_by_agency(then: dict[str, Any]) -> dict[str, list[str]]:
    shared: dict[str, list[dict[str, Any]]] = then["shared_by"]
    return {agency: [entry["event_id"] for entry in entries] for agency, entries in shared.items()}


@pytest.mark.usefixtures("late_case")
async def test_as_known_at_ignores_what_was_recorded_after(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    """The level-3 decision happened before T but reached the bus after: at T it was level 2."""
    now = (await client.get("/cases/case-late", headers=who("police"))).json()
    response = await _known_at(client, "police")

    assert response.status_code == 200
    then = response.json()
    assert now["level"] == 3
    assert then["view"]["level"] == 2
    assert [entry["event_id"] for entry in then["view"]["timeline"]] == ["e1", "e2", "e3", "e4"]
    assert _ids_by_agency(then) == {
        "probation": ["e1", "e2"],
        "housing": ["e3"],
        "victim-contact": ["e4"],
    }
    assert trail(engine)[-1].subject == "case:case-late:as-known-at:2024-07-01T12:00:00Z"


@pytest.mark.usefixtures("late_case")
async def test_as_known_at_shows_only_what_the_role_may_see(client: httpx.AsyncClient) -> None:
    """Housing sees what housing shared, and nothing of the victims' or probation's events."""
    then = (await _known_at(client, "housing")).json()

    assert then["view"]["victims"] is None
    assert _ids_by_agency(then) == {"housing": ["e3"]}


@pytest.mark.usefixtures("late_case")
async def test_before_anything_was_recorded_the_case_was_unknown(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    """Before its first event reached the bus, the bus knew nothing of the case: 404, audited."""
    response = await _known_at(client, "police", T - 30 * DAY)

    assert response.status_code == 404
    assert trail(engine)[-1].outcome == "not-found"


# ---- identity by token --------------------------------------------------------------------


async def test_a_token_sets_the_role_and_the_headers_are_ignored(
    token_client: httpx.AsyncClient, engine: Engine
) -> None:
    """With tokens, claiming to be police in a header gets a housing token holder nothing more."""
    headers = {
        "Authorization": "Bearer t-housing-1",
        **who("police", "someone-else"),
    }

    response = await token_client.get("/cases/case-1", headers=headers)

    assert response.status_code == 200
    assert response.json()["role"] == "housing"
    assert response.json()["victims"] is None
    [record] = trail(engine)
    assert (record.user, record.role) == ("hal", "housing")


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic aGFsOng="])
async def test_without_a_known_token_the_caller_is_refused(
    token_client: httpx.AsyncClient, engine: Engine, authorization: str | None
) -> None:
    """Headers alone are no identity once tokens are on."""
    headers = who("police")
    if authorization is not None:
        headers["Authorization"] = authorization

    response = await token_client.get("/cases/case-1", headers=headers)

    assert response.status_code == 401
    assert response.json()["header"] == "Authorization"
    assert [(r.user, r.outcome) for r in trail(engine)] == [("(unidentified)", "refused")]


# ---- the service --------------------------------------------------------------------------


async def test_healthz(client: httpx.AsyncClient) -> None:
    """Health needs no identity and says nothing of cases."""
    response = await client.get("/healthz")

    assert response.json() == {"status": "ok"}


def test_the_openapi_document_is_stable_json_with_every_route() -> None:
    """What the lead publishes in schemas/: sorted, stable, and naming every route."""
    import json

    text = case_api_json()
    document = json.loads(text)

    assert text == case_api_json()
    assert text.endswith("}\n")
    assert set(document["paths"]) >= {
        "/cases/{case_id}",
        "/cases/{case_id}/timeline",
        "/cases/{case_id}/as-known-at",
        "/cases",
        "/changes",
        "/audit",
        "/healthz",
    }
    assert set(document["paths"]["/cases/{case_id}"]["get"]["responses"]) >= {
        "200",
        "400",
        "401",
        "403",
        "404",
        "422",
    }
