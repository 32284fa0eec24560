"""One Kent case's events for the reporting projection's tests: its eligibility and a plan
action agreed for housing, and the records its agencies' topics deliver them as."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from mappa_bus.agencies import Agency
from mappa_bus.catalogue import Envelope, EventData
from mappa_bus.catalogue.plans import ActionKind, ProbationPlanActionAgreed
from mappa_bus.catalogue.probation import LeadAgency, MappaEligibilityIdentified
from mappa_bus.catalogue.vocabulary import Category
from tests.case_events import kent_case
from tests.records import Record, record_of

NAMESPACE = "test"
CASE = "KEN-2023-000101"
START = datetime(2023, 6, 1, 9, 0, tzinfo=UTC)

case_event = kent_case(CASE, START)

ELIGIBLE = case_event(
    MappaEligibilityIdentified(
        identified_on=date(2023, 6, 1),
        category=Category.VIOLENT_OFFENDER,
        lead_agency=LeadAgency.PROBATION,
    ),
    0,
    "eligible",
)
AGREED = case_event(
    ProbationPlanActionAgreed(
        action_id="ACT-1",
        meeting_reference="MTG-1",
        agreed_on=date(2023, 6, 2),
        owner=Agency.HOUSING,
        kind=ActionKind.ACCOMMODATION_SEARCH,
        due_on=date(2023, 6, 30),
    ),
    1,
    "agreed",
)


def records(*events: Envelope[EventData], first: int = 0) -> list[Record]:
    """The events as their topics deliver them, an hour apart from START, each topic's
    offsets counting from `first`."""
    offsets: dict[Agency, int] = {}
    delivered = []
    for index, event in enumerate(events):
        offset = offsets[event.publisher] = offsets.get(event.publisher, first - 1) + 1
        millis = int((START + timedelta(hours=first + index)).timestamp() * 1000)
        delivered.append(record_of(event, offset, millis, NAMESPACE))
    return delivered
