"""Risk management plans in the catalogue: who may say what about an action, in which words."""

from datetime import date

import pytest
from pydantic import ValidationError

from mappa_bus.agencies import SHARING_AGENCIES, Agency
from mappa_bus.catalogue import CATALOGUE, EventData, plans, published_by
from mappa_bus.catalogue.examples import example_event
from mappa_bus.catalogue.probation import MappaMeetingHeld
from mappa_bus.catalogue.wire import parse_event, to_wire

_OUTCOME_NAMES = {"plan-action-completed", "plan-action-closed", "plan-action-redated"}
_PLAN_CLASSES = (*plans.RISK_ASSESSMENTS, *plans.ACTIONS_AGREED, *plans.ACTION_OUTCOMES)


@pytest.mark.parametrize("agency", list(SHARING_AGENCIES))
def test_every_agency_completes_closes_and_redates_only_its_own_actions(agency: Agency) -> None:
    """Each agency has exactly one completed, one closed and one re-dated class, its own."""
    own = [model for model in plans.ACTION_OUTCOMES if model.PUBLISHER is agency]
    published = [model for model in published_by(agency) if model.NAME in _OUTCOME_NAMES]

    assert (published, {model.NAME for model in own}) == (own, _OUTCOME_NAMES)


def test_assessments_come_from_the_assessing_agencies_and_actions_from_the_chairs() -> None:
    """Five agencies assess risk; probation and police chair the meetings that agree actions."""
    assessors = {model.PUBLISHER for model in plans.RISK_ASSESSMENTS}
    chairs = {model.PUBLISHER for model in plans.ACTIONS_AGREED}

    assert (assessors, chairs) == (
        {
            Agency.PROBATION,
            Agency.POLICE,
            Agency.PRISONS,
            Agency.HEALTH,
            Agency.YOUTH_OFFENDING,
        },
        {Agency.PROBATION, Agency.POLICE},
    )


def test_the_groups_hold_every_plan_class_of_the_catalogue_once() -> None:
    """The tuples consumers test membership with are exactly the catalogue's plan events."""
    in_catalogue = [model for model in CATALOGUE if model.__module__ == plans.__name__]

    assert (len(_PLAN_CLASSES), set(_PLAN_CLASSES)) == (37, set(in_catalogue))
    assert len(in_catalogue) == 37


@pytest.mark.parametrize(
    ("group", "base", "name"),
    [
        (plans.RISK_ASSESSMENTS, plans.RiskAssessment, "risk-assessment-completed"),
        (plans.ACTIONS_AGREED, plans.ActionAgreed, "plan-action-agreed"),
        (
            tuple(m for m in plans.ACTION_OUTCOMES if m.NAME == "plan-action-completed"),
            plans.ActionCompleted,
            "plan-action-completed",
        ),
        (
            tuple(m for m in plans.ACTION_OUTCOMES if m.NAME == "plan-action-closed"),
            plans.ActionClosed,
            "plan-action-closed",
        ),
        (
            tuple(m for m in plans.ACTION_OUTCOMES if m.NAME == "plan-action-redated"),
            plans.ActionRedated,
            "plan-action-redated",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_consumer_recognises_each_kind_by_its_public_base(
    group: tuple[type[EventData], ...], base: type[EventData], name: str
) -> None:
    """Every class of a kind is an instance of its base and shares its name; the base itself
    names no publisher, so it is never on the bus."""
    assert [(issubclass(model, base), model.NAME) for model in group] == [(True, name)] * len(group)
    assert (hasattr(base, "PUBLISHER"), base in CATALOGUE) == (False, False)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("action_id", "call the landlord"),
        ("action_id", "x"),
        ("meeting_reference", "meeting on Tuesday"),
        ("kind", "anything-else"),
        ("owner", "the council"),
    ],
)
def test_an_action_is_agreed_in_closed_words_and_opaque_ids_only(field: str, value: str) -> None:
    """Free text in an id, or a word outside the vocabulary, is refused."""
    data = plans.ProbationPlanActionAgreed(
        action_id="KEN-0716-05",
        meeting_reference="MAPPA-KEN-2020-0716",
        agreed_on=date(2020, 7, 16),
        owner=Agency.HOUSING,
        kind=plans.ActionKind.ACCOMMODATION_SEARCH,
        due_on=date(2020, 8, 14),
    ).model_dump(mode="json")

    with pytest.raises(ValidationError) as refused:
        plans.ProbationPlanActionAgreed.model_validate({**data, field: value})

    assert [error["loc"] for error in refused.value.errors()] == [(field,)]


def test_a_meeting_published_before_its_reference_existed_still_reads() -> None:
    """The meeting reference is an optional addition to v1: an event without it parses, as None."""
    wire = to_wire(example_event(MappaMeetingHeld))
    without = wire.replace(b',"meeting_reference":"MAPPA-KEN-2020-0716"', b"")

    parsed = parse_event(without)

    assert (without != wire, parsed.data.meeting_reference) == (True, None)  # type: ignore[attr-defined]
