"""The case-picture API in-process: identity from verified tokens, each role's view in its areas,
refusals, and the audit trail of it all."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import Engine

from mappa_bus.access.admission import REASON_HEADER, ROLE_HEADER
from mappa_bus.access.policy import CASE_VIEWS, LIST_READERS, FieldGroup, ViewerRole
from mappa_bus.access.tokens import IssuerSettings, TokenVerifier
from mappa_bus.audit import AuditRecord, reads
from mappa_bus.case.fold import apply
from mappa_bus.case.model import CasePicture, Management, Status, Transfer
from mappa_bus.catalogue import Area, Envelope, EventData, housing, probation, victim_contact
from mappa_bus.catalogue.envelope import make_event
from mappa_bus.catalogue.examples import AGENCY_SYSTEMS, EXAMPLES
from mappa_bus.catalogue.vocabulary import Category, Level
from mappa_bus.catalogue.withdrawal import ProbationEventWithdrawn, WithdrawalReason
from mappa_bus.picture.api import create_app
from mappa_bus.picture.openapi import case_api_json
from mappa_bus.picture.schema import create_schema
from mappa_bus.picture.store import save_pictures
from mappa_bus.picture.views import view_of
from mappa_bus.projection.database import open_engine
from mappa_bus.web.identity import (
    AREA_HEADER,
    IDENTITY_MODE_HEADER,
    USER_HEADER,
    BearerTokens,
    DevelopmentHeaders,
)
from tests.oidc import LocalIssuer
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


def verifier(issuer: LocalIssuer, **changes: Any) -> TokenVerifier:
    settings = IssuerSettings(issuer=issuer.url, audience="mappa-api", leeway_s=0, **changes)
    return TokenVerifier(settings)


@pytest.fixture
async def client(engine: Engine, oidc_issuer: LocalIssuer) -> AsyncIterator[httpx.AsyncClient]:
    """The app as deployed (bearer tokens from the test issuer), called in-process."""
    app = create_app(engine, BearerTokens(verifier(oidc_issuer)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


@pytest.fixture
def who(oidc_issuer: LocalIssuer) -> Any:
    """Headers for a reader with a token of `role` in `areas`, and a reason."""

    def headers(
        role: str | list[str] = "police",
        user: str = "pat",
        areas: list[str] | None = None,
        reason: str | None = REASON,
        **claims: Any,
    ) -> dict[str, Any]:
        token = oidc_issuer.token(user, role, areas, **claims)
        given = {"Authorization": f"Bearer {token}"}
        return given if reason is None else {**given, REASON_HEADER: reason}

    return headers


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
async def test_each_role_gets_its_view(client: httpx.AsyncClient, who: Any, role: str) -> None:
    """The API answers with exactly the table's view for the token's role."""
    response = await client.get("/cases/case-1", headers=who(role))

    assert response.status_code == 200
    body = response.json()
    assert body == view_of(full_picture("case-1"), ViewerRole(role)).model_dump(mode="json")
    groups = CASE_VIEWS[ViewerRole(role)]
    assert body["withheld"] == [g.value for g in FieldGroup if g not in groups]
    assert response.headers["cache-control"] == "no-store"


async def test_housing_learns_nothing_of_status_or_victim_contact(
    client: httpx.AsyncClient, who: Any
) -> None:
    """The core fields obey the table: no hospital status, no victim-contact involvement."""
    body = (await client.get("/cases/case-1", headers=who("housing"))).json()

    assert body["status"] is None
    assert body["status_since"] is None
    assert body["agencies_involved"] == []
    assert {"status", "agencies", "victims"} <= set(body["withheld"])


async def test_the_timeline_route_withholds_what_the_view_does(
    client: httpx.AsyncClient, who: Any
) -> None:
    """Housing reads only housing's events."""
    response = await client.get("/cases/case-1/timeline", headers=who("housing"))

    assert response.status_code == 200
    agencies = {entry["agency"] for entry in response.json()["timeline"]}
    assert agencies == {"housing"}
    assert "victims" in response.json()["withheld"]


async def test_an_unknown_case_is_404_and_audited(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """Looking for a case the bus does not know is an attempt worth recording."""
    response = await client.get("/cases/case-9", headers=who("police"))

    assert response.status_code == 404
    [record] = trail(engine)
    assert (record.subject, record.cases, record.outcome, record.status) == (
        "GET /cases/case-9",
        ("case-9",),
        "not-found",
        404,
    )


# ---- areas --------------------------------------------------------------------------------


async def test_another_areas_case_answers_as_if_it_did_not_exist(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """Kent police cannot read Lancashire's case, and cannot tell it exists; the trail can."""
    other = await client.get("/cases/case-2", headers=who("police", areas=["kent"]))
    missing = await client.get("/cases/case-9", headers=who("police", areas=["kent"]))

    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"].replace("case-2", "X") == missing.json()["detail"].replace(
        "case-9", "X"
    )
    assert [r.outcome for r in trail(engine)] == ["other-area", "not-found"]
    lancashire = await client.get("/cases/case-2", headers=who("police", areas=["lancashire"]))
    assert lancashire.status_code == 200


async def test_a_national_reader_reads_every_area(client: httpx.AsyncClient, who: Any) -> None:
    """`national` in the areas claim is every area."""
    response = await client.get("/cases/case-2", headers=who("police", areas=["national"]))

    assert response.status_code == 200


async def test_both_ends_of_a_transfer_read_the_case_until_it_is_accepted(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """Requested: Kent and Cumbria both read it; accepted: Cumbria only."""
    pending = full_picture(
        "case-t",
        management=Management(transfers=(Transfer(from_area=Area.KENT, to_area=Area.CUMBRIA),)),
    )
    with engine.begin() as connection:
        save_pictures(connection, [pending])
    for area in ("kent", "cumbria"):
        response = await client.get("/cases/case-t", headers=who("probation", areas=[area]))
        assert response.status_code == 200, area

    accepted = pending.model_copy(
        update={
            "area": Area.CUMBRIA,
            "management": Management(
                transfers=(
                    Transfer(
                        from_area=Area.KENT,
                        to_area=Area.CUMBRIA,
                        accepted_on=datetime(2024, 6, 1).date(),
                    ),
                )
            ),
        }
    )
    with engine.begin() as connection:
        save_pictures(connection, [accepted])
    kent = await client.get("/cases/case-t", headers=who("probation", areas=["kent"]))
    cumbria = await client.get("/cases/case-t", headers=who("probation", areas=["cumbria"]))
    assert (kent.status_code, cumbria.status_code) == (404, 200)


async def test_a_reader_with_no_area_reads_nothing(client: httpx.AsyncClient, who: Any) -> None:
    """A token naming no known area is refused, not treated as national."""
    response = await client.get("/cases/case-1", headers=who("police", areas=["atlantis"]))

    assert response.status_code == 403
    assert "area" in response.json()["detail"]


# ---- refusals -----------------------------------------------------------------------------


async def test_refusals_name_what_to_fix_and_are_audited(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """No data without a role the table allows, held by the reader, and a real reason."""
    cases = [
        (who("lay-adviser"), 403, None),
        (who("police", reason=None), 400, REASON_HEADER),
        (who("police", reason="because"), 400, REASON_HEADER),
        (
            {**who("police", reason=None), REASON_HEADER: ("\u00ad" * 12).encode()},
            400,
            REASON_HEADER,
        ),
        (who("police", reason="\x1b[31m\x7f\x01\x02\x03\x04\x05\x06\x07\x08"), 400, REASON_HEADER),
        (who("police", reason="x" * 501), 400, REASON_HEADER),
        ({**who("housing"), ROLE_HEADER: "police"}, 403, ROLE_HEADER),
        (who(["police", "housing"]), 403, ROLE_HEADER),
    ]
    for headers, status, header in cases:
        response = await client.get("/cases/case-1", headers=headers)
        assert response.status_code == status, headers
        assert response.json().get("header") == header
        assert "case_id" not in response.json()

    records = trail(engine)
    assert [(r.outcome, r.status) for r in records] == [
        ("refused", status) for _, status, _ in cases
    ]
    assert all(len(r.reason) <= 500 for r in records)
    assert "\x1b" not in records[4].reason
    assert "\\u001b" in records[4].reason


async def test_a_reader_with_two_roles_chooses_one(client: httpx.AsyncClient, who: Any) -> None:
    """X-Mappa-Role picks among the roles the token grants, and only among them."""
    headers = {**who(["police", "housing"]), ROLE_HEADER: "housing"}

    response = await client.get("/cases/case-1", headers=headers)

    assert response.status_code == 200
    assert response.json()["role"] == "housing"


@pytest.mark.parametrize(
    "problem",
    ["expired", "wrong audience", "wrong issuer", "foreign key", "alg none", "not yet", "garbage"],
)
async def test_bad_tokens_are_refused_and_audited(
    client: httpx.AsyncClient, engine: Engine, oidc_issuer: LocalIssuer, problem: str
) -> None:
    """Each way a token can be wrong is a 401 that says why, and a record of the attempt."""
    now = int(datetime.now(UTC).timestamp())
    forger = LocalIssuer(oidc_issuer.url)
    forger.rotate()
    tokens: dict[str, Callable[[], str]] = {
        "expired": lambda: oidc_issuer.token(exp=now - 5, iat=now - 60),
        "wrong audience": lambda: oidc_issuer.token(aud="another-api"),
        "wrong issuer": lambda: oidc_issuer.token(iss="http://127.0.0.1:1/realms/evil"),
        "foreign key": lambda: forger.token(),
        "alg none": lambda: jwt.encode(
            {"iss": oidc_issuer.url, "aud": "mappa-api", "exp": now + 60, "iat": now},
            key="",
            algorithm="none",
        ),
        "not yet": lambda: oidc_issuer.token(nbf=now + 600),
        "garbage": lambda: "not.a.token",
    }
    headers = {"Authorization": f"Bearer {tokens[problem]()}", REASON_HEADER: REASON}

    response = await client.get("/cases/case-1", headers=headers)

    assert response.status_code == 401
    assert response.json()["header"] == "Authorization"
    [record] = trail(engine)
    assert (record.user, record.outcome, record.status) == ("(unidentified)", "refused", 401)


async def test_forged_identity_headers_are_no_identity(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """X-Mappa-User and X-Mappa-Area change nothing: the token says who the reader is."""
    forged = {USER_HEADER: "chief", ROLE_HEADER: "police", AREA_HEADER: "national"}

    alone = await client.get("/cases/case-1", headers={**forged, REASON_HEADER: REASON})
    beside = await client.get("/cases/case-2", headers={**who("police", "pc1"), **forged})

    assert alone.status_code == 401
    assert beside.status_code == 404  # case-2 is Lancashire's; the token is Kent's
    assert [(r.user, r.outcome) for r in trail(engine)] == [
        ("(unidentified)", "refused"),
        ("pc1", "other-area"),
    ]


async def test_a_bare_request_is_refused_unrecorded(
    client: httpx.AsyncClient, engine: Engine
) -> None:
    """A request offering no identity at all (a cross-site image, a scanner) leaves no record."""
    response = await client.get("/cases/case-1")

    assert response.status_code == 401
    assert trail(engine) == []


async def test_a_request_refused_as_invalid_is_audited(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """A 422 reaches a route's validation: it is on the trail with who asked."""
    response = await client.get("/changes?since=yesterday", headers=who("police", "pc1"))

    assert response.status_code == 422
    [record] = trail(engine)
    assert (record.user, record.outcome, record.status) == ("pc1", "refused", 422)


async def test_a_caseload_is_only_for_roles_that_manage_cases(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """DWP reads a case it is told of, but may not list the population."""
    response = await client.get("/cases", headers=who("dwp"))

    assert response.status_code == 403
    assert {"police", "probation", "prisons", "coordinator"} == LIST_READERS
    assert [(r.subject, r.outcome) for r in trail(engine)] == [("GET /cases", "refused")]


# ---- the audit trail ----------------------------------------------------------------------


async def test_every_request_is_one_record_naming_the_cases(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """One record a request, with who, role, areas, reason and the case ids it returned."""
    await client.get("/cases/case-1", headers=who("police", "pc1"))
    await client.get("/cases/case-1/timeline", headers=who("health", "dr1"))
    await client.get("/cases?level=3", headers=who("coordinator", "co1"))
    await client.get("/cases", headers=who("coordinator", "co2", areas=["national"]))

    assert [(r.user, r.role, r.areas, r.subject, r.cases) for r in trail(engine)] == [
        ("pc1", "police", "kent", "GET /cases/case-1", ("case-1",)),
        ("dr1", "health", "kent", "GET /cases/case-1/timeline", ("case-1",)),
        ("co1", "coordinator", "kent", "GET /cases?level=3", ("case-3",)),
        ("co2", "coordinator", "national", "GET /cases", ("case-1", "case-2", "case-3")),
    ]
    assert {r.reason for r in trail(engine)} == {REASON}


async def test_the_trail_is_queryable_by_case_and_by_user_in_pages(
    client: httpx.AsyncClient, who: Any
) -> None:
    """Auditors ask who read a case, or what one user read, a page at a time."""
    await client.get("/cases/case-1", headers=who("police", "pc1"))
    await client.get("/cases/case-3", headers=who("police", "pc1"))
    await client.get("/cases/case-1", headers=who("probation", "po1"))
    await client.get("/cases", headers=who("coordinator", "co1"))
    auditor = who("auditor", "aud1", areas=["national"])

    by_case = (await client.get("/audit?case_id=case-1", headers=auditor)).json()
    by_user = (await client.get("/audit?user=pc1", headers=auditor)).json()
    first = (await client.get("/audit?case_id=case-1&limit=2", headers=auditor)).json()
    rest = await client.get(
        f"/audit?case_id=case-1&limit=2&after={first['next_after']}", headers=auditor
    )

    assert [r["user"] for r in by_case["records"]] == ["pc1", "po1", "co1"]
    assert [r["cases"] for r in by_user["records"]] == [["case-1"], ["case-3"]]
    assert [r["user"] for r in first["records"]] == ["pc1", "po1"]
    assert [r["user"] for r in rest.json()["records"]] == ["co1"]
    assert rest.json()["next_after"] is None


async def test_user_names_round_trip_through_the_trail(client: httpx.AsyncClient, who: Any) -> None:
    """A UTF-8 name, and a long one, are kept whole and found again."""
    long_name = "a" * 200 + "-b"
    await client.get("/cases/case-1", headers=who("police", "José Núñez"))
    await client.get("/cases/case-1", headers=who("police", long_name))
    await client.get("/cases/case-1", headers=who("police", "a" * 200 + "-c"))
    auditor = who("auditor", "aud1", areas=["national"])

    jose = (await client.get("/audit", params={"user": "José Núñez"}, headers=auditor)).json()
    long = (await client.get("/audit", params={"user": long_name}, headers=auditor)).json()

    assert [r["user"] for r in jose["records"]] == ["José Núñez"]
    assert [r["user"] for r in long["records"]] == [long_name]


async def test_only_audit_readers_read_the_trail(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """Police may read cases but not who else did; the attempt is itself recorded."""
    response = await client.get("/audit?case_id=case-1", headers=who("police"))

    assert response.status_code == 403
    assert [(r.subject, r.outcome) for r in trail(engine)] == [
        ("GET /audit?case_id=case-1", "refused")
    ]
    coordinator = await client.get("/audit", headers=who("coordinator"))
    assert coordinator.status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_the_trail_cannot_be_altered(
    client: httpx.AsyncClient, engine: Engine, who: Any, method: str
) -> None:
    """No route writes or removes audit records, whoever asks."""
    await client.get("/cases/case-1", headers=who("police"))
    before = trail(engine)

    response = await client.request(method, "/audit", headers=who("auditor"), json={})

    assert response.status_code == 405
    assert trail(engine) == before


async def test_concurrent_listings_all_succeed_and_are_all_recorded(
    engine: Engine, oidc_issuer: LocalIssuer, who: Any
) -> None:
    """Sixty listings at once on SQLite: every one answered, every one on the trail."""
    app = create_app(engine, BearerTokens(verifier(oidc_issuer)))
    headers = who("coordinator", areas=["national"])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        responses = await asyncio.gather(
            *(client.get("/cases?limit=500", headers=headers) for _ in range(60))
        )

    assert [r.status_code for r in responses] == [200] * 60
    assert len(trail(engine)) == 60


# ---- lists --------------------------------------------------------------------------------


async def _listed(
    client: httpx.AsyncClient, who: Any, query: str, areas: list[str] | None = None
) -> list[str]:
    response = await client.get(f"/cases?{query}", headers=who("police", areas=areas))
    assert response.status_code == 200, response.text
    return [case["case_id"] for case in response.json()["cases"]]


async def test_list_filters_within_the_readers_areas(client: httpx.AsyncClient, who: Any) -> None:
    """Each filter narrows; a reader lists only their areas' cases; case-id order."""
    everywhere = ["national"]
    assert await _listed(client, who, "", everywhere) == ["case-1", "case-2", "case-3"]
    assert await _listed(client, who, "") == ["case-1", "case-3"]
    assert await _listed(client, who, "area=lancashire") == []
    assert await _listed(client, who, "area=kent&level=3") == ["case-3"]
    assert await _listed(client, who, "category=1", everywhere) == ["case-2"]
    assert await _listed(client, who, "status=custody", everywhere) == ["case-2"]
    assert await _listed(client, who, "limit=1&offset=1", everywhere) == ["case-2"]


async def test_changes_since(client: httpx.AsyncClient, who: Any) -> None:
    """Cases with an event recorded after the moment (11:59 UTC here: the offset counts)."""
    response = await client.get(
        "/changes",
        params={"since": "2024-05-01T12:59:00+01:00"},
        headers=who("probation", areas=["national"]),
    )

    assert response.status_code == 200
    assert [case["case_id"] for case in response.json()["cases"]] == ["case-1", "case-2"]


async def test_moments_at_the_ends_of_time_are_taken_as_those_ends(
    client: httpx.AsyncClient, who: Any
) -> None:
    """A valid RFC 3339 moment with no UTC form (year 1 east of Greenwich) is no error."""
    response = await client.get(
        "/changes",
        params={"since": "0001-01-01T00:00:00+01:00"},
        headers=who("probation", areas=["national"]),
    )

    assert response.status_code == 200
    assert len(response.json()["cases"]) == 3


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


async def _known_at(
    client: httpx.AsyncClient, who: Any, role: str, at: datetime = T
) -> httpx.Response:
    return await client.get(
        "/cases/case-late/as-known-at", params={"at": at.isoformat()}, headers=who(role)
    )


def _ids_by_agency(then: dict[str, Any]) -> dict[str, list[str]]:
    shared: dict[str, list[dict[str, Any]]] = then["shared_by"]
    return {agency: [entry["event_id"] for entry in entries] for agency, entries in shared.items()}


@pytest.mark.usefixtures("late_case")
async def test_as_known_at_ignores_what_was_recorded_after(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """The level-3 decision happened before T but reached the bus after: at T it was level 2."""
    now = (await client.get("/cases/case-late", headers=who("police"))).json()
    response = await _known_at(client, who, "police")

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
    assert trail(engine)[-1].subject.startswith("GET /cases/case-late/as-known-at?at=")


@pytest.mark.usefixtures("late_case")
async def test_as_known_at_shows_only_what_the_role_may_see(
    client: httpx.AsyncClient, who: Any
) -> None:
    """Housing sees what housing shared, and nothing of the victims' or probation's events."""
    then = (await _known_at(client, who, "housing")).json()

    assert then["view"]["victims"] is None
    assert _ids_by_agency(then) == {"housing": ["e3"]}


@pytest.mark.usefixtures("late_case")
async def test_as_known_at_reveals_nothing_of_hidden_events(
    client: httpx.AsyncClient, who: Any
) -> None:
    """Asked at every hour between its own events and after, housing gets one answer each side
    of its one event, whatever hidden events arrived meanwhile; before it, exactly a 404."""
    answers = set()
    for hours in range(-10 * 24, 3 * 24, 6):
        response = await _known_at(client, who, "housing", T + timedelta(hours=hours))
        body = response.json()
        if response.status_code == 200:
            body.pop("at")
        answers.add((response.status_code, json.dumps(body, sort_keys=True)))
    missing = (
        await client.get(
            "/cases/case-none/as-known-at", params={"at": T.isoformat()}, headers=who("housing")
        )
    ).json()

    assert len(answers) == 2
    statuses = {status for status, _ in answers}
    assert statuses == {200, 404}
    [not_found] = [json.loads(body) for status, body in answers if status == 404]
    assert not_found["detail"].replace("case-late", "X") == missing["detail"].replace(
        "case-none", "X"
    )


@pytest.mark.usefixtures("late_case")
async def test_a_role_with_no_visible_event_learns_nothing_at_any_moment(
    client: httpx.AsyncClient, who: Any
) -> None:
    """DWP sees none of this case's events: asked at any moment, before or after each hidden
    event, it gets the very answer a case that does not exist gives."""
    missing = await client.get(
        "/cases/case-none/as-known-at", params={"at": T.isoformat()}, headers=who("dwp")
    )
    answers = set()
    for hours in range(-10 * 24, 3 * 24, 12):
        response = await _known_at(client, who, "dwp", T + timedelta(hours=hours))
        detail = response.json()["detail"].replace("case-late", "X")
        answers.add((response.status_code, detail))

    assert answers == {(404, missing.json()["detail"].replace("case-none", "X"))}


@pytest.mark.usefixtures("late_case")
async def test_before_anything_was_recorded_the_case_was_unknown(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """Before its first event reached the bus, the bus knew nothing of the case: 404, audited."""
    response = await _known_at(client, who, "police", T - 30 * DAY)

    assert response.status_code == 404
    assert trail(engine)[-1].outcome == "not-found"


async def test_as_known_at_before_a_withdrawal_shows_the_event_marked_withdrawn(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """Level 2 was withdrawn after T: now it is gone; at T it was there, marked as withdrawn
    since, with why and when."""
    withdrawal: Envelope[EventData] = make_event(
        ProbationEventWithdrawn(
            withdrawn_event_id="e2",
            reason=WithdrawalReason.ENTERED_IN_ERROR,
            withdrawn_on=(T + DAY).date(),
        ),
        case_id="case-late",
        area=Area.KENT,
        time=T + DAY,
        system="ndelius",
        event_id="w1",
    )
    picture = apply(None, _event(probation.MappaEligibilityIdentified, "e1", T - 10 * DAY), T)
    picture = apply(picture, _event(probation.MappaLevelSet, "e2", T - 8 * DAY), T)
    picture = apply(picture, withdrawal, T + DAY)
    with engine.begin() as connection:
        save_pictures(connection, [picture])

    now = (await client.get("/cases/case-late", headers=who("police"))).json()
    then = (await _known_at(client, who, "police")).json()

    marks = [
        (e["event_id"], (e["withdrawn"] or {}).get("reason")) for e in then["view"]["timeline"]
    ]
    assert marks == [("e1", None), ("e2", "entered-in-error")]
    assert (now["level"], then["view"]["level"]) == (None, 2)
    assert [entry["event_id"] for entry in now["timeline"]] == ["e1"]


# ---- keys and development mode -------------------------------------------------------------


async def test_a_rotated_signing_key_is_fetched_without_a_restart(
    engine: Engine, oidc_issuer: LocalIssuer, who: Any
) -> None:
    """Tokens signed with the issuer's new key verify once it is published, with no restart."""
    app = create_app(engine, BearerTokens(verifier(oidc_issuer, refresh_cooldown_s=0)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        before = await client.get("/cases/case-1", headers=who("police"))
        oidc_issuer.rotate()
        after = await client.get("/cases/case-1", headers=who("police"))
        oidc_issuer.retire_all_but_newest()

    assert (before.status_code, after.status_code) == (200, 200), after.text


async def test_development_identity_is_marked_on_every_response(engine: Engine) -> None:
    """Headers are believed only in development mode, and every answer says so."""
    transport = httpx.ASGITransport(app=create_app(engine, DevelopmentHeaders()))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        ok = await client.get(
            "/cases/case-1",
            headers={USER_HEADER: "dev", ROLE_HEADER: "housing", REASON_HEADER: REASON},
        )
        refused = await client.get("/cases/case-1")
        health = await client.get("/healthz")

    assert ok.status_code == 200
    assert ok.json()["role"] == "housing"
    assert refused.status_code == 401
    for response in (ok, refused, health):
        assert response.headers[IDENTITY_MODE_HEADER] == "insecure-development"


# ---- the service --------------------------------------------------------------------------


async def test_healthz(client: httpx.AsyncClient) -> None:
    """Health needs no identity and says nothing of cases."""
    response = await client.get("/healthz")

    assert response.json() == {"status": "ok"}


def test_the_openapi_document_declares_bearer_tokens_and_every_route() -> None:
    """What schemas/ publishes: stable, naming every route, and the security scheme."""
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
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert document["paths"]["/cases/{case_id}"]["get"]["security"] == [{"HTTPBearer": []}]
    parameters = {p["name"] for p in document["paths"]["/cases/{case_id}"]["get"]["parameters"]}
    assert USER_HEADER not in parameters
