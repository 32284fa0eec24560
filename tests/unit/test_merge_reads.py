"""Reading a merged case through the case API: either id gives the one picture of both ids'
events (naming both), as known at a moment before the merge each id alone; the caseload lists
the person once; the trail of either id lists who read either."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from mappa_bus.access.admission import REASON_HEADER, ROLE_HEADER
from mappa_bus.case.fold import entry_of, joined, replay
from mappa_bus.catalogue import Envelope, EventData
from mappa_bus.catalogue.merges import CasesMerged
from mappa_bus.catalogue.probation import LevelReason, MappaLevelSet
from mappa_bus.catalogue.vocabulary import Level
from mappa_bus.picture.api import create_app
from mappa_bus.picture.consumer import PictureProjection
from mappa_bus.projection.database import open_engine
from mappa_bus.web.identity import USER_HEADER, DevelopmentHeaders
from tests.case_events import kent_case
from tests.keys import KEYRING
from tests.records import record_of
from tests.stores import stored_picture
from tests.unit.test_merges import KEPT, MERGED, NAMESPACE, START, _case, _unit

REASON = "checking the merged case before the meeting"
# The merge reaches the bus two hours after the cases' four events (a minute apart).
MERGE = _unit(
    CasesMerged(merged_case_id=MERGED, merged_on=date(2023, 8, 1), decision="MCU/KEN/3"),
    KEPT,
    "merge",
)
MERGED_AT = START + timedelta(hours=2)


def _recorded(events: list[Envelope[EventData]], at: datetime, first: int) -> list[Any]:
    millis = int(at.timestamp() * 1000)
    return [
        record_of(event, first + index, millis + index * 60_000, NAMESPACE)
        for index, event in enumerate(events)
    ]


@pytest.fixture
def projection(tmp_path: Path) -> PictureProjection:
    """A picture store holding two ids' cases and the MAPPA unit's merge of them."""
    projection = PictureProjection(
        open_engine(f"sqlite:///{tmp_path / 'p.db'}"), NAMESPACE, keyring=KEYRING
    )
    projection.load()
    projection.commit(projection.fold(_recorded([*_case(KEPT, 0), *_case(MERGED, 30)], START, 0)))
    projection.commit(projection.fold(_recorded([MERGE], MERGED_AT, 10)))
    return projection


@pytest.fixture
async def client(projection: PictureProjection) -> AsyncIterator[httpx.AsyncClient]:
    """The API over that store, development identity (a coordinator reading)."""
    transport = httpx.ASGITransport(app=create_app(projection.engine, DevelopmentHeaders()))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


def _as(user: str) -> dict[str, str]:
    return {USER_HEADER: user, ROLE_HEADER: "coordinator", REASON_HEADER: REASON}


async def test_either_id_reads_as_the_one_picture_of_both(
    client: httpx.AsyncClient, projection: PictureProjection
) -> None:
    """Both ids answer with the kept id's picture folded from all four events, naming the
    merged id; as known before the merge, each id is still itself alone."""
    expected = joined(
        (KEPT, MERGED), [stored_picture(projection, KEPT), stored_picture(projection, MERGED)]
    )
    before = (MERGED_AT - timedelta(minutes=1)).isoformat()

    kept, merged = [
        (await client.get(f"/cases/{c}", headers=_as("sam"))).json() for c in (KEPT, MERGED)
    ]
    then = await client.get(
        f"/cases/{MERGED}/as-known-at", params={"at": before}, headers=_as("sam")
    )

    assert (kept["case_id"], kept["merged_case_ids"], len(kept["timeline"])) == (KEPT, [MERGED], 4)
    assert kept == merged
    assert [e.event_id for e in expected.timeline] == [e["event_id"] for e in kept["timeline"]]
    assert (then.json()["view"]["case_id"], then.json()["view"]["merged_case_ids"]) == (MERGED, [])


async def test_the_caseload_lists_the_person_once(client: httpx.AsyncClient) -> None:
    """Two ids, one person: one row, the kept id's, naming the merged one."""
    listed = (await client.get("/cases", headers=_as("sam"))).json()

    assert [(c["case_id"], c["merged_case_ids"]) for c in listed["cases"]] == [(KEPT, [MERGED])]


async def test_the_caseload_filters_the_person_not_each_id(projection: PictureProjection) -> None:
    """The merged id is raised to level 3 after the merge: the person is level 3 (the group's
    picture), though the kept id's own row still says 2. A level-3 caseload lists the person,
    under the kept id; a level-2 one does not; and paging one row at a time lists them once."""
    raised = MappaLevelSet(
        set_on=(START + timedelta(days=60)).date(), level=Level.THREE, reason=LevelReason.REVIEW
    )
    later = kent_case(MERGED, START)(raised, 60, f"{MERGED}-l3")
    projection.commit(projection.fold(_recorded([later], MERGED_AT + timedelta(hours=1), 20)))
    transport = httpx.ASGITransport(app=create_app(projection.engine, DevelopmentHeaders()))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:

        async def listed(**params: int) -> list[tuple[str, int]]:
            answer = await client.get("/cases", params=params, headers=_as("sam"))
            assert answer.status_code == 200, answer.text
            return [(c["case_id"], c["level"]) for c in answer.json()["cases"]]

        three, two = await listed(level=3), await listed(level=2)
        pages = [await listed(limit=1, offset=offset) for offset in range(3)]

    assert three == [(KEPT, 3)]
    assert two == []
    assert pages == [[(KEPT, 3)], [], []]


async def test_the_trail_of_either_id_lists_who_read_either(client: httpx.AsyncClient) -> None:
    """Sam read the kept id, Kim the merged one: the trail of each id names both readers."""
    await client.get(f"/cases/{KEPT}", headers=_as("sam"))
    await client.get(f"/cases/{MERGED}", headers=_as("kim"))

    trails = [
        (await client.get("/audit", params={"case_id": c}, headers=_as("auditor"))).json()
        for c in (KEPT, MERGED)
    ]

    readers = [
        sorted(r["user"] for r in t["records"] if r["subject"].startswith("GET /cases/"))
        for t in trails
    ]
    assert readers == [["kim", "sam"], ["kim", "sam"]]


def test_a_joined_picture_is_the_same_whichever_id_is_stored_first() -> None:
    """The union is folded in event order, not in the order the ids' pictures come."""
    events = [*_case(KEPT, 0), *_case(MERGED, 30)]
    pictures = {
        case_id: replay(case_id, [entry_of(e, e.time) for e in events if e.case_id == case_id])
        for case_id in (KEPT, MERGED)
    }

    assert joined((KEPT, MERGED), [pictures[KEPT], pictures[MERGED]]) == joined(
        (KEPT, MERGED), [pictures[MERGED], pictures[KEPT]]
    )
