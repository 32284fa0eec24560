"""Risk management plans through the real broker: probation agrees an action for housing,
housing completes it, and a completion police publish of that action (on police's own topic,
as the ACLs allow) is dead-lettered `not-owner` by the picture service and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from mappa_bus.adapters.publisher import publish_all
from mappa_bus.agencies import Agency
from mappa_bus.case.model import ActionStatus
from mappa_bus.catalogue import Area, Envelope, EventData, make_event, plans
from mappa_bus.catalogue.plans import ActionKind
from mappa_bus.connection import KafkaConnection
from mappa_bus.log_reader import read_to_end
from mappa_bus.picture.api import create_app
from mappa_bus.picture.service import catch_up, open_projection
from mappa_bus.topics import dead_letter_topic
from mappa_bus.web.identity import DevelopmentHeaders
from tests.stores import stored_picture

pytestmark = pytest.mark.kafka

CASE = "KEN-2024-000031"


def _event(data: EventData, on: date, name: str) -> Envelope[EventData]:
    time = datetime(on.year, on.month, on.day, 12, tzinfo=UTC)
    return make_event(data, case_id=CASE, area=Area.KENT, time=time, system="t", event_id=name)


AGREED = _event(
    plans.ProbationPlanActionAgreed(
        action_id="ACT-1",
        meeting_reference="KEN-MTG-2024-06-03",
        agreed_on=date(2024, 6, 3),
        owner=Agency.HOUSING,
        kind=ActionKind.ACCOMMODATION_SEARCH,
        due_on=date(2024, 6, 17),
    ),
    date(2024, 6, 3),
    "plan-agreed-1",
)
BY_POLICE = _event(
    plans.PolicePlanActionCompleted(action_id="ACT-1", completed_on=date(2024, 6, 10)),
    date(2024, 6, 10),
    "plan-police-done-1",
)
BY_HOUSING = _event(
    plans.HousingPlanActionCompleted(action_id="ACT-1", completed_on=date(2024, 6, 20)),
    date(2024, 6, 20),
    "plan-housing-done-1",
)


async def test_the_owner_completes_and_another_agencys_completion_is_dead_lettered(
    kafka: KafkaConnection,
    kafka_as: Callable[[str], KafkaConnection],
    namespace: str,
    tmp_path: Path,
) -> None:
    """After the agreement is folded, police's completion goes to the dead-letter topic as
    `not-owner` with a reason naming the action and owner, and housing's completes the action
    (late: due 17 June, done 20 June); the picture holds the agreement and housing's
    completion only, and housing reads its action through the plan route."""
    projection = open_projection(f"sqlite:///{tmp_path / 'pictures.db'}", namespace)
    await publish_all(lambda agency: kafka_as(agency.value), [AGREED], namespace=namespace)
    await catch_up(kafka_as("picture"), projection)
    await publish_all(
        lambda agency: kafka_as(agency.value), [BY_POLICE, BY_HOUSING], namespace=namespace
    )
    applied = await catch_up(kafka_as("picture"), projection)

    dead = [
        {name: value.decode() for name, value in record.headers}
        async for batch in read_to_end(kafka, [dead_letter_topic(namespace)])
        for record in batch
    ]
    assert [(d["mappa-rejection"], d["mappa-reason"], d["mappa-consumer"]) for d in dead] == [
        (
            "not-owner",
            "data.action_id: plan action ACT-1 is owned by housing, not police",
            "picture",
        )
    ]
    picture = stored_picture(projection, CASE)
    assert picture.plan is not None
    [action] = picture.plan.actions
    assert (applied, action.status, action.completed_on, action.due_on) == (
        2,
        ActionStatus.COMPLETED,
        date(2024, 6, 20),
        date(2024, 6, 17),
    )
    assert [entry.event_id for entry in picture.timeline] == [AGREED.id, BY_HOUSING.id]
    stored = open_projection(f"sqlite:///{tmp_path / 'pictures.db'}", namespace).stored_pictures()
    assert stored[CASE] == picture

    headers = {
        "X-Mappa-User": "h.officer",
        "X-Mappa-Role": "housing",
        "X-Mappa-Reason": "checking our plan actions",
    }
    transport = httpx.ASGITransport(app=create_app(projection.engine, DevelopmentHeaders()))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        response = await client.get(f"/cases/{CASE}/plan", headers=headers)
    actions = response.json()["plan"]["actions"]
    assert [(a["action_id"], a["status"]) for a in actions] == [("ACT-1", "completed")]
