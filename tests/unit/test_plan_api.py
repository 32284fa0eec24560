"""The plan routes in-process: `GET /cases/{case_id}/plan` and `GET /overdue-actions`, each
role's share of them, in its areas, and every request audited with the case ids."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from mappa_bus.access.admission import REASON_HEADER
from mappa_bus.agencies import Agency
from mappa_bus.case.fold import apply
from mappa_bus.case.model import CasePicture
from mappa_bus.catalogue import Area, Envelope, EventData, make_event, plans
from mappa_bus.catalogue.plans import ActionKind
from mappa_bus.picture.api import create_app
from mappa_bus.picture.schema import create_schema
from mappa_bus.picture.store import save_pictures
from mappa_bus.projection.database import open_engine
from mappa_bus.web.identity import BearerTokens
from tests.oidc import LocalIssuer
from tests.unit.test_picture_api import REASON, trail, verifier

START = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
TODAY = "2024-06-20"  # day 17


def _case(case_id: str, area: Area, actions: list[tuple[str, Agency, int]]) -> CasePicture:
    """A case whose plan holds `actions` (id, owner, due days after START), all open."""
    picture: CasePicture | None = None
    for action_id, owner, due in actions:
        data = plans.ProbationPlanActionAgreed(
            action_id=action_id,
            meeting_reference="MTG-1",
            agreed_on=START.date(),
            owner=owner,
            kind=ActionKind.HOME_VISIT,
            due_on=(START + timedelta(days=due)).date(),
        )
        event: Envelope[EventData] = make_event(
            data, case_id=case_id, area=area, time=START, system="t", event_id=action_id
        )
        picture = apply(picture, event, START)
    assert picture is not None
    return picture


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    """Kent: case-a (housing's action overdue, police's not), case-b (police's overdue), and
    case-c (nothing overdue); Lancashire: case-l (housing's overdue)."""
    engine = open_engine(f"sqlite:///{tmp_path}/p.db")
    create_schema(engine)
    pictures = [
        _case("case-a", Area.KENT, [("A-H", Agency.HOUSING, 10), ("A-P", Agency.POLICE, 30)]),
        _case("case-b", Area.KENT, [("B-P", Agency.POLICE, 5)]),
        _case("case-c", Area.KENT, [("C-H", Agency.HOUSING, 40)]),
        _case("case-l", Area.LANCASHIRE, [("L-H", Agency.HOUSING, 1)]),
    ]
    with engine.begin() as connection:
        save_pictures(connection, pictures)
    return engine


@pytest.fixture
async def client(engine: Engine, oidc_issuer: LocalIssuer) -> AsyncIterator[httpx.AsyncClient]:
    """The app with bearer tokens from the test issuer, called in-process."""
    app = create_app(engine, BearerTokens(verifier(oidc_issuer)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


@pytest.fixture
def who(oidc_issuer: LocalIssuer) -> Any:
    """Headers for a reader with `role` in `areas` and a reason."""

    def headers(role: str, areas: list[str] | None = None) -> dict[str, str]:
        token = oidc_issuer.token("pat", role, areas or ["kent"])
        return {"Authorization": f"Bearer {token}", REASON_HEADER: REASON}

    return headers


async def test_the_coordinator_reads_the_whole_plan(client: httpx.AsyncClient, who: Any) -> None:
    """Every action of the case, nothing withheld."""
    response = await client.get("/cases/case-a/plan", headers=who("coordinator"))

    body = response.json()
    assert (response.status_code, [a["action_id"] for a in body["plan"]["actions"]]) == (
        200,
        ["A-H", "A-P"],
    )
    assert (body["withheld"], body["own_actions_only"]) == ([], False)


async def test_housing_reads_its_own_action_and_no_risk(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """Housing's plan holds A-H only and withholds the risk; the read is audited."""
    response = await client.get("/cases/case-a/plan", headers=who("housing"))

    body = response.json()
    assert [a["action_id"] for a in body["plan"]["actions"]] == ["A-H"]
    assert (body["withheld"], body["own_actions_only"], body["risk"]) == (["risk"], True, None)
    assert [(r.subject, r.cases, r.outcome) for r in trail(engine)] == [
        ("GET /cases/case-a/plan", ("case-a",), "read")
    ]


async def test_a_role_that_may_not_read_cases_is_refused_the_plan(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """An analyst gets 403, recorded as refused."""
    response = await client.get("/cases/case-a/plan", headers=who("analyst"))

    assert (response.status_code, [r.outcome for r in trail(engine)]) == (403, ["refused"])


async def test_another_areas_plan_answers_as_if_the_case_did_not_exist(
    client: httpx.AsyncClient, who: Any
) -> None:
    """Kent's coordinator cannot read Lancashire's case's plan."""
    response = await client.get("/cases/case-l/plan", headers=who("coordinator"))

    assert response.status_code == 404


async def test_overdue_actions_for_the_coordinator_are_every_one_in_its_areas(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """Kent's coordinator on day 17: B-P (due day 5) then A-H (day 10); audited with both
    case ids."""
    response = await client.get(f"/overdue-actions?today={TODAY}", headers=who("coordinator"))

    body = response.json()
    listed = [(o["case_id"], o["action"]["action_id"], o["days_overdue"]) for o in body["actions"]]
    assert listed == [("case-b", "B-P", 12), ("case-a", "A-H", 7)]
    assert body["next_offset"] is None
    [record] = trail(engine)
    assert (record.cases, record.outcome) == (("case-a", "case-b"), "read")


async def test_overdue_actions_for_an_agency_are_its_own(
    client: httpx.AsyncClient, engine: Engine, who: Any
) -> None:
    """Housing in Kent sees A-H only, and the trail names only case-a."""
    response = await client.get(f"/overdue-actions?today={TODAY}", headers=who("housing"))

    listed = [o["action"]["action_id"] for o in response.json()["actions"]]
    assert (listed, trail(engine)[0].cases) == (["A-H"], ("case-a",))


async def test_an_owner_filter_narrows_the_overdue_actions(
    client: httpx.AsyncClient, who: Any
) -> None:
    """Police asking for police's own overdue actions gets B-P only."""
    response = await client.get(
        f"/overdue-actions?today={TODAY}&owner=police", headers=who("police")
    )

    assert [o["action"]["action_id"] for o in response.json()["actions"]] == ["B-P"]


async def test_overdue_actions_come_in_pages_of_cases(client: httpx.AsyncClient, who: Any) -> None:
    """A page of one case says where the next starts; the last page says there is none."""
    first = await client.get(f"/overdue-actions?today={TODAY}&limit=1", headers=who("police"))
    second = await client.get(
        f"/overdue-actions?today={TODAY}&limit=1&offset=1", headers=who("police")
    )
    third = await client.get(
        f"/overdue-actions?today={TODAY}&limit=1&offset=2", headers=who("police")
    )

    pages = [(p.json()["next_offset"], len(p.json()["actions"])) for p in (first, second, third)]
    assert pages == [(1, 1), (2, 1), (None, 0)]


async def test_a_date_that_is_not_an_iso_day_is_refused(
    client: httpx.AsyncClient, who: Any
) -> None:
    """A number is not a day, though pydantic would read it as seconds since 1970."""
    response = await client.get("/overdue-actions?today=0", headers=who("coordinator"))

    assert response.status_code == 422
